"""Whole-page cache for anonymous visitors of the public pages (home, topic sheet, sessions,
library). Most traffic is anonymous and reads the same pages; a cached page costs a cache
lookup instead of a dozen queries and a template render.

Correct invalidation: the key holds ContentVersion, which grows when a model shown on public
pages changes, in whichever process makes the change. Each app names those models (or their
shown fields) in its AppConfig's `public_models`; post_save, post_delete and m2m_changed
receivers are connected for those only (connect_public_models, from TopicShareConfig.ready),
so a login, a language change, an RSVP (its count on a card may lag by PAGE_CACHE_SECONDS) or
the outbox leave the cache alone. The bump comes once per transaction, after it commits, in a
statement of its own. Writes that bypass signals (queryset.update(), bulk_create) and the
passing of time (a session going live, "upcoming" moving on) are covered by a short
lifetime, PAGE_CACHE_SECONDS. The version itself is read at most once a second per process,
so a hit touches neither the database nor a template.
Signed-in people, pages carrying a message, and anything but a 200 are never cached. The
CSRF token in a cached page (the language switcher's form) is replaced by the visitor's own
on every hit.

Bounded: a page is stored under its canonical URL and the query parameters its view
declares, nothing else, so that junk in the query string (`?x=<random>`) or the path
(`/topics/0007/`) cannot fill the cache with copies of one page. Undeclared parameters do
not reach the view either, so what is stored is the same whichever junk came with the
request that filled it. Over-long values are served but not stored. The cache server
itself has a memory limit and evicts the least recently used keys (docker-compose.yml)."""

import datetime
import functools
import hashlib
import re
import time
from collections.abc import Callable, Iterable

from django.apps import apps as global_apps
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.db.models import F
from django.db.models.functions import Now
from django.db.models.signals import m2m_changed, post_delete, post_init, post_save
from django.http import HttpResponse, QueryDict
from django.middleware.csrf import get_token
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from topicshare.core.models import ContentVersion

_CSRF_INPUT = re.compile(rb'(name="csrfmiddlewaretoken" value=")[^"]*(")')
_CSRF_SENTINEL = b"\x00csrf\x00"

# Each process reads the versions from the database at most once a second, so a cache hit
# needs no database at all; a change made in this process is seen at once, one made by
# another process within VERSION_READ_SECONDS: half a second, so that with the time a page
# takes to render a change shows on every web node within a second (.ci/two_node_smoke.py).
VERSION_READ_SECONDS = 0.5
_read = {"value": 0, "data": 0, "changed": None, "at": float("-inf")}
_VERSION_SQL = (
    f"SELECT value, data_value, data_changed_at FROM {ContentVersion._meta.db_table} WHERE id = 1"  # noqa: S608
)


def _versions(*, fresh: bool = False) -> tuple[int, int]:
    now = time.monotonic()
    if fresh or now - _read["at"] >= VERSION_READ_SECONDS:
        # Raw: read on every signed-in request, where the ORM's compiling of this one-row
        # query cost more than the query.
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute(_VERSION_SQL)
            row = cursor.fetchone()
        changed = row[2] if row else None
        if isinstance(changed, str):  # SQLite hands a raw SELECT's datetime back as text
            changed = datetime.datetime.fromisoformat(changed)
        if changed is not None and changed.tzinfo is None:
            changed = changed.replace(tzinfo=datetime.UTC)
        _read.update(value=row[0] if row else 0, data=row[1] if row else 0, changed=changed, at=now)
    return _read["value"], _read["data"]


def content_version(*, fresh: bool = False) -> int:
    """The version, read from the database at most once a second (`fresh`: now)."""
    return _versions(fresh=fresh)[0]


def data_version(*, fresh: bool = False) -> int:
    """The data version, read like content_version()."""
    return _versions(fresh=fresh)[1]


def _versions_for(request) -> tuple[int, int]:
    if not hasattr(request, "_versions"):
        user = getattr(request, "user", None)
        request._versions = _versions(fresh=bool(user and user.is_authenticated))
    return request._versions


def content_version_for(request) -> int:
    """The version one request works with, read once for it: fresh from the database for
    someone signed in (what they just changed shows on their next page, whichever worker
    serves it), otherwise content_version()."""
    if request is None:
        return content_version()
    return _versions_for(request)[0]


def data_changed_at_for(request) -> datetime.datetime | None:
    """When the data last changed (data_version grew), as read with data_version_for()."""
    _versions_for(request)
    return _read["changed"]


def data_version_for(request) -> int:
    """The data version (grows with any change at all, data_changed()) one request works
    with, read with content_version_for() in the same statement."""
    return _versions_for(request)[1]


def forget_content_version() -> None:
    _read["at"] = float("-inf")


def _bump(using: str, **columns) -> None:
    versions = ContentVersion.objects.using(using)
    grown = {name: F(name) + 1 for name in columns}
    if "data_value" in columns:
        grown["data_changed_at"] = Now()
    if not versions.filter(pk=1).update(**grown):
        _row, created = versions.get_or_create(
            pk=1, defaults={**dict.fromkeys(columns, 1), "data_changed_at": timezone.now()}
        )
        if not created:  # another process made the row in between: count this change too
            versions.filter(pk=1).update(**grown)
    forget_content_version()


def bump_content_version(using: str = DEFAULT_DB_ALIAS) -> None:
    """Grow the version (and the data version: a change to public content is a change of the
    data) by one, in a statement of its own (callers run it outside any transaction, so the
    row is locked for that statement only)."""
    _bump(using, value=True, data_value=True)


def bump_data_version(using: str = DEFAULT_DB_ALIAS) -> None:
    _bump(using, data_value=True)


_bump_callbacks: dict[tuple[str, bool], Callable[[], None]] = {}


def in_callers_transaction(connection) -> bool:
    """Whether a caller's transaction is open. The atomic blocks a test case wraps each test
    in never commit and stand for autocommit; Django's own durable check skips them alike."""
    return connection.in_atomic_block and not all(
        getattr(block, "_from_testcase", False) for block in connection.atomic_blocks
    )


def _bump_once(using: str, *, content: bool) -> None:
    connection = transaction.get_connection(using)
    bump = bump_content_version if content else bump_data_version
    if not in_callers_transaction(connection):
        bump(using)
        return
    callback = _bump_callbacks.get((using, content))
    if callback is None:
        # (named like the bump: a failing robust callback is logged under its __qualname__)
        callback = functools.update_wrapper(functools.partial(bump, using), bump)
        _bump_callbacks[(using, content)] = callback
    content_bump = _bump_callbacks.get((using, True))
    # The connection's "already scheduled" flag is the callback's presence among its pending
    # on-commit callbacks: a rolled back transaction or savepoint drops it, and the flag
    # with it, so the next change schedules it again. A content bump grows the data version
    # too.
    if any(pending[1] in (callback, content_bump) for pending in connection.run_on_commit):
        return
    # Robust: the caller's work is committed by then; a failed bump leaves pages stale for
    # the caches' lifetime at most and must not turn that success into an error.
    transaction.on_commit(callback, using=using, robust=True)


def content_changed(using: str = DEFAULT_DB_ALIAS) -> None:
    """Something public pages show has changed: bump the version once the change is
    committed. Outside a transaction that is now; inside one, once, after it commits (nothing
    if it rolls back), so the version's row is never locked inside the caller's transaction."""
    _bump_once(using, content=True)


def data_changed(using: str = DEFAULT_DB_ALIAS) -> None:
    """Any data changed (pages stored per person key on the data version): like
    content_changed(), the data version only. Every model's save, delete and many-to-many
    change calls it, but for the quiet models (QUIET_MODELS and each app's `quiet_models`:
    heartbeats, the outbox, reminder marks — what no page shows); so does every signed-in
    unsafe request that succeeded (DataVersionMiddleware: writes that bypass signals)."""
    _bump_once(using, content=False)


# Public models, from each app's AppConfig: `public_models = ("Topic", "User.display_name")`
# names the models (all of their fields) and the fields of models that anonymous pages show
# (field names that are also their attribute names). label_lower -> the fields shown, or
# None for every field.
_public: dict[str, frozenset[str] | None] = {}


def _public_models() -> dict[type[models.Model], frozenset[str] | None]:
    shown: dict[type[models.Model], frozenset[str] | None] = {}
    for config in global_apps.get_app_configs():
        for entry in getattr(config, "public_models", ()):
            name, _dot, field = entry.partition(".")
            model = config.get_model(name)
            if field:
                if model._meta.get_field(field).attname != field:  # a typo fails at start-up
                    raise ImproperlyConfigured(f"{config.label}.public_models: {entry}")
                if model not in shown or shown[model] is not None:
                    shown[model] = (shown.get(model) or frozenset()) | {field}
            else:
                shown[model] = None
    return shown


def _shown_values(instance, fields: frozenset[str]) -> tuple:
    # From the instance's __dict__: reading a deferred field would cost a query.
    return tuple(instance.__dict__.get(name, _UNKNOWN) for name in sorted(fields))


_UNKNOWN = object()


def _loaded(sender, instance, **kwargs) -> None:
    """Receiver (models with some fields shown): what those fields held when the instance
    was made, so that a full save() can tell whether they changed."""
    fields = _public[sender._meta.label_lower]
    instance.__dict__["_pagecache_shown"] = _shown_values(instance, fields)


def _saved(sender, instance, created, raw, using, update_fields, **kwargs) -> None:
    if raw:
        return  # loading fixtures
    fields = _public[sender._meta.label_lower]
    if fields is not None:
        # Only some fields are shown. A new row shows nowhere until a shown row points at it
        # (whose save bumps); a save bumps if it wrote a shown field that changed.
        shown = _shown_values(instance, fields)
        before = instance.__dict__.get("_pagecache_shown", _UNKNOWN)
        instance.__dict__["_pagecache_shown"] = shown
        if created or (update_fields is not None and not fields & set(update_fields)):
            return
        if before == shown and _UNKNOWN not in shown:
            return
    content_changed(using)


def _deleted(sender, instance, using, **kwargs) -> None:
    content_changed(using)


def _m2m_changed(sender, instance, action, pk_set, using, **kwargs) -> None:
    if action.startswith("post_") and (pk_set is None or pk_set):
        content_changed(using)


# Models whose changes no page shows, besides each app's `quiet_models`: a change to one
# leaves even the data version alone.
QUIET_MODELS = frozenset({"sessions.session", "admin.logentry", "contenttypes.contenttype"})
_quiet: set[str] = set()


def _data_saved(sender, raw=False, using=DEFAULT_DB_ALIAS, **kwargs) -> None:
    # Not for a migration's historical models (the version's table may not exist yet).
    if not raw and sender._meta.apps is global_apps and sender._meta.label_lower not in _quiet:
        data_changed(using)


def _data_m2m_changed(sender, action, pk_set, using, **kwargs) -> None:
    if (
        sender._meta.apps is global_apps
        and action.startswith("post_")
        and (pk_set or pk_set is None)
    ):
        data_changed(using)


def connect_public_models() -> None:
    """Connect the receivers to the public models only (from TopicShareConfig.ready). A
    change to any other model (a login, an RSVP, a vote, the outbox) leaves the cache alone.
    The many-to-many relations of a wholly public model are public too. And, for the data
    version, to every model but the quiet ones."""
    _quiet.clear()
    _quiet.update(QUIET_MODELS)
    for config in global_apps.get_app_configs():
        for name in getattr(config, "quiet_models", ()):
            _quiet.add(config.get_model(name)._meta.label_lower)
    post_save.connect(_data_saved, dispatch_uid="pagecache-data-save")
    post_delete.connect(_data_saved, dispatch_uid="pagecache-data-delete")
    m2m_changed.connect(_data_m2m_changed, dispatch_uid="pagecache-data-m2m")
    _public.clear()
    for model, fields in _public_models().items():
        label = model._meta.label_lower
        _public[label] = fields
        post_save.connect(_saved, sender=model, dispatch_uid=f"pagecache-save-{label}")
        if fields is not None:
            post_init.connect(_loaded, sender=model, dispatch_uid=f"pagecache-init-{label}")
        post_delete.connect(_deleted, sender=model, dispatch_uid=f"pagecache-delete-{label}")
        if fields is None:
            for field in model._meta.many_to_many:
                _connect_relation(model, field.name)
    # Relations of partly public models that decide what a page shows, from each app's
    # `public_relations = ("User.groups",)`: a member's groups are their role, which decides
    # the members-only content (and the cached fragments' viewer class).
    for config in global_apps.get_app_configs():
        for entry in getattr(config, "public_relations", ()):
            name, _dot, field = entry.partition(".")
            _connect_relation(config.get_model(name), field)


def _connect_relation(model: type[models.Model], name: str) -> None:
    field = model._meta.get_field(name)
    if not field.many_to_many:  # a typo fails at start-up
        raise ImproperlyConfigured(f"{model._meta.label}.{name} is not a many-to-many field")
    m2m_changed.connect(
        _m2m_changed,
        sender=field.remote_field.through,
        dispatch_uid=f"pagecache-m2m-{model._meta.label_lower}-{name}",
    )


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


def declared_query(request, params: frozenset[str]) -> QueryDict:
    """The request's values for the declared parameters only, sorted by name and value."""
    query = QueryDict(mutable=True)
    for name in sorted(params & set(request.GET)):
        query.setlist(name, sorted(request.GET.getlist(name)))
    query._mutable = False
    return query


def storable(request, query: QueryDict) -> bool:
    """Whether a page (or fragment) for this request may be stored: a bounded query and the
    canonical path."""
    values = [value for name in query for value in query.getlist(name)]
    return (
        len(values) <= MAX_QUERY_VALUES
        and all(len(value) <= MAX_VALUE_LENGTH for value in values)
        and _canonical(request)
    )


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


def public_page(view=None, *, params: Iterable[str] = (), signed_in: bool | str = False):
    """Serve this view's 200 responses to anonymous visitors from the page cache.

    `params` names every query parameter the view (and its template) reads, e.g. a filter
    set's fields and "page"; anonymous requests reach the view with those only.
    `signed_in`: the page is also stored whole for people signed in, by role, when its
    template keeps everything personal in {% personal %} holes (fragments.member_page);
    "person": for each person, under the data version (fragments.personal_page), where the
    per-person parts would cost more as holes than the page does."""
    if view is None:
        return functools.partial(public_page, params=params, signed_in=signed_in)
    declared = frozenset(params)

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        query = declared_query(request, declared)
        query_storable = storable(request, query)
        if not _cacheable(request):
            # Fragments (topicshare/core/fragments.py) are stored under the declared query;
            # a request with anything else in its query string renders them afresh.
            undeclared = set(request.GET) - declared
            request.fragment_query = (
                query.urlencode() if query_storable and not undeclared else None
            )
            if signed_in and request.user.is_authenticated:
                # fragments imports this module
                from topicshare.core.fragments import member_page, personal_response

                if signed_in == "person":
                    return personal_response(request, view, args, kwargs, declared)
                return member_page(request, view, args, kwargs)
            return view(request, *args, **kwargs)
        request.GET = query
        # A copy: request.environ, which the server's access log reads, keeps the original.
        request.META = {**request.META, "QUERY_STRING": query.urlencode()}
        request.fragment_query = query.urlencode() if query_storable else None
        if not query_storable:
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


class DataVersionMiddleware:
    """A signed-in person's unsafe request that succeeded may have written what no signal
    reports (queryset.update(), bulk_create): grow the data version after it, so that what
    they changed shows on their next page even where it is stored per person."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            request.method not in ("GET", "HEAD", "OPTIONS", "TRACE")
            and response.status_code < 400
            and getattr(request, "user", None) is not None
            and request.user.is_authenticated
        ):
            data_changed()
        return response
