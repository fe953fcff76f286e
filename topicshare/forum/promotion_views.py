"""The promotion pack's pages: the poster (anyone who may see the page it promotes: it is
made to be shared) and the pack itself (organisers)."""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from sessions.models import Topic, WeeklySession
from sessions.topics.rules import PROMOTED as PROMOTED_TOPICS
from sessions.weekly.rules import PROMOTED as PROMOTED_SESSIONS
from sessions.weekly.selectors import session_detail
from topicshare.core.pagecache import content_version_for
from topicshare.forum import wechat_mp
from topicshare.forum.models import ForumSettings, OfficialAccountDraft
from topicshare.forum.promotion import (
    DraftBusy,
    PosterFontMissing,
    Promotion,
    poster_png,
    promotion_draft_save,
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


def _pack(request, build, poster_url: str, draft_url: str):
    if not request.user.has_perm("forum.promote"):
        raise PermissionDenied
    forum = ForumSettings.cached(request)
    promotion = build()
    texts = texts_for(build, forum_name=forum.forum_name)
    drafts = OfficialAccountDraft.objects.filter(kind=promotion.kind, object_id=promotion.pk)
    for draft in drafts.select_related("saved_by"):
        if draft.language in texts:
            texts[draft.language]["draft"] = draft
    return render(
        request,
        "staff/promote.html",
        {
            "promotion": promotion,
            "poster_url": poster_url,
            "draft_url": draft_url,
            "mp_configured": wechat_mp.configured(),
            "texts": texts,
        },
    )


def _save_draft(request, build, back: str):
    """POST: the pack's article (in the language asked for) to the account's draft box."""
    if not request.user.has_perm("forum.promote"):
        raise PermissionDenied
    language = request.POST.get("language", "")
    if language not in dict(settings.LANGUAGES):
        messages.error(request, _("Choose the article's language."))
        return redirect(back)
    if not wechat_mp.configured():
        messages.error(
            request,
            _("The official account is not configured (WECHAT_MP_APP_ID, WECHAT_MP_APP_SECRET)."),
        )
        return redirect(back)
    forum = ForumSettings.cached(request)
    try:
        with translation.override(language):
            promotion = build()
            draft = promotion_draft_save(
                promotion,
                forum_name=forum.forum_name,
                slogan=forum.slogan,
                language=language,
                by=request.user,
            )
    except PosterFontMissing as error:
        messages.error(request, str(error))
    except DraftBusy:
        messages.error(request, _("This article is being saved already: wait a moment."))
    except wechat_mp.WechatApiError as error:
        messages.error(request, _("Not saved to the drafts: %(error)s") % {"error": error})
    else:
        messages.success(
            request,
            _(
                "Saved to the official account's drafts (%(time)s). Check it there and publish"
                " it when you choose: nothing is sent from here."
            )
            % {"time": f"{timezone.localtime(draft.saved_at):%H:%M}"},
        )
    return redirect(back)


@login_required
@require_safe
def session_promote(request, pk: int):
    session = _session(pk)
    return _pack(
        request, lambda: promotion_of_session(session), reverse("session-poster", args=[pk]),
        reverse("session-draft", args=[pk]),
    )  # fmt: skip


@login_required
@require_safe
def topic_promote(request, pk: int):
    topic = _topic(pk)
    return _pack(
        request, lambda: promotion_of_topic(topic), reverse("topic-poster", args=[pk]),
        reverse("topic-draft", args=[pk]),
    )  # fmt: skip


@login_required
@require_POST
def session_draft(request, pk: int):
    session = _session(pk)
    back = reverse("session-promote", args=[pk])
    return _save_draft(request, lambda: promotion_of_session(session), back)


@login_required
@require_POST
def topic_draft(request, pk: int):
    topic = _topic(pk)
    back = reverse("topic-promote", args=[pk])
    return _save_draft(request, lambda: promotion_of_topic(topic), back)


JSSDK_URL_MAX = 2000


@require_safe
def wechat_jssdk_config(request):
    """The JS-SDK's config for one of this site's pages (`?url=`, without its fragment), for
    anyone: a share card is for everyone who opens the page in WeChat. 404 when the official
    account is not configured; 400 for a URL that is not this site's."""
    if not wechat_mp.configured():
        raise Http404
    url = request.GET.get("url", "")
    site = urlsplit(settings.TOPICSHARE_SITE_URL)
    asked = urlsplit(url) if len(url) <= JSSDK_URL_MAX else None
    if asked is None or (asked.scheme, asked.netloc) != (site.scheme, site.netloc):
        return JsonResponse({"error": _("Only this site's pages can be shared.")}, status=400)
    try:
        config = wechat_mp.jssdk_config(url=url.split("#")[0])
    except wechat_mp.WechatApiError as error:
        return JsonResponse({"error": str(error)}, status=503)
    response = JsonResponse(config)
    response["Cache-Control"] = "no-store"
    return response
