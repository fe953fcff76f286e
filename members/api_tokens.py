"""Personal API tokens: made and revoked on the profile page (or `manage.py api_token_create`),
sent to /api/v1/ as `Authorization: Bearer tsk_…` (topicshare/api/auth.py).

A token is `tsk_` and 32 random bytes (secrets.token_urlsafe). It is shown once; the database
keeps its SHA-256 (ApiToken.hashed) and its first characters (ApiToken.prefix) to tell it apart.
A write token writes only what its owner may write: the scope narrows, never widens."""

import datetime
import hashlib
import re
import secrets

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from members.models import ApiToken, AuditEvent, User
from members.rules import require_perm

TOKEN_PREFIX = "tsk_"  # noqa: S105 — a marker, not a secret
TOKEN_BYTES = 32
# token_urlsafe(32) is 43 characters; a little room either way, nothing beyond it is looked at.
_BODY_MIN, _BODY_MAX = 40, 64
TOKEN_MAX_LENGTH = len(TOKEN_PREFIX) + _BODY_MAX
_BODY = re.compile(r"[A-Za-z0-9_-]+")
NAME_MAX_LENGTH = ApiToken._meta.get_field("name").max_length
# last_used_at is written at most this often per token, so that a busy token costs one query
# per request (the lookup), not two.
LAST_USED_EVERY = datetime.timedelta(minutes=1)


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("ascii")).hexdigest()


def _audit(*, action: str, token: ApiToken, by: User | None) -> None:
    AuditEvent.objects.create(
        actor=by,
        action=action,
        subject_user=token.user,
        details={"token": token.pk, "name": token.name, "scope": token.scope,
                 "prefix": token.prefix},
    )  # fmt: skip


@transaction.atomic
def api_token_create(*, user: User, name: str, scope: str = "read") -> tuple[ApiToken, str]:
    """Make a token for `user`; returns it and its plaintext, which is not kept anywhere.

    Any active account with a login may make one, of either scope (what a write token may
    write is still the owner's permissions). Placeholders and inactive accounts may not
    (PermissionDenied). ValidationError for an empty or too long name, an unknown scope, or
    when the user already has ApiToken.MAX_LIVE_PER_USER live tokens. Side effect: an
    audit event (api_token_created)."""
    if not user.is_active or user.is_placeholder:
        raise PermissionDenied(_("This account cannot have API tokens."))
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": _("Give the token a name.")})
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError(
            {"name": _("A name has at most %(max)d characters.") % {"max": NAME_MAX_LENGTH}}
        )
    if scope not in ApiToken.Scope.values:
        raise ValidationError({"scope": _("A token's scope is “read” or “write”.")})
    # Locks the owner's row, so that two requests at once cannot both make the 20th token.
    User.objects.select_for_update().filter(pk=user.pk).exists()
    if ApiToken.objects.filter(user=user, revoked_at__isnull=True).count() >= (
        ApiToken.MAX_LIVE_PER_USER
    ):
        raise ValidationError(
            _("You have %(max)d API tokens already: revoke one before making another.")
            % {"max": ApiToken.MAX_LIVE_PER_USER}
        )
    body = secrets.token_urlsafe(TOKEN_BYTES)
    raw = TOKEN_PREFIX + body
    token = ApiToken.objects.create(
        user=user, name=name, scope=scope, prefix=body[:8], hashed=_hash(raw)
    )
    _audit(action=AuditEvent.Action.API_TOKEN_CREATED, token=token, by=user)
    return token, raw


@transaction.atomic
def api_token_revoke(*, token: ApiToken, by: User, now: datetime.datetime | None = None) -> None:
    """Revoke `token` (from now on it is refused). Its owner or an organiser only
    (PermissionDenied). Revoking a revoked token changes nothing. Side effect: an audit event
    (api_token_revoked)."""
    require_perm(
        by, "members.revoke_api_token", token,
        message=_("Only its owner can revoke this API token."),
    )  # fmt: skip
    now = now or timezone.now()
    revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now)
    if revoked:
        token.revoked_at = now
        _audit(action=AuditEvent.Action.API_TOKEN_REVOKED, token=token, by=by)


def _well_formed(raw) -> bool:
    # Length first: nothing longer than a token is scanned, let alone hashed.
    if not isinstance(raw, str) or not (
        len(TOKEN_PREFIX) + _BODY_MIN <= len(raw) <= TOKEN_MAX_LENGTH
    ):
        return False
    return raw.startswith(TOKEN_PREFIX) and _BODY.fullmatch(raw, len(TOKEN_PREFIX)) is not None


def api_token_authenticate(raw: str, *, now: datetime.datetime | None = None) -> ApiToken | None:
    """The live token `raw` names, with its user loaded, or None (malformed, unknown, revoked,
    or its owner inactive or a placeholder). One query; a second (one UPDATE) at most once a
    minute per token, to note when it was last used."""
    if not _well_formed(raw):
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(
            hashed=_hash(raw),
            revoked_at__isnull=True,
            user__is_active=True,
            user__is_placeholder=False,
        )
        .first()
    )
    if token is None:
        return None
    now = now or timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_EVERY:
        # The condition again in SQL: of two requests at once, one writes.
        ApiToken.objects.filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_EVERY),
            pk=token.pk,
        ).update(last_used_at=now)
        token.last_used_at = now
    return token


def api_token_rate_limited(token: ApiToken, *, now: datetime.datetime | None = None) -> bool:
    """Whether this request goes over the token's limit: at most
    TOPICSHARE_API_TOKEN_RATE_PER_MINUTE requests in each calendar minute (a fixed window,
    counted in the cache: Redis in production, shared by every process). Counts this request.
    With Redis away the count fails open (topicshare.core.cache)."""
    limit = settings.TOPICSHARE_API_TOKEN_RATE_PER_MINUTE
    now = now or timezone.now()
    window = int(now.timestamp()) // 60
    key = f"api-token-rate:{token.pk}:{window}"
    # Two windows' time: the key outlives its minute a little, never a count of another.
    cache.add(key, 0, timeout=120)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=120)
        count = 1
    return count > limit


def api_tokens_live(*, user: User):
    """The user's tokens that still work, newest first (the profile page's list)."""
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).order_by(
        "-created_at", "-pk"
    )
