import datetime

from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from sessions.filters import TopicFilter
from sessions.models import (
    RSVP,
    CoPresenterInvitation,
    Participation,
    SessionStatus,
    Task,
    Topic,
    WeeklySession,
)
from sessions.rules import EDITABLE_BY_PROPOSER

# No session runs longer than this; used to bound queries on start times.
_LONGEST = datetime.timedelta(minutes=600)


def topic_list(*, filters: dict | None = None) -> tuple[TopicFilter, QuerySet[Topic]]:
    """The sheet: topics with what a row shows, filtered and sorted. A fixed number of
    queries whatever the number of rows."""
    queryset = (
        Topic.objects.select_related("track", "season", "proposer")
        .defer("summary_html")  # a row never shows it
        .annotate(
            participant_total=Count(
                "participations", filter=Q(participations__role=Participation.Role.PARTICIPANT)
            )
        )
        .order_by("-created_at", "-id")  # Meta.ordering does not apply to grouped queries
    )
    topic_filter = TopicFilter(filters or {}, queryset=queryset)
    return topic_filter, topic_filter.qs


def topic_detail(*, pk: int) -> Topic:
    """A topic with its group, co-presenters and tasks prefetched (Topic.DoesNotExist if none)."""
    return (
        Topic.objects.select_related("track", "season", "proposer")
        .prefetch_related(
            "co_presenters",
            Prefetch(
                "participations",
                queryset=Participation.objects.select_related("user").order_by(
                    "-role", "joined_at"
                ),
            ),
            Prefetch("tasks", queryset=Task.objects.select_related("assignee")),
            "transitions__by",
        )
        .annotate(
            participant_total=Count(
                "participations",
                filter=Q(participations__role=Participation.Role.PARTICIPANT),
                distinct=True,
            )
        )
        .get(pk=pk)
    )


def invitations_open_for(*, user) -> QuerySet[CoPresenterInvitation]:
    """The co-presenter invitations `user` can still answer, with their topic."""
    if not user.is_authenticated:
        return CoPresenterInvitation.objects.none()
    return (
        CoPresenterInvitation.objects.filter(
            invitee=user,
            status=CoPresenterInvitation.Status.PENDING,
            topic__status__in=EDITABLE_BY_PROPOSER,
        )
        .select_related("topic", "topic__proposer", "topic__track")
        .order_by("created_at", "id")
    )


def group_member_ids(topic: Topic) -> set[int]:
    """Proposer, co-presenters and participants (uses prefetched relations when present)."""
    ids = {p.user_id for p in topic.participations.all()}
    ids |= {user.pk for user in topic.co_presenters.all()}
    ids.add(topic.proposer_id)
    return ids


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
