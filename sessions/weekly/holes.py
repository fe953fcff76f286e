"""What the {% personal %} holes of the sessions pages need, per person
(topicshare/core/fragments.py: a page served whole from the cache has no view context)."""

from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from sessions.models import WeeklySession
from sessions.weekly.scheduling import check_in_open, rsvp_open
from sessions.weekly.selectors import rsvped_session_ids, session_for_viewer
from topicshare.core.fragments import per_request, personal_hole


@personal_hole("sessions/_you_are_going.html")
def you_are_going(request, arg: str) -> dict | None:
    # One small query for all the cards of a page: the ids of the sessions I RSVP'd, as text
    # (a hole's argument is text). A card I am not going to shows nothing.
    rsvped = per_request(
        request, "rsvped", lambda: {str(pk) for pk in rsvped_session_ids(user=request.user)}
    )
    return {"rsvped": rsvped} if arg in rsvped else None


@personal_hole("sessions/_join_in.html")
def join_in(request, arg: str) -> dict | None:
    """A session page's "Join in" card: the RSVP count, my RSVP and check-in, the meeting
    details for whoever may see them, the materials once it is over."""
    user = request.user
    try:
        session = session_for_viewer(pk=int(arg), user=user)
    except (ValueError, WeeklySession.DoesNotExist):
        return None
    now = timezone.now()
    return {
        "session": session,
        "topic": SimpleLazyObject(lambda: session.topic),  # its materials, once it is over
        "show_meeting": user.has_perm("topic_sessions.view_meeting"),
        "going": session.going,
        # The services' own rules: a button only where the POST would be accepted.
        "can_rsvp": rsvp_open(session=session, now=now),
        "can_check_in": user.has_perm("topic_sessions.rsvp")
        and not session.checked_in
        and check_in_open(session=session, now=now),
        "checked_in": session.checked_in,
        "is_past": session.end <= now,
        "can_manage": user.has_perm("topic_sessions.schedule_sessions"),
    }
