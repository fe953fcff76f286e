"""What the sessions app does when the apps below it say something happened."""

from django.dispatch import receiver

from members.models import User
from members.placeholders import user_rows_move
from members.signals import duplicate_merged, user_merged, user_merging
from sessions.topics.models import Participation, Topic


@receiver(duplicate_merged, sender=Participation, dispatch_uid="sessions-merge-participation")
def participation_duplicate_merged(sender, kept, dropped, **kwargs):
    """A placeholder and the account it is merged into were both in one group: the account
    keeps one place there, the proposer's if either of them proposed the topic."""
    if dropped.role == Participation.Role.PROPOSER and kept.role != dropped.role:
        kept.role = Participation.Role.PROPOSER
        kept.save(update_fields=["role"])


@receiver(user_merged, sender=User, dispatch_uid="sessions-merge-co-presenters")
def co_presenters_after_merge(sender, into, **kwargs):
    """The proposer is not also a co-presenter of their own topic (topic_propose and
    topic_update leave them out): after a merge one person may be both."""
    Topic.co_presenters.through.objects.filter(user=into, topic__proposer=into).delete()


@receiver(user_merging, sender=User, dispatch_uid="sessions-move-rows")
def rows_to_the_account(sender, placeholder, into, **kwargs) -> str:
    """Topics, groups, tasks, sessions, RSVPs …: this app's rows of the placeholder."""
    return user_rows_move(app_label="topic_sessions", placeholder=placeholder, into=into)
