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
