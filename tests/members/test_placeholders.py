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
