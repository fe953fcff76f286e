"""A real HTTP server on 127.0.0.1 that answers like the WeChat official account's API (the
parts the promotion pack uses: token, image material, article images, the draft box, the
JS-SDK ticket), with its errcodes: an expired or replaced token (42001 / 40001), an unknown
media_id (40007), the daily quota (45009), a wrong secret (40125), an image too large
(40009). It records every request, so that a test can say nothing was ever mass-sent.
Used as the `wechat_api` fixture (imported by tests/conftest.py)."""

import json
import threading
from dataclasses import dataclass, field
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

APP_ID, APP_SECRET = "wx-test-app", "test-secret"


@dataclass
class WechatApi:
    port: int = 0
    token: str = ""
    tokens_issued: int = 0
    expired: bool = False  # the current token: 42001 until a new one is fetched
    quota_left: int | None = None  # calls (besides the token) before 45009
    materials: dict[str, bytes] = field(default_factory=dict)
    article_images: list[bytes] = field(default_factory=list)
    drafts: dict[str, dict] = field(default_factory=dict)
    paths: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def expire_token(self) -> None:
        self.expired = True

    def forget_drafts(self) -> None:
        """An organiser deleted the drafts in the account's back office."""
        self.drafts.clear()

    # --- the API --------------------------------------------------------------------------

    def answer(self, method: str, path: str, query: dict, headers, body: bytes) -> dict:
        if path == "/cgi-bin/token":
            if query.get("appid") != APP_ID:
                return {"errcode": 40013, "errmsg": "invalid appid"}
            if query.get("secret") != APP_SECRET:
                return {"errcode": 40125, "errmsg": "invalid appsecret"}
            self.tokens_issued += 1
            self.token, self.expired = f"TOKEN-{self.tokens_issued}", False
            return {"access_token": self.token, "expires_in": 7200}
        token = query.get("access_token")
        if token != self.token:
            return {"errcode": 40001, "errmsg": "invalid credential, access_token is not latest"}
        if self.expired:
            return {"errcode": 42001, "errmsg": "access_token expired"}
        if self.quota_left is not None:
            if self.quota_left <= 0:
                return {"errcode": 45009, "errmsg": "reach max api daily quota limit"}
            self.quota_left -= 1
        if path == "/cgi-bin/material/add_material" and method == "POST":
            if query.get("type") != "image":
                return {"errcode": 40004, "errmsg": "invalid media type"}
            media = _multipart_file(headers.get("Content-Type", ""), body)
            if media is None or not media.startswith(b"\xff\xd8"):
                return {"errcode": 40005, "errmsg": "invalid file type"}
            media_id = f"MEDIA-{len(self.materials) + 1}"
            self.materials[media_id] = media
            return {"media_id": media_id, "url": f"http://mmbiz.qpic.cn/material/{media_id}/0"}
        if path == "/cgi-bin/media/uploadimg" and method == "POST":
            media = _multipart_file(headers.get("Content-Type", ""), body)
            if media is None or not media.startswith(b"\xff\xd8"):
                return {"errcode": 40005, "errmsg": "invalid file type"}
            if len(media) > 1024 * 1024:
                return {"errcode": 40009, "errmsg": "invalid image size"}
            self.article_images.append(media)
            return {"url": f"http://mmbiz.qpic.cn/mmbiz_jpg/{len(self.article_images)}/0"}
        if path == "/cgi-bin/draft/add" and method == "POST":
            articles = json.loads(body.decode("utf-8"))["articles"]
            for article in articles:
                if article.get("thumb_media_id") not in self.materials:
                    return {"errcode": 40007, "errmsg": "invalid media_id"}
                if len(article["title"]) > 32 or len(article.get("author", "")) > 16:
                    return {"errcode": 45003, "errmsg": "title size out of limit"}
            media_id = f"DRAFT-{len(self.drafts) + 1}"
            self.drafts[media_id] = articles[0]
            return {"media_id": media_id}
        if path == "/cgi-bin/draft/update" and method == "POST":
            data = json.loads(body.decode("utf-8"))
            if data.get("media_id") not in self.drafts:
                return {"errcode": 40007, "errmsg": "invalid media_id"}
            self.drafts[data["media_id"]] = data["articles"]
            return {"errcode": 0, "errmsg": "ok"}
        if path == "/cgi-bin/ticket/getticket":
            return {"errcode": 0, "errmsg": "ok", "ticket": "TICKET-1", "expires_in": 7200}
        return {"errcode": 48001, "errmsg": "api unauthorized (this fake knows no such call)"}


def _multipart_file(content_type: str, body: bytes) -> bytes | None:
    message = message_from_bytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    for part in message.walk():
        if part.get_param("name", header="content-disposition") == "media":
            return part.get_payload(decode=True)
    return None


def _handler_for(api: WechatApi):
    class Handler(BaseHTTPRequestHandler):
        def _serve(self):
            url = urlsplit(self.path)
            query = {key: values[0] for key, values in parse_qs(url.query).items()}
            body = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
            with api.lock:
                api.paths.append(url.path)
                reply = api.answer(self.command, url.path, query, self.headers, body)
            payload = json.dumps(reply, ensure_ascii=False).encode("utf-8")
            self.send_response(200)  # the real API answers 200 with an errcode
            self.send_header("Content-Type", "application/json; encoding=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = _serve

        def log_message(self, format, *args):
            pass

    return Handler


@pytest.fixture
def wechat_api(settings, monkeypatch):
    """The fake API, with the settings pointing at it."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    api = WechatApi()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(api))
    api.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.WECHAT_MP_APP_ID, settings.WECHAT_MP_APP_SECRET = APP_ID, APP_SECRET
    settings.WECHAT_MP_API_BASE = api.base
    yield api
    server.shutdown()
    server.server_close()
