"""Weekly sessions: the slots a track's rule yields, and the services that schedule, slip,
postpone and cancel sessions, take RSVPs and record attendance. Every time-dependent
function takes `now`."""

import datetime
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from members.models import User
from members.rules import require_perm
from sessions.models import (
    ACTIVE_SESSION_STATUSES,
    RSVP,
    UPCOMING_SESSION_STATUSES,
    Attendance,
    MeetingProvider,
    SessionChange,
    SessionPresenter,
    SessionStatus,
    Topic,
    TopicStatus,
    Track,
    WeeklySession,
)
from sessions.topics.deadlines import task_deadlines_follow
from sessions.topics.models import monday_of
from sessions.topics.services import TopicError, topic_transition, transition_guard
from sessions.topics.slots import UPCOMING_WEEKS, is_on_slot, track_slots
from sessions.weekly.notices import notify_session_change
from sessions.weekly.signals import session_done

SHORT_PROMOTION = datetime.timedelta(days=14)
CHECK_IN_OPENS = datetime.timedelta(minutes=15)


MEETING_FIELDS = [
    "meeting_provider", "meeting_url", "meeting_id", "meeting_passcode", "organiser_note",
]  # fmt: skip

# What an organiser can do with a session in each status: the services refuse the rest, and
# the manage page offers only these (session_actions).
SLIPPABLE = {SessionStatus.SCHEDULED}
POSTPONABLE = {SessionStatus.SCHEDULED}
CANCELLABLE = {SessionStatus.SCHEDULED, SessionStatus.LIVE}
NOT_HELD = {SessionStatus.CANCELLED, SessionStatus.POSTPONED}  # nobody attended those


@transition_guard(TopicStatus.SCHEDULED, TopicStatus.PRESENTED)
def session_not_started(topic: Topic, now: datetime.datetime) -> str:
    upcoming = topic.sessions.filter(status__in=UPCOMING_SESSION_STATUSES)
    if upcoming.filter(start__gt=now).exists():
        return _("The session has not started yet; it is presented once it has taken place.")
    return ""


def session_actions(session: WeeklySession, *, now: datetime.datetime | None = None) -> set[str]:
    """The organisers' actions the session's status (and the clock) allow: their buttons on
    the manage page. Attendance only once the session has started."""
    now = now or timezone.now()
    allowed = {
        "slip": session.status in SLIPPABLE,
        "move": session.status in SLIPPABLE,
        "postpone": session.status in POSTPONABLE,
        "cancel": session.status in CANCELLABLE,
        "attendance": session.status not in NOT_HELD and session.start <= now,
    }
    return {action for action, ok in allowed.items() if ok}


class SchedulingError(TopicError):
    """A scheduling request that breaks a rule; the message is shown as is."""


# --- Slots -----------------------------------------------------------------------------------


def free_slots(
    *,
    track: Track,
    now: datetime.datetime,
    weeks: int = UPCOMING_WEEKS,
) -> list[datetime.datetime]:
    """The track's upcoming slots without a session, in date order."""
    slots = track_slots(track=track, after=now, weeks=weeks)
    taken = set(
        WeeklySession.objects.filter(
            track=track,
            status__in=ACTIVE_SESSION_STATUSES,
            start__gte=slots[0],
            start__lte=slots[-1],
        ).values_list("start", flat=True)
    )
    return [slot for slot in slots if slot not in taken]


def preferred_slot(
    slots: list[datetime.datetime], preferred_week: datetime.date | None
) -> datetime.datetime | None:
    """The slot to preselect: the one in the preferred week, else the nearest week's (earlier
    before later); without a preferred week the first."""
    if not slots:
        return None
    if not preferred_week:
        return slots[0]
    wanted = monday_of(preferred_week)
    return min(slots, key=lambda slot: (abs((monday_of(slot.date()) - wanted).days), slot))


def overlapping_sessions(
    *, track: Track, starts: list[datetime.datetime], duration_minutes: int, exclude=None
) -> dict[datetime.datetime, list[WeeklySession]]:
    """For each of `starts`, the other tracks' sessions (scheduled or live) that run at the
    same time: one audience, two talks. One query for all of them."""
    if not starts:
        return {}
    length = datetime.timedelta(minutes=duration_minutes)
    others = (
        WeeklySession.objects.filter(
            status__in=UPCOMING_SESSION_STATUSES,
            start__lt=max(starts) + length,
            start__gt=min(starts) - datetime.timedelta(minutes=600),
        )
        .exclude(track=track)
        .select_related("topic", "track")
        .order_by("start", "id")
    )
    if exclude is not None:
        others = others.exclude(pk=exclude.pk)
    others = list(others)
    return {
        start: [other for other in others if other.start < start + length and other.end > start]
        for start in starts
    }


def slot_warnings(
    *,
    start: datetime.datetime,
    now: datetime.datetime,
    overlaps: Iterable[WeeklySession] = (),
) -> list[str]:
    warnings = []
    if start - now < SHORT_PROMOTION:
        days = max(0, (start - now).days)
        warnings.append(
            _("This slot is only %(days)d days away: the two-week promotion will be short.")
            % {"days": days}
        )
    for other in overlaps:
        warnings.append(
            _("Overlaps “%(title)s” (%(track)s): one audience, two talks at once.")
            % {"title": other.topic.title, "track": other.track.name}
        )
    return warnings


def slots_with_warnings(
    *, track: Track, now: datetime.datetime, duration_minutes: int, exclude=None
) -> list[tuple[datetime.datetime, list[str]]]:
    """The free slots in date order, each with its warnings (short promotion, overlaps)."""
    slots = free_slots(track=track, now=now)
    overlaps = overlapping_sessions(
        track=track, starts=slots, duration_minutes=duration_minutes, exclude=exclude
    )
    return [
        (slot, slot_warnings(start=slot, now=now, overlaps=overlaps.get(slot, [])))
        for slot in slots
    ]


# --- Scheduling ------------------------------------------------------------------------------


def _presenters(topic: Topic) -> list[User]:
    return [topic.proposer, *topic.co_presenters.exclude(pk=topic.proposer_id)]


def _check_presenters_free(
    *, users: Iterable[User], start: datetime.datetime, end: datetime.datetime, exclude=None
) -> None:
    busy = SessionPresenter.objects.filter(
        user__in=list(users), active=True, session__start__lt=end
    ).select_related("session", "user")
    if exclude is not None:
        busy = busy.exclude(session=exclude)
    for row in busy:
        if row.session.end > start:
            raise SchedulingError(
                _("%(name)s already presents “%(topic)s” at that time.")
                % {"name": row.user.name, "topic": row.session.topic.title}
            )


def _validate_meeting(meeting: dict) -> dict:
    """All of MEETING_FIELDS, cleaned; a field left out means empty."""
    unknown = set(meeting) - set(MEETING_FIELDS)
    if unknown:
        raise SchedulingError(_("Unknown fields: %s") % ", ".join(sorted(unknown)))
    cleaned = {field: str(meeting.get(field) or "").strip() for field in MEETING_FIELDS}
    if len(cleaned["meeting_id"]) > 40 or len(cleaned["meeting_passcode"]) > 20:
        raise SchedulingError(_("The meeting ID or passcode is too long."))
    if cleaned["meeting_provider"] and cleaned["meeting_provider"] not in MeetingProvider.values:
        raise SchedulingError(_("Unknown meeting provider."))
    if cleaned["meeting_url"]:
        try:
            URLValidator(schemes=["http", "https"])(cleaned["meeting_url"])
        except ValidationError:
            raise SchedulingError(_("The meeting link must be an http(s) address.")) from None
    return cleaned


def _save_slot(session: WeeklySession, fields: list[str]) -> None:
    """Save, turning the database's slot constraints into a clear message."""
    try:
        with transaction.atomic():
            session.save(update_fields=fields) if session.pk else session.save()
    except IntegrityError:
        raise SchedulingError(
            _("That slot was just taken by another session. Pick another one.")
        ) from None


def _set_presenters(session: WeeklySession, users: Iterable[User]) -> None:
    SessionPresenter.objects.filter(session=session).delete()
    try:
        with transaction.atomic():
            SessionPresenter.objects.bulk_create(
                SessionPresenter(session=session, user=user, start=session.start) for user in users
            )
    except IntegrityError:
        raise SchedulingError(_("A presenter already presents at that time.")) from None


@transaction.atomic
def session_schedule(
    *,
    topic: Topic,
    start: datetime.datetime,
    by: User,
    override_slot: bool = False,
    now: datetime.datetime | None = None,
    **meeting,
) -> WeeklySession:
    """Put a ready topic into a slot of its track. The topic becomes scheduled.

    Refuses (SchedulingError) a topic that is not ready, a time in the past, a start off the
    track's weekly slot unless `override_slot`, a taken slot (also when two organisers race
    for it: the database constraint decides) and a presenter busy at that time."""
    require_perm(
        by, "topic_sessions.schedule_sessions", message=_("Only organisers schedule sessions.")
    )
    now = now or timezone.now()
    if timezone.is_naive(start):
        raise SchedulingError(_("The start needs a time zone."))
    topic = Topic.objects.select_for_update().select_related("track").get(pk=topic.pk)
    if topic.status != TopicStatus.READY:
        raise SchedulingError(
            _("Only a topic that is ready can be scheduled; this one is “%(status)s”.")
            % {"status": topic.get_status_display()}
        )
    if start <= now:
        raise SchedulingError(_("That time has already passed."))
    if not override_slot and not is_on_slot(track=topic.track, start=start):
        raise SchedulingError(
            _("That time is not one of the track's weekly slots. Tick the override to use it.")
        )
    track = topic.track
    if WeeklySession.objects.filter(
        track=track, start=start, status__in=ACTIVE_SESSION_STATUSES
    ).exists():
        raise SchedulingError(_("This slot already has a session."))
    session = WeeklySession(
        topic=topic,
        track=track,
        start=start,
        duration_minutes=track.duration_minutes,
        **_validate_meeting(meeting),
    )
    presenters = _presenters(topic)
    _check_presenters_free(users=presenters, start=start, end=session.end)
    _save_slot(session, [])
    _set_presenters(session, presenters)
    change = SessionChange.objects.create(
        session=session, kind=SessionChange.Kind.SCHEDULED, to_start=start, by=by
    )
    topic_transition(topic=topic, to=TopicStatus.SCHEDULED, by=by, internal=True)
    task_deadlines_follow(topic=topic, start=start)
    notify_session_change(session=session, change=change)
    return session


def _lock(session: WeeklySession) -> WeeklySession:
    # The topic first, as topic_transition does: one lock order, no deadlock between a
    # proposer cancelling the topic and an organiser cancelling its session.
    list(Topic.objects.select_for_update().filter(pk=session.topic_id).values_list("pk"))
    return (
        WeeklySession.objects.select_for_update()
        .select_related("track", "topic")
        .get(pk=session.pk)
    )


def slip_target(*, session: WeeklySession, now: datetime.datetime) -> datetime.datetime | None:
    """Where slipping would move the session: its track's next free slot after the current
    one at which the presenters are free (None: none in the coming weeks)."""
    after = max(session.start, now)
    presenters = _presenters(session.topic)
    for start in free_slots(track=session.track, now=after, weeks=UPCOMING_WEEKS):
        end = start + datetime.timedelta(minutes=session.duration_minutes)
        try:
            _check_presenters_free(users=presenters, start=start, end=end, exclude=session)
        except SchedulingError:
            continue
        return start
    return None


@transaction.atomic
def session_slip(
    *, session: WeeklySession, by: User, reason: str = "", now: datetime.datetime | None = None
) -> WeeklySession:
    """Move a session to its track's next free slot after the current one, keeping history."""
    require_perm(
        by, "topic_sessions.schedule_sessions", message=_("Only organisers schedule sessions.")
    )
    now = now or timezone.now()
    session = _lock(session)
    if session.status not in SLIPPABLE:
        raise SchedulingError(_("Only a scheduled session can slip."))
    start = slip_target(session=session, now=now)
    if start is not None:
        old = session.start
        session.start = start
        session.sequence = F("sequence") + 1
        _save_slot(session, ["start", "sequence", "updated_at"])
        session.refresh_from_db(fields=["sequence"])
        SessionPresenter.objects.filter(session=session).update(start=start)
        change = SessionChange.objects.create(
            session=session,
            kind=SessionChange.Kind.SLIPPED,
            from_start=old,
            to_start=start,
            by=by,
            reason=reason.strip(),
        )
        task_deadlines_follow(topic=session.topic, start=start)
        notify_session_change(session=session, change=change)
        return session
    raise SchedulingError(
        _("No free slot in the next %(weeks)d weeks.") % {"weeks": UPCOMING_WEEKS}
    )


@transaction.atomic
def session_move(
    *,
    session: WeeklySession,
    start: datetime.datetime,
    by: User,
    reason: str = "",
    now: datetime.datetime | None = None,
) -> WeeklySession:
    """Move a scheduled session to a chosen free slot of its track, earlier or later.

    Side effects, as a slip: the history gets a change (moved), the sequence grows (calendars
    update), the presenters' rows follow, the people concerned are told and the reminders of
    the old time are cancelled (the sweep queues those of the new time). Refuses a session
    that is not scheduled, a time that has passed or is not one of the track's slots, the
    session's own time, a taken slot and a presenter busy then."""
    require_perm(
        by, "topic_sessions.schedule_sessions", message=_("Only organisers schedule sessions.")
    )
    now = now or timezone.now()
    if timezone.is_naive(start):
        raise SchedulingError(_("The start needs a time zone."))
    session = _lock(session)
    if session.status not in SLIPPABLE:
        raise SchedulingError(_("Only a scheduled session can be moved."))
    if start <= now:
        raise SchedulingError(_("That time has already passed."))
    if start == session.start:
        raise SchedulingError(_("The session is already at that time."))
    if not is_on_slot(track=session.track, start=start):
        raise SchedulingError(_("That time is not one of the track's weekly slots."))
    if (
        WeeklySession.objects.filter(
            track=session.track, start=start, status__in=ACTIVE_SESSION_STATUSES
        )
        .exclude(pk=session.pk)
        .exists()
    ):
        raise SchedulingError(_("This slot already has a session."))
    end = start + datetime.timedelta(minutes=session.duration_minutes)
    _check_presenters_free(users=_presenters(session.topic), start=start, end=end, exclude=session)
    old = session.start
    session.start = start
    session.sequence = F("sequence") + 1
    _save_slot(session, ["start", "sequence", "updated_at"])
    session.refresh_from_db(fields=["sequence"])
    SessionPresenter.objects.filter(session=session).update(start=start)
    change = SessionChange.objects.create(
        session=session,
        kind=SessionChange.Kind.MOVED,
        from_start=old,
        to_start=start,
        by=by,
        reason=(reason or "").strip(),
    )
    task_deadlines_follow(topic=session.topic, start=start)
    notify_session_change(session=session, change=change)
    return session


def _take_off_calendar(session: WeeklySession, status: str, by: User, reason: str, kind: str):
    session.status = status
    session.cancel_reason = reason
    session.sequence = F("sequence") + 1
    session.save(update_fields=["status", "cancel_reason", "sequence", "updated_at"])
    session.refresh_from_db(fields=["sequence"])
    SessionPresenter.objects.filter(session=session).update(active=False)
    change = SessionChange.objects.create(
        session=session, kind=kind, from_start=session.start, by=by, reason=reason
    )
    notify_session_change(session=session, change=change)


def _session_done(session: WeeklySession) -> None:
    session.status = SessionStatus.DONE
    session.save(update_fields=["status", "updated_at"])
    # The talk goes into the library (library.signals); presenters add slides there.
    session_done.send(sender=WeeklySession, session=session)


def session_follow_topic(
    *, topic: Topic, to: str, by: User | None, reason: str, now: datetime.datetime
) -> None:
    """A scheduled topic moves on (topic_transition calls this inside its transaction, the
    topic locked): its upcoming session follows. cancelled → the session is cancelled
    (calendars CANCELLED, the slot and the presenters free, reminders cancelled, everyone
    concerned told); ready → postponed; presented → done, with its library item.

    Nothing to do when the session side started the move: session_cancel, session_postpone
    and sessions_advance change the session first, then the topic."""
    session = (
        WeeklySession.objects.select_for_update()
        .select_related("track", "topic")
        .filter(topic=topic, status__in=UPCOMING_SESSION_STATUSES)
        .first()
    )
    if session is None:
        return
    if to == TopicStatus.CANCELLED:
        _take_off_calendar(
            session, SessionStatus.CANCELLED, by, reason, SessionChange.Kind.CANCELLED
        )
    elif to == TopicStatus.READY:
        _take_off_calendar(
            session, SessionStatus.POSTPONED, by, reason, SessionChange.Kind.POSTPONED
        )
    elif to == TopicStatus.PRESENTED:
        _session_done(session)
    else:
        raise SchedulingError(_("A scheduled topic cannot become “%(status)s”.") % {"status": to})


@transaction.atomic
def session_cancel(*, session: WeeklySession, by: User, reason: str) -> WeeklySession:
    """Cancel a session and its topic (calendars get STATUS:CANCELLED)."""
    require_perm(
        by, "topic_sessions.schedule_sessions", message=_("Only organisers schedule sessions.")
    )
    reason = (reason or "").strip()
    if not reason:
        raise SchedulingError(_("Please give a reason."))
    session = _lock(session)
    if session.status not in CANCELLABLE:
        raise SchedulingError(_("Only an upcoming session can be cancelled."))
    _take_off_calendar(session, SessionStatus.CANCELLED, by, reason, SessionChange.Kind.CANCELLED)
    topic_transition(
        topic=session.topic, to=TopicStatus.CANCELLED, by=by, reason=reason, internal=True
    )
    return session


@transaction.atomic
def session_postpone(*, session: WeeklySession, by: User, reason: str) -> WeeklySession:
    """Take a session off the calendar without a new date; its topic is ready to be
    scheduled again."""
    require_perm(
        by, "topic_sessions.schedule_sessions", message=_("Only organisers schedule sessions.")
    )
    reason = (reason or "").strip()
    if not reason:
        raise SchedulingError(_("Please give a reason."))
    session = _lock(session)
    if session.status not in POSTPONABLE:
        raise SchedulingError(_("Only a scheduled session can be postponed."))
    _take_off_calendar(session, SessionStatus.POSTPONED, by, reason, SessionChange.Kind.POSTPONED)
    topic_transition(topic=session.topic, to=TopicStatus.READY, by=by, reason=reason, internal=True)
    return session


@transaction.atomic
def session_update_meeting(*, session: WeeklySession, by: User, **meeting) -> WeeklySession:
    """Set the meeting provider, link, ID, passcode and note."""
    require_perm(
        by, "topic_sessions.schedule_sessions", message=_("Only organisers schedule sessions.")
    )
    session = _lock(session)
    cleaned = _validate_meeting(meeting)
    changed = [field for field, value in cleaned.items() if getattr(session, field) != value]
    if not changed:
        return session
    for field in changed:
        setattr(session, field, cleaned[field])
    session.sequence = F("sequence") + 1
    session.save(update_fields=[*changed, "sequence", "updated_at"])
    session.refresh_from_db(fields=["sequence"])
    SessionChange.objects.create(session=session, kind=SessionChange.Kind.EDITED, by=by)
    return session


# --- RSVP and attendance -------------------------------------------------------------------


def rsvp_open(*, session: WeeklySession, now: datetime.datetime) -> bool:
    """One may say one is coming, or not coming after all, until the session ends."""
    return session.status in UPCOMING_SESSION_STATUSES and session.end > now


def rsvp_set(
    *, session: WeeklySession, user: User, going: bool, now: datetime.datetime | None = None
) -> bool:
    """Say you are coming (or not). Only for sessions that have not ended; saying what is so
    already is refused (SchedulingError), so that nobody is told something happened."""
    now = now or timezone.now()
    require_perm(user, "topic_sessions.rsvp", message=_("Log in to RSVP."))
    if not rsvp_open(session=session, now=now):
        raise SchedulingError(_("This session is not open for RSVPs."))
    if going:
        # A plain insert, the unique constraint deciding: get_or_create's read-then-insert can
        # find nothing, lose the insert to a double tap, then find nothing again (the other
        # tap's row already taken back) and raise instead of answering.
        try:
            with transaction.atomic():
                RSVP.objects.create(session=session, user=user)
        except IntegrityError:
            raise SchedulingError(_("You have already said you are coming.")) from None
    elif not RSVP.objects.filter(session=session, user=user).delete()[0]:
        raise SchedulingError(_("You had not said you are coming."))
    return going


def check_in_window(session: WeeklySession) -> tuple[datetime.datetime, datetime.datetime]:
    return session.start - CHECK_IN_OPENS, session.end


def check_in_open(*, session: WeeklySession, now: datetime.datetime) -> bool:
    opens, closes = check_in_window(session)
    return session.status in UPCOMING_SESSION_STATUSES and opens <= now <= closes


def attendance_check_in(
    *, session: WeeklySession, user: User, now: datetime.datetime | None = None
) -> Attendance:
    """Self check-in, from 15 minutes before the start until the end; once per person."""
    now = now or timezone.now()
    require_perm(user, "topic_sessions.rsvp", message=_("Log in to check in."))
    if not check_in_open(session=session, now=now):
        raise SchedulingError(_("Check-in is open only while the session runs."))
    try:
        with transaction.atomic():
            return Attendance.objects.create(session=session, user=user, how=Attendance.How.SELF)
    except IntegrityError:
        raise SchedulingError(_("You have already checked in.")) from None


@transaction.atomic
def attendance_record(
    *,
    session: WeeklySession,
    users: Iterable[User],
    by: User,
    now: datetime.datetime | None = None,
    how: str = Attendance.How.ORGANISER,
) -> int:
    """An organiser records who attended (for those who could not check in, or from the
    meeting's participant list: `how`), once the session has started. Those already recorded
    are left as they are. Returns how many new attendances were recorded."""
    now = now or timezone.now()
    require_perm(
        by, "topic_sessions.schedule_sessions", message=_("Only organisers schedule sessions.")
    )
    if session.status in NOT_HELD:
        raise SchedulingError(_("Nobody attends a session that did not take place."))
    if session.start > now:
        raise SchedulingError(_("Attendance can be recorded once the session has started."))
    already = set(Attendance.objects.filter(session=session).values_list("user_id", flat=True))
    new = []
    for user in users:
        if user.pk not in already:
            already.add(user.pk)
            new.append(Attendance(session=session, user=user, how=how, recorded_by=by))
    Attendance.objects.bulk_create(new)
    return len(new)


@transaction.atomic
def sessions_advance(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Run by beat every minute: sessions go live at their start and are done at their end;
    a done session's topic becomes presented."""
    now = now or timezone.now()
    counts = {"live": 0, "done": 0}
    due = (
        WeeklySession.objects.select_for_update(skip_locked=True)
        .filter(status__in=[SessionStatus.SCHEDULED, SessionStatus.LIVE], start__lte=now)
        .select_related("topic")
    )
    for session in due:
        if session.end <= now:
            # The topic's lock as well (topic first elsewhere): one being cancelled right now
            # is left for the next minute.
            locked = Topic.objects.select_for_update(skip_locked=True).filter(pk=session.topic_id)
            if not list(locked.values_list("pk", flat=True)):
                continue
            _session_done(session)
            if session.topic.status == TopicStatus.SCHEDULED:
                topic_transition(
                    topic=session.topic, to=TopicStatus.PRESENTED, by=None, internal=True, now=now
                )
            counts["done"] += 1
        elif session.status == SessionStatus.SCHEDULED:
            session.status = SessionStatus.LIVE
            session.save(update_fields=["status", "updated_at"])
            counts["live"] += 1
    return counts
