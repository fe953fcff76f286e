"""The promotion pack's pages: the poster (anyone who may see the page it promotes: it is
made to be shared) and the pack itself (organisers)."""

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.views.decorators.http import require_safe

from sessions.models import Topic, WeeklySession
from sessions.topics.rules import PROMOTED as PROMOTED_TOPICS
from sessions.weekly.rules import PROMOTED as PROMOTED_SESSIONS
from sessions.weekly.selectors import session_detail
from topicshare.core.pagecache import content_version_for
from topicshare.forum.models import ForumSettings
from topicshare.forum.promotion import (
    PosterFontMissing,
    Promotion,
    poster_png,
    promotion_of_session,
    promotion_of_topic,
    texts_for,
)

POSTER_CACHE_SECONDS = 24 * 3600


def _session(pk: int) -> WeeklySession:
    try:
        session = session_detail(pk=pk)
    except WeeklySession.DoesNotExist:
        raise Http404 from None
    if session.status not in PROMOTED_SESSIONS:
        raise Http404
    return session


def _topic(pk: int) -> Topic:
    topic = (
        Topic.objects.select_related("track", "proposer")
        .prefetch_related("co_presenters")
        .filter(pk=pk, status__in=PROMOTED_TOPICS)
        .first()
    )
    if topic is None:
        raise Http404
    return topic


def _poster(request, promotion: Promotion) -> HttpResponse:
    """The PNG, kept until what it shows changes (the content version grows with any change
    of a session, topic, track or person's name) in this language."""
    key = (
        f"poster:{promotion.kind}:{promotion.pk}:{translation.get_language()}:"
        f"{content_version_for(request)}"
    )
    png = cache.get(key)
    if png is None:
        forum = ForumSettings.cached(request)
        try:
            png = poster_png(promotion, forum_name=forum.forum_name, slogan=forum.slogan)
        except PosterFontMissing as error:
            return HttpResponse(str(error), status=503, content_type="text/plain; charset=utf-8")
        cache.set(key, png, POSTER_CACHE_SECONDS)
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "public, max-age=300"
    return response


@require_safe
def session_poster(request, pk: int):
    return _poster(request, promotion_of_session(_session(pk)))


@require_safe
def topic_poster(request, pk: int):
    return _poster(request, promotion_of_topic(_topic(pk)))


def _pack(request, build, poster_url: str):
    if not request.user.has_perm("forum.promote"):
        raise PermissionDenied
    forum = ForumSettings.cached(request)
    return render(
        request,
        "staff/promote.html",
        {
            "promotion": build(),
            "poster_url": poster_url,
            "texts": texts_for(build, forum_name=forum.forum_name),
        },
    )


@login_required
@require_safe
def session_promote(request, pk: int):
    session = _session(pk)
    return _pack(
        request, lambda: promotion_of_session(session), reverse("session-poster", args=[pk])
    )


@login_required
@require_safe
def topic_promote(request, pk: int):
    topic = _topic(pk)
    return _pack(request, lambda: promotion_of_topic(topic), reverse("topic-poster", args=[pk]))
