"""Tasks due before their session: the date follows the session, the person who has the task
hears the day before, and the study group's chat hears once a day what is late."""

import datetime
import zoneinfo

import pytest
from django.urls import reverse

from members.roles import Role
from sessions.models import Task, TopicStatus
from sessions.topics.deadlines import task_notices
from sessions.topics.services import task_create, task_update
from sessions.topics.slots import track_slots
from sessions.weekly.scheduling import session_move, session_schedule
from tests.factories import TopicFactory, TrackFactory, UserFactory
from topicshare.notifications.models import ChatWebhook, Notification

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
NOW = datetime.datetime(2027, 3, 1, 10, 0, tzinfo=SHANGHAI)
pytestmark = pytest.mark.django_db


@pytest.fixture
def scheduled(organiser):
    track = TrackFactory(slug="nlp", weekday=5, local_time=datetime.time(20, 30))
    topic = TopicFactory(status=TopicStatus.READY, track=track)
    start = track_slots(track=track, after=NOW + datetime.timedelta(days=10))[0]
    session = session_schedule(topic=topic, start=start, by=organiser, now=NOW)
    topic.refresh_from_db()
    return topic, session


def test_a_task_due_before_the_session_takes_its_date_and_follows_a_move(scheduled, organiser):
    topic, session = scheduled
    slides = task_create(topic=topic, by=organiser, title="Slides", due_before_session=3)
    outline = task_create(topic=topic, by=organiser, title="Outline", due_before_session=7)
    fixed = task_create(topic=topic, by=organiser, title="Book", due_date=datetime.date(2027, 3, 5))
    day = session.start.astimezone(SHANGHAI).date()
    assert slides.due_date == day - datetime.timedelta(days=3)
    assert outline.due_date == day - datetime.timedelta(days=7)

    later = track_slots(track=topic.track, after=session.start + datetime.timedelta(days=1))[0]
    session_move(session=session, start=later, by=organiser, reason="停电", now=NOW)

    new_day = later.astimezone(SHANGHAI).date()
    assert Task.objects.get(pk=slides.pk).due_date == new_day - datetime.timedelta(days=3)
    assert Task.objects.get(pk=outline.pk).due_date == new_day - datetime.timedelta(days=7)
    assert Task.objects.get(pk=fixed.pk).due_date == datetime.date(2027, 3, 5)  # not tied


def test_choosing_a_lead_time_later_dates_the_task_and_an_unscheduled_topic_waits(organiser):
    topic = TopicFactory(status=TopicStatus.PREPARING)
    task = task_create(topic=topic, by=organiser, title="Rehearsal", due_before_session=1)
    assert task.due_date is None  # no session yet: dated when it is scheduled
    start = track_slots(track=topic.track, after=NOW + datetime.timedelta(days=10))[0]
    topic.status = TopicStatus.READY
    topic.save()
    session_schedule(topic=topic, start=start, by=organiser, now=NOW)
    task.refresh_from_db()
    assert task.due_date == start.astimezone(SHANGHAI).date() - datetime.timedelta(days=1)

    task.topic.refresh_from_db()
    task = task_update(task=task, by=organiser, due_before_session=0)
    assert task.due_date == start.astimezone(SHANGHAI).date()


def test_the_person_hears_the_day_before_once_and_not_for_a_done_task(organiser):
    topic = TopicFactory(status=TopicStatus.PREPARING)
    person = UserFactory(role=Role.MEMBER, email="owner@example.org")
    topic.participations.create(user=person, role="participant")
    tomorrow = NOW.date() + datetime.timedelta(days=1)
    due = task_create(topic=topic, by=organiser, title="Slides", assignee=person, due_date=tomorrow)
    done = task_create(topic=topic, by=organiser, title="Code", assignee=person, due_date=tomorrow)
    task_update(task=done, by=organiser, status=Task.Status.DONE)

    assert task_notices(now=NOW.replace(hour=8)) == 0  # before nine
    assert task_notices(now=NOW) == 1
    assert task_notices(now=NOW + datetime.timedelta(minutes=1)) == 0  # the sweep again
    notice = Notification.objects.get(kind="task_due")
    assert notice.recipient == person and notice.subject_id == due.pk
    assert notice.url.endswith(f"/topics/{topic.pk}/group/#task-{due.pk}")


def test_the_study_group_chat_hears_once_a_day_what_is_late(organiser):
    topic = TopicFactory(status=TopicStatus.PREPARING)
    chat = ChatWebhook.objects.create(
        name="学习群", provider="generic", url="https://chat.example.org/hook", audience="study"
    )
    yesterday = NOW.date() - datetime.timedelta(days=1)
    task_create(topic=topic, by=organiser, title="Survey", due_date=yesterday)
    task_create(topic=topic, by=organiser, title="Later", due_date=NOW.date())  # not late yet

    assert task_notices(now=NOW) == 1
    assert task_notices(now=NOW + datetime.timedelta(hours=1)) == 0
    late = Notification.objects.get(kind="tasks_late")
    assert late.channel == chat and "Survey" in late.body_text and "Later" not in late.body_text
    assert task_notices(now=NOW + datetime.timedelta(days=1)) == 1  # the next day, again


def test_the_topic_page_shows_late_tasks_to_the_group(client, organiser):
    topic = TopicFactory(status=TopicStatus.PREPARING)
    task_create(
        topic=topic, by=organiser, title="Survey the field",
        due_date=datetime.date.today() - datetime.timedelta(days=2),
    )  # fmt: skip
    client.force_login(organiser)
    html = client.get(reverse("topics:detail", args=[topic.pk])).content.decode()
    assert 'data-role="late-tasks"' in html and "Survey the field" in html
    group = client.get(reverse("topics:group", args=[topic.pk])).content.decode()
    assert 'data-role="overdue"' in group
