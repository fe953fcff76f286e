"""A topic's state and its session's state change together, whichever side starts.

The invariant: a topic is "scheduled" exactly while it has an upcoming (scheduled or live)
session, and "presented" exactly when its session is done. Cancelling a scheduled topic
(its proposer, on the topic page) used to leave the session running: the slot stayed taken,
calendars said CONFIRMED, reminders went out and the library got an item."""

import datetime

import pytest
from django.urls import reverse

from library.models import LibraryItem
from sessions.models import (
    SessionChange,
    SessionPresenter,
    SessionStatus,
    Topic,
    TopicStatus,
    WeeklySession,
)
from sessions.topics.services import TopicError, topic_transition, transitions_for
from sessions.weekly.calendar import build_calendar, calendar_sessions
from sessions.weekly.reminders import reminders_materialise
from sessions.weekly.scheduling import (
    free_slots,
    session_cancel,
    session_postpone,
    session_schedule,
    session_slip,
    sessions_advance,
)
from tests.sessions.weekly import test_reminders
from tests.sessions.weekly.test_reminders import START, _sweep
from topicshare.notifications.models import Notification

pytestmark = pytest.mark.django_db
forum = test_reminders.forum  # the fixture: a session three weeks ahead, with its people
S = TopicStatus
TWO_WEEKS_BEFORE = START - datetime.timedelta(days=14)


def consistent(topic: Topic) -> bool:
    topic.refresh_from_db()
    statuses = set(topic.sessions.values_list("status", flat=True))
    upcoming = bool(statuses & {SessionStatus.SCHEDULED, SessionStatus.LIVE})
    done = SessionStatus.DONE in statuses
    return (topic.status == S.SCHEDULED) == upcoming and (topic.status == S.PRESENTED) == done


def _ics_status(session: WeeklySession, now) -> str:
    content = build_calendar(
        sessions=calendar_sessions(now=now),
        name="Test",
        include_meeting=False,
        base_url="https://topicshare.example/",
        now=now,
    )
    from icalendar import Calendar

    events = {str(event["UID"]): event for event in Calendar.from_ical(content).walk("VEVENT")}
    return str(events[f"session-{session.pk}@topicshare"]["STATUS"])


@pytest.mark.parametrize("who", ["proposer", "organiser"])
def test_cancelling_a_scheduled_topic_on_its_page_cancels_the_session(client, forum, who):
    session, topic = forum["session"], forum["topic"]
    reminders_materialise(now=TWO_WEEKS_BEFORE)  # the promotion is queued, not sent yet
    assert Notification.objects.filter(kind="promotion", status="pending").exists()
    assert _ics_status(session, TWO_WEEKS_BEFORE) == "CONFIRMED"
    client.force_login(forum[who])

    response = client.post(
        reverse("topics:transition", args=[topic.pk]),
        {"to": S.CANCELLED, "reason": "换工作了，没时间准备", "confirm": "1"},
    )

    assert response.status_code == 302
    session.refresh_from_db()
    topic.refresh_from_db()
    assert (topic.status, session.status) == (S.CANCELLED, SessionStatus.CANCELLED)
    assert session.cancel_reason == "换工作了，没时间准备"
    assert session.sequence == 1
    assert list(session.changes.values_list("kind", flat=True)) == [
        SessionChange.Kind.SCHEDULED,
        SessionChange.Kind.CANCELLED,
    ]
    # The slot is free again, and so are the presenters.
    assert START in free_slots(track=forum["track"], now=TWO_WEEKS_BEFORE)
    assert not SessionPresenter.objects.filter(session=session, active=True).exists()
    # Calendars drop it.
    assert _ics_status(session, TWO_WEEKS_BEFORE) == "CANCELLED"
    # Its reminders are cancelled; the people concerned hear of the cancellation, once.
    assert (
        not Notification.objects.filter(status="pending").exclude(kind="session_cancelled").exists()
    )
    assert _sweep(TWO_WEEKS_BEFORE + datetime.timedelta(minutes=1)) == {
        "session_cancelled": {
            "proposer@example.org", "participant@example.org", "listener@example.org"
        }
    }  # fmt: skip
    for moment in (START - datetime.timedelta(days=1), START, START + datetime.timedelta(days=1)):
        assert _sweep(moment) == {}
    # The session never goes live, never ends, never reaches the library.
    assert sessions_advance(now=START + datetime.timedelta(hours=3)) == {"live": 0, "done": 0}
    assert not LibraryItem.objects.filter(session=session).exists()
    assert consistent(topic)


def test_cancelling_the_topic_through_the_service_takes_the_session_along(forum):
    session, topic = forum["session"], forum["topic"]

    topic_transition(topic=topic, to=S.CANCELLED, by=forum["proposer"], reason="生病了")

    session.refresh_from_db()
    assert session.status == SessionStatus.CANCELLED
    assert consistent(topic)


def test_a_live_session_is_cancelled_with_its_topic(forum):
    session, topic = forum["session"], forum["topic"]
    sessions_advance(now=START + datetime.timedelta(minutes=1))
    session.refresh_from_db()
    assert session.status == SessionStatus.LIVE

    topic_transition(topic=topic, to=S.CANCELLED, by=forum["organiser"], reason="断网了")

    session.refresh_from_db()
    assert session.status == SessionStatus.CANCELLED
    assert sessions_advance(now=START + datetime.timedelta(hours=3)) == {"live": 0, "done": 0}
    assert not LibraryItem.objects.filter(session=session).exists()
    assert consistent(topic)


def test_cancelling_the_session_cancels_the_topic(forum):
    session, topic = forum["session"], forum["topic"]

    session_cancel(session=session, by=forum["organiser"], reason="The presenter is ill")

    session.refresh_from_db()
    assert (session.status, session.sequence) == (SessionStatus.CANCELLED, 1)
    assert session.changes.filter(kind=SessionChange.Kind.CANCELLED).count() == 1
    assert consistent(topic)
    assert topic.status == S.CANCELLED


def test_postponing_the_session_makes_the_topic_ready_again(forum):
    session, topic = forum["session"], forum["topic"]

    session_postpone(session=session, by=forum["organiser"], reason="Code not released yet")

    assert consistent(topic)
    assert topic.status == S.READY


def test_slipping_the_session_keeps_the_topic_scheduled(forum):
    session_slip(session=forum["session"], by=forum["organiser"], now=TWO_WEEKS_BEFORE)

    assert consistent(forum["topic"])
    assert forum["topic"].status == S.SCHEDULED


def test_the_session_ending_makes_the_topic_presented(forum):
    session, topic = forum["session"], forum["topic"]

    sessions_advance(now=session.end)

    assert consistent(topic)
    assert topic.status == S.PRESENTED
    assert LibraryItem.objects.filter(session=session).count() == 1


def test_mark_as_presented_is_refused_before_the_session_starts(forum):
    topic, organiser = Topic.objects.get(pk=forum["topic"].pk), forum["organiser"]
    before = START - datetime.timedelta(hours=1)

    (step,) = [row for row in transitions_for(topic=topic, user=organiser, now=before)
               if row[0] == S.PRESENTED]  # fmt: skip
    with pytest.raises(TopicError, match="not started"):
        topic_transition(topic=topic, to=S.PRESENTED, by=organiser, now=before)

    assert step[2] != ""  # the page shows why instead of a button
    assert consistent(topic)
    assert topic.status == S.SCHEDULED


def test_mark_as_presented_once_started_ends_the_session_and_shelves_it(forum):
    session, organiser = forum["session"], forum["organiser"]
    topic = Topic.objects.get(pk=forum["topic"].pk)
    during = START + datetime.timedelta(minutes=30)

    (step,) = [row for row in transitions_for(topic=topic, user=organiser, now=during)
               if row[0] == S.PRESENTED]  # fmt: skip
    topic_transition(topic=topic, to=S.PRESENTED, by=organiser, now=during)

    assert step[2] == ""
    session.refresh_from_db()
    assert session.status == SessionStatus.DONE
    assert LibraryItem.objects.filter(session=session).count() == 1
    assert consistent(topic)
    assert sessions_advance(now=session.end) == {"live": 0, "done": 0}


def test_a_cancelled_topic_can_be_proposed_again_in_the_freed_slot(forum):
    """The freed slot really is free: another ready topic gets it."""
    from tests.factories import TopicFactory

    topic_transition(topic=forum["topic"], to=S.CANCELLED, by=forum["proposer"], reason="x")
    other = TopicFactory(track=forum["track"], status=S.READY)

    session = session_schedule(
        topic=other, start=START, by=forum["organiser"], now=TWO_WEEKS_BEFORE
    )

    assert session.start == START
    assert consistent(other)


def test_migration_cancels_sessions_left_running_by_cancelled_topics(forum):
    """Rows written before the fix: the topic cancelled, its session still scheduled."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module(
        "sessions.migrations.0007_cancel_sessions_of_cancelled_topics"
    )
    session, topic = forum["session"], forum["topic"]
    reminders_materialise(now=TWO_WEEKS_BEFORE)
    Topic.objects.filter(pk=topic.pk).update(status=S.CANCELLED, reason="没时间")

    class AppsOfThatTime:
        """When 0007 ran, Notification still belonged to the topicshare app."""

        def get_model(self, app_label, model_name):
            if (app_label, model_name) == ("topicshare", "Notification"):
                app_label = "notifications"
            return apps.get_model(app_label, model_name)

    migration.cancel_sessions_of_cancelled_topics(AppsOfThatTime(), None)

    session.refresh_from_db()
    assert (session.status, session.cancel_reason, session.sequence) == ("cancelled", "没时间", 1)
    assert not SessionPresenter.objects.filter(session=session, active=True).exists()
    assert not Notification.objects.filter(kind="promotion", status="pending").exists()
    assert consistent(topic)
