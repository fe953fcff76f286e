"""ETag and Last-Modified for /api/v1/'s reads, and `304 Not Modified` for a matching
conditional request, answered before anything is read: the data version (it grows with any
change of the data, topicshare/core/pagecache.py) is read once per request anyway."""

import hashlib

from django.utils.http import http_date, parse_http_date_safe

from topicshare.core.pagecache import data_changed_at_for, data_version_for


def _viewer(request) -> str:
    """What decides the answer besides the data: who may see what (members-only items,
    meeting details) and the language of the messages."""
    user = request.user
    if not user.is_authenticated:
        return "anonymous"
    # The same person sees the same fields; a token sees what its owner sees.
    return f"user:{user.pk}"


def validators_for(request) -> tuple[str, str | None]:
    """(ETag, Last-Modified) for this request's answer."""
    key = "|".join(
        [str(data_version_for(request)), request.get_full_path(), _viewer(request),
         getattr(request, "LANGUAGE_CODE", "")]
    )  # fmt: skip
    etag = '"' + hashlib.blake2b(key.encode(), digest_size=12).hexdigest() + '"'
    changed = data_changed_at_for(request)
    return etag, http_date(changed.timestamp()) if changed else None


def not_modified(request, etag: str, last_modified: str | None) -> bool:
    """Whether the caller already has this answer (If-None-Match wins over If-Modified-Since,
    as RFC 9110 says)."""
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match[:2000].split(",")}
        return etag in tags or "*" in tags
    since = parse_http_date_safe(request.headers.get("If-Modified-Since", "")[:100])
    if since is None or last_modified is None:
        return False
    return parse_http_date_safe(last_modified) <= since
