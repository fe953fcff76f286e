"""What the ledger does when the members app says something happened."""

from django.dispatch import receiver

from members.ledger.services import at_risk_notices
from members.models import User
from members.placeholders import user_rows_move
from members.signals import user_merging
from topicshare.notifications.signals import sweep


@receiver(user_merging, sender=User, dispatch_uid="ledger-move-rows")
def rows_to_the_account(sender, placeholder, into, **kwargs) -> str:
    """Exemptions (and who granted them): the ledger's rows of the placeholder."""
    return user_rows_move(app_label="ledger", placeholder=placeholder, into=into)


@receiver(sweep, dispatch_uid="ledger-at-risk-on-sweep")
def at_risk_on_sweep(sender, *, now, **kwargs) -> int:
    """The outbox's per-minute sweep: weeks before a season ends, the at-risk notices."""
    return at_risk_notices(now=now)
