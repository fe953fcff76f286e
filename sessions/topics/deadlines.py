"""Task deadlines tied to the session: a task due so many days before its session (outline
T-7, slides T-3, rehearsal T-1) gets its date from the session and follows it when it moves;
the person who has it hears the day before, and the study group's chat hears once a day what
is late. Everything through the outbox, exactly once (kind × task or topic × occasion)."""

import datetime
import zoneinfo

from django.contrib.contenttypes.models import ContentType
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from sessions.topics.models import Task, Topic, TopicStatus
from sessions.topics.notices import K, chats_for
from sessions.topics.rules import CLOSED
from topicshare.core.links import absolute_url
from topicshare.notifications.models import ChatWebhook, Notification
from topicshare.notifications.outbox import Message, notification_enqueue

# When the day's notices about tasks go out, in the forum's time zone.
TASK_NOTICE_HOUR = 9


def due_date_before(start: datetime.datetime, *, days: int, time_zone: str) -> datetime.date:
    """The date `days` before the session's day, in its track's time zone."""
    return start.astimezone(zoneinfo.ZoneInfo(time_zone)).date() - datetime.timedelta(days=days)


def session_start_of(topic: Topic) -> datetime.datetime | None:
    """The start of a scheduled topic's session (the latest one: a topic has one at a time)."""
    if topic.status != TopicStatus.SCHEDULED:
        return None
    return topic.sessions.order_by("-start").values_list("start", flat=True).first()


def task_deadlines_follow(*, topic: Topic, start: datetime.datetime) -> int:
    """Give the topic's tasks that are due before the session their dates from `start` (the
    session was scheduled or moved). One UPDATE per lead time. Returns how many changed."""
    changed = 0
    tasks = Task.objects.filter(topic=topic, due_before_session__isnull=False)
    for days in set(tasks.values_list("due_before_session", flat=True)):
        due = due_date_before(start, days=days, time_zone=topic.track.time_zone)
        changed += tasks.filter(due_before_session=days).exclude(due_date=due).update(due_date=due)
    return changed


def task_notices(*, now: datetime.datetime) -> int:
    """The sweep's part (every minute, cheap): from TASK_NOTICE_HOUR on, the reminder to each
    person whose task is due tomorrow, and each study-group chat's summary of a group's late
    tasks, each once a day. Returns how many notifications were queued."""
    local = timezone.localtime(now)
    if local.hour < TASK_NOTICE_HOUR:
        return 0
    today = local.date()
    return _due_tomorrow(today + datetime.timedelta(days=1), now) + _late(today, now)


def _not_sent(kind: str, model, occasion: str):
    return ~Exists(
        Notification.objects.filter(
            kind=kind,
            subject_type=ContentType.objects.get_for_model(model),
            subject_id=OuterRef("pk"),
            occasion=occasion,
        )
    )


def _due_tomorrow(tomorrow: datetime.date, now: datetime.datetime) -> int:
    occasion = f"due-{tomorrow.isoformat()}"
    tasks = (
        Task.objects.filter(due_date=tomorrow, assignee__isnull=False)
        .exclude(status=Task.Status.DONE)
        .exclude(topic__status__in=CLOSED)
        .filter(_not_sent(K.TASK_DUE, Task, occasion))
        .select_related("topic", "assignee")
    )
    queued = 0
    for task in tasks:
        queued += notification_enqueue(
            kind=K.TASK_DUE,
            subject=task,
            occasion=occasion,
            recipients=[task.assignee],
            render=lambda task=task: _due_message(task),
            due_at=now,
        )
    return queued


def _due_message(task: Task) -> Message:
    return Message(
        _("Due tomorrow: %(task)s") % {"task": task.label},
        [_("Your task for “%(title)s” is due on %(date)s. Mark it done on the group page when it"
           " is, or tell the group if you need help.")
         % {"title": task.topic.title, "date": task.due_date.isoformat()}],
        absolute_url(reverse("topics:group", args=[task.topic_id])) + f"#task-{task.pk}",
    )  # fmt: skip


def _late(today: datetime.date, now: datetime.datetime) -> int:
    occasion = f"late-{today.isoformat()}"
    late = Task.objects.filter(due_date__lt=today).exclude(status=Task.Status.DONE)
    topics = (
        Topic.objects.exclude(status__in=CLOSED)
        .filter(Exists(late.filter(topic=OuterRef("pk"))))
        .filter(_not_sent(K.TASKS_LATE, Topic, occasion))
        .select_related("track")
    )
    queued = 0
    for topic in topics:
        channels = list(chats_for(track=topic.track, audience=ChatWebhook.Audience.STUDY_GROUP))
        if not channels:
            continue
        tasks = list(late.filter(topic=topic).select_related("assignee").order_by("due_date"))
        queued += notification_enqueue(
            kind=K.TASKS_LATE,
            subject=topic,
            occasion=occasion,
            channels=channels,
            render=lambda topic=topic, tasks=tasks: _late_message(topic, tasks),
            due_at=now,
        )
    return queued


def _late_message(topic: Topic, tasks: list[Task]) -> Message:
    lines = [
        _("%(task)s — %(who)s — due %(date)s")
        % {
            "task": task.label,
            "who": task.assignee.name if task.assignee else _("nobody yet"),
            "date": task.due_date.isoformat(),
        }
        for task in tasks[:20]
    ]
    return Message(
        _("Late tasks: %(title)s") % {"title": topic.title},
        lines,
        absolute_url(reverse("topics:group", args=[topic.pk])),
    )
