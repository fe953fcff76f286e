"""Cached fragments of public pages, for everyone — signed-in members included, whom the
whole-page cache (pagecache.py) never serves.

    {% load fragments %}
    {% fragment "topic-sheet" %} … the filters, the rows … {% endfragment %}

A fragment is stored under what decides its content and nothing else:
- the content version (pagecache.content_version, read fresh from the database for a
  signed-in viewer, so a change a member makes shows to them on their next page, whichever
  worker serves it);
- the viewer's class — anonymous or their role (and superuser) — because members-only
  content shows to members only. Never the person: what is theirs stays outside fragments;
- the language, the time zone, the canonical path and the query parameters the view declared
  to @public_page (request.fragment_query; a request with undeclared or over-long parameters,
  or a view that is not a public page, renders the fragment afresh and stores nothing);
- the tag's own extra values (`{% fragment "name" value … %}`).
Its lifetime is TOPICSHARE_FRAGMENT_CACHE_SECONDS (0 turns fragments off): the passing of time
("live now", "upcoming") is the only thing the version does not see.

Per-person bits inside a fragment (the "you are going" badge on a card) are holes, filled
on every request: `{% personal "sessions/_you_are_going.html" session.pk %}` stores a marker,
and each time the fragment is served the marker is replaced by that template rendered with
the current request's context and `personal_arg`. A CSRF token inside a fragment is replaced
by the viewer's own the same way. Markers carry a key derived from SECRET_KEY, so user
content cannot forge one.

Whole pages (@public_page(signed_in=True): home, the sheet, sessions, a session, a topic, the
library): for someone signed in the page itself is stored like a fragment, holes and all, so
a hit runs neither the view nor its template: the request, the user, the version, one cache
read and the holes. A hole's template gets its per-person context from the provider its app
registered (personal_hole(); sessions/weekly/holes.py, sessions/topics/holes.py), since
there is no view context to lend it. A page carrying a message is neither served whole nor
stored. Opting in says the template keeps everything personal in holes; the tests in
tests/topicshare/core/test_fragments.py hold each such page to it."""

import functools
import hashlib
import hmac
import re
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.template import Context
from django.template.loader import get_template
from django.utils import timezone
from django.utils.functional import LazyObject, SimpleLazyObject
from django.utils.safestring import mark_safe

from topicshare.core.pagecache import (
    content_version_for,
    data_version_for,
    declared_query,
    storable,
)

_CSRF_INPUT = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]*(")')
# Templates that {% personal %} tags name (registered when the tag is compiled, or by the
# owning app's ready() with what the template needs: see personal_hole()).
_personal_templates: set[str] = set()
# template name -> provider(request, arg) -> the context that hole needs beyond the request,
# the user and the context processors' values (a page served whole from the cache has no
# view context to lend it).
_providers: dict[str, Callable] = {}


def _marker_key() -> str:
    return hmac.new(
        settings.SECRET_KEY.encode(), b"topicshare-fragment-marker", hashlib.sha256
    ).hexdigest()[:16]


def _marker(kind: str, arg: str) -> str:
    return f"\x00{_marker_key()}:{kind}:{arg}\x00"


def _markers() -> re.Pattern:
    return re.compile("\x00" + _marker_key() + r":([\w/.-]+):([\w-]*)\x00")


def register_personal_template(name: str) -> None:
    _personal_templates.add(name)


def personal_hole(template_name: str):
    """Register a hole's template with the function that gives it its per-person context:

        @personal_hole("sessions/_you_are_going.html")
        def you_are_going(request, arg) -> dict: ...

    The provider is called once per hole filled (memoise on the request what several holes
    of a page share); None means the hole is empty (its template is not rendered)."""

    def register(provider: Callable) -> Callable:
        _personal_templates.add(template_name)
        _providers[template_name] = provider
        return provider

    return register


def per_request(request, name: str, compute: Callable):
    """`compute()` once per request (what several holes of one page share)."""
    memo = request.__dict__.setdefault("_personal_memo", {})
    if name not in memo:
        memo[name] = compute()
    return memo[name]


def personal_marker(template_name: str, arg) -> str:
    return mark_safe(_marker(template_name, str(arg)))  # noqa: S308 — our own marker


def viewer_class(user, version: int | None = None) -> str:
    """What decides which members-only content a viewer sees: never who they are.

    With `version` (the content version this request read fresh), the role is remembered
    per process under it: a change of a member's groups bumps the version
    (members' public_relations), so a page served from the cache needs no groups query."""
    if user is None or not user.is_authenticated:
        return "anonymous"
    flags = ("+su" if user.is_superuser else "") + ("+staff" if user.is_staff else "")
    if isinstance(user, LazyObject):  # request.user: the user itself holds its cached role
        user = user._wrapped
    if version is not None and "role" not in user.__dict__:
        memo_key = (user.pk, version)
        role = _roles.get(memo_key)
        if role is None:
            if len(_roles) >= _ROLES_KEPT:
                _roles.clear()
            role = _roles[memo_key] = getattr(user, "role", "")
        else:
            user.__dict__["role"] = role  # User.role is a cached_property: the same value
    else:
        role = getattr(user, "role", "")
    return f"{getattr(role, 'value', role)}{flags}"


# (user id, content version) -> User.role, in this process; bounded.
_roles: dict[tuple[int, int], object] = {}
_ROLES_KEPT = 10_000


def forget_roles() -> None:
    """For tests, whose rolled back database hands out the same ids and versions again."""
    _roles.clear()


def fragment_key(request, name: str, vary: list) -> str | None:
    if settings.TOPICSHARE_FRAGMENT_CACHE_SECONDS <= 0 or request is None:
        return None
    # A public page's declared query (None: it had more, or too much). Any other page: its
    # path alone, when it has no query string at all.
    query = getattr(request, "fragment_query", None if request.GET else "")
    if request.method not in ("GET", "HEAD") or query is None:
        return None
    version = content_version_for(request)
    parts = [
        name,
        str(version),
        getattr(request, "LANGUAGE_CODE", ""),
        timezone.get_current_timezone_name(),
        viewer_class(getattr(request, "user", None), version),
        request.path,
        query,
        *(str(value) for value in vary),
    ]
    return "fragment:" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def store_no_fragments(request) -> None:
    """For error pages: they render the same fragments (the header) but are not pages to
    keep — an address that does not exist (`/topics/<any number>/`) must not add an entry."""
    request.fragment_query = None


def fragment_store(key: str, html: str, *, content_type: str | None = None) -> str:
    """What is stored: the rendered fragment (or page, with its content type) with any CSRF
    token taken out."""
    stored = _CSRF_INPUT.sub(r"\1" + _marker("csrf", "") + r"\2", html)
    value = stored if content_type is None else (stored, content_type)
    cache.set(key, value, settings.TOPICSHARE_FRAGMENT_CACHE_SECONDS)
    return stored


def fragment_fill(stored: str, context) -> str:
    """The stored fragment with this request's holes filled in."""
    if "\x00" not in stored:
        return stored
    request = context.get("request")
    token = []  # one masked CSRF token for every form of the page

    def fill(match: re.Match) -> str:
        kind, arg = match.group(1), match.group(2)
        if kind == "csrf":
            if request is None:
                return ""
            if not token:
                token.append(get_token(request))
            return token[0]
        if kind not in _personal_templates:
            return ""
        return render_personal(kind, arg, context)

    return _markers().sub(fill, stored)


def render_personal(template_name: str, arg, context) -> str:
    """A {% personal %} hole's template, in the page's own context (its context processors
    ran once, for the page), with `personal_arg` and what its provider gives."""
    provider = _providers.get(template_name)
    extra = provider(context.get("request"), str(arg)) if provider is not None else {}
    if extra is None:
        return ""  # the provider knows there is nothing to show (most cards: not going)
    template = _templates.get(template_name)
    if template is None or settings.DEBUG:
        template = _templates[template_name] = get_template(template_name).template
    with context.push(personal_arg=str(arg), **extra):
        return template.render(context)


# The holes' compiled templates, by name (the cached loader's lookup, per hole, cost more
# than rendering most of them). Emptied when templates reload in development.
_templates: dict = {}


def marking(context) -> bool:
    """Whether what renders now is being stored (inside a fragment, or a page stored whole):
    holes become markers, inner fragments stay unfilled."""
    if context.get("_in_fragment"):
        return True
    request = context.get("request")
    return request is not None and getattr(request, "_storing_page", False)


def _messages_pending(request) -> bool:
    storage = getattr(request, "_messages", None)
    return storage is not None and bool(len(storage))


def fill_page(stored: str, request) -> str:
    """A page stored whole, with this request's holes filled. Their context is the request,
    the user and a CSRF token (as Django's own context processor gives it); anything else a
    hole shows comes from its provider."""
    if "\x00" not in stored:
        return stored
    context = Context(
        {
            "request": request,
            "user": request.user,
            "csrf_token": SimpleLazyObject(lambda: get_token(request)),
        }
    )
    return fragment_fill(stored, context)


def member_page(request, view, args, kwargs):
    """A public page for someone signed in: stored whole under fragment_key() (their role,
    not their person) with the per-person parts as holes, so that a hit runs neither the
    view nor its template. Only views whose template keeps everything personal in
    {% personal %} holes opt in (@public_page(signed_in=True))."""
    key = fragment_key(request, "page", [])
    if key is None or _messages_pending(request):
        return view(request, *args, **kwargs)
    hit = _stored_response(key, request, "member-hit")
    if hit is not None:
        return hit
    request._storing_page = True
    try:
        response = view(request, *args, **kwargs)
    finally:
        request._storing_page = False
    if response.streaming or "\x00" not in (content := response.content.decode()):
        return response  # nothing stored whole (the view redirected, say): nothing to fill
    if (
        response.status_code == 200
        and getattr(request, "fragment_query", None) is not None  # store_no_fragments()
        and not _messages_pending(request)
    ):
        content = fragment_store(key, content, content_type=response["Content-Type"])
    response.content = fill_page(content, request)
    return response


def fragment_get(key: str) -> str | None:
    return cache.get(key)


def _stored_response(key: str, request, label: str) -> HttpResponse | None:
    """The page stored under `key`, filled for this request (X-Page-Cache: `label`)."""
    stored = fragment_get(key)
    if stored is None:
        return None
    content, content_type = stored
    response = HttpResponse(fill_page(content, request), content_type)
    response["X-Page-Cache"] = label
    return response


def kept_under_versions(request, name: str, compute: Callable):
    """`compute()`'s value (picklable: model instances with their prefetched relations) kept
    in the cache under the content and the data version — any change of the data gives a
    new key — for TOPICSHARE_FRAGMENT_CACHE_SECONDS. For what a page reads whoever asks (a
    topic with its group), so that a page rendered afresh need not query it. An exception
    in compute() (a 404) keeps nothing."""
    if settings.TOPICSHARE_FRAGMENT_CACHE_SECONDS <= 0:
        return compute()
    key = f"kept:{name}:{content_version_for(request)}:{data_version_for(request)}"
    value = cache.get(key, _MISSING)
    if value is _MISSING:
        value = compute()
        cache.set(key, value, settings.TOPICSHARE_FRAGMENT_CACHE_SECONDS)
    return value


_MISSING = object()


def personal_key(request, declared: frozenset[str]) -> str | None:
    """Where a page about the person asking is stored (personal_page), or None: not stored."""
    user = getattr(request, "user", None)
    if (
        settings.TOPICSHARE_FRAGMENT_CACHE_SECONDS <= 0
        or request.method not in ("GET", "HEAD")
        or user is None
        or not user.is_authenticated
        or set(request.GET) - declared
        or _messages_pending(request)
    ):
        return None
    query = declared_query(request, declared)
    if not storable(request, query):
        return None
    parts = [
        "personal",
        str(user.pk),
        str(data_version_for(request)),
        getattr(request, "LANGUAGE_CODE", ""),
        timezone.get_current_timezone_name(),
        request.path,
        query.urlencode(),
    ]
    return "personal:" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def personal_response(request, view, args, kwargs, declared: frozenset[str] = frozenset()):
    """personal_page's work, also for @public_page(signed_in="person")."""
    key = personal_key(request, declared)
    if key is None:
        return view(request, *args, **kwargs)
    hit = _stored_response(key, request, "personal-hit")
    if hit is not None:
        return hit
    response = view(request, *args, **kwargs)
    if (
        response.status_code == 200
        and not response.streaming
        and getattr(request, "fragment_query", "") is not None  # store_no_fragments()
        and not _messages_pending(request)
    ):
        fragment_store(key, response.content.decode(), content_type=response["Content-Type"])
    return response


def personal_page(view=None, *, params=()):
    """Store this view's page for the person asking, under the data version (which grows
    with any change of the data: pagecache.data_changed) and nothing shared with anyone
    else, so that a second visit runs neither the view nor its template. For pages all about
    the viewer (my page, my profile, a group's page, the organisers' inbox): put it under
    @login_required. The view's own checks ran when the page was stored, for this person at
    this data version; any change to them (a role, a membership, a setting) grows the
    version. `params`: the query parameters the view reads; a request with any other is
    rendered afresh, as is one carrying a message, or a page that is not a 200. The passing
    of time ("due in 3 days") is covered by the lifetime, TOPICSHARE_FRAGMENT_CACHE_SECONDS."""
    if view is None:
        return functools.partial(personal_page, params=params)
    declared = frozenset(params)

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        return personal_response(request, view, args, kwargs, declared)

    return wrapper
