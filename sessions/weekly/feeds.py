"""Calendar feeds (.ics) of the weekly sessions: everything, one track, or a person's own
sessions behind a secret token. The URL patterns are included in the "sessions" namespace."""

import hashlib

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.db.models import Count, Max
from django.http import Http404, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone, translation
from django.utils.cache import patch_cache_control
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from members.models import User
from sessions.models import Track, WeeklySession
from sessions.weekly.calendar import (
    ALARMS,
    build_calendar,
    calendar_sessions,
    calendar_token_regenerate,
)
from sessions.weekly.selectors import session_detail
from topicshare.core.links import site_url

TOKEN_MAX_LENGTH = User._meta.get_field("calendar_token").max_length


def _ics_response(content: bytes, filename: str, *, disposition: str = "inline") -> HttpResponse:
    response = HttpResponse(content, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return response


PUBLIC_FEED_CACHE_SECONDS = 600


def _public_calendar(request, *, sessions, name: str) -> bytes:
    """Public feeds are the same for everyone and polled often: build once per change.

    The cache key fingerprints what the feed shows (how many sessions, when a session or its
    topic last changed), the language, the host and the day (the window moves daily)."""
    fingerprint = sessions.order_by().aggregate(
        count=Count("id"), session=Max("updated_at"), topic=Max("topic__updated_at")
    )
    base_url = site_url()
    key = (
        "ics:"
        + hashlib.sha256(
            repr(
                (name, base_url, translation.get_language(), timezone.localdate(), fingerprint)
            ).encode()
        ).hexdigest()
    )
    content = cache.get(key)
    if content is None:
        content = build_calendar(
            sessions=sessions, name=name, include_meeting=False, base_url=base_url,
            now=timezone.now(),
        )  # fmt: skip
        cache.set(key, content, PUBLIC_FEED_CACHE_SECONDS)
    return content


@require_safe
def calendar_all(request):
    content = _public_calendar(request, sessions=calendar_sessions(), name=_("TopicShare sessions"))
    return _ics_response(content, "topicshare.ics")


@require_safe
def calendar_track(request, slug: str):
    track = get_object_or_404(Track, slug=slug)
    content = _public_calendar(
        request,
        sessions=calendar_sessions(track=track),
        name=_("TopicShare · %(track)s") % {"track": track.name},
    )
    return _ics_response(content, f"topicshare-{track.slug}.ics")


@require_safe
def calendar_event(request, pk: int):
    """One session as a one-event .ics download ("add to calendar"). The meeting details are
    in it only for those who may see them, and then no shared cache keeps a copy."""
    try:
        session = session_detail(pk=pk)
    except WeeklySession.DoesNotExist:
        raise Http404 from None
    include_meeting = request.user.has_perm("topic_sessions.view_meeting")
    content = build_calendar(
        sessions=[session],
        name=session.topic.title,
        include_meeting=include_meeting,
        base_url=site_url(),
        now=timezone.now(),
    )
    response = _ics_response(
        content, f"topicshare-session-{session.pk}.ics", disposition="attachment"
    )
    if include_meeting:
        patch_cache_control(response, private=True, no_store=True)
    return response


@require_safe
def calendar_personal(request, token: str):
    """The sessions of the person whose token is in the address, with the meeting details.
    Calendar apps send no cookies: the token is the only credential."""
    if not token or len(token) > TOKEN_MAX_LENGTH:
        raise Http404
    user = User.objects.filter(calendar_token=token, is_active=True).first()
    if user is None:
        raise Http404
    alarm = request.GET.get("alarm", "off")
    if alarm != "off" and alarm not in ALARMS:
        return HttpResponseBadRequest(
            _("Unknown reminder “%(alarm)s”: use off, 15m, 1h or 1d.") % {"alarm": alarm[:20]},
            content_type="text/plain; charset=utf-8",
        )
    # Calendar apps rarely say which language they want; the person's choice decides.
    with translation.override(user.preferred_language or translation.get_language()):
        content = build_calendar(
            sessions=calendar_sessions(user=user),
            name=_("TopicShare · my sessions"),
            include_meeting=True,
            base_url=site_url(),
            now=timezone.now(),
            alarm=ALARMS.get(alarm),
            attendee=user,
        )
    response = _ics_response(content, "topicshare-me.ics")
    # Meeting links and passcodes: no shared cache may keep a copy.
    patch_cache_control(response, private=True, no_store=True)
    return response


@require_POST
@login_required
def calendar_token_regenerate_view(request):
    calendar_token_regenerate(user=request.user)
    messages.success(
        request,
        _(
            "Your calendar has a new address. The old one no longer works: subscribe again "
            "with the new one in your calendar app."
        ),
    )
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = reverse("profile")
    return HttpResponseRedirect(next_url)


urlpatterns = [
    path("calendar.ics", calendar_all, name="calendar-all"),
    # A track's public feed; the older calendar/<slug>.ics keeps working for subscribers.
    path("tracks/<slug:slug>.ics", calendar_track, name="calendar-track"),
    path("calendar/<slug:slug>.ics", calendar_track, name="calendar-track-old"),
    path("<int:pk>/calendar.ics", calendar_event, name="calendar-event"),
    path("calendar/me/<str:token>.ics", calendar_personal, name="calendar-personal"),
    path("calendar/token/", calendar_token_regenerate_view, name="calendar-token"),
]
