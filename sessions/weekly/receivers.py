"""What the weekly sessions do when the topics or the outbox say something happened."""

from django.dispatch import receiver

from sessions.topics.models import Topic
from sessions.topics.signals import recruiting_opened, scheduled_topic_moving
from sessions.weekly.reminders import reminders_materialise, topic_promote
from sessions.weekly.scheduling import session_follow_topic
from topicshare.notifications.signals import sweep


@receiver(scheduled_topic_moving, sender=Topic, dispatch_uid="sessions-follow-topic")
def session_follows_topic(sender, *, topic, to, by, reason, now, **kwargs):
    session_follow_topic(topic=topic, to=to, by=by, reason=reason, now=now)


@receiver(sweep, dispatch_uid="sessions-reminders-on-sweep")
def reminders_on_sweep(sender, *, now, **kwargs) -> int:
    """The outbox's per-minute sweep: queue the reminders that have come due."""
    return reminders_materialise(now=now)


@receiver(recruiting_opened, sender=Topic, dispatch_uid="sessions-promote-topic")
def promote_topic(sender, *, topic, slot, now, **kwargs):
    topic_promote(topic=topic, slot=slot, now=now)
