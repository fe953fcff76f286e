from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SessionsConfig(AppConfig):
    # `sessions` would clash with django.contrib.sessions.
    name = "sessions"
    label = "topic_sessions"
    verbose_name = _("Topics and sessions")
    default_auto_field = "django.db.models.BigAutoField"
    # What anonymous (cached) pages show of this app: a change bumps the page cache
    # (topicshare/core/pagecache.py). The sheet, topic and session pages show topics (with their
    # co-presenters), their history, groups, tracks, seasons, sessions and their changes.
    # Not: RSVPs (a card's count may lag by the cache's lifetime), attendance, tasks and
    # invitations (signed-in pages only), session presenters (calendars, not pages).
    public_models = (
        "Track", "Season", "Topic", "TopicTransition", "Participation", "WeeklySession",
        "SessionChange",
    )  # fmt: skip

    def ready(self):
        from sessions import receivers  # noqa: F401 — connects the receivers
        from sessions.reminders import reminders_on_sweep
        from topicshare.notifications.signals import sweep

        sweep.connect(reminders_on_sweep, dispatch_uid="sessions-reminders-on-sweep")
