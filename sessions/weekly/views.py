"""Pages of the weekly sessions: the schedule, a session, RSVP and check-in, and the
organisers' scheduling pages. Calendar feeds live in sessions/feeds.py."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from members.models import User
from members.rules import require_perm
from sessions.models import Topic, TopicStatus, Track, WeeklySession
from sessions.weekly.forms import (
    AttendanceForm,
    MeetingForm,
    MoveForm,
    ReasonForm,
    ScheduleForm,
)
from sessions.weekly.notices import participants_of, presenters_of, rsvps_of
from sessions.weekly.scheduling import (
    MEETING_FIELDS,
    SchedulingError,
    attendance_check_in,
    attendance_record,
    overlapping_sessions,
    preferred_slot,
    rsvp_set,
    session_actions,
    session_cancel,
    session_move,
    session_postpone,
    session_schedule,
    session_slip,
    session_update_meeting,
    slip_target,
    slot_warnings,
    slots_with_warnings,
)
from sessions.weekly.selectors import (
    group_by_week,
    session_detail,
    session_history,
    session_people,
    sessions_past,
    sessions_upcoming,
)
from topicshare.core.confirm import Confirmation, confirmation_page, confirmed
from topicshare.core.fragments import personal_page
from topicshare.core.links import absolute_url
from topicshare.core.pagecache import public_page

UPCOMING_WEEKS_SHOWN = 12


@public_page(params=("weeks",), signed_in=True)
def session_list(request):
    """The next weeks' sessions (12 by default; ?weeks=N shows up to a year)."""
    now = timezone.now()
    try:
        weeks = min(52, max(1, int(request.GET.get("weeks", UPCOMING_WEEKS_SHOWN))))
    except ValueError:
        weeks = UPCOMING_WEEKS_SHOWN
    until = now + datetime.timedelta(weeks=weeks)
    # Lazy: the weeks and the feeds are inside the page's cached fragment; what the viewer
    # RSVP'd fills its holes (sessions/weekly/holes.py: one small query, signed in only).
    return render(
        request,
        "sessions/session_list.html",
        {
            "weeks": SimpleLazyObject(
                lambda: group_by_week(sessions_upcoming(now=now, until=until))
            ),
            "weeks_shown": weeks,
            "more_weeks": min(52, weeks + UPCOMING_WEEKS_SHOWN) if weeks < 52 else None,
            "now": now,
            "all_feed_url": absolute_url(reverse("sessions:calendar-all")),
            "track_feeds": SimpleLazyObject(
                lambda: [
                    (track, absolute_url(reverse("sessions:calendar-track", args=[track.slug])))
                    for track in Track.objects.all()
                ]
            ),
        },
    )


@public_page(params=("page",))
def session_past(request):
    page = Paginator(sessions_past(now=timezone.now()), 30).get_page(request.GET.get("page"))
    return render(request, "sessions/session_past.html", {"page": page})


@public_page(signed_in=True)
def session_page(request, pk: int):
    try:
        session = session_detail(pk=pk)
    except WeeklySession.DoesNotExist:
        raise Http404 from None
    # What is mine on the page (the "Join in" card) is a hole: sessions/weekly/holes.py.
    return render(
        request,
        "sessions/session_detail.html",
        {
            "session": session,
            "topic": session.topic,
            # Lazy: read inside the page's cached fragments only.
            "participations": SimpleLazyObject(lambda: session_people(session)),
            "changes": SimpleLazyObject(lambda: session_history(session)),
            "track_feed_url": absolute_url(
                reverse("sessions:calendar-track", args=[session.track.slug])
            ),
        },
    )


@login_required
@require_POST
def session_rsvp(request, pk: int):
    session = get_object_or_404(WeeklySession, pk=pk)
    going = request.POST.get("going") == "1"
    try:
        rsvp_set(session=session, user=request.user, going=going)
    except SchedulingError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("See you there!") if going else _("Your RSVP is withdrawn."))
    return redirect("sessions:detail", pk=pk)


@login_required
@require_POST
def session_check_in(request, pk: int):
    session = get_object_or_404(WeeklySession, pk=pk)
    try:
        attendance_check_in(session=session, user=request.user)
    except SchedulingError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("You are checked in. Enjoy the session!"))
    return redirect("sessions:detail", pk=pk)


@login_required
@personal_page
def schedule_index(request):
    """Organisers: topics that are ready and wait for a slot."""
    require_perm(request.user, "topic_sessions.schedule_sessions")
    topics = (
        Topic.objects.filter(status=TopicStatus.READY)
        .select_related("track", "proposer")
        .order_by("preferred_week", "created_at")
    )
    return render(request, "sessions/schedule_index.html", {"topics": topics})


@login_required
@require_http_methods(["GET", "POST"])
def schedule_topic(request, topic_pk: int):
    require_perm(request.user, "topic_sessions.schedule_sessions")
    topic = get_object_or_404(Topic.objects.select_related("track", "proposer"), pk=topic_pk)
    now = timezone.now()
    if topic.status != TopicStatus.READY:
        messages.error(request, _("Only a topic that is ready can be scheduled."))
        return redirect("topics:detail", pk=topic.pk)
    slots = slots_with_warnings(
        track=topic.track, now=now, duration_minutes=topic.track.duration_minutes
    )
    form = ScheduleForm(
        request.POST if request.method == "POST" else None,
        slots=slots,
        preselect=preferred_slot([start for start, _warnings in slots], topic.preferred_week),
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            session = session_schedule(
                topic=topic,
                start=data["start"],
                by=request.user,
                override_slot=data["override_slot"],
                now=now,
                **{field: data[field] for field in MEETING_FIELDS},
            )
        except SchedulingError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("Scheduled."))
            overlaps = overlapping_sessions(
                track=session.track,
                starts=[session.start],
                duration_minutes=session.duration_minutes,
                exclude=session,
            )
            for warning in slot_warnings(
                start=session.start, now=now, overlaps=overlaps[session.start]
            ):
                messages.warning(request, warning)
            return redirect("sessions:detail", pk=session.pk)
    return render(request, "sessions/schedule_topic.html", {"topic": topic, "form": form})


def _attendance_candidates(session: WeeklySession):
    return User.objects.filter(
        Q(rsvps__session=session)
        | Q(participations__topic=session.topic)
        | Q(presenting__session=session)
    ).distinct()


def _take_off_or_move(request, session: WeeklySession, action: str, reason: str):
    if action == "slip":
        session = session_slip(session=session, by=request.user, reason=reason)
        start = timezone.localtime(session.start)
        messages.success(request, _("Moved to %(start)s.") % {"start": f"{start:%Y-%m-%d %H:%M}"})
    elif action == "postpone":
        session_postpone(session=session, by=request.user, reason=reason)
        messages.success(request, _("Postponed; the topic can be scheduled again."))
    else:
        session_cancel(session=session, by=request.user, reason=reason)
        messages.success(request, _("Cancelled."))
    return redirect("sessions:detail", pk=session.pk)


# The manage page's three ways to take a session off its date: one form each, with its own
# reason (optional for slipping) and a confirmation before anything happens.
MOVE_ACTIONS = {
    "slip": gettext_lazy("Slip to the next free week"),
    "postpone": gettext_lazy("Postpone (no new date)"),
    "cancel": gettext_lazy("Cancel the session"),
}


def _move_confirmation(session: WeeklySession, action: str, reason: str) -> Confirmation:
    """What slipping, postponing or cancelling does, and who is told (notify_session_change:
    the presenters, the participant group, everyone who RSVP'd)."""
    reason = " ".join(reason.split())
    when = timezone.localtime(session.start)
    counts = {
        "presenters": presenters_of(session).count(),
        "group": participants_of(session.topic).count(),
        "rsvps": rsvps_of(session).count(),
    }
    told = [
        _(
            "The presenters (%(presenters)d), the participant group (%(group)d) and everyone "
            "who RSVP'd (%(rsvps)d) get a notice."
        )
        % counts
    ]
    happens = []
    if action == "slip":
        target = slip_target(session=session, now=timezone.now())
        if target is None:
            happens.append(_("There is no free slot in the coming weeks: nothing will move."))
        else:
            happens.append(
                _("The session moves from %(old)s to %(new)s (Asia/Shanghai).")
                % {"old": f"{when:%Y-%m-%d %H:%M}",
                   "new": f"{timezone.localtime(target):%Y-%m-%d %H:%M}"}
            )  # fmt: skip
        happens.append(_("Calendars update; the reminders move with it."))
        title, button = _("Slip this session a week?"), _("Yes, slip it")
    elif action == "postpone":
        happens += [
            _("The session of %(when)s is taken off the calendar without a new date.")
            % {"when": f"{when:%Y-%m-%d %H:%M}"},
            _("The topic is ready to be scheduled again; its reminders stop."),
        ]
        title, button = _("Postpone this session?"), _("Yes, postpone it")
    else:
        happens += [
            _("The session of %(when)s and its topic are cancelled for good.")
            % {"when": f"{when:%Y-%m-%d %H:%M}"},
            _("The slot is free again, calendars show it as cancelled, its reminders stop."),
        ]
        title, button = _("Cancel this session?"), _("Yes, cancel the session")
    if reason:
        happens.append(_("Reason: %(reason)s") % {"reason": reason})
    return Confirmation(
        title=title,
        button=button,
        happens=happens,
        told=told,
        back_url=reverse("sessions:manage", args=[session.pk]),
        danger=action == "cancel",
    )


@login_required
@require_http_methods(["GET", "POST"])
def session_manage(request, pk: int):
    """Organisers: meeting details, slip a week, postpone, cancel, record attendance."""
    require_perm(request.user, "topic_sessions.schedule_sessions")
    session = get_object_or_404(WeeklySession.objects.select_related("topic", "track"), pk=pk)
    meeting_form = MeetingForm(initial={field: getattr(session, field) for field in MEETING_FIELDS})
    reason_forms = {action: ReasonForm(prefix=action) for action in MOVE_ACTIONS}
    attendance_form = AttendanceForm(candidates=_attendance_candidates(session))
    actions = session_actions(session, now=timezone.now())
    move_slots = (
        slots_with_warnings(
            track=session.track,
            now=timezone.now(),
            duration_minutes=session.duration_minutes,
            exclude=session,
        )
        if "move" in actions
        else []
    )
    move_form = MoveForm(slots=move_slots)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "move":
                move_form = MoveForm(request.POST, slots=move_slots)
                if move_form.is_valid():
                    session = session_move(
                        session=session,
                        start=move_form.cleaned_data["slot"],
                        by=request.user,
                        reason=move_form.cleaned_data["reason"],
                    )
                    start = timezone.localtime(session.start)
                    messages.success(
                        request, _("Moved to %(start)s.") % {"start": f"{start:%Y-%m-%d %H:%M}"}
                    )
                    return redirect("sessions:detail", pk=session.pk)
            elif action == "meeting":
                meeting_form = MeetingForm(request.POST)
                if meeting_form.is_valid():
                    session_update_meeting(
                        session=session, by=request.user, **meeting_form.cleaned_data
                    )
                    messages.success(request, _("Meeting details saved."))
                    return redirect("sessions:manage", pk=pk)
            elif action in MOVE_ACTIONS:
                form = reason_forms[action] = ReasonForm(request.POST, prefix=action)
                # Slipping a week may go without a reason; postponing and cancelling may not.
                if form.is_valid() or action == "slip":
                    reason = form.cleaned_data.get("reason", "")
                    if action not in actions:
                        raise SchedulingError(
                            _("This session is “%(status)s”: it cannot be moved or called off.")
                            % {"status": session.get_status_display()}
                        )
                    if not confirmed(request):
                        confirmation = _move_confirmation(session, action, reason)
                        return confirmation_page(request, confirmation)
                    return _take_off_or_move(request, session, action, reason)
            elif action == "attendance":
                attendance_form = AttendanceForm(
                    request.POST, candidates=_attendance_candidates(session)
                )
                if attendance_form.is_valid():
                    count = attendance_record(
                        session=session,
                        users=attendance_form.cleaned_data["people"],
                        by=request.user,
                        now=timezone.now(),
                    )
                    messages.success(
                        request, _("%(count)d attendance(s) recorded.") % {"count": count}
                    )
                    return redirect("sessions:manage", pk=pk)
            else:
                messages.error(request, _("Unknown action."))
        except SchedulingError as error:
            messages.error(request, str(error))
    return render(
        request,
        "sessions/session_manage.html",
        {
            "session": session,
            "meeting_form": meeting_form,
            "move_forms": [
                (action, MOVE_ACTIONS[action], reason_forms[action])
                for action in MOVE_ACTIONS
                if action in actions
            ],
            "attendance_form": attendance_form,
            "move_form": move_form,
            "actions": actions,
            "attendances": session.attendances.select_related("user"),
            "history": session.changes.select_related("by"),
        },
    )
