"""Read-only JSON of the sheet and of the weekly sessions: public fields only, filtered,
paginated."""

import zoneinfo

from django.db.models import Count, QuerySet
from django.urls import reverse
from django.views.decorators.http import require_GET

from sessions.models import WeeklySession
from sessions.weekly.calendar import session_presenter_names
from sessions.weekly.filters import WeeklySessionFilter
from topicshare.core.api import filtered_json_page


def session_api_list(
    *, filters: dict | None = None
) -> tuple[WeeklySessionFilter, QuerySet[WeeklySession]]:
    """Sessions with what /api/sessions/ shows, filtered, in start order. A fixed number of
    queries whatever the number of sessions. The meeting details are not even loaded."""
    queryset = (
        WeeklySession.objects.select_related("track", "topic", "topic__proposer")
        .prefetch_related("topic__co_presenters")
        .defer("meeting_url", "meeting_id", "meeting_passcode", "organiser_note")
        .annotate(rsvp_total=Count("rsvps", distinct=True))
        .order_by("start", "id")
    )
    session_filter = WeeklySessionFilter(filters or {}, queryset=queryset)
    return session_filter, session_filter.qs


def session_json(session: WeeklySession) -> dict:
    zone = zoneinfo.ZoneInfo(session.track.time_zone)
    return {
        "id": session.pk,
        "url": reverse("sessions:detail", args=[session.pk]),
        "topic": {"id": session.topic_id, "title": session.topic.title},
        "track": session.track.slug,
        "start": session.start.astimezone(zone).isoformat(),
        "end": session.end.astimezone(zone).isoformat(),
        "duration_minutes": session.duration_minutes,
        "status": session.status,
        "sequence": session.sequence,
        "presenters": session_presenter_names(session),
        "rsvp_count": session.rsvp_total,
    }


@require_GET
def sessions_api(request):
    filterset, queryset = session_api_list(filters=request.GET)
    return filtered_json_page(request, filterset, queryset, session_json)
