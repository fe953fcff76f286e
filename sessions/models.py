"""The sessions app's models, in two homes: sessions/topics/models.py (the sheet: tracks,
seasons, topics, groups, tasks) and sessions/weekly/models.py (weekly sessions, RSVPs,
attendance, reminder rules). Django loads them from here; code imports them from here or from
their home."""

from sessions.topics.models import (  # noqa: F401
    CHECKLIST,
    MAX_PAPER_LINK_CHARS,
    MAX_PAPER_LINKS,
    CoPresenterInvitation,
    Participation,
    Season,
    Task,
    Topic,
    TopicInterest,
    TopicStatus,
    TopicTransition,
    Track,
    WaitlistEntry,
    _validate_time_zone,
    group_qr_upload_to,
    validate_paper_links,
)
from sessions.weekly.models import (  # noqa: F401
    ACTIVE_SESSION_STATUSES,
    RSVP,
    UPCOMING_SESSION_STATUSES,
    Attendance,
    MeetingProvider,
    ReminderMark,
    ReminderRule,
    SessionChange,
    SessionPresenter,
    SessionStatus,
    WeeklySession,
)
