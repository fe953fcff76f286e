from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SessionsConfig(AppConfig):
    # `sessions` would clash with django.contrib.sessions.
    name = "sessions"
    label = "topic_sessions"
    verbose_name = _("Topics and sessions")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from sessions import receivers  # noqa: F401 — connects the receivers
        from sessions.reminders import reminders_on_sweep
        from topicshare.notifications.signals import sweep

        sweep.connect(reminders_on_sweep, dispatch_uid="sessions-reminders-on-sweep")
