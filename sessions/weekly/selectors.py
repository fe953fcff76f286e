import datetime

from django.db.models import Count, Prefetch, Q
from django.utils import timezone

from sessions.models import (
    RSVP,
    Participation,
    SessionStatus,
    WeeklySession,
)

# No session runs longer than this; used to bound queries on start times.
_LONGEST = datetime.timedelta(minutes=600)


def _session_queryset():
    return WeeklySession.objects.select_related(
        "topic", "track", "topic__proposer"
    ).prefetch_related("topic__co_presenters")


def sessions_upcoming(*, now, limit: int | None = None, until=None):
    """Scheduled and live sessions that have not ended, soonest first, with RSVP counts;
    at most `limit` of them, or those starting before `until`."""
    queryset = (
        _session_queryset()
        .filter(status__in=[SessionStatus.SCHEDULED, SessionStatus.LIVE], start__gte=now - _LONGEST)
        .annotate(rsvp_count=Count("rsvps", distinct=True))
        .order_by("start", "id")
    )
    if until is not None:
        queryset = queryset.filter(start__lt=until)
    if limit:
        # A few more than asked: some of the earliest may already have ended.
        queryset = queryset[: limit + 10]
    sessions = [session for session in queryset if session.end >= now]
    return sessions[:limit] if limit else sessions


def sessions_past(*, now):
    return (
        _session_queryset()
        .filter(
            Q(status=SessionStatus.DONE) | Q(status=SessionStatus.LIVE, start__lt=now - _LONGEST)
        )
        .annotate(attendance_count=Count("attendances", distinct=True))
        .order_by("-start", "-id")
    )


def session_detail(*, pk: int) -> WeeklySession:
    """One session with what its page shows (WeeklySession.DoesNotExist if none)."""
    return (
        _session_queryset()
        .prefetch_related(
            Prefetch(
                "topic__participations",
                queryset=Participation.objects.select_related("user").order_by(
                    "-role", "joined_at"
                ),
            ),
            "changes__by",
        )
        .annotate(rsvp_total=Count("rsvps", distinct=True))
        .get(pk=pk)
    )


def rsvped_session_ids(*, user, session_ids) -> set[int]:
    if not user.is_authenticated:
        return set()
    return set(
        RSVP.objects.filter(user=user, session_id__in=list(session_ids)).values_list(
            "session_id", flat=True
        )
    )


def group_by_week(sessions) -> list[tuple]:
    """[(monday, [sessions…]), …] in the forum's time zone."""
    weeks: dict = {}
    for session in sessions:
        local = timezone.localtime(session.start).date()
        monday = local - datetime.timedelta(days=local.weekday())
        weeks.setdefault(monday, []).append(session)
    return list(weeks.items())
