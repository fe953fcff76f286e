from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    """Delivers finished messages: queue, claim, send, retry, opt-out, e-mail, chat webhooks.
    Knows nothing of topics or sessions (import-linter checks it)."""

    name = "topicshare.notifications"
    label = "notifications"
    verbose_name = _("Notifications")
    default_auto_field = "django.db.models.BigAutoField"
    # The outbox's own rows show on no page (pagecache.data_changed).
    quiet_models = ("Notification", "WebhookEndpoint", "WebhookDelivery")
