"""What the forum app does when the members app says something happened."""

from django.dispatch import receiver

from members.models import User
from members.placeholders import user_rows_move
from members.signals import member_welcome, role_changed, user_merging
from topicshare.forum.digest import digest_sweep
from topicshare.forum.onboarding import group_change_record, study_group_welcome
from topicshare.notifications.signals import sweep


@receiver(user_merging, sender=User, dispatch_uid="forum-move-rows")
def rows_to_the_account(sender, placeholder, into, **kwargs) -> str:
    """Who saved an official-account draft, the study group checklist's rows: the forum's
    rows of the placeholder."""
    return user_rows_move(app_label="forum", placeholder=placeholder, into=into)


@receiver(role_changed, sender=User, dispatch_uid="forum-group-change")
def study_group_change(sender, user, previous, role, cause, **kwargs) -> None:
    """Admitted or moved back to the audience: a row on the organisers' checklist."""
    group_change_record(user=user, previous=previous, role=role, cause=cause)


@receiver(member_welcome, sender=User, dispatch_uid="forum-study-group-welcome")
def study_group_in_the_welcome(sender, user, **kwargs) -> tuple[list[str], str]:
    """The admission e-mail: how to join the study group's chat, and a link to /me/."""
    return study_group_welcome(user=user)


@receiver(sweep, dispatch_uid="forum-digest-on-sweep")
def digest_on_sweep(sender, *, now, **kwargs) -> int:
    """The outbox's per-minute sweep: news of what people follow, at once or weekly."""
    return digest_sweep(now=now)
