"""A page shows an action button exactly when the service would accept the action.

For every role × every topic (or session) state: GET the page, note which buttons it shows,
then POST every action that could be offered there (in a savepoint that is rolled back) and
see whether it was done. A button that is shown must work; an action that works must have
its button (or it is a hidden feature); a refusal must never come with a success message.
Organisers and superusers are roles of their own here: the admin's blanket permissions once
made the page offer them "leave the group" for groups they were not in."""

import datetime
import types

import pytest
from django.contrib.messages import constants, get_messages
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from members.roles import Role
from sessions.models import (
    CHECKLIST,
    RSVP,
    Attendance,
    Participation,
    SessionStatus,
    Task,
    Topic,
    TopicInterest,
    TopicStatus,
    WaitlistEntry,
    WeeklySession,
)
from sessions.topics.services import TRANSITIONS
from sessions.weekly.scheduling import free_slots
from tests.factories import TopicFactory, TrackFactory, UserFactory
from tests.html_forms import html_forms

pytestmark = pytest.mark.django_db
S = TopicStatus

TOPIC_ROLES = ["anonymous", "audience", "member", "proposer", "participant", "organiser",
               "superuser"]  # fmt: skip


@pytest.fixture
def people():
    return types.SimpleNamespace(
        anonymous=None,
        audience=UserFactory(role=Role.AUDIENCE),
        member=UserFactory(role=Role.MEMBER),
        proposer=UserFactory(role=Role.MEMBER),
        participant=UserFactory(role=Role.AUDIENCE),
        organiser=UserFactory(role=Role.ORGANISER),
        superuser=UserFactory(role=Role.AUDIENCE, is_superuser=True, is_staff=True),
    )


def _client(user) -> Client:
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client


def _shown(response) -> set[str]:
    """The actions of the page's buttons: data-action, or "to:<status>" for transitions."""
    shown = set()
    for form in html_forms(response.content):
        for button in form.buttons:
            if "data-transition" in button:
                shown.add(f"to:{button['data-transition']}")
            elif "data-action" in button:
                shown.add(button["data-action"])
    return shown


def _attempt(client, url: str, data: dict, done) -> tuple[bool, list[int]]:
    """POST in a savepoint that is rolled back: (whether `done()` says it happened, the
    levels of the messages the request left)."""
    client.cookies.pop("messages", None)  # only this request's messages
    with transaction.atomic():
        response = client.post(url, data)
        happened = done()
        levels = [message.level for message in get_messages(response.wsgi_request)]
        transaction.set_rollback(True)
    return happened, levels


def _check(label: str, shown: set[str], attempts: dict[str, tuple[bool, list[int]]]) -> list:
    problems = []
    for action, (happened, levels) in attempts.items():
        if (action in shown) != happened:
            problems.append(
                f"{label}: {action} is {'shown' if action in shown else 'not shown'} but "
                f"{'works' if happened else 'is refused'}"
            )
        if not happened and constants.SUCCESS in levels:
            problems.append(f"{label}: {action} was refused with a success message")
    unknown = shown - attempts.keys()
    if unknown:
        problems.append(f"{label}: buttons this test does not try: {sorted(unknown)}")
    return problems


# --- the topic page --------------------------------------------------------------------------


def _topic_in(variant: str, people) -> Topic:
    """A topic of `people.proposer` in the state named `variant`, with `people.participant`
    in its group (where a group exists)."""
    status = variant.split("-")[0]
    track = TrackFactory(slug="nlp", weekday=5, local_time=datetime.time(20, 30))
    topic = TopicFactory(
        proposer=people.proposer,
        track=track,
        status=status,
        capacity=1 if variant.endswith("full") else 6,
        members_only=variant.endswith("members_only"),
        **{field: variant.endswith("ticked") for field, _label in CHECKLIST},
    )
    if status not in {S.PROPOSED, S.ACCEPTED, S.REJECTED, S.WITHDRAWN}:
        Participation.objects.create(
            topic=topic, user=people.participant, role=Participation.Role.PARTICIPANT
        )
    if status in {S.SCHEDULED, S.PRESENTED}:
        now = timezone.now()
        start = {
            S.PRESENTED: now - datetime.timedelta(days=7),
            S.SCHEDULED: now + datetime.timedelta(days=3),
        }[status]
        if variant == "scheduled-started":
            start = now - datetime.timedelta(minutes=20)
        WeeklySession.objects.create(
            topic=topic,
            track=track,
            start=start,
            status=SessionStatus.DONE if status == S.PRESENTED else SessionStatus.SCHEDULED,
        )
    return topic


TOPIC_VARIANTS = [
    "proposed", "accepted", "rejected", "withdrawn",
    "recruiting", "recruiting-full", "recruiting-members_only",
    "preparing", "preparing-ticked", "ready", "scheduled", "scheduled-started",
    "presented", "cancelled",
]  # fmt: skip


def _topic_page_problems(variant: str, role: str, people) -> list[str]:
    topic = _topic_in(variant, people)
    user = getattr(people, role)
    client = _client(user)
    shown = _shown(client.get(reverse("topics:detail", args=[topic.pk])))

    def in_group() -> bool:
        return (
            user is not None
            and Participation.objects.filter(
                topic=topic, user=user, role=Participation.Role.PARTICIPANT
            ).exists()
        )

    def status_becomes(to: str):
        return lambda: Topic.objects.get(pk=topic.pk).status == to

    attempts = {
        f"to:{to}": _attempt(
            client,
            reverse("topics:transition", args=[topic.pk]),
            {"to": to, "reason": "测试", "confirm": "1"},
            status_becomes(to),
        )
        for (frm, to) in TRANSITIONS
        if frm == topic.status
    }
    was_participant = in_group()
    attempts["join"] = _attempt(
        client,
        reverse("topics:join", args=[topic.pk]),
        {},
        lambda: not was_participant and in_group(),
    )
    attempts["leave"] = _attempt(
        client,
        reverse("topics:leave", args=[topic.pk]),
        {},
        lambda: was_participant and not in_group(),
    )
    wanted = user is not None and TopicInterest.objects.filter(topic=topic, user=user).exists()
    attempts["want"] = _attempt(
        client,
        reverse("topics:interest", args=[topic.pk]),
        {"want": "1"},
        lambda: not wanted and TopicInterest.objects.filter(topic=topic, user=user).exists(),
    )
    attempts["waitlist-join"] = _attempt(
        client,
        reverse("topics:waitlist-join", args=[topic.pk]),
        {},
        lambda: user is not None and WaitlistEntry.objects.filter(topic=topic, user=user).exists(),
    )
    problems = _check(f"{variant} as {role}", shown, attempts | _group_link(shown))
    topic.sessions.all().delete()
    topic.delete()
    return problems


@pytest.mark.parametrize("variant", TOPIC_VARIANTS)
def test_topic_page_shows_exactly_the_actions_that_work(people, variant):
    problems = [
        problem for role in TOPIC_ROLES for problem in _topic_page_problems(variant, role, people)
    ]

    assert problems == []


def _group_link(shown: set[str]) -> dict:
    # "group" is a link, not an action: present or not, nothing to POST.
    return {"group": (True, [])} if "group" in shown else {}


def test_organiser_outside_the_group_is_not_offered_leave_and_not_told_they_left(people):
    topic = _topic_in("recruiting", people)
    for role in ("organiser", "superuser"):
        client = _client(getattr(people, role))

        page = client.get(reverse("topics:detail", args=[topic.pk]))
        response = client.post(reverse("topics:leave", args=[topic.pk]), follow=True)

        assert "leave" not in _shown(page)
        levels = {message.level: str(message) for message in response.context["messages"]}
        assert levels == {constants.ERROR: "You are not a participant of this group."} or (
            levels == {constants.ERROR: "你不是这个小组的参与者。"}
        )


@pytest.mark.parametrize("status", [S.REJECTED, S.WITHDRAWN, S.CANCELLED, S.PRESENTED])
def test_closed_topics_offer_nobody_to_join(client, people, status):
    topic = _topic_in(status, people)

    anonymous = client.get(reverse("topics:detail", args=[topic.pk])).content.decode()
    client.force_login(people.member)
    member = client.get(reverse("topics:detail", args=[topic.pk]))

    assert reverse("account_login") not in anonymous.split("<main", 1)[-1]
    assert "join" not in _shown(member)


# --- the session page ------------------------------------------------------------------------

SESSION_VARIANTS = {
    # name: (status, start relative to now)
    "upcoming": (SessionStatus.SCHEDULED, datetime.timedelta(days=3)),
    "check-in-open": (SessionStatus.SCHEDULED, datetime.timedelta(minutes=10)),
    "live": (SessionStatus.LIVE, -datetime.timedelta(minutes=10)),
    "started-not-advanced": (SessionStatus.SCHEDULED, -datetime.timedelta(minutes=10)),
    "ended-not-advanced": (SessionStatus.SCHEDULED, -datetime.timedelta(days=1)),
    "done": (SessionStatus.DONE, -datetime.timedelta(days=1)),
    "postponed": (SessionStatus.POSTPONED, datetime.timedelta(days=3)),
    "cancelled": (SessionStatus.CANCELLED, datetime.timedelta(days=3)),
}
SESSION_ROLES = ["anonymous", "audience", "rsvped", "checked_in", "organiser", "superuser"]


def _session_in(variant: str) -> WeeklySession:
    status, offset = SESSION_VARIANTS[variant]
    track = TrackFactory(slug="nlp")
    topic = TopicFactory(
        track=track,
        status={SessionStatus.DONE: S.PRESENTED, SessionStatus.CANCELLED: S.CANCELLED,
                SessionStatus.POSTPONED: S.READY}.get(status, S.SCHEDULED),
    )  # fmt: skip
    return WeeklySession.objects.create(
        topic=topic, track=track, start=timezone.now() + offset, status=status
    )


def _session_page_problems(label: str, session: WeeklySession, user) -> list[str]:
    client = _client(user)
    shown = _shown(client.get(reverse("sessions:detail", args=[session.pk])))

    def has_rsvp() -> bool:
        return user is not None and RSVP.objects.filter(session=session, user=user).exists()

    def attended() -> bool:
        return user is not None and Attendance.objects.filter(session=session, user=user).exists()

    before_rsvp, before_attended = has_rsvp(), attended()
    rsvp_url = reverse("sessions:rsvp", args=[session.pk])
    attempts = {
        "rsvp": _attempt(client, rsvp_url, {"going": "1"}, lambda: not before_rsvp and has_rsvp()),
        "unrsvp": _attempt(
            client, rsvp_url, {"going": "0"}, lambda: before_rsvp and not has_rsvp()
        ),
        "check-in": _attempt(
            client,
            reverse("sessions:check-in", args=[session.pk]),
            {},
            lambda: not before_attended and attended(),
        ),
    }
    return _check(label, shown - {"manage"}, attempts)


@pytest.mark.parametrize("variant", SESSION_VARIANTS)
def test_session_page_shows_exactly_the_actions_that_work(people, variant):
    session = _session_in(variant)
    rsvped, checked_in = UserFactory(), UserFactory()
    RSVP.objects.create(session=session, user=rsvped)
    RSVP.objects.create(session=session, user=checked_in)
    Attendance.objects.create(session=session, user=checked_in, how=Attendance.How.SELF)
    users = {**vars(people), "rsvped": rsvped, "checked_in": checked_in}

    problems = [
        problem
        for role in SESSION_ROLES
        for problem in _session_page_problems(f"{variant} as {role}", session, users[role])
    ]

    assert problems == []


@pytest.mark.parametrize("variant", SESSION_VARIANTS)
def test_session_manage_page_shows_exactly_the_actions_that_work(people, variant):
    session = _session_in(variant)
    listener = UserFactory()
    RSVP.objects.create(session=session, user=listener)
    problems = []
    now = timezone.now()
    for role in ("organiser", "superuser"):
        client = _client(getattr(people, role))
        url = reverse("sessions:manage", args=[session.pk])
        shown = _shown(client.get(url))

        def changed(field, session=session):
            return getattr(WeeklySession.objects.get(pk=session.pk), field) != getattr(
                session, field
            )

        attempts = {
            "slip": _attempt(
                client, url, {"action": "slip", "confirm": "1"}, lambda: changed("start")
            ),
            "move": _attempt(
                client,
                url,
                {"action": "move", "slot": free_slots(track=session.track, now=now)[0].isoformat()},
                lambda: changed("start"),
            ),
            "postpone": _attempt(
                client,
                url,
                {"action": "postpone", "postpone-reason": "测试", "confirm": "1"},
                lambda: changed("status"),
            ),
            "cancel": _attempt(
                client,
                url,
                {"action": "cancel", "cancel-reason": "测试", "confirm": "1"},
                lambda: changed("status"),
            ),
            "attendance": _attempt(
                client,
                url,
                {"action": "attendance", "people": [listener.pk]},
                lambda: Attendance.objects.filter(session=session, user=listener).exists(),
            ),
        }
        problems += _check(f"{variant} as {role}", shown, attempts)
    assert problems == []


# --- the group page --------------------------------------------------------------------------


@pytest.mark.parametrize("status", [S.RECRUITING, S.PREPARING, S.READY, S.SCHEDULED,
                                    S.PRESENTED, S.CANCELLED])  # fmt: skip
def test_group_page_shows_exactly_the_task_actions_that_work(people, status):
    topic = _topic_in(status, people)
    task = Task.objects.create(topic=topic, title="复现实验")
    problems = []
    for role in ("proposer", "participant", "organiser", "superuser"):
        client = _client(getattr(people, role))
        shown = _shown(client.get(reverse("topics:group", args=[topic.pk])))
        attempts = {
            "add-task": _attempt(
                client,
                reverse("topics:group", args=[topic.pk]),
                {"add_task": "1", "title": "整理调研"},
                lambda: Task.objects.filter(topic=topic).count() == 2,
            ),
            "task-move": _attempt(
                client,
                reverse("topics:task-move", args=[topic.pk, task.pk]),
                {"status": Task.Status.DONE},
                lambda: Task.objects.get(pk=task.pk).status == Task.Status.DONE,
            ),
            "claim": _attempt(
                client,
                reverse("topics:task-claim", args=[topic.pk, task.pk]),
                {},
                lambda: Task.objects.get(pk=task.pk).assignee_id is not None,
            ),
            "finish": _attempt(
                client,
                reverse("topics:task-finish", args=[topic.pk, task.pk]),
                {},
                lambda: Task.objects.get(pk=task.pk).status == Task.Status.DONE,
            ),
        }
        problems += _check(f"{status} as {role}", shown, attempts)
    assert problems == []


def test_a_task_move_that_changes_nothing_is_not_reported_as_done(client, people):
    topic = _topic_in(S.PREPARING, people)
    task = Task.objects.create(topic=topic, title="复现实验", status=Task.Status.DOING)
    client.force_login(people.participant)

    response = client.post(
        reverse("topics:task-move", args=[topic.pk, task.pk]),
        {"status": Task.Status.DOING},
        follow=True,
    )

    assert [message.level for message in response.context["messages"]] == [constants.ERROR]
