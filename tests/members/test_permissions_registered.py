"""One way to ask permissions: every name asked is a registered rule, and "role at least X"
is one query that agrees with User.has_role."""

import re
from pathlib import Path

import pytest
import rules
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied

from members.models import User
from members.roles import Role
from members.rules import require_perm
from members.selectors import users_with_role_at_least
from members.services import role_set
from sessions.topics.services import TRANSITIONS
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]
CODE = ["members", "sessions", "library", "topicshare"]
APP_LABELS = {"members", "topic_sessions", "library", "topicshare", "forum"}

NAME = r"""["']([\w]+\.[\w]+)["']"""
ASKED = [
    # user.has_perm("…", obj), also split over lines
    re.compile(r"\bhas_perm\(\s*" + NAME),
    # require_perm(user, "…", …)
    re.compile(r"\brequire_perm\(\s*[\w.]+\s*,\s*" + NAME),
    # {% has_perm "…" user obj as x %}
    re.compile(r"{%\s*has_perm\s+" + NAME),
    # {{ perms.app.name }} / {% if perms.app.name %}
    re.compile(r"\bperms\.(\w+\.\w+)"),
]
# The predicates are the rules' building blocks; nothing outside the rules asks them.
ROLE_PREDICATE = re.compile(r"\bis_(audience|member|committee|organiser)\(")
# The permission machinery itself (the organisers' admin backend) may.
PREDICATE_USERS = {"members/backends.py"}


def sources():
    for app in CODE:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path
    yield from sorted((ROOT / "templates").rglob("*.html"))
    for app in CODE:
        yield from sorted((ROOT / app).rglob("templates/**/*.html"))


def asked_names(text: str) -> set[str]:
    return {match for pattern in ASKED for match in pattern.findall(text)}


def asked_in_project() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sources():
        for name in asked_names(path.read_text(encoding="utf-8")):
            found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def unregistered(names) -> list[str]:
    return sorted(name for name in names if not rules.perm_exists(name))


def test_every_permission_asked_in_code_and_templates_is_registered():
    found = asked_in_project()
    missing = {name: sorted(found[name]) for name in unregistered(found)}
    assert not missing, f"asked but not registered in any rules.py: {missing}"
    # Not vacuous: the scan sees the views, the services, the admin and the templates.
    assert len(found) >= 25
    assert {
        "library.change_materials",  # views and service
        "members.view_votes",  # admin
        "members.change_ledger",  # service (require_perm)
        "members.review_season",  # template and view
        "topic_sessions.export_topics",  # template and view
    } <= set(found)
    assert any(path.endswith(".html") for paths in found.values() for path in paths)


def test_every_permission_name_has_an_app_label():
    for name in asked_in_project():
        assert name.split(".")[0] in APP_LABELS, name


def test_the_scan_catches_an_unregistered_name_in_each_spelling():
    text = """
        request.user.has_perm("members.view_profile", member)
        if not user.has_perm(
            "library.edit_everything", item
        ):
        require_perm(by, "topic_sessions.do_anything", message=_("No."))
        {% has_perm "members.see_all" user as x %}
        {% if perms.library.nope %}
    """
    assert unregistered(asked_names(text)) == [
        "library.edit_everything",
        "library.nope",
        "members.see_all",
        "topic_sessions.do_anything",
    ]


def test_every_topic_step_is_guarded_by_a_registered_permission():
    assert TRANSITIONS
    assert unregistered({t.permission for t in TRANSITIONS.values()}) == []


def test_role_predicates_are_asked_only_through_permissions():
    askers = sorted(
        str(path.relative_to(ROOT))
        for path in sources()
        if path.suffix == ".py"
        and path.name != "rules.py"
        and str(path.relative_to(ROOT)) not in PREDICATE_USERS
        and ROLE_PREDICATE.search(path.read_text(encoding="utf-8"))
    )
    assert askers == []


@pytest.mark.django_db
def test_require_perm_raises_with_the_message_or_passes(organiser, member):
    require_perm(organiser, "members.change_ledger")
    with pytest.raises(PermissionDenied, match="Only organisers"):
        require_perm(member, "members.change_ledger", message="Only organisers can do this.")
    with pytest.raises(PermissionDenied):
        require_perm(None, "members.change_ledger")
    with pytest.raises(ValueError, match="not a registered permission"):
        require_perm(organiser, "members.no_such_permission")


# --- "Role at least X", written once ---------------------------------------------------------


@pytest.fixture
def people(db):
    superuser = User.objects.create_superuser(email="root@example.org", password="x-y-z-12345")
    inactive = UserFactory(role=Role.ORGANISER)
    inactive.is_active = False
    inactive.save(update_fields=["is_active"])
    # In two role groups (not by role_set): still one row, counted by the higher role.
    twice = UserFactory(role=Role.MEMBER)
    twice.groups.add(Group.objects.get(name=Role.COMMITTEE.value))
    return {
        "audience": UserFactory(role=Role.AUDIENCE),
        "member": UserFactory(role=Role.MEMBER),
        "committee": UserFactory(role=Role.COMMITTEE),
        "organiser": UserFactory(role=Role.ORGANISER),
        "superuser": superuser,
        "inactive": inactive,
        "twice": twice,
    }


def names(queryset, people) -> list[str]:
    by_pk = {person.pk: name for name, person in people.items()}
    pks = list(queryset.values_list("pk", flat=True))
    assert len(pks) == len(set(pks)), "duplicate rows"
    return sorted(by_pk[pk] for pk in pks if pk in by_pk)


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (Role.AUDIENCE, ["audience", "committee", "member", "organiser", "superuser", "twice"]),
        (Role.MEMBER, ["committee", "member", "organiser", "superuser", "twice"]),
        (Role.COMMITTEE, ["committee", "organiser", "superuser", "twice"]),
        (Role.ORGANISER, ["organiser", "superuser"]),
    ],
)
def test_users_with_role_at_least(people, role, expected):
    assert names(users_with_role_at_least(role), people) == expected
    # The same answer as the User model's own check, person by person.
    agreeing = [
        name for name, person in people.items() if User.objects.get(pk=person.pk).has_role(role)
    ]
    assert sorted(agreeing) == expected


def test_users_with_role_at_least_narrows_a_given_queryset(people):
    among = User.objects.exclude(pk=people["superuser"].pk)
    assert names(users_with_role_at_least(Role.ORGANISER, among=among), people) == ["organiser"]


def test_users_with_role_at_least_follows_role_changes(people):
    role_set(user=people["member"], role=Role.AUDIENCE)
    role_set(user=people["audience"], role=Role.ORGANISER)
    assert names(users_with_role_at_least(Role.ORGANISER), people) == [
        "audience",
        "organiser",
        "superuser",
    ]
    assert "member" not in names(users_with_role_at_least(Role.MEMBER), people)


# --- The checks that were written by hand before, now registered rules ----------------------


@pytest.mark.django_db
def test_library_materials_are_for_the_presenters_and_organisers(member, organiser, audience):
    from django.contrib.auth.models import AnonymousUser

    from library.models import LibraryItem

    item = LibraryItem.objects.create(title="A talk")
    item.presenters.set([member])
    assert member.has_perm("library.change_materials", item)
    assert organiser.has_perm("library.change_materials", item)
    assert not audience.has_perm("library.change_materials", item)
    assert not AnonymousUser().has_perm("library.change_materials", item)
    member.is_active = False
    assert not member.has_perm("library.change_materials", item)


@pytest.mark.django_db
def test_changing_an_application_is_for_the_committee_while_open_and_never_ones_own(
    committee, organiser, member
):
    from members.models import Application

    theirs = Application.objects.create(
        applicant=member, paper_title="P", paper_url="https://x.org"
    )
    own = Application.objects.create(
        applicant=committee, paper_title="P", paper_url="https://x.org"
    )
    assert committee.has_perm("members.change_application")
    assert committee.has_perm("members.change_application", theirs)
    assert not committee.has_perm("members.change_application", own)
    assert organiser.has_perm("members.change_application", own)
    assert not member.has_perm("members.change_application", theirs)
    assert member.has_perm("members.withdraw_application", theirs)
    assert not committee.has_perm("members.withdraw_application", theirs)
    assert member.has_perm("members.view_application_slides", theirs)
    assert committee.has_perm("members.view_application_slides", theirs)
    theirs.status = Application.Status.APPROVED
    assert not committee.has_perm("members.change_application", theirs)


@pytest.mark.django_db
def test_only_a_superuser_may_grant_superuser(organiser, rf):
    from django.contrib import admin

    superuser = User.objects.create_superuser(email="root@example.org", password="x-y-z-12345")
    user_admin = admin.site._registry[User]
    request = rf.get("/")
    request.user = organiser
    assert "is_superuser" in user_admin.get_readonly_fields(request, organiser)
    request.user = superuser
    assert "is_superuser" not in user_admin.get_readonly_fields(request, organiser)


@pytest.mark.django_db
def test_only_the_audience_gets_the_apply_button(client, audience, member):
    client.force_login(audience)
    assert 'data-action="apply"' in client.get("/join/").content.decode()
    client.force_login(member)
    assert 'data-action="apply"' not in client.get("/join/").content.decode()
