"""What the forum app does when the members app says something happened."""

from django.dispatch import receiver

from members.models import User
from members.placeholders import user_rows_move
from members.signals import user_merging


@receiver(user_merging, sender=User, dispatch_uid="forum-move-rows")
def rows_to_the_account(sender, placeholder, into, **kwargs) -> str:
    """Who saved an official-account draft: the forum's rows of the placeholder."""
    return user_rows_move(app_label="forum", placeholder=placeholder, into=into)
