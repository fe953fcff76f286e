"""Other people's ids: somebody else's topic, task, application, materials or calendar,
and one's own application in the committee's hands — 403/404, nothing changed."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from library.models import LibraryItem
from members.admission import application_submit, vote_cast
from members.models import Application, Vote
from members.roles import Role
from members.services import role_set
from sessions.models import Participation, Task, Topic, TopicStatus, WeeklySession
from sessions.weekly.calendar import calendar_token_for, calendar_token_regenerate
from tests.factories import TopicFactory, TrackFactory, UserFactory
from tests.hostile.helpers import PDF, upload

pytestmark = pytest.mark.django_db


def _snapshot(topic: Topic) -> tuple:
    topic = Topic.objects.get(pk=topic.pk)
    return (topic.title, topic.summary, topic.status, topic.group_chat_link, topic.capacity,
            topic.proposer_id, list(topic.co_presenters.values_list("pk", flat=True)))  # fmt: skip


def _edit_data(topic, **overrides):
    return {"title": "hijacked", "track": topic.track.pk, "summary": "mine now",
            "paper_links": "https://evil.example/p", "capacity": "1", **overrides}  # fmt: skip


# --- Someone else's topic -------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.AUDIENCE, Role.MEMBER, Role.COMMITTEE])
def test_editing_someone_elses_topic_is_403_and_changes_nothing(client, role):
    topic = TopicFactory()
    before = _snapshot(topic)
    client.force_login(UserFactory(role=role))

    get = client.get(reverse("topics:edit", args=[topic.pk]))
    post = client.post(reverse("topics:edit", args=[topic.pk]), _edit_data(topic))

    assert (get.status_code, post.status_code) == (403, 403)
    assert _snapshot(topic) == before


@pytest.mark.parametrize("status", [TopicStatus.SCHEDULED, TopicStatus.PRESENTED,
                                    TopicStatus.CANCELLED, TopicStatus.REJECTED])  # fmt: skip
def test_proposer_cannot_edit_once_the_topic_is_out_of_their_hands(client, status):
    topic = TopicFactory(status=status)
    before = _snapshot(topic)
    client.force_login(topic.proposer)

    response = client.post(reverse("topics:edit", args=[topic.pk]), _edit_data(topic))

    assert response.status_code == 403
    assert _snapshot(topic) == before


def test_a_co_presenter_cannot_be_a_placeholder_or_an_inactive_account(client):
    topic = TopicFactory()
    placeholder = UserFactory(is_placeholder=True, display_name="Ghost")
    inactive = UserFactory(is_active=False)
    before = _snapshot(topic)
    client.force_login(topic.proposer)

    response = client.post(
        reverse("topics:edit", args=[topic.pk]),
        _edit_data(topic, title="ok", co_presenters=[placeholder.pk, inactive.pk]),
    )

    assert response.status_code == 200
    assert "co_presenters" in response.context["form"].errors
    assert _snapshot(topic) == before


@pytest.mark.parametrize(
    ("role", "to"),
    [
        (Role.MEMBER, "withdrawn"),
        (Role.MEMBER, "cancelled"),
        (Role.AUDIENCE, "accepted"),
        (Role.COMMITTEE, "accepted"),
        (Role.MEMBER, "rejected"),
    ],  # fmt: skip
)
def test_moving_someone_elses_topic_is_refused(client, role, to):
    topic = TopicFactory()
    before = _snapshot(topic)
    client.force_login(UserFactory(role=role))

    response = client.post(
        reverse("topics:transition", args=[topic.pk]), {"to": to, "reason": "mine"}
    )

    assert response.status_code == 403
    assert _snapshot(topic) == before
    assert topic.transitions.count() == 0


# --- Someone else's group and tasks ------------------------------------------------------


@pytest.fixture
def two_groups():
    mine = TopicFactory(status=TopicStatus.PREPARING)
    theirs = TopicFactory(status=TopicStatus.PREPARING)
    task = Task.objects.create(topic=theirs, title="their slides", assignee=theirs.proposer)
    return mine, theirs, task


def _task_state(task) -> tuple:
    task = Task.objects.get(pk=task.pk)
    return (task.title, task.status, task.assignee_id, task.topic_id)


@pytest.mark.parametrize(
    "data",
    [{"status": "done"}, {"assignee": ""}, {"status": "doing", "assignee": "me"}],
    ids=["status", "unassign", "assign-myself"],
)
def test_moving_a_task_of_another_group_is_refused(client, two_groups, data):
    mine, theirs, task = two_groups
    before = _task_state(task)
    client.force_login(mine.proposer)
    data = {k: str(mine.proposer.pk) if v == "me" else v for k, v in data.items()}

    response = client.post(reverse("topics:task-move", args=[theirs.pk, task.pk]), data)

    # 403 from the permission check, or the form refusing a person outside that group.
    assert response.status_code in {302, 403}
    assert _task_state(task) == before


def test_a_task_of_another_group_through_my_topics_address_is_404(client, two_groups):
    mine, _theirs, task = two_groups
    before = _task_state(task)
    client.force_login(mine.proposer)

    response = client.post(
        reverse("topics:task-move", args=[mine.pk, task.pk]),
        {"status": "done", "assignee": str(mine.proposer.pk)},
    )

    assert response.status_code == 404
    assert _task_state(task) == before


def test_adding_a_task_to_another_group_is_403(client, two_groups):
    mine, theirs, _task = two_groups
    client.force_login(mine.proposer)

    response = client.post(
        reverse("topics:group", args=[theirs.pk]),
        {"add_task": "1", "title": "spam", "notes": "", "due_date": ""},
    )

    assert response.status_code == 403
    assert theirs.tasks.count() == 1


def test_assigning_my_task_to_someone_outside_the_group_is_refused(client, two_groups):
    mine, theirs, _task = two_groups
    task = Task.objects.create(topic=mine, title="mine")
    before = _task_state(task)
    client.force_login(mine.proposer)

    response = client.post(
        reverse("topics:task-move", args=[mine.pk, task.pk]),
        {"assignee": str(theirs.proposer.pk)},
    )

    assert response.status_code == 302
    assert _task_state(task) == before


def test_a_participant_cannot_change_the_groups_chat_link(client):
    topic = TopicFactory(status=TopicStatus.RECRUITING)
    participant = UserFactory(role=Role.MEMBER)
    Participation.objects.create(topic=topic, user=participant, role="participant")
    before = _snapshot(topic)
    client.force_login(participant)

    response = client.post(
        reverse("topics:group", args=[topic.pk]),
        {"save_group": "1", "group_chat_link": "https://evil.example/join"},
    )

    assert response.status_code == 403
    assert _snapshot(topic) == before


def test_outsiders_do_not_see_the_groups_chat_link(client):
    topic = TopicFactory(status=TopicStatus.RECRUITING)
    Topic.objects.filter(pk=topic.pk).update(group_chat_link="https://chat.example.org/secret")
    client.force_login(UserFactory(role=Role.MEMBER))

    group = client.get(reverse("topics:group", args=[topic.pk]))
    detail = client.get(reverse("topics:detail", args=[topic.pk]))
    api = client.get(reverse("api-topics"))

    assert group.status_code == 403
    for response in (detail, api):
        assert b"chat.example.org/secret" not in response.content


def test_leaving_a_group_one_is_not_in_changes_nothing(client):
    topic = TopicFactory(status=TopicStatus.RECRUITING)
    other = UserFactory(role=Role.MEMBER)
    Participation.objects.create(topic=topic, user=other, role="participant")
    client.force_login(UserFactory(role=Role.MEMBER))

    response = client.post(reverse("topics:leave", args=[topic.pk]))

    assert response.status_code == 302
    assert Participation.objects.filter(topic=topic).count() == 2


def test_the_proposer_cannot_leave_their_own_group(client):
    topic = TopicFactory(status=TopicStatus.RECRUITING)
    client.force_login(topic.proposer)

    client.post(reverse("topics:leave", args=[topic.pk]))

    assert Participation.objects.filter(topic=topic, user=topic.proposer).exists()


def test_audience_cannot_join_a_members_only_group(client, audience):
    topic = TopicFactory(status=TopicStatus.RECRUITING, members_only=True)
    client.force_login(audience)

    client.post(reverse("topics:join", args=[topic.pk]))

    assert not Participation.objects.filter(topic=topic, user=audience).exists()


# --- Someone else's application -----------------------------------------------------------


def _apply(applicant=None, **extra):
    return application_submit(
        applicant=applicant or UserFactory(role=Role.AUDIENCE),
        motivation="I read NLP papers every week and want to present.",
        paper_title="SECRET-PAPER-TITLE",
        paper_url="https://arxiv.org/abs/1810.04805",
        **extra,
    )


def test_withdrawing_someone_elses_application_is_404(client):
    application = _apply()
    client.force_login(UserFactory(role=Role.AUDIENCE))

    response = client.post(reverse("join-withdraw", args=[application.pk]))

    assert response.status_code == 404
    assert Application.objects.get(pk=application.pk).status == "submitted"


@pytest.mark.parametrize("role", [Role.AUDIENCE, Role.MEMBER])
def test_someone_elses_application_slides_are_403(client, role):
    application = _apply(slides=upload("s.pdf", PDF))
    client.force_login(UserFactory(role=role))

    response = client.get(reverse("application-slides", args=[application.pk]))

    assert response.status_code == 403


def test_my_status_page_never_lists_someone_elses_application(client):
    _apply()
    client.force_login(UserFactory(role=Role.AUDIENCE))

    response = client.get(reverse("join-status"))

    assert b"SECRET-PAPER-TITLE" not in response.content


@pytest.mark.parametrize("role", [Role.AUDIENCE, Role.MEMBER])
def test_non_committee_cannot_vote_through_the_admin(client, role):
    application = _apply()
    client.force_login(UserFactory(role=role))

    response = client.post(
        reverse("admin:members_application_change", args=[application.pk]),
        {"vote_choice": "approve", "_save": "1"},
    )

    assert response.status_code in {302, 403}
    assert Vote.objects.count() == 0


@pytest.fixture
def applicant_on_the_committee():
    """Applied as audience, then made committee while the application is open."""
    applicant = UserFactory(role=Role.AUDIENCE)
    application = _apply(applicant)
    role_set(user=applicant, role=Role.COMMITTEE)
    others = [UserFactory(role=Role.COMMITTEE) for _ in range(3)]
    vote_cast(application=application, voter=others[0], choice="reject", comment="SECRET-VOTE")
    return applicant, application, others


@pytest.mark.parametrize("choice", ["approve", "reject", "abstain"])
def test_nobody_votes_on_their_own_application_through_the_admin(
    client, applicant_on_the_committee, choice
):
    applicant, application, _others = applicant_on_the_committee
    client.force_login(applicant)

    response = client.post(
        reverse("admin:members_application_change", args=[application.pk]),
        {"vote_choice": choice, "vote_comment": "me!", "_save": "1"},
    )

    assert response.status_code in {302, 403}
    assert not Vote.objects.filter(voter=applicant).exists()


def test_an_applicant_on_the_committee_never_sees_the_votes_on_their_application(
    client, applicant_on_the_committee
):
    applicant, application, _others = applicant_on_the_committee
    client.force_login(applicant)

    response = client.get(reverse("admin:members_application_change", args=[application.pk]))

    assert response.status_code == 200
    assert b"SECRET-VOTE" not in response.content
    assert response.context["votes_visible"] is False


def test_an_applicant_on_the_committee_cannot_close_their_own_vote(
    client, applicant_on_the_committee
):
    applicant, application, others = applicant_on_the_committee
    for member in others[1:]:
        vote_cast(application=application, voter=member, choice="approve")
    client.force_login(applicant)

    client.post(
        reverse("admin:members_application_close", args=[application.pk]),
        {"feedback": "Welcome!", "override_reason": "I decide myself"},
    )

    application.refresh_from_db()
    assert application.status == "submitted"


def test_an_applicant_on_the_committee_cannot_review_their_own_application(
    client, applicant_on_the_committee
):
    applicant, application, _others = applicant_on_the_committee
    client.force_login(applicant)
    review = timezone.localtime() + datetime.timedelta(days=3)

    client.post(
        reverse("admin:members_application_change", args=[application.pk]),
        {"feedback": "Excellent candidate.", "review_meeting_url": "", "review_notes": "",
         "review_at_0": f"{review:%Y-%m-%d}", "review_at_1": "20:00",
         "vote_deadline_0": "", "vote_deadline_1": ""},
    )  # fmt: skip

    application.refresh_from_db()
    assert (application.feedback, application.review_at) == ("", None)


# --- Someone else's library materials -----------------------------------------------------


@pytest.mark.parametrize("role", [Role.AUDIENCE, Role.MEMBER, Role.COMMITTEE])
def test_materials_of_an_item_one_does_not_present_are_403(client, role):
    item = LibraryItem.objects.create(title="LightGCN", recording_url="https://a.org/r")
    item.presenters.set([UserFactory(role=Role.MEMBER)])
    client.force_login(UserFactory(role=role))

    get = client.get(reverse("library:materials", args=[item.pk]))
    post = client.post(
        reverse("library:materials", args=[item.pk]),
        {"recording_url": "https://evil.example/", "slides_file": upload("s.pdf", PDF)},
    )

    item.refresh_from_db()
    assert (get.status_code, post.status_code) == (403, 403)
    assert (item.recording_url, item.slides_file.name) == ("https://a.org/r", "")


def test_members_only_items_are_404_for_the_audience_even_by_id(client, audience):
    item = LibraryItem.objects.create(title="内部资料", visibility="members")
    client.force_login(audience)

    for url in [reverse("library:detail", args=[item.pk]),
                reverse("library:slides", args=[item.pk]),
                reverse("library:materials", args=[item.pk])]:  # fmt: skip
        assert client.get(url).status_code == 404
    api = client.get(reverse("api-library-items"), {"q": "内部"})
    assert api.json()["count"] == 0


# --- Someone else's calendar ------------------------------------------------------------


@pytest.fixture
def with_meeting():
    track = TrackFactory(slug="nlp", weekday=5, local_time=datetime.time(20, 30))
    topic = TopicFactory(status=TopicStatus.SCHEDULED, track=track)
    WeeklySession.objects.create(
        topic=topic, track=track, start=timezone.now() + datetime.timedelta(days=3),
        meeting_url="https://meeting.example.org/SECRET-ROOM",
    )  # fmt: skip
    return topic


def test_a_guessed_or_stale_calendar_token_is_404(client, with_meeting):
    owner = with_meeting.proposer
    old = calendar_token_for(user=owner)
    new = calendar_token_regenerate(user=owner)
    inactive = UserFactory(is_active=False)
    inactive_token = calendar_token_for(user=inactive)
    good = client.get(reverse("sessions:calendar-personal", args=[new]))

    for token in [old, inactive_token, new[:-1], new.upper(), "None", "%", "x" * 64]:
        response = client.get(reverse("sessions:calendar-personal", args=[token]))
        assert response.status_code == 404, token
    assert good.status_code == 200
    assert b"SECRET-ROOM" in good.content


def test_public_feeds_and_pages_never_show_the_meeting_link_or_tokens(client, with_meeting):
    owner = with_meeting.proposer
    token = calendar_token_for(user=owner)
    client.force_login(UserFactory(role=Role.ORGANISER))

    pages = [
        reverse("sessions:calendar-all"),
        reverse("sessions:calendar-track", args=["nlp"]),
        reverse("api-sessions"),
        reverse("members:detail", args=[owner.pk]),
    ]
    for url in pages:
        content = client.get(url).content
        assert token.encode() not in content, url
    for url in pages[:3]:
        assert b"SECRET-ROOM" not in client.get(url).content, url


# --- Organisers' pages ----------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.AUDIENCE, Role.MEMBER, Role.COMMITTEE])
def test_organiser_pages_are_403_for_others(client, role, with_meeting):
    from sessions.models import Season

    season = Season.objects.create(label="Topic 7", order=7)
    session = WeeklySession.objects.get()
    client.force_login(UserFactory(role=role))

    responses = [
        client.post(reverse("sessions:manage", args=[session.pk]),
                    {"action": "cancel", "reason": "x"}),
        client.post(reverse("sessions:schedule", args=[with_meeting.pk]), {"slot": "x"}),
        client.post(reverse("ledger:season-review", args=[season.pk]), {"exempt": "1"}),
        client.get(reverse("ledger:season-review-csv", args=[season.pk])),
        client.get(reverse("topics:export")),
        client.get(reverse("dashboard")),
    ]  # fmt: skip

    assert [r.status_code for r in responses] == [403] * 6
    assert WeeklySession.objects.get().status == "scheduled"
