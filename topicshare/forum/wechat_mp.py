"""The WeChat official account's (公众号) API, for what the promotion pack does with it: save
an article to the account's draft box, and sign the JS-SDK's share data. Nothing here ever
sends or publishes: when and to whom the account mass-sends (its daily and monthly quota) is
the organisers' decision, in the account's own back office.

- The access token (`/cgi-bin/token`, valid 7,200 s) is kept in the shared cache until five
  minutes before it expires, and fetched again — once, then the call is retried — when the
  API says it is invalid or expired (40001, 40014, 42001: another client of the same
  account fetched a new one, which ends ours).
- The cover is uploaded as permanent material (`/cgi-bin/material/add_material`, type image),
  the poster inside the article as an article image (`/cgi-bin/media/uploadimg`): the editor
  keeps images only from WeChat's own servers. Each is uploaded once per poster (kept by the
  image's hash).
- A second "save to drafts" of the same pack updates its draft (`/cgi-bin/draft/update`)
  instead of adding another; a draft deleted in the back office is added again.
- Errors carry the API's errcode, and a sentence for the usual ones.

The API's address is a setting (WECHAT_MP_API_BASE): the tests run it against a server on
127.0.0.1 that answers like the real one."""

import hashlib
import io
import json
import secrets
import time
from dataclasses import dataclass

import requests
from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _
from PIL import Image

TIMEOUT = (5, 20)  # seconds: connect, read
TOKEN_ERRORS = {40001, 40014, 42001}
INVALID_MEDIA = 40007
# What the draft box takes (the API's documented limits, in characters).
TITLE_MAX, AUTHOR_MAX, DIGEST_MAX = 32, 16, 120
CONTENT_MAX = 20_000
ARTICLE_IMAGE_MAX_BYTES = 1024 * 1024  # uploadimg: at most 1 MB, jpg/png
REPLY_MAX_BYTES = 1024 * 1024


def _known_errors() -> dict[int, str]:
    return {
        -1: _("The official account's server is busy: try again in a minute."),
        40013: _("The app ID is not valid: check WECHAT_MP_APP_ID."),
        40125: _("The app secret is not valid: check WECHAT_MP_APP_SECRET."),
        40164: _(
            "This server's IP address is not on the account's IP whitelist (the account's"
            " back office: Settings and development › Basic configuration)."
        ),
        45009: _("The account's API quota for today is used up: try again tomorrow."),
        45047: _("The account's API quota is used up: try again later."),
        48001: _("This account may not use the draft box API (it needs to be verified)."),
        INVALID_MEDIA: _("WeChat does not know an uploaded image or draft any more."),
        47001: _("WeChat refused the article's format."),
        45002: _("The article is too long for the official account."),
    }


class WechatApiError(Exception):
    """A call that did not work, with what the API said (errcode 0 when it said nothing)."""

    def __init__(self, message: str, *, errcode: int = 0, errmsg: str = ""):
        self.errcode, self.errmsg = errcode, errmsg
        if errcode:
            message = f"{message} (errcode {errcode}: {errmsg[:200]})"
        super().__init__(message)


def configured() -> bool:
    return bool(settings.WECHAT_MP_APP_ID and settings.WECHAT_MP_APP_SECRET)


def _base() -> str:
    return settings.WECHAT_MP_API_BASE.rstrip("/")


def _token_key() -> str:
    return f"wechat-mp:token:{settings.WECHAT_MP_APP_ID}"


def _read(response: requests.Response) -> dict:
    body = response.raw.read(REPLY_MAX_BYTES + 1, decode_content=True)
    if len(body) > REPLY_MAX_BYTES:
        raise WechatApiError(_("The official account's API answered with too much data."))
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise WechatApiError(
            _("The official account's API did not answer as expected (HTTP %(status)s).")
            % {"status": response.status_code}
        ) from None
    if not isinstance(data, dict):
        raise WechatApiError(_("The official account's API did not answer as expected."))
    return data


def _request(method: str, path: str, **kwargs) -> dict:
    try:
        with requests.request(
            method, f"{_base()}{path}", timeout=TIMEOUT, stream=True, **kwargs
        ) as response:
            return _read(response)
    except requests.RequestException as error:
        raise WechatApiError(
            _("The official account's API could not be reached (%(error)s).")
            % {"error": type(error).__name__}
        ) from None


def _raise_for(data: dict, doing: str) -> None:
    errcode = data.get("errcode") or 0
    if errcode:
        known = _known_errors().get(errcode, "")
        raise WechatApiError(
            f"{doing} {known}".strip(), errcode=int(errcode), errmsg=str(data.get("errmsg", ""))
        )


def access_token(*, fresh: bool = False) -> str:
    """The account's access token, from the cache unless `fresh`."""
    if not configured():
        raise WechatApiError(_("The official account is not configured."))
    if not fresh and (token := cache.get(_token_key())):
        return token
    data = _request(
        "GET",
        "/cgi-bin/token",
        params={
            "grant_type": "client_credential",
            "appid": settings.WECHAT_MP_APP_ID,
            "secret": settings.WECHAT_MP_APP_SECRET,
        },
    )
    _raise_for(data, _("WeChat gave no access token."))
    token = data.get("access_token")
    if not isinstance(token, str) or not token:
        raise WechatApiError(_("WeChat gave no access token."))
    expires = int(data.get("expires_in") or 7200)
    cache.set(_token_key(), token, max(60, expires - 300))
    return token


def _call(method: str, path: str, doing: str, **kwargs) -> dict:
    """One API call with the token; once more with a new token when it was no longer valid."""
    for attempt in (1, 2):
        params = {**kwargs.pop("params", {}), "access_token": access_token(fresh=attempt == 2)}
        data = _request(method, path, params=params, **kwargs)
        if data.get("errcode") in TOKEN_ERRORS and attempt == 1:
            cache.delete(_token_key())
            kwargs["params"] = {k: v for k, v in params.items() if k != "access_token"}
            continue
        _raise_for(data, doing)
        return data
    raise AssertionError("unreachable")  # pragma: no cover


def _jpeg(png: bytes, *, max_bytes: int) -> bytes:
    """The poster as a JPEG under `max_bytes` (WeChat's image limits), smaller if need be."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    for quality in (88, 80, 70, 60):
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=quality, optimize=True)
        if out.tell() <= max_bytes:
            return out.getvalue()
        image = image.resize((image.width * 4 // 5, image.height * 4 // 5))
    raise WechatApiError(_("The poster is too large for WeChat."))


def _upload(path: str, jpeg: bytes, doing: str, field: str, **params) -> str:
    key = f"wechat-mp:upload:{settings.WECHAT_MP_APP_ID}:{path}:{hashlib.sha256(jpeg).hexdigest()}"
    if found := cache.get(key):
        return found
    data = _call(
        "POST", path, doing, params=params, files={"media": ("poster.jpg", jpeg, "image/jpeg")}
    )
    value = data.get(field)
    if not isinstance(value, str) or not value:
        raise WechatApiError(doing)
    cache.set(key, value, 30 * 24 * 3600)
    return value


@dataclass
class DraftArticle:
    title: str
    author: str
    digest: str
    content: str  # the article's HTML (the editor's subset)
    source_url: str  # "Read more" (阅读原文): the page
    poster_png: bytes


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def draft_save(article: DraftArticle, *, media_id: str = "") -> str:
    """Adds the article to the account's draft box, or updates the draft `media_id` (added
    again if WeChat no longer has it). Returns the draft's media_id."""
    cover = _upload(
        "/cgi-bin/material/add_material",
        _jpeg(article.poster_png, max_bytes=2 * 1024 * 1024),
        _("WeChat did not take the cover image."),
        "media_id",
        type="image",
    )
    inline = _upload(
        "/cgi-bin/media/uploadimg",
        _jpeg(article.poster_png, max_bytes=ARTICLE_IMAGE_MAX_BYTES),
        _("WeChat did not take the poster for the article."),
        "url",
    )
    content = (
        f'<p style="margin:0 0 16px;"><img src="{inline}" style="width:100%;display:block;"'
        f' alt=""></p>{article.content}'
    )
    if len(content) > CONTENT_MAX:
        raise WechatApiError(_("The article is too long for the official account."))
    body = {
        "title": _clip(article.title, TITLE_MAX),
        "author": _clip(article.author, AUTHOR_MAX),
        "digest": _clip(article.digest, DIGEST_MAX),
        "content": content,
        "content_source_url": article.source_url,
        "thumb_media_id": cover,
        "need_open_comment": 0,
        "only_fans_can_comment": 0,
    }
    doing = _("WeChat did not save the draft.")
    if media_id:
        try:
            _call(
                "POST", "/cgi-bin/draft/update", doing,
                data=_json({"media_id": media_id, "index": 0, "articles": body}),
                headers=_JSON,
            )  # fmt: skip
            return media_id
        except WechatApiError as error:
            if error.errcode != INVALID_MEDIA:
                raise
    data = _call(
        "POST", "/cgi-bin/draft/add", doing, data=_json({"articles": [body]}), headers=_JSON
    )
    found = data.get("media_id")
    if not isinstance(found, str) or not found:
        raise WechatApiError(doing)
    return found


_JSON = {"Content-Type": "application/json; charset=utf-8"}


def _json(payload: dict) -> bytes:
    # WeChat takes the characters as they are: \u escapes end up in the article as text.
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


# --- The JS-SDK's share data ------------------------------------------------------------------


def _ticket_key() -> str:
    return f"wechat-mp:jsapi-ticket:{settings.WECHAT_MP_APP_ID}"


def jsapi_ticket() -> str:
    if ticket := cache.get(_ticket_key()):
        return ticket
    data = _call(
        "GET", "/cgi-bin/ticket/getticket", _("WeChat gave no JS-SDK ticket."),
        params={"type": "jsapi"},
    )  # fmt: skip
    ticket = data.get("ticket")
    if not isinstance(ticket, str) or not ticket:
        raise WechatApiError(_("WeChat gave no JS-SDK ticket."))
    cache.set(_ticket_key(), ticket, max(60, int(data.get("expires_in") or 7200) - 300))
    return ticket


def jssdk_signature(*, ticket: str, nonce: str, timestamp: int, url: str) -> str:
    """WeChat's signature of a page's JS-SDK config: SHA-1 of the four fields in this order
    (the page's URL without its fragment)."""
    plain = f"jsapi_ticket={ticket}&noncestr={nonce}&timestamp={timestamp}&url={url.split('#')[0]}"
    return hashlib.sha1(plain.encode("utf-8")).hexdigest()  # noqa: S324 — WeChat's algorithm


def jssdk_config(*, url: str) -> dict:
    """What `wx.config()` needs for the page at `url`."""
    nonce, timestamp = secrets.token_urlsafe(12), int(time.time())
    return {
        "appId": settings.WECHAT_MP_APP_ID,
        "timestamp": timestamp,
        "nonceStr": nonce,
        "signature": jssdk_signature(ticket=jsapi_ticket(), nonce=nonce, timestamp=timestamp,
                                     url=url),
        "jsApiList": ["updateAppMessageShareData", "updateTimelineShareData"],
    }  # fmt: skip
