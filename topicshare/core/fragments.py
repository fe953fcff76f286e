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
content cannot forge one."""

import hashlib
import hmac
import re

from django.conf import settings
from django.core.cache import cache
from django.middleware.csrf import get_token
from django.template.loader import get_template
from django.utils import timezone
from django.utils.safestring import mark_safe

from topicshare.core.pagecache import content_version_for

_CSRF_INPUT = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]*(")')
# Templates that {% personal %} tags name (registered when the tag is compiled).
_personal_templates: set[str] = set()


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


def personal_marker(template_name: str, arg) -> str:
    return mark_safe(_marker(template_name, str(arg)))  # noqa: S308 — our own marker


def viewer_class(user) -> str:
    """What decides which members-only content a viewer sees: never who they are."""
    if user is None or not user.is_authenticated:
        return "anonymous"
    role = getattr(user, "role", "")
    flags = ("+su" if user.is_superuser else "") + ("+staff" if user.is_staff else "")
    return f"{getattr(role, 'value', role)}{flags}"


def fragment_key(request, name: str, vary: list) -> str | None:
    if settings.TOPICSHARE_FRAGMENT_CACHE_SECONDS <= 0 or request is None:
        return None
    # A public page's declared query (None: it had more, or too much). Any other page: its
    # path alone, when it has no query string at all.
    query = getattr(request, "fragment_query", None if request.GET else "")
    if request.method not in ("GET", "HEAD") or query is None:
        return None
    parts = [
        name,
        str(content_version_for(request)),
        getattr(request, "LANGUAGE_CODE", ""),
        timezone.get_current_timezone_name(),
        viewer_class(getattr(request, "user", None)),
        request.path,
        query,
        *(str(value) for value in vary),
    ]
    return "fragment:" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def store_no_fragments(request) -> None:
    """For error pages: they render the same fragments (the header) but are not pages to
    keep — an address that does not exist (`/topics/<any number>/`) must not add an entry."""
    request.fragment_query = None


def fragment_store(key: str, html: str) -> str:
    """What is stored: the rendered fragment with any CSRF token taken out."""
    stored = _CSRF_INPUT.sub(r"\1" + _marker("csrf", "") + r"\2", html)
    cache.set(key, stored, settings.TOPICSHARE_FRAGMENT_CACHE_SECONDS)
    return stored


def fragment_fill(stored: str, context) -> str:
    """The stored fragment with this request's holes filled in."""
    if "\x00" not in stored:
        return stored
    request = context.get("request")

    def fill(match: re.Match) -> str:
        kind, arg = match.group(1), match.group(2)
        if kind == "csrf":
            return get_token(request) if request is not None else ""
        if kind not in _personal_templates:
            return ""
        return render_personal(kind, arg, context)

    return _markers().sub(fill, stored)


def render_personal(template_name: str, arg, context) -> str:
    """A {% personal %} hole's template, in the page's own context (its context processors
    ran once, for the page), with `personal_arg`."""
    with context.push(personal_arg=str(arg)):
        return get_template(template_name).template.render(context)


def fragment_get(key: str) -> str | None:
    return cache.get(key)
