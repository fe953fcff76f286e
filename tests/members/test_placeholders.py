import hashlib

import pytest
from django.core.exceptions import PermissionDenied

from members.models import User
from members.placeholders import person_for, placeholder_for, placeholder_merge
from sessions.models import Participation, Task, Topic
from tests.factories import TrackFactory, UserFactory

pytestmark = pytest.mark.django_db


def _topic(proposer: User, title: str = "BERT") -> Topic:
    topic = Topic.objects.create(proposer=proposer, track=TrackFactory(slug="nlp"), title=title)
    Participation.objects.create(topic=topic, user=proposer, role=Participation.Role.PROPOSER)
    return topic


def test_placeholder_for_creates_an_inactive_person_without_password():
    person = placeholder_for(name="  王   小明 ")

    person.refresh_from_db()
    assert person.display_name == "王 小明"
    assert person.is_placeholder is True
    assert person.is_active is False
    assert person.has_usable_password() is False
    assert person.email.startswith("placeholder-")
    assert person.email.endswith("@placeholder.invalid")
    assert person.groups.count() == 0


def test_placeholder_for_reuses_the_placeholder_with_that_name():
    first = placeholder_for(name="王小明")

    again = placeholder_for(name=" 王小明")

    assert again.pk == first.pk
    assert User.objects.filter(is_placeholder=True).count() == 1


def test_placeholder_for_ignores_a_real_account_with_that_name():
    real = UserFactory(display_name="王小明")

    person = placeholder_for(name="王小明")

    assert person.pk != real.pk
    assert person.is_placeholder is True


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("   ", "A person needs a name."),
        ("x" * 61, f"“{'x' * 60}…” is longer than 60 characters."),
        ("a@b", "“a@b”: a name cannot contain “@” or “;”."),
        ("Ann; Bob", "“Ann; Bob”: a name cannot contain “@” or “;”."),
    ],
    ids=["empty", "too-long", "at-sign", "semicolon"],
)
def test_placeholder_for_refuses_bad_names(name, message):
    with pytest.raises(ValueError) as excinfo:
        placeholder_for(name=name)

    assert str(excinfo.value) == message
    assert User.objects.filter(is_placeholder=True).count() == 0


def test_person_for_matches_an_email_in_any_case():
    user = UserFactory(email="ming@example.org")

    assert person_for(value=" MING@Example.org ").pk == user.pk


def test_person_for_refuses_an_unknown_email():
    with pytest.raises(ValueError) as excinfo:
        person_for(value="nobody@example.org")

    assert str(excinfo.value) == "No account has the e-mail address “nobody@example.org”."
    assert User.objects.filter(is_placeholder=True).count() == 0


def test_person_for_takes_the_one_account_with_that_display_name():
    user = UserFactory(display_name="小明")

    assert person_for(value="小明").pk == user.pk


def test_person_for_makes_a_placeholder_when_the_name_is_ambiguous():
    UserFactory(display_name="小明")
    UserFactory(display_name="小明")

    person = person_for(value="小明")

    assert person.is_placeholder is True
    assert person_for(value="小明").pk == person.pk


def test_placeholder_merge_moves_proposals_places_and_tasks(organiser):
    placeholder = placeholder_for(name="王小明")
    real = UserFactory(display_name="Wang Xiaoming")
    other = UserFactory()
    proposed = _topic(placeholder, "Proposed by the placeholder")
    co_presented = _topic(other, "Co-presented")
    co_presented.co_presenters.add(placeholder)
    joined = _topic(other, "Joined by both")
    Participation.objects.create(topic=joined, user=placeholder, role="participant")
    Participation.objects.create(topic=joined, user=real, role="participant")
    only_placeholder = _topic(other, "Joined by the placeholder")
    Participation.objects.create(topic=only_placeholder, user=placeholder, role="participant")
    task = Task.objects.create(topic=proposed, title="Slides", assignee=placeholder)

    placeholder_merge(placeholder=placeholder, into=real, by=organiser)

    assert User.objects.filter(pk=placeholder.pk).exists() is False
    proposed.refresh_from_db()
    task.refresh_from_db()
    assert proposed.proposer_id == real.pk
    assert list(co_presented.co_presenters.all()) == [real]
    assert sorted(Participation.objects.filter(user=real).values_list("topic__title", "role")) == [
        ("Joined by both", "participant"),
        ("Joined by the placeholder", "participant"),
        ("Proposed by the placeholder", "proposer"),
    ]
    assert task.assignee_id == real.pk


def test_placeholder_merge_drops_a_co_presenter_place_the_account_already_has(organiser):
    placeholder = placeholder_for(name="王小明")
    real = UserFactory()
    topic = _topic(UserFactory())
    topic.co_presenters.add(placeholder, real)

    placeholder_merge(placeholder=placeholder, into=real, by=organiser)

    assert list(topic.co_presenters.all()) == [real]


def test_placeholder_merge_makes_the_account_proposer_where_it_only_participated(organiser):
    placeholder = placeholder_for(name="王小明")
    real = UserFactory()
    topic = _topic(placeholder)
    Participation.objects.create(topic=topic, user=real, role="participant")

    placeholder_merge(placeholder=placeholder, into=real, by=organiser)

    assert list(topic.participations.values_list("user", "role")) == [(real.pk, "proposer")]


def test_placeholder_merge_is_for_organisers_only(member):
    placeholder = placeholder_for(name="王小明")

    with pytest.raises(PermissionDenied):
        placeholder_merge(placeholder=placeholder, into=member, by=member)

    assert User.objects.filter(pk=placeholder.pk).exists() is True


def test_placeholder_merge_refuses_a_real_account_as_the_placeholder(organiser):
    real = UserFactory(display_name="Ann")

    with pytest.raises(ValueError) as excinfo:
        placeholder_merge(placeholder=real, into=UserFactory(), by=organiser)

    assert str(excinfo.value) == "“Ann” is not a placeholder."


def test_placeholder_merge_refuses_a_placeholder_as_the_target(organiser):
    placeholder = placeholder_for(name="王小明")

    with pytest.raises(ValueError) as excinfo:
        placeholder_merge(placeholder=placeholder, into=placeholder_for(name="李雷"), by=organiser)

    assert str(excinfo.value) == "“李雷” is a placeholder, not a real account."


@pytest.mark.django_db
def test_admin_action_merges_placeholder_into_account(client, organiser):
    from django.urls import reverse

    from members.placeholders import placeholder_for
    from tests.factories import TopicFactory

    ghost = placeholder_for(name="韩梅梅")
    real = UserFactory(email="meimei@example.org")
    topic = TopicFactory(proposer=ghost)
    client.force_login(organiser)

    response = client.post(
        reverse("admin:members_user_changelist"),
        {"action": "merge_placeholder", "_selected_action": [ghost.pk, real.pk]},
    )

    assert response.status_code == 302
    topic.refresh_from_db()
    assert topic.proposer == real
    assert not User.objects.filter(pk=ghost.pk).exists()


# --- every relation of the model graph -------------------------------------------------------


def _context(n: int):
    """Things the rows of one context point at besides the person (a topic, a session …)."""
    import datetime
    import types

    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType
    from django.utils import timezone

    from library.models import LibraryItem, OpenSourceProject, Tag
    from members.models import Application
    from sessions.models import Season, WeeklySession
    from tests.factories import TopicFactory

    track = TrackFactory(slug=f"merge-{n}")
    topic = TopicFactory(track=track)
    start = timezone.now() + datetime.timedelta(days=7 * n)
    session = WeeklySession.objects.create(topic=topic, track=track, start=start)
    return types.SimpleNamespace(
        n=n,
        track=track,
        topic=topic,
        session=session,
        season=Season.objects.create(label=f"Topic {n}", order=n),
        group=Group.objects.create(name=f"Readers {n}"),
        permission=Permission.objects.order_by("pk")[n],
        application=Application.objects.create(
            applicant=UserFactory(), motivation="m", paper_title="p", paper_url="https://a.org"
        ),
        item=LibraryItem.objects.create(title=f"Talk {n}", season=None, domain=track),
        project=OpenSourceProject.objects.create(name=f"P{n}", url=f"https://git.example/{n}"),
        tag=Tag.objects.create(name=f"tag {n}"),
        content_type=ContentType.objects.get_for_model(Topic),
    )


def _through(manager, user, **target):
    return manager.through.objects.get(user=user, **target)


def _row_makers():
    """'app.Model.field' of every foreign key to the user → makes a row of it for a person in
    a context. In one context both people get a row: where a unique constraint covers the
    field, those two rows collide."""
    from allauth.account.models import EmailAddress
    from allauth.socialaccount.models import SocialAccount
    from django.contrib.admin.models import ADDITION, LogEntry
    from django.utils import timezone

    from members.ledger.models import AttendanceImport, ExemptionRequest, LedgerExemption
    from members.models import ApiToken, Application, AuditEvent, Conflict, Vote
    from sessions.models import (
        RSVP,
        Attendance,
        CoPresenterInvitation,
        SessionChange,
        SessionPresenter,
        TopicInterest,
        TopicTransition,
        WaitlistEntry,
    )
    from tests.factories import TopicFactory
    from topicshare.forum.models import AccountDeletion, GroupChange, OfficialAccountDraft
    from topicshare.notifications.models import Notification, NotificationKind, NotificationOptOut

    def notification(user, c):
        now = timezone.now()
        return Notification.objects.create(
            kind=NotificationKind.DAY_BEFORE, subject_type=c.content_type,
            subject_id=c.topic.pk, occasion=f"o{c.n}", recipient=user, title="t",
            body_text="b", due_at=now, next_attempt_at=now,
        )  # fmt: skip

    def webhook_endpoint(user, c):
        from topicshare.notifications.models import WebhookEndpoint

        return WebhookEndpoint.objects.create(
            url="https://127.0.0.1:9/hook", events=[], secret="whsec_x", created_by=user
        )

    return {
        "notifications.WebhookEndpoint.created_by": webhook_endpoint,
        "admin.LogEntry.user": lambda user, c: LogEntry.objects.create(
            user=user,
            content_type=c.content_type,
            object_id=str(c.topic.pk),
            object_repr="x",
            action_flag=ADDITION,
        ),  # fmt: skip
        "account.EmailAddress.user": lambda user, c: EmailAddress.objects.create(
            user=user, email=f"shared-{c.n}@example.org", primary=False, verified=False
        ),
        "socialaccount.SocialAccount.user": lambda user, c: SocialAccount.objects.create(
            user=user, provider="openid", uid=f"{user.pk}-{c.n}"
        ),
        "notifications.Notification.recipient": notification,
        "notifications.NotificationOptOut.user": lambda user, c: NotificationOptOut.objects.create(
            user=user, kind=[NotificationKind.PROMOTION, NotificationKind.AFTER][c.n % 2]
        ),
        "members.User_tracks_of_interest.user": lambda user, c: (
            user.tracks_of_interest.add(c.track)
            or _through(user.tracks_of_interest, user, track=c.track)
        ),
        "members.User_groups.user": lambda user, c: (
            user.groups.add(c.group) or _through(user.groups, user, group=c.group)
        ),
        "members.User_user_permissions.user": lambda user, c: (
            user.user_permissions.add(c.permission)
            or _through(user.user_permissions, user, permission=c.permission)
        ),
        "members.Application.applicant": lambda user, c: Application.objects.create(
            applicant=user,
            motivation="m",
            paper_title="p",
            paper_url="https://a.org",
            status=[Application.Status.WITHDRAWN, Application.Status.SUBMITTED][c.n % 2],
        ),  # fmt: skip
        "members.Vote.voter": lambda user, c: Vote.objects.create(
            application=c.application, voter=user, choice=Vote.Choice.APPROVE
        ),
        "members.Conflict.member": lambda user, c: Conflict.objects.create(
            application=c.application, member=user, reason="r"
        ),
        # A placeholder never makes one (api_token_create refuses); the merge moves them all.
        "members.ApiToken.user": lambda user, c: ApiToken.objects.create(
            user=user,
            name="t",
            prefix="abcdefgh",
            hashed=hashlib.sha256(f"{user.pk}-{c.n}".encode()).hexdigest(),
        ),
        "members.AuditEvent.actor": lambda user, c: AuditEvent.objects.create(
            action=AuditEvent.Action.ROLE_CHANGED, actor=user
        ),
        "members.AuditEvent.subject_user": lambda user, c: AuditEvent.objects.create(
            action=AuditEvent.Action.ROLE_CHANGED, subject_user=user
        ),
        "ledger.LedgerExemption.user": lambda user, c: LedgerExemption.objects.create(
            user=user, season=c.season, reason="r"
        ),
        "ledger.LedgerExemption.by": lambda user, c: LedgerExemption.objects.create(
            user=UserFactory(), season=c.season, reason="r", by=user
        ),
        "ledger.AttendanceImport.uploaded_by": lambda user, c: AttendanceImport.objects.create(
            session=c.session,
            token=f"t{user.pk}-{c.n}",
            sha256=f"{user.pk}-{c.n}",
            file_name="participants.csv",
            kind="csv",
            table={"rows": [], "lines": []},
            uploaded_by=user,
        ),
        "topic_sessions.Topic_co_presenters.user": lambda user, c: (
            c.topic.co_presenters.add(user) or _through(c.topic.co_presenters, user, topic=c.topic)
        ),
        "topic_sessions.Topic.proposer": lambda user, c: TopicFactory(
            proposer=user, track=c.track, with_proposer_participation=False
        ),
        "topic_sessions.CoPresenterInvitation.invitee": lambda user, c: (
            CoPresenterInvitation.objects.create(topic=c.topic, invitee=user)
        ),
        "topic_sessions.CoPresenterInvitation.invited_by": lambda user, c: (
            CoPresenterInvitation.objects.create(
                topic=c.topic, invitee=UserFactory(), invited_by=user
            )
        ),
        "topic_sessions.TopicTransition.by": lambda user, c: TopicTransition.objects.create(
            topic=c.topic, to_status="accepted", by=user
        ),
        "topic_sessions.Participation.user": lambda user, c: Participation.objects.create(
            topic=c.topic, user=user, role=Participation.Role.PARTICIPANT
        ),
        "library.Tag_followers.user": lambda user, c: (
            c.tag.followers.add(user) or _through(c.tag.followers, user, tag=c.tag)
        ),
        "ledger.ExemptionRequest.user": lambda user, c: ExemptionRequest.objects.create(
            user=user, season=c.season, reason="出差"
        ),
        "ledger.ExemptionRequest.answered_by": lambda user, c: ExemptionRequest.objects.create(
            user=UserFactory(), season=c.season, reason="出差", answered_by=user
        ),
        "topic_sessions.TopicInterest.user": lambda user, c: TopicInterest.objects.create(
            topic=c.topic, user=user
        ),
        "topic_sessions.WaitlistEntry.user": lambda user, c: WaitlistEntry.objects.create(
            topic=c.topic, user=user
        ),
        "topic_sessions.Task.assignee": lambda user, c: Task.objects.create(
            topic=c.topic, title="t", assignee=user
        ),
        "topic_sessions.SessionPresenter.user": lambda user, c: SessionPresenter.objects.create(
            session=c.session, user=user, start=c.session.start
        ),
        "topic_sessions.SessionChange.by": lambda user, c: SessionChange.objects.create(
            session=c.session, kind=SessionChange.Kind.EDITED, by=user
        ),
        "topic_sessions.RSVP.user": lambda user, c: RSVP.objects.create(
            session=c.session, user=user
        ),
        "topic_sessions.Attendance.user": lambda user, c: Attendance.objects.create(
            session=c.session, user=user, how=Attendance.How.SELF
        ),
        "topic_sessions.Attendance.recorded_by": lambda user, c: Attendance.objects.create(
            session=c.session, user=UserFactory(), how=Attendance.How.ORGANISER, recorded_by=user
        ),
        # Done rows: a person has one open row at most (an open one of each would collide).
        "forum.GroupChange.user": lambda user, c: GroupChange.objects.create(
            user=user, change="add", reason="admission", done_at=timezone.now()
        ),
        "forum.GroupChange.done_by": lambda user, c: GroupChange.objects.create(
            user=UserFactory(),
            change="add",
            reason="admission",
            done_at=timezone.now(),
            done_by=user,
        ),
        # Done rows: a person has one open request at most.
        "forum.AccountDeletion.user": lambda user, c: AccountDeletion.objects.create(
            user=user, confirmed_at=timezone.now(), done_at=timezone.now()
        ),
        "forum.OfficialAccountDraft.saved_by": lambda user, c: OfficialAccountDraft.objects.create(
            kind=OfficialAccountDraft.Kind.SESSION,
            object_id=c.session.pk,
            language=f"l{user.pk}",
            media_id="MEDIA",
            saved_by=user,
        ),
        "library.LibraryItem_presenters.user": lambda user, c: (
            c.item.presenters.add(user) or _through(c.item.presenters, user, libraryitem=c.item)
        ),
        "library.OpenSourceProject_maintainers.user": lambda user, c: (
            c.project.maintainers.add(user)
            or _through(c.project.maintainers, user, opensourceproject=c.project)
        ),
    }


def _foreign_keys_to_user() -> dict[str, object]:
    """Every foreign key to the user model, read from the model graph (not from the code
    under test): a new one appears here by itself."""
    from django.apps import apps

    return {
        f"{model._meta.label}.{field.name}": field
        for model in apps.get_models(include_auto_created=True)
        for field in model._meta.local_fields
        if field.is_relation and field.related_model is User
    }


def _has_unique_rule(field) -> bool:
    from django.db.models import UniqueConstraint

    meta = field.model._meta
    return (
        field.unique
        or any(field.name in names for names in meta.unique_together)
        or any(
            isinstance(constraint, UniqueConstraint) and field.name in constraint.fields
            for constraint in meta.constraints
        )
    )


def test_every_foreign_key_to_a_user_has_a_row_maker_here():
    """A new foreign key to the user needs a line in _row_makers, so that the next test
    proves placeholder_merge moves it."""
    assert sorted(_foreign_keys_to_user()) == sorted(_row_makers())


def test_placeholder_merge_moves_every_relation_of_the_model_graph(organiser):
    placeholder = placeholder_for(name="王小明")
    real = UserFactory(display_name="Wang Xiaoming")
    shared, own = _context(1), _context(2)
    fields = _foreign_keys_to_user()
    rows = {}
    for label, make in _row_makers().items():
        rows[label] = {
            "own": make(placeholder, own),  # only the placeholder has one here: it must move
            "placeholder": make(placeholder, shared),
            "real": make(real, shared),  # where a unique rule covers it, the two collide
        }

    placeholder_merge(placeholder=placeholder, into=real, by=organiser)

    problems = []
    for label, made in rows.items():
        field = fields[label]
        manager = field.model._base_manager
        values = {
            name: manager.filter(pk=row.pk).values_list(field.attname, flat=True).first()
            for name, row in made.items()
        }
        if values["own"] != real.pk:
            problems.append(f"{label}: the placeholder's row was not moved ({values['own']})")
        if values["real"] != real.pk:
            problems.append(f"{label}: the account's own row changed ({values['real']})")
        if values["placeholder"] != real.pk and not (
            values["placeholder"] is None
            and not manager.filter(pk=made["placeholder"].pk).exists()
            and _has_unique_rule(field)
        ):
            problems.append(f"{label}: a row that collides with nothing was lost")
    assert problems == []
    assert User.objects.filter(pk=placeholder.pk).exists() is False


def test_placeholder_merge_keeps_session_presenter_rows(organiser):
    from sessions.models import SessionPresenter

    placeholder = placeholder_for(name="王小明")
    real = UserFactory()
    context = _context(1)
    row = SessionPresenter.objects.create(
        session=context.session, user=placeholder, start=context.session.start
    )

    placeholder_merge(placeholder=placeholder, into=real, by=organiser)

    assert list(SessionPresenter.objects.filter(user=real).values_list("pk", flat=True)) == [row.pk]


def test_placeholder_merge_of_two_presenters_of_one_session_keeps_one_row(organiser):
    """The placeholder proposed the topic and the account co-presents it: one person now
    presents once, as the proposer (not also as a co-presenter)."""
    from sessions.models import SessionPresenter

    placeholder = placeholder_for(name="王小明")
    real = UserFactory()
    topic = _topic(placeholder)
    topic.co_presenters.add(real)
    context = _context(1)
    for person in (placeholder, real):
        SessionPresenter.objects.create(
            session=context.session, user=person, start=context.session.start
        )

    placeholder_merge(placeholder=placeholder, into=real, by=organiser)

    topic.refresh_from_db()
    assert topic.proposer_id == real.pk
    assert list(topic.co_presenters.all()) == []
    assert SessionPresenter.objects.filter(session=context.session).count() == 1


def test_placeholder_merge_reindexes_the_library_items_it_moves(organiser):
    from library.models import LibraryItem
    from library.services import items_reindex

    placeholder = placeholder_for(name="王小明")
    real = UserFactory(display_name="Hanmeimei")
    item = LibraryItem.objects.create(title="BERT", domain=TrackFactory(slug="nlp"))
    item.presenters.add(placeholder)
    items_reindex([item])

    placeholder_merge(placeholder=placeholder, into=real, by=organiser)

    item.refresh_from_db()
    assert "hanmeimei" in item.search_text.lower()


def test_placeholder_merge_refuses_to_drop_a_duplicate_that_others_depend_on(organiser):
    """Both have an open application (one allowed per person); the placeholder's has a vote,
    which deleting it would take along: the merge is refused and nothing changes."""
    from members.models import Application, Vote

    placeholder = placeholder_for(name="王小明")
    real = UserFactory()
    theirs = Application.objects.create(
        applicant=placeholder, motivation="m", paper_title="p", paper_url="https://a.org"
    )
    Application.objects.create(
        applicant=real, motivation="m", paper_title="p", paper_url="https://a.org"
    )
    Vote.objects.create(application=theirs, voter=UserFactory(), choice=Vote.Choice.APPROVE)
    topic = _topic(placeholder)

    with pytest.raises(ValueError) as excinfo:
        placeholder_merge(placeholder=placeholder, into=real, by=organiser)

    assert str(excinfo.value).startswith("Merging would delete more than the duplicate:")
    assert User.objects.filter(pk=placeholder.pk).exists() is True
    assert Topic.objects.get(pk=topic.pk).proposer_id == placeholder.pk
    assert Vote.objects.filter(application=theirs).count() == 1


def test_each_app_moves_its_own_rows_on_user_merging(organiser):
    """The apps above members answer user_merging with their label; members moves the rest."""
    from members.signals import user_merging

    placeholder = placeholder_for(name="张三")
    account = UserFactory()

    answers = user_merging.send(sender=User, placeholder=placeholder, into=account)

    assert sorted(label for _receiver, label in answers) == [
        "forum",
        "ledger",
        "library",
        "topic_sessions",
    ]


def test_an_app_that_does_not_move_its_rows_makes_the_merge_refused(organiser):
    """Without the library's receiver its rows would go with the placeholder: refused, nothing
    changes (deleting the placeholder never takes anything along)."""
    from library.models import LibraryItem
    from library.signals import rows_to_the_account
    from members.signals import user_merging

    placeholder = placeholder_for(name="张三")
    account = UserFactory()
    item = LibraryItem.objects.create(title="BERT", domain=TrackFactory(slug="nlp"))
    item.presenters.add(placeholder)
    assert user_merging.disconnect(dispatch_uid="library-move-rows", sender=User)
    try:
        with pytest.raises(ValueError, match="Merging would delete more than the duplicate"):
            placeholder_merge(placeholder=placeholder, into=account, by=organiser)
    finally:
        user_merging.connect(rows_to_the_account, sender=User, dispatch_uid="library-move-rows")

    assert list(item.presenters.all()) == [placeholder]
    assert User.objects.filter(pk=placeholder.pk).exists()
