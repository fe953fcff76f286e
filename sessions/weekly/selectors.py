import datetime
import functools
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from sessions.models import (
    RSVP,
    Attendance,
    Participation,
    ReminderRule,
    Season,
    SessionPresenter,
    SessionStatus,
    Task,
    Topic,
    TopicStatus,
    WeeklySession,
)
from sessions.topics.models import monday_of
from sessions.topics.slots import slot_of_week
from topicshare.notifications.models import NotificationKind

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
    """One session with its topic, track, presenters and RSVP count
    (WeeklySession.DoesNotExist if none). Its participant group and history are
    session_people / session_history: the page reads them inside a cached fragment only."""
    return _session_queryset().annotate(rsvp_total=Count("rsvps", distinct=True)).get(pk=pk)


def session_for_viewer(*, pk: int, user) -> WeeklySession:
    """One session as one person's "Join in" card needs it: its RSVP count (`rsvp_total`)
    and whether this person RSVP'd (`going`) and checked in (`checked_in`); its topic is
    read when asked for. Filled on every request of a session page, so one statement
    written once: compiling the same query with the ORM cost several times its running
    (WeeklySession.DoesNotExist if none)."""
    user_id = user.pk if user.is_authenticated else None
    session = next(iter(WeeklySession.objects.raw(_viewer_sql(), [user_id, user_id, pk])), None)
    if session is None:
        raise WeeklySession.DoesNotExist(f"no session {pk}")
    session.going, session.checked_in = bool(session.going), bool(session.checked_in)
    return session


@functools.cache
def _viewer_sql() -> str:
    quote = connection.ops.quote_name
    sessions = WeeklySession._meta
    rsvps, attendances = quote(RSVP._meta.db_table), quote(Attendance._meta.db_table)
    columns = ", ".join(f"s.{quote(field.column)}" for field in sessions.concrete_fields)
    return (
        f"SELECT {columns}, "  # noqa: S608 — names from the models, values as parameters
        f"(SELECT COUNT(*) FROM {rsvps} r WHERE r.session_id = s.id) AS rsvp_total, "
        f"CASE WHEN EXISTS (SELECT 1 FROM {rsvps} r"
        f" WHERE r.session_id = s.id AND r.user_id = %s) THEN 1 ELSE 0 END AS going, "
        f"CASE WHEN EXISTS (SELECT 1 FROM {attendances} a"
        f" WHERE a.session_id = s.id AND a.user_id = %s) THEN 1 ELSE 0 END AS checked_in "
        f"FROM {quote(sessions.db_table)} s WHERE s.id = %s"
    )


def session_people(session: WeeklySession) -> list:
    """The topic's participations, participants first, with their people."""
    return list(
        Participation.objects.filter(topic_id=session.topic_id)
        .select_related("user")
        .order_by("-role", "joined_at")
    )


def session_history(session: WeeklySession) -> list:
    return list(session.changes.select_related("by"))


def rsvped_session_ids(*, user, session_ids=None) -> set[int]:
    """Which of these sessions (None: of all sessions) the user said they would come to."""
    if not user.is_authenticated:
        return set()
    if session_ids is None:
        # Raw: read by every page with session cards served from the cache, where the
        # ORM's compiling cost more than the query.
        with connection.cursor() as cursor:
            cursor.execute(_RSVPED_SQL, [user.pk])
            return {row[0] for row in cursor.fetchall()}
    rsvps = RSVP.objects.filter(user=user, session_id__in=list(session_ids))
    return set(rsvps.values_list("session_id", flat=True))


_RSVPED_SQL = f"SELECT session_id FROM {RSVP._meta.db_table} WHERE user_id = %s"  # noqa: S608


def group_by_week(sessions) -> list[tuple]:
    """[(monday, [sessions…]), …] in the forum's time zone."""
    weeks: dict = {}
    for session in sessions:
        weeks.setdefault(monday_of(timezone.localtime(session.start).date()), []).append(session)
    return list(weeks.items())


# --- A season's activity, for the season ledger --------------------------------------------

# Sessions that took place (or are taking place): what a season's attendance counts.
HELD_SESSION_STATUSES = [SessionStatus.DONE, SessionStatus.LIVE]


def season_window(season: Season) -> tuple[datetime.datetime, datetime.datetime] | None:
    """The season's start and end as moments (local midnights; the end date included).
    Without dates there is no window: no grace can be worked out."""
    if not season.start_date:
        return None
    tz = timezone.get_default_timezone()
    start = datetime.datetime.combine(season.start_date, datetime.time.min, tzinfo=tz)
    end = (
        datetime.datetime.combine(
            season.end_date + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz
        )
        if season.end_date
        else timezone.now() + datetime.timedelta(days=1)
    )
    return start, end


def season_sessions(season: Season) -> QuerySet[WeeklySession]:
    """The sessions held in a season: its topics' sessions, and any other session that took
    place between its start and end dates."""
    in_season = Q(topic__season=season)
    window = season_window(season)
    if window:
        in_season |= Q(start__gte=window[0], start__lt=window[1])
    return WeeklySession.objects.filter(in_season, status__in=HELD_SESSION_STATUSES)


def season_sessions_ahead(season: Season, *, now: datetime.datetime) -> QuerySet[WeeklySession]:
    """The season's sessions still to take place (scheduled, after `now`)."""
    in_season = Q(topic__season=season)
    window = season_window(season)
    if window:
        in_season |= Q(start__gte=window[0], start__lt=window[1])
    return WeeklySession.objects.filter(in_season, status=SessionStatus.SCHEDULED, start__gt=now)


def _season_topics(season: Season, sessions: QuerySet) -> QuerySet[Topic]:
    return Topic.objects.filter(Q(season=season) | Q(sessions__in=sessions)).values("pk")


def _counted(queryset: QuerySet, kind: str, user_field: str, counted: str) -> QuerySet:
    """(kind, user id, count) rows of one of a season's counts, for a UNION ALL of them."""
    return (
        queryset.order_by()
        .values(person=F(user_field))
        .annotate(kind=Value(kind), n=Count(counted, distinct=True))
        .values_list("kind", "person", "n")
    )


@dataclass
class SeasonActivity:
    """Per person (user id → count) what they did in a season's held sessions and topics."""

    sessions_held: int
    presented: dict[int, int]
    groups_joined: dict[int, int]
    tasks_done: dict[int, int]
    attended: dict[int, int]
    rsvps_missed: dict[int, int]
    # The season's sessions still ahead (scheduled after `now`), when asked with a `now`.
    sessions_ahead: int = 0


def season_activity(
    season: Season, *, user_id: int | None = None, now: datetime.datetime | None = None
) -> SeasonActivity:
    """One query (the counts in one UNION ALL), whatever the number of people or sessions.
    With `user_id`, only that person's counts (one person's page reads no one else's rows);
    with `now`, also how many of the season's sessions are still ahead."""
    sessions = season_sessions(season)
    session_ids = sessions.values("pk")
    topics = _season_topics(season, sessions)
    attendance = Attendance.objects.filter(session=OuterRef("session"), user=OuterRef("user"))
    held = (
        sessions.order_by()
        .annotate(kind=Value("held"), person=Value(0), n=Value(1))
        .values_list("kind", "person", "n")
    )
    counted = [
        (SessionPresenter.objects.filter(session__in=session_ids), "presented", "user", "session"),
        (
            Participation.objects.filter(topic__in=topics, role=Participation.Role.PARTICIPANT),
            "groups_joined",
            "user",
            "topic",
        ),
        (
            Task.objects.filter(topic__in=topics, status=Task.Status.DONE, assignee__isnull=False),
            "tasks_done",
            "assignee",
            "pk",
        ),
        (Attendance.objects.filter(session__in=session_ids), "attended", "user", "session"),
        (
            RSVP.objects.filter(session__in=session_ids).exclude(Exists(attendance)),
            "rsvps_missed",
            "user",
            "session",
        ),
    ]
    parts = [
        _counted(
            queryset if user_id is None else queryset.filter(**{user_field: user_id}),
            kind,
            user_field,
            what,
        )
        for queryset, kind, user_field, what in counted
    ]
    if now is not None:
        parts.append(
            season_sessions_ahead(season, now=now)
            .order_by()
            .annotate(kind=Value("ahead"), person=Value(0), n=Value(1))
            .values_list("kind", "person", "n")
        )
    counts: dict[str, dict[int, int]] = {
        "presented": {}, "groups_joined": {}, "tasks_done": {}, "attended": {}, "rsvps_missed": {}
    }  # fmt: skip
    sessions_held = sessions_ahead = 0
    for kind, person, n in held.union(*parts, all=True):
        if kind == "held":
            sessions_held += n
        elif kind == "ahead":
            sessions_ahead += n
        else:
            counts[kind][person] = n
    return SeasonActivity(sessions_held=sessions_held, sessions_ahead=sessions_ahead, **counts)


# --- What waits for the organisers (the inbox, topicshare/forum/inbox.py) -----------------

RECRUITMENT_CHECK_BEFORE = datetime.timedelta(days=7)
MEETING_LINK_BEFORE = datetime.timedelta(days=1)


def groups_below_minimum(
    *, now: datetime.datetime, minimum: int | None = None
) -> list[tuple[Topic, datetime.datetime]]:
    """Recruiting topics whose week's slot is at most seven days away (T-7) with fewer
    participants than the recruitment check's minimum (`topic.minimum`): (topic, slot),
    soonest first. One query: the minimum is read inside it unless given."""
    if minimum is None:
        rule = ReminderRule.objects.filter(kind=NotificationKind.RECRUITMENT_CHECK)
        default = ReminderRule._meta.get_field("minimum_group").default
        minimum = Coalesce(Subquery(rule.values("minimum_group")[:1]), Value(default))
    else:
        minimum = Value(minimum)
    horizon = now + RECRUITMENT_CHECK_BEFORE
    candidates = (
        Topic.objects.filter(
            status=TopicStatus.RECRUITING,
            preferred_week__isnull=False,
            preferred_week__lte=horizon.date(),
        )
        .select_related("track", "proposer")
        .defer("summary_html")
        .annotate(
            participant_total=Count(
                "participations", filter=Q(participations__role=Participation.Role.PARTICIPANT)
            ),
            minimum=minimum,
        )
        .filter(participant_total__lt=F("minimum"))
    )
    due = []
    for topic in candidates:
        slot = slot_of_week(track=topic.track, week=topic.preferred_week)
        if slot is not None and slot <= horizon:
            due.append((topic, slot))
    return sorted(due, key=lambda row: (row[1], row[0].pk))


def sessions_without_meeting_link(*, now: datetime.datetime) -> QuerySet[WeeklySession]:
    """Scheduled sessions that start within a day (T-1), or have started, with neither a
    meeting link nor a meeting ID, soonest first."""
    return (
        WeeklySession.objects.filter(
            status__in=[SessionStatus.SCHEDULED, SessionStatus.LIVE],
            start__lte=now + MEETING_LINK_BEFORE,
            start__gt=now - _LONGEST,
            meeting_url="",
            meeting_id="",
        )
        .select_related("topic", "track")
        .order_by("start", "id")
    )


def sessions_of(*, user, now, limit: int = 10) -> list[WeeklySession]:
    """The next scheduled or live sessions `user` presents, is in the group of, or RSVP'd
    to, soonest first; each says which (`presenting`, `rsvped`; otherwise in the group).
    Three queries whatever the number of sessions."""
    co_presented = Topic.co_presenters.through.objects.filter(user=user).values("topic_id")
    presenting = (
        Q(pk__in=SessionPresenter.objects.filter(user=user, active=True).values("session_id"))
        | Q(topic__proposer=user)
        | Q(topic_id__in=co_presented)
    )
    rsvped = Q(pk__in=RSVP.objects.filter(user=user).values("session_id"))
    in_group = Q(topic_id__in=Participation.objects.filter(user=user).values("topic_id"))
    queryset = (
        _session_queryset()
        .filter(presenting | rsvped | in_group)
        .filter(status__in=[SessionStatus.SCHEDULED, SessionStatus.LIVE], start__gte=now - _LONGEST)
        .annotate(
            rsvp_count=Count("rsvps", distinct=True),
            presenting=Exists(WeeklySession.objects.filter(presenting, pk=OuterRef("pk"))),
            rsvped=Exists(RSVP.objects.filter(user=user, session=OuterRef("pk"))),
        )
        .order_by("start", "id")
    )[: limit + 10]
    return [session for session in queryset if session.end >= now][:limit]
