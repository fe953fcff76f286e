from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SessionsConfig(AppConfig):
    """Two homes in one app: sessions/topics (the sheet, groups, tasks) and sessions/weekly
    (weekly sessions, RSVPs, attendance, reminders), weekly above topics (import-linter)."""

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
        "Track", "Season", "Topic", "TopicTransition", "Participation", "TopicInterest",
        "WeeklySession",
        "SessionChange",
    )  # fmt: skip
    # What no page shows: which reminders went out (pagecache.data_changed).
    quiet_models = ("ReminderMark",)

    def ready(self):
        # Connect the receivers of both homes.
        from sessions import personal_data  # noqa: F401 — a member's own data
        from sessions.topics import holes as topic_holes  # noqa: F401 — the pages' holes
        from sessions.topics import receivers as topic_receivers  # noqa: F401
        from sessions.weekly import holes  # noqa: F401
        from sessions.weekly import receivers as session_receivers  # noqa: F401
