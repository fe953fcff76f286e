"""What the sessions app does when the apps below it say something happened."""

from django.db.models import F
from django.dispatch import receiver

from members.models import User
from members.placeholders import user_rows_move
from members.signals import duplicate_merged, user_merged, user_merging
from sessions.topics.deadlines import task_notices
from sessions.topics.models import Participation, Topic, TopicInterest
from topicshare.notifications.signals import sweep


@receiver(duplicate_merged, sender=Participation, dispatch_uid="sessions-merge-participation")
def participation_duplicate_merged(sender, kept, dropped, **kwargs):
    """A placeholder and the account it is merged into were both in one group: the account
    keeps one place there, the proposer's if either of them proposed the topic."""
    if dropped.role == Participation.Role.PROPOSER and kept.role != dropped.role:
        kept.role = Participation.Role.PROPOSER
        kept.save(update_fields=["role"])


@receiver(duplicate_merged, sender=TopicInterest, dispatch_uid="sessions-merge-interest")
def interest_duplicate_merged(sender, kept, dropped, **kwargs):
    """Both wanted to hear the topic: one person now, so one fewer in its count."""
    Topic.objects.filter(pk=dropped.topic_id, interest_count__gt=0).update(
        interest_count=F("interest_count") - 1
    )


@receiver(user_merged, sender=User, dispatch_uid="sessions-merge-co-presenters")
def co_presenters_after_merge(sender, into, **kwargs):
    """The proposer is not also a co-presenter of their own topic (topic_propose and
    topic_update leave them out): after a merge one person may be both."""
    Topic.co_presenters.through.objects.filter(user=into, topic__proposer=into).delete()


@receiver(user_merging, sender=User, dispatch_uid="sessions-move-rows")
def rows_to_the_account(sender, placeholder, into, **kwargs) -> str:
    """Topics, groups, tasks, sessions, RSVPs …: this app's rows of the placeholder."""
    return user_rows_move(app_label="topic_sessions", placeholder=placeholder, into=into)


@receiver(sweep, dispatch_uid="topics-task-notices-on-sweep")
def task_notices_on_sweep(sender, *, now, **kwargs) -> int:
    """The outbox's per-minute sweep: tasks due tomorrow, and what is late (once a day)."""
    return task_notices(now=now)
