from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LedgerConfig(AppConfig):
    """The season ledger: who took part in a season, who is flagged, exemptions. Reads the
    sessions' facts through sessions.weekly.selectors; sits above sessions and members."""

    name = "members.ledger"
    label = "ledger"
    verbose_name = _("Season ledger")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from members.ledger import (
            personal_data,  # noqa: F401 — a member's own data
            receivers,  # noqa: F401 — connects the receivers
        )
