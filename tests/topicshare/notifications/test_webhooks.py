"""Chat webhooks against a real HTTP server on 127.0.0.1 that records what it receives and
verifies signatures the way Feishu, DingTalk and a generic receiver do."""

import base64
import datetime
import hashlib
import hmac
import json
import socket
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.chatserver import ChatServer  # noqa: F401 — the chat_server fixture's type
from topicshare.notifications.models import ChatWebhook
from topicshare.notifications.webhooks import WebhookError, webhook_payload, webhook_send

NOW = datetime.datetime(2025, 3, 1, 12, 30, 15, tzinfo=datetime.UTC)
SECRET = "SEC-very-secret-0123456789"
TITLE = "本周分享：Attention Is All You Need"
TEXT = "主讲人：小王\n时间：周六 20:30\n一起读论文 📄"
LINK = "https://topicshare.example/sessions/42/"


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _webhook(provider: str, url: str, secret: str = "") -> ChatWebhook:
    return ChatWebhook(name="读书群", provider=provider, url=url, secret=secret)


def _feishu_sign(timestamp: str, secret: str) -> str:
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def _dingtalk_sign(timestamp_ms: str, secret: str) -> str:
    message = f"{timestamp_ms}\n{secret}".encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def _send(webhook: ChatWebhook, **kwargs) -> None:
    arguments = {"title": TITLE, "text": TEXT, "url": LINK, "now": NOW} | kwargs
    webhook_send(webhook=webhook, **arguments)


# --- What each provider receives ------------------------------------------------------------


def test_webhook_send_feishu_signed_post(chat_server):
    webhook = _webhook("feishu", chat_server.url("/open-apis/bot/v2/hook/abc"), SECRET)

    _send(webhook)

    received = chat_server.only_request()
    body = received.json()
    assert received.method == "POST"
    assert received.path == "/open-apis/bot/v2/hook/abc"
    assert received.headers["content-type"] == "application/json; charset=utf-8"
    assert received.headers["user-agent"] == "TopicShare"
    assert body["timestamp"] == "1740832215"
    assert body["sign"] == _feishu_sign(body["timestamp"], SECRET)
    assert body["msg_type"] == "post"
    assert body["content"] == {
        "post": {
            "zh_cn": {
                "title": TITLE,
                "content": [
                    [{"tag": "text", "text": TEXT}],
                    [{"tag": "a", "text": LINK, "href": LINK}],
                ],
            }
        }
    }


def test_webhook_send_feishu_without_secret_or_link(chat_server):
    webhook = _webhook("feishu", chat_server.url("/open-apis/bot/v2/hook/abc"))

    _send(webhook, url="")

    assert chat_server.only_request().json() == {
        "msg_type": "post",
        "content": {
            "post": {"zh_cn": {"title": TITLE, "content": [[{"tag": "text", "text": TEXT}]]}}
        },
    }


def test_webhook_send_feishu_legacy_success_reply(chat_server):
    chat_server.reply = {"Extra": None, "StatusCode": 0, "StatusMessage": "success"}
    webhook = _webhook("feishu", chat_server.url("/open-apis/bot/v2/hook/abc"))

    _send(webhook)

    assert len(chat_server.received) == 1


def test_webhook_send_wecom_markdown(chat_server):
    chat_server.reply = {"errcode": 0, "errmsg": "ok"}
    webhook = _webhook("wecom", chat_server.url("/cgi-bin/webhook/send?key=k-123"))

    _send(webhook)

    received = chat_server.only_request()
    assert received.path == "/cgi-bin/webhook/send?key=k-123"
    assert received.json() == {
        "msgtype": "markdown",
        "markdown": {"content": f"**{TITLE}**\n{TEXT}\n[{LINK}]({LINK})"},
    }
    assert "x-topicshare-signature" not in received.headers


def test_webhook_send_dingtalk_signed_query_keeps_access_token(chat_server):
    chat_server.reply = {"errcode": 0, "errmsg": "ok"}
    webhook = _webhook("dingtalk", chat_server.url("/robot/send?access_token=tok-1"), SECRET)

    _send(webhook)

    received = chat_server.only_request()
    parts = urlsplit(received.path)
    query = parse_qs(parts.query, strict_parsing=True)
    assert parts.path == "/robot/send"
    assert sorted(query) == ["access_token", "sign", "timestamp"]
    assert query["access_token"] == ["tok-1"]
    assert query["timestamp"] == ["1740832215000"]
    assert query["sign"] == [_dingtalk_sign("1740832215000", SECRET)]
    assert received.json() == {
        "msgtype": "markdown",
        "markdown": {"title": TITLE, "text": f"### {TITLE}\n\n{TEXT}\n\n[{LINK}]({LINK})"},
    }


def test_webhook_send_dingtalk_without_secret_leaves_address_alone(chat_server):
    chat_server.reply = {"errcode": 0, "errmsg": "ok"}
    webhook = _webhook("dingtalk", chat_server.url("/robot/send?access_token=tok-1"))

    _send(webhook)

    assert chat_server.only_request().path == "/robot/send?access_token=tok-1"


def test_webhook_send_generic_hmac(chat_server):
    chat_server.status = 204
    chat_server.reply = b""
    webhook = _webhook("generic", chat_server.url("/hooks/topicshare"), SECRET)

    _send(webhook)

    received = chat_server.only_request()
    signed = b"1740832215." + received.body
    expected = hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
    assert received.headers["x-topicshare-signature"] == f"v1={expected}"
    assert received.headers["x-topicshare-timestamp"] == "1740832215"
    assert received.json() == {
        "title": TITLE,
        "text": TEXT,
        "url": LINK,
        "sent_at": "2025-03-01T12:30:15+00:00",
    }


def test_webhook_send_generic_without_secret_has_no_signature(chat_server):
    webhook = _webhook("generic", chat_server.url("/hooks/topicshare"))

    _send(webhook)

    headers = chat_server.only_request().headers
    assert "x-topicshare-signature" not in headers
    assert "x-topicshare-timestamp" not in headers


def test_webhook_send_chinese_text_arrives_as_utf8(chat_server):
    webhook = _webhook("generic", chat_server.url("/hooks/topicshare"))

    _send(webhook)

    received = chat_server.only_request()
    assert received.headers["content-type"] == "application/json; charset=utf-8"
    assert TITLE.encode("utf-8") in received.body
    assert "一起读论文 📄".encode() in received.body
    assert b"\\u" not in received.body
    assert received.json()["text"] == TEXT


def test_webhook_send_default_now_is_the_current_time(chat_server):
    webhook = _webhook("feishu", chat_server.url("/open-apis/bot/v2/hook/abc"), SECRET)

    webhook_send(webhook=webhook, title=TITLE, text=TEXT, url=LINK)

    assert abs(int(chat_server.only_request().json()["timestamp"]) - time.time()) < 5


@pytest.mark.django_db
def test_webhook_send_saved_webhook_signs_with_stored_secret(chat_server):
    ChatWebhook.objects.create(
        name="观众群", provider="generic", url=chat_server.url("/hooks/saved"), secret="密钥-42"
    )
    webhook = ChatWebhook.objects.get(name="观众群")

    _send(webhook)

    received = chat_server.only_request()
    signed = received.headers["x-topicshare-timestamp"].encode() + b"." + received.body
    expected = hmac.new("密钥-42".encode(), signed, hashlib.sha256).hexdigest()
    assert received.path == "/hooks/saved"
    assert received.headers["x-topicshare-signature"] == f"v1={expected}"


# --- Failures ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "path", "reply"),
    [
        (
            "feishu",
            "/open-apis/bot/v2/hook/abc",
            {"code": 19021, "msg": "sign match fail or timestamp is not within one hour"},
        ),
        ("dingtalk", "/robot/send?access_token=tok-1", {"errcode": 310000, "errmsg": "sign err"}),
        ("wecom", "/cgi-bin/webhook/send?key=k-123", {"errcode": 93000, "errmsg": "invalid key"}),
    ],
)
def test_webhook_send_misconfiguration_reply_is_permanent(chat_server, provider, path, reply):
    chat_server.reply = reply
    webhook = _webhook(provider, chat_server.url(path), SECRET)

    with pytest.raises(WebhookError) as caught:
        _send(webhook)

    code = reply.get("code", reply.get("errcode"))
    assert caught.value.permanent is True
    assert str(caught.value).startswith(f"The chat service refused the message: error {code} ")


@pytest.mark.parametrize(
    ("provider", "reply"),
    [
        ("feishu", {"code": 11232, "msg": "frequency limited"}),
        ("wecom", {"errcode": 45009, "errmsg": "api freq out of limit"}),
        ("dingtalk", {"errcode": 130101, "errmsg": "send too fast"}),
    ],
)
def test_webhook_send_rate_limit_reply_is_temporary(chat_server, provider, reply):
    chat_server.reply = reply
    webhook = _webhook(provider, chat_server.url("/hook"))

    with pytest.raises(WebhookError) as caught:
        _send(webhook)

    assert caught.value.permanent is False


@pytest.mark.parametrize(
    ("status", "permanent"),
    [(500, False), (502, False), (503, False), (429, False), (408, False)]
    + [(400, True), (403, True), (404, True), (410, True)],
)
def test_webhook_send_http_error_status(chat_server, status, permanent):
    chat_server.status = status
    chat_server.reply = {"error": "nope"}
    webhook = _webhook("generic", chat_server.url("/hooks/topicshare"))

    with pytest.raises(WebhookError) as caught:
        _send(webhook)

    assert caught.value.permanent is permanent
    assert str(caught.value) == f"The chat service answered HTTP {status}."


def test_webhook_send_does_not_follow_redirects(chat_server):
    chat_server.status = 302
    chat_server.reply = b""
    chat_server.reply_headers = {"Location": chat_server.url("/elsewhere")}
    webhook = _webhook("generic", chat_server.url("/hooks/topicshare"))

    with pytest.raises(WebhookError) as caught:
        _send(webhook)

    assert caught.value.permanent is True
    assert [request.path for request in chat_server.received] == ["/hooks/topicshare"]


def test_webhook_send_provider_answer_that_is_not_json_is_temporary(chat_server):
    chat_server.reply = b"<html>gateway</html>"
    webhook = _webhook("wecom", chat_server.url("/cgi-bin/webhook/send?key=k-123"))

    with pytest.raises(WebhookError) as caught:
        _send(webhook)

    assert caught.value.permanent is False
    assert str(caught.value) == "The chat service gave an unexpected answer."


def test_webhook_send_slow_server_times_out_as_temporary(chat_server):
    chat_server.delay = 3.0
    webhook = _webhook("feishu", chat_server.url("/open-apis/bot/v2/hook/abc"), SECRET)

    started = time.monotonic()
    with pytest.raises(WebhookError) as caught:
        _send(webhook, timeout=0.5)
    elapsed = time.monotonic() - started

    assert elapsed < 2.0
    assert caught.value.permanent is False
    assert str(caught.value) == "The chat service did not answer within 0.5 seconds."


def test_webhook_send_refused_connection_is_temporary(closed_port):
    webhook = _webhook("dingtalk", f"http://127.0.0.1:{closed_port}/robot/send?access_token=t")

    with pytest.raises(WebhookError) as caught:
        _send(webhook)

    assert caught.value.permanent is False
    assert str(caught.value) == "Could not connect to the chat service."


@pytest.mark.parametrize(
    "url", ["ftp://127.0.0.1/hook", "file:///etc/passwd", "javascript:alert(1)", "127.0.0.1/x"]
)
def test_webhook_send_refuses_other_schemes_permanently(url):
    webhook = _webhook("generic", url)

    with pytest.raises(WebhookError) as caught:
        _send(webhook)

    assert caught.value.permanent is True
    assert str(caught.value) == "The webhook address must start with http:// or https://."


def test_webhook_send_error_never_reveals_secret_or_key(chat_server, closed_port):
    token = "tok-SECRET-ACCESS-TOKEN"
    chat_server.reply = {"errcode": 310000, "errmsg": f"sign {SECRET} bad for {token}"}
    echoing = _webhook("dingtalk", chat_server.url(f"/robot/send?access_token={token}"), SECRET)
    unreachable = _webhook(
        "dingtalk", f"http://127.0.0.1:{closed_port}/robot/send?access_token={token}", SECRET
    )

    messages = []
    for webhook in (echoing, unreachable):
        with pytest.raises(WebhookError) as caught:
            _send(webhook)
        messages.append(str(caught.value))
        assert caught.value.__cause__ is None

    assert messages[0] == "The chat service refused the message: error 310000 sign *** bad for ***"
    assert all(SECRET not in message and token not in message for message in messages)


# --- The payload on its own ---------------------------------------------------------------


def test_webhook_payload_wecom_fits_its_byte_limit():
    webhook = _webhook("wecom", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k")

    _, body, _ = webhook_payload(webhook=webhook, title=TITLE, text="论" * 5000, url=LINK, now=NOW)

    content = json.loads(body)["markdown"]["content"]
    assert len(content.encode()) <= 4096
    assert content.startswith(f"**{TITLE}**\n论论")
    assert content.endswith(f"论…\n[{LINK}]({LINK})")


def test_webhook_payload_feishu_truncates_long_text():
    webhook = _webhook("feishu", "https://open.feishu.cn/open-apis/bot/v2/hook/abc")

    _, body, _ = webhook_payload(webhook=webhook, title=TITLE, text="读" * 5000, url="", now=NOW)

    text = json.loads(body)["content"]["post"]["zh_cn"]["content"][0][0]["text"]
    assert text == "读" * 3999 + "…"


def test_webhook_payload_strips_control_characters():
    webhook = _webhook("dingtalk", "https://oapi.dingtalk.com/robot/send?access_token=t")

    _, body, _ = webhook_payload(
        webhook=webhook, title="标题\n第二行\x07", text="a\x00b\r\nc\x1b[31m", url="", now=NOW
    )

    markdown = json.loads(body)["markdown"]
    assert markdown == {"title": "标题 第二行", "text": "### 标题 第二行\n\nab\nc[31m"}


def test_webhook_payload_requires_aware_now():
    webhook = _webhook("generic", "https://hooks.example/x")

    with pytest.raises(ValueError, match="aware"):
        webhook_payload(
            webhook=webhook, title=TITLE, text=TEXT, url=LINK, now=datetime.datetime(2025, 3, 1)
        )


def test_webhook_payload_cards_stay_within_each_providers_limits():
    from topicshare.notifications.webhooks import Card

    card = Card(button="详情与报名" * 20, image_url="https://topicshare.example/p (1).png")
    long_title, long_text = "知识蒸馏" * 100, "一起读论文。" * 1000

    def body(provider: str, **kwargs) -> dict:
        arguments = {"title": long_title, "text": long_text, "url": LINK, "now": NOW} | kwargs
        _url, raw, _headers = webhook_payload(
            webhook=_webhook(provider, "https://example.org/hook?key=k"), card=card, **arguments
        )
        return json.loads(raw)

    (article,) = body("wecom")["news"]["articles"]
    assert len(article["title"].encode()) <= 128 and len(article["description"].encode()) <= 512
    assert article["picurl"] == card.image_url and article["url"] == LINK
    action = body("dingtalk")["actionCard"]
    assert action["text"].startswith("![](https://topicshare.example/p%20%281%29.png)")
    assert len(action["singleTitle"]) <= 40 and action["singleURL"] == LINK
    feishu = body("feishu")["card"]
    assert len(feishu["elements"][0]["text"]["content"]) <= 1000
    # Without a link there is no button to press: the plain message, never an empty card.
    assert body("dingtalk", url="")["msgtype"] == "markdown"
    assert "msg_type" not in body("generic") and body("generic")["url"] == LINK
