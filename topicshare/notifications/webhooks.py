"""Posting one message to one group chat bot (Feishu / Lark, WeCom, DingTalk or a generic
JSON receiver).

`webhook_payload` builds the request and has no side effects; `webhook_send` posts it, only
to addresses the policy of topicshare/core/egress.py allows, and turns every failure into a
`WebhookError` that says whether trying again can help.

A generic receiver with a secret gets two headers:

    X-TopicShare-Timestamp: <seconds since the epoch, when the request was signed>
    X-TopicShare-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>." + body)>

The timestamp is inside the signature, so a receiver that recomputes the HMAC over the
header's value and the raw body, compares in constant time, and refuses timestamps more than
a few minutes from its clock also refuses replays of old requests.
"""

import base64
import datetime
import hashlib
import hmac
import json
import re
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from topicshare.core.egress import AddressRefused, guarded_session, webhook_address_check
from topicshare.notifications.models import ChatWebhook, NotificationKind

Provider = ChatWebhook.Provider

MAX_TIMEOUT = 5.0
USER_AGENT = "TopicShare"
CONTENT_TYPE = "application/json; charset=utf-8"

TITLE_LIMIT = 300
# Characters of body text. Feishu and DingTalk refuse request bodies over about 20 KB, and a
# Chinese character is three bytes in UTF-8, so 4,000 characters keep well inside.
TEXT_LIMIT = {
    Provider.FEISHU: 4000,
    Provider.WECOM: 4000,
    Provider.DINGTALK: 4000,
    Provider.GENERIC: 20000,
}
# WeCom counts its markdown limit in UTF-8 bytes, not characters.
WECOM_MARKDOWN_MAX_BYTES = 4096
ELLIPSIS = "…"

# The most of a reply we read: a chat bot answers with a few dozen bytes of JSON.
REPLY_MAX_BYTES = 64 * 1024
PROVIDER_MESSAGE_LIMIT = 200

# Provider error codes that go away by themselves (rate limits, "system busy"). Any other
# non-zero code is a refusal of this bot's configuration or of the message itself (bad
# signature, bad key, keyword missing, IP not allowed, malformed message): sending the same
# request again cannot succeed, so it is permanent.
TEMPORARY_CODES = {
    # 11232: frequency limited; 99991400: request trigger frequency limit.
    Provider.FEISHU: {11232, 99991400},
    # -1: system busy; 45009: api freq out of limit; 45033: api concurrent out of limit.
    Provider.WECOM: {-1, 45009, 45033},
    # -1: system busy; 130101: sending too fast; 410100: rate limited.
    Provider.DINGTALK: {-1, 130101, 410100},
}

# Of those, the ones that say "this bot sent too much" (HTTP 429 says it too).
RATE_LIMITED_CODES = {
    Provider.FEISHU: {11232, 99991400},
    Provider.WECOM: {45009},
    Provider.DINGTALK: {130101, 410100},
}
# Each provider's published limits per bot: (window, the most messages in it). Feishu: 5 a
# second and 100 a minute; WeCom and DingTalk: 20 a minute.
RATE_LIMITS = {
    Provider.FEISHU: ((datetime.timedelta(seconds=1), 5), (datetime.timedelta(minutes=1), 100)),
    Provider.WECOM: ((datetime.timedelta(minutes=1), 20),),
    Provider.DINGTALK: ((datetime.timedelta(minutes=1), 20),),
    Provider.GENERIC: (),
}
# How long a provider holds back a bot that went past its limit anyway (DingTalk: 10 minutes).
RATE_LIMITED_PAUSE = {
    Provider.FEISHU: datetime.timedelta(minutes=1),
    Provider.WECOM: datetime.timedelta(minutes=1),
    Provider.DINGTALK: datetime.timedelta(minutes=10),
    Provider.GENERIC: datetime.timedelta(minutes=1),
}
# Providers that ask bots not to post on the hour and the half hour, when everyone does.
AVOIDS_HALF_HOURS = {Provider.FEISHU}

# C0 and C1 control characters other than tab and newline, and DEL.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


# Reminders sent as the provider's rich card (Feishu's interactive card, WeCom's news card,
# DingTalk's action card): the kind → its button's label.
CARD_KINDS = {
    NotificationKind.PROMOTION: gettext_lazy("Details and sign-up"),
    NotificationKind.DAY_BEFORE: gettext_lazy("Details and RSVP"),
}
# The news card's limits, in UTF-8 bytes (WeCom): title 128, description 512.
WECOM_NEWS_TITLE_MAX_BYTES, WECOM_NEWS_DESCRIPTION_MAX_BYTES = 128, 512
CARD_TEXT_LIMIT = 1000  # characters of a card's text: a card is read at a glance


@dataclass(frozen=True)
class Card:
    """A message as a card: a button that opens its link, and a picture where the provider
    shows one from an address (WeCom, DingTalk; Feishu's cards take uploaded images only)."""

    button: str
    image_url: str = ""


class WebhookError(Exception):
    """Posting to a chat webhook failed. `permanent` is True when sending the same request
    again cannot succeed (a bad address, key or signature, a refused message); False when a
    later attempt may (timeouts, connection errors, 5xx, 408, 429, rate limits).

    The message is meant for organisers in the admin and never contains the signing secret
    or the webhook address (WeCom and DingTalk addresses carry the bot's key)."""

    def __init__(self, message: str, *, permanent: bool, rate_limited: bool = False):
        super().__init__(message)
        self.permanent = permanent
        # The provider says this bot sent too much: wait RATE_LIMITED_PAUSE, it is no failure.
        self.rate_limited = rate_limited


def webhook_payload(
    *,
    webhook: ChatWebhook,
    title: str,
    text: str,
    url: str,
    now: datetime.datetime,
    card: Card | None = None,
) -> tuple[str, bytes, dict[str, str]]:
    """The request for one message: (final URL, JSON body, headers). Signatures use `now`.
    With `card` (and a link), the provider's rich card instead of its markdown or post."""
    if timezone.is_naive(now):
        raise ValueError("now must be an aware datetime")
    title = _clean(title, single_line=True)[:TITLE_LIMIT]
    text = _truncate(_clean(text), TEXT_LIMIT.get(webhook.provider, 4000))
    url = _clean(url, single_line=True).strip()
    headers = {"Content-Type": CONTENT_TYPE, "User-Agent": USER_AGENT}
    request_url = webhook.url
    secret = webhook.secret
    if card is not None and (not url or webhook.provider == Provider.GENERIC):
        card = None  # a card is a button to a link; generic webhooks get the plain fields
    if card is not None:
        text = _truncate(text, CARD_TEXT_LIMIT)
        image = _clean(card.image_url, single_line=True).strip()
        button = _clean(card.button, single_line=True)[:40]

    if webhook.provider == Provider.FEISHU and card is not None:
        data = _feishu_signature(secret, now)
        data["msg_type"] = "interactive"
        data["card"] = {
            "config": {"wide_screen_mode": True},
            "header": {"title": {"tag": "plain_text", "content": title}, "template": "blue"},
            "elements": [
                {"tag": "div", "text": {"tag": "plain_text", "content": text}},
                {"tag": "action", "actions": [{
                    "tag": "button", "type": "primary", "url": url,
                    "text": {"tag": "plain_text", "content": button},
                }]},
            ],
        }  # fmt: skip
    elif webhook.provider == Provider.WECOM and card is not None:
        article = {
            "title": _truncate_bytes(title, WECOM_NEWS_TITLE_MAX_BYTES),
            "description": _truncate_bytes(text, WECOM_NEWS_DESCRIPTION_MAX_BYTES),
            "url": url,
        }
        if image:
            article["picurl"] = image
        data = {"msgtype": "news", "news": {"articles": [article]}}
    elif webhook.provider == Provider.DINGTALK and card is not None:
        picture = f"![]({_markdown_target(image)})\n\n" if image else ""
        data = {
            "msgtype": "actionCard",
            "actionCard": {
                "title": title, "text": f"{picture}### {title}\n\n{text}",
                "btnOrientation": "0", "singleTitle": button, "singleURL": url,
            },
        }  # fmt: skip
        request_url = _dingtalk_signed(request_url, secret, now)
    elif webhook.provider == Provider.FEISHU:
        lines: list[list[dict[str, str]]] = [[{"tag": "text", "text": text}]]
        if url:
            lines.append([{"tag": "a", "text": url, "href": url}])
        data = _feishu_signature(secret, now)
        data["msg_type"] = "post"
        data["content"] = {"post": {"zh_cn": {"title": title, "content": lines}}}
    elif webhook.provider == Provider.WECOM:
        data = {"msgtype": "markdown", "markdown": {"content": _wecom_markdown(title, text, url)}}
    elif webhook.provider == Provider.DINGTALK:
        markdown = f"### {title}\n\n{text}"
        if url:
            markdown += f"\n\n{_markdown_link(url)}"
        data = {"msgtype": "markdown", "markdown": {"title": title, "text": markdown}}
        request_url = _dingtalk_signed(request_url, secret, now)
    elif webhook.provider == Provider.GENERIC:
        data = {"title": title, "text": text, "url": url, "sent_at": now.isoformat()}
    else:
        raise ValueError(f"unknown chat webhook provider {webhook.provider!r}")

    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    if webhook.provider == Provider.GENERIC and secret:
        timestamp = str(int(now.timestamp()))
        headers["X-TopicShare-Timestamp"] = timestamp
        headers["X-TopicShare-Signature"] = generic_signature(
            secret=secret, timestamp=timestamp, body=body
        )
    return request_url, body, headers


def _feishu_signature(secret: str, now: datetime.datetime) -> dict:
    """A signed Feishu bot's timestamp and sign fields (none without a secret)."""
    if not secret:
        return {}
    timestamp = str(int(now.timestamp()))
    return {"timestamp": timestamp, "sign": _feishu_sign(timestamp=timestamp, secret=secret)}


def _dingtalk_signed(url: str, secret: str, now: datetime.datetime) -> str:
    """A signed DingTalk bot's address: with its timestamp and sign (as it is without one)."""
    if not secret:
        return url
    timestamp_ms = str(int(now.timestamp() * 1000))
    return _with_query(
        url, timestamp=timestamp_ms, sign=_dingtalk_sign(timestamp_ms=timestamp_ms, secret=secret)
    )


def generic_signature(*, secret: str, timestamp: str, body: bytes) -> str:
    """The X-TopicShare-Signature header of a generic webhook (the module's docstring)."""
    signed = timestamp.encode("ascii") + b"." + body
    return "v1=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def webhook_send(
    *,
    webhook: ChatWebhook,
    title: str,
    text: str,
    url: str,
    now: datetime.datetime | None = None,
    timeout: float = MAX_TIMEOUT,
    card: Card | None = None,
) -> None:
    """POST one message to the chat bot. Follows no redirects; gives up after `timeout`
    seconds (at most 5) per connect and per read. The address is checked again here and the
    connection goes only to a checked address (topicshare/core/egress.py), whatever the row says.

    Raises WebhookError when the message was not accepted."""
    try:
        host = webhook_address_check(url=webhook.url, provider=webhook.provider, resolve=False)
    except AddressRefused as refused:
        raise WebhookError(str(refused), permanent=refused.permanent) from None
    timeout = min(timeout, MAX_TIMEOUT)
    request_url, body, headers = webhook_payload(
        webhook=webhook, title=title, text=text, url=url, now=now or timezone.now(), card=card
    )
    with guarded_session(host=host) as session:
        status, reply = _post(
            session, webhook=webhook, url=request_url, body=body, headers=headers, timeout=timeout
        )
    _check_reply(webhook=webhook, status=status, reply=reply)


def _post(
    session: requests.Session,
    *,
    webhook: ChatWebhook,
    url: str,
    body: bytes,
    headers: dict[str, str],
    timeout: float,
) -> tuple[int, bytes]:
    # `from None` throughout: the exceptions of requests quote the address, which for WeCom
    # and DingTalk holds the bot's key, and a traceback ends up in the logs.
    try:
        response = session.post(
            url,
            data=body,
            headers=headers,
            timeout=timeout,
            allow_redirects=False,
            stream=True,
        )
    except AddressRefused as refused:
        raise WebhookError(str(refused), permanent=refused.permanent) from None
    except requests.Timeout:
        raise WebhookError(
            gettext("The chat service did not answer within %(seconds)s seconds.")
            % {"seconds": f"{timeout:g}"},
            permanent=False,
        ) from None
    except requests.ConnectionError:
        raise WebhookError(
            gettext("Could not connect to the chat service."), permanent=False
        ) from None
    except requests.RequestException as exc:
        raise WebhookError(
            gettext("Could not send to the chat service (%(error)s).")
            % {"error": type(exc).__name__},
            permanent=True,
        ) from None
    with response:
        # Only a provider's own service (or a host the operator allowed) gets here with a
        # provider's type; a generic receiver's reply is never read, let alone stored.
        if 200 <= response.status_code < 300 and webhook.provider != Provider.GENERIC:
            return response.status_code, _read_reply(response, timeout=timeout)
        return response.status_code, b""


def _read_reply(response: requests.Response, *, timeout: float) -> bytes:
    """The reply body, at most REPLY_MAX_BYTES, read within `timeout`: the per-read timeout
    of requests alone would let a server that trickles bytes hold a worker."""
    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    size = 0
    try:
        for chunk in response.iter_content(chunk_size=4096):
            chunks.append(chunk)
            size += len(chunk)
            if size >= REPLY_MAX_BYTES or time.monotonic() > deadline:
                break
    except (requests.RequestException, OSError):
        raise WebhookError(
            gettext("The chat service did not answer within %(seconds)s seconds.")
            % {"seconds": f"{timeout:g}"},
            permanent=False,
        ) from None
    return b"".join(chunks)[:REPLY_MAX_BYTES]


def _check_reply(*, webhook: ChatWebhook, status: int, reply: bytes) -> None:
    if not 200 <= status < 300:
        if 300 <= status < 400:
            message = gettext(
                "The webhook address redirects elsewhere (HTTP %(status)s); enter the final "
                "address."
            )
        else:
            message = gettext("The chat service answered HTTP %(status)s.")
        permanent = 300 <= status < 500 and status not in {408, 429}
        raise WebhookError(
            message % {"status": status}, permanent=permanent, rate_limited=status == 429
        )
    if webhook.provider == Provider.GENERIC:
        return

    try:
        data = json.loads(reply.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        data = None
    if not isinstance(data, dict):
        # A provider always answers JSON; anything else is likely a proxy or an outage page.
        raise WebhookError(gettext("The chat service gave an unexpected answer."), permanent=False)
    if webhook.provider == Provider.FEISHU:
        # Current replies carry "code"/"msg"; older ones "StatusCode"/"StatusMessage".
        code, provider_message = data.get("code"), data.get("msg")
        if code is None:
            code, provider_message = data.get("StatusCode"), data.get("StatusMessage")
    else:
        code, provider_message = data.get("errcode"), data.get("errmsg")
    if code is None:
        raise WebhookError(gettext("The chat service gave an unexpected answer."), permanent=False)
    try:
        code = int(code)
    except (TypeError, ValueError):
        raise WebhookError(
            gettext("The chat service gave an unexpected answer."), permanent=False
        ) from None
    if code == 0:
        return
    provider_message = _scrub(str(provider_message or ""), webhook)
    raise WebhookError(
        gettext("The chat service refused the message: error %(code)s %(message)s")
        % {"code": code, "message": provider_message},
        permanent=code not in TEMPORARY_CODES.get(webhook.provider, set()),
        rate_limited=code in RATE_LIMITED_CODES.get(webhook.provider, set()),
    )


def _scrub(message: str, webhook: ChatWebhook) -> str:
    """A provider's own error text, short, without anything secret it might echo back."""
    message = _clean(message, single_line=True)
    query_values = [value for _, value in parse_qsl(urlsplit(webhook.url).query)]
    for secret in [webhook.secret, *query_values]:
        if secret and len(secret) >= 4:
            message = message.replace(secret, "***")
    return _truncate(message.strip(), PROVIDER_MESSAGE_LIMIT)


def _feishu_sign(*, timestamp: str, secret: str) -> str:
    # Feishu's documented algorithm: the string to sign is the HMAC key; the message is empty.
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def _dingtalk_sign(*, timestamp_ms: str, secret: str) -> str:
    string_to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode(), string_to_sign, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def _with_query(url: str, **params: str) -> str:
    """`url` with `params` set in its query, keeping the other parameters (access_token)."""
    parts = urlsplit(url)
    query = [(key, value) for key, value in parse_qsl(parts.query) if key not in params]
    query.extend(params.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def _wecom_markdown(title: str, text: str, url: str) -> str:
    head = f"**{title}**\n" if title else ""
    tail = f"\n{_markdown_link(url)}" if url else ""
    content = f"{head}{text}{tail}"
    if len(content.encode()) <= WECOM_MARKDOWN_MAX_BYTES:
        return content
    room = WECOM_MARKDOWN_MAX_BYTES - len(f"{head}{tail}".encode())
    if room < len(ELLIPSIS.encode()):
        return _truncate_bytes(content, WECOM_MARKDOWN_MAX_BYTES)
    return f"{head}{_truncate_bytes(text, room)}{tail}"


def _markdown_target(url: str) -> str:
    # Parentheses would end the link early; percent-encoding keeps the address.
    return url.replace("(", "%28").replace(")", "%29").replace(" ", "%20")


def _markdown_link(url: str) -> str:
    label = url.replace("[", "%5B").replace("]", "%5D")
    return f"[{label}]({_markdown_target(url)})"


def _clean(value: str, *, single_line: bool = False) -> str:
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    if single_line:
        value = value.replace("\n", " ").replace("\t", " ")
    return _CONTROL_CHARACTERS.sub("", value)


def _truncate(value: str, limit: int) -> str:
    if len(value) <= limit:
        return value
    return value[: limit - len(ELLIPSIS)] + ELLIPSIS


def _truncate_bytes(value: str, limit: int) -> str:
    """`value` cut to at most `limit` UTF-8 bytes, on a character boundary, with an ellipsis."""
    encoded = value.encode()
    if len(encoded) <= limit:
        return value
    cut = encoded[: limit - len(ELLIPSIS.encode())].decode("utf-8", errors="ignore")
    return cut + ELLIPSIS


def send_wait(
    webhook: ChatWebhook, *, sent: list[datetime.datetime], now: datetime.datetime
) -> datetime.timedelta | None:
    """How long `webhook` must wait before its next message, given when it `sent` its recent
    ones (any order), to stay inside its provider's limits and off the half hours where the
    provider asks for that; None: it may send now."""
    waits = []
    for window, most in RATE_LIMITS.get(webhook.provider, ()):
        recent = sorted(moment for moment in sent if now - window < moment <= now)
        if len(recent) >= most:
            waits.append(recent[len(recent) - most] + window - now)
    if webhook.provider in AVOIDS_HALF_HOURS:
        local = timezone.localtime(now)
        if local.minute in (0, 30):
            waits.append(datetime.timedelta(minutes=1, seconds=-local.second))
    return max(waits) if waits else None
