"""Whole-page cache for anonymous visitors of the public pages (home, topic sheet, sessions,
library). Most traffic is anonymous and reads the same pages; a cached page costs a cache
lookup instead of a dozen queries and a template render.

Correct invalidation: the key holds ContentVersion, which grows (post_save, post_delete and
m2m_changed receivers, connected in TopicshareConfig.ready) when any model shown on public
pages changes, in whichever process makes the change. Writes that bypass signals
(queryset.update(), bulk_create) and the passing of time (a session going live, "upcoming"
moving on) are covered by a short lifetime, PAGE_CACHE_SECONDS. The version itself is read
at most once a second per process, so a hit touches neither the database nor a template.
Signed-in people, pages carrying a message, and anything but a 200 are never cached. The
CSRF token in a cached page (the language switcher's form) is replaced by the visitor's own
on every hit.

Bounded: a page is stored under its canonical URL and the query parameters its view
declares, nothing else, so that junk in the query string (`?x=<random>`) or the path
(`/topics/0007/`) cannot fill the cache with copies of one page. Undeclared parameters do
not reach the view either, so what is stored is the same whichever junk came with the
request that filled it. Over-long values are served but not stored. The cache server
itself has a memory limit and evicts the least recently used keys (docker-compose.yml)."""

import functools
import hashlib
import re
import time
from collections.abc import Iterable

from django.apps import apps as global_apps
from django.conf import settings
from django.core.cache import cache
from django.db.models import F
from django.http import HttpResponse, QueryDict
from django.middleware.csrf import get_token
from django.urls import NoReverseMatch, reverse

from topicshare.core.models import ContentVersion

_CSRF_INPUT = re.compile(rb'(name="csrfmiddlewaretoken" value=")[^"]*(")')
_CSRF_SENTINEL = b"\x00csrf\x00"

# Models whose rows never show on public pages, or that change all the time for reasons of
# their own (the outbox, heartbeats, votes): they do not invalidate the page cache.
IGNORED_MODELS = {
    "notifications.notification", "topicshare.heartbeat", "topic_sessions.remindermark",
    "notifications.notificationoptout", "topicshare.contentversion", "members.auditevent",
    "members.vote", "members.conflict", "members.application", "members.admissionsettings",
    "ledger.ledgerpolicy", "ledger.ledgerexemption",
}  # fmt: skip
WATCHED_APPS = {
    "topicshare", "notifications", "forum", "members", "topic_sessions", "library", "auth",
}  # fmt: skip


# Each process reads the version from the database at most once a second, so a cache hit
# needs no database at all; a change made in this process is seen at once, one made by
# another process within VERSION_READ_SECONDS.
VERSION_READ_SECONDS = 1.0
_read = {"value": 0, "at": float("-inf")}


def content_version() -> int:
    now = time.monotonic()
    if now - _read["at"] >= VERSION_READ_SECONDS:
        value = ContentVersion.objects.filter(pk=1).values_list("value", flat=True).first()
        _read.update(value=value or 0, at=now)
    return _read["value"]


def forget_content_version() -> None:
    _read["at"] = float("-inf")


def content_changed(sender, **kwargs) -> None:
    """Receiver: something public may have changed."""
    if kwargs.get("raw") or sender._meta.apps is not global_apps:
        return  # loading fixtures, or a migration's historical model
    label = sender._meta.label_lower
    if sender._meta.app_label not in WATCHED_APPS or label in IGNORED_MODELS:
        return
    if not ContentVersion.objects.filter(pk=1).update(value=F("value") + 1):
        ContentVersion.objects.get_or_create(pk=1)
    forget_content_version()


def _cacheable(request) -> bool:
    if request.method not in ("GET", "HEAD") or settings.TOPICSHARE_PAGE_CACHE_SECONDS <= 0:
        return False
    if request.user.is_authenticated:
        return False
    storage = getattr(request, "_messages", None)
    return not (storage is not None and len(storage))  # a message is for this visitor only


# A query the cache stores holds at most this many values, none longer than this.
MAX_QUERY_VALUES = 20
MAX_VALUE_LENGTH = 200


def _declared_query(request, params: frozenset[str]) -> QueryDict:
    """The request's values for the declared parameters only, sorted by name and value."""
    query = QueryDict(mutable=True)
    for name in sorted(params & set(request.GET)):
        query.setlist(name, sorted(request.GET.getlist(name)))
    query._mutable = False
    return query


def _canonical(request) -> bool:
    """Whether the path is the one reverse() builds for this view and its arguments
    (`/topics/7/`, not `/topics/0007/`)."""
    match = request.resolver_match
    if match is None:
        return False
    try:
        return reverse(match.view_name, args=match.args, kwargs=match.kwargs) == request.path
    except NoReverseMatch:
        return False


def public_page(view=None, *, params: Iterable[str] = ()):
    """Serve this view's 200 responses to anonymous visitors from the page cache.

    `params` names every query parameter the view (and its template) reads, e.g. a filter
    set's fields and "page"; anonymous requests reach the view with those only."""
    if view is None:
        return functools.partial(public_page, params=params)
    declared = frozenset(params)

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if not _cacheable(request):
            return view(request, *args, **kwargs)
        query = _declared_query(request, declared)
        request.GET = query
        # A copy: request.environ, which the server's access log reads, keeps the original.
        request.META = {**request.META, "QUERY_STRING": query.urlencode()}
        values = [value for name in query for value in query.getlist(name)]
        storable = (
            len(values) <= MAX_QUERY_VALUES
            and all(len(value) <= MAX_VALUE_LENGTH for value in values)
            and _canonical(request)
        )
        if not storable:
            return view(request, *args, **kwargs)
        path = hashlib.sha256(request.get_full_path().encode()).hexdigest()
        key = f"page:{content_version()}:{request.LANGUAGE_CODE}:{path}"
        cached = cache.get(key)
        if cached is not None:
            content, content_type = cached
            token = get_token(request).encode() if _CSRF_SENTINEL in content else b""
            response = HttpResponse(content.replace(_CSRF_SENTINEL, token), content_type)
            response["X-Page-Cache"] = "hit"
            return response
        response = view(request, *args, **kwargs)
        if response.status_code == 200 and not response.streaming and _cacheable(request):
            content = _CSRF_INPUT.sub(rb"\1" + _CSRF_SENTINEL + rb"\2", response.content)
            cache.set(
                key, (content, response["Content-Type"]), settings.TOPICSHARE_PAGE_CACHE_SECONDS
            )
        return response

    return wrapper
