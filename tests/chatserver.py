"""A real HTTP server on 127.0.0.1 that plays a chat service (Feishu, WeCom, DingTalk …) and
records what it receives. Used as the `chat_server` fixture (imported by tests/conftest.py)."""

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body.decode("utf-8"))


@dataclass
class ChatServer:
    """What the handler answers, and everything it received."""

    port: int = 0
    status: int = 200
    # Answered first, one a request, before `status` (e.g. [500]: fail once, then succeed).
    statuses: list[int] = field(default_factory=list)
    reply: dict | bytes = field(default_factory=lambda: {"code": 0, "msg": "success"})
    reply_headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def only_request(self) -> Received:
        assert len(self.received) == 1
        return self.received[0]


def _handler_for(server: ChatServer):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with server.lock:
                server.received.append(
                    Received(
                        method=self.command,
                        path=self.path,
                        headers={key.lower(): value for key, value in self.headers.items()},
                        body=body,
                    )
                )
            if server.delay:
                server.stop.wait(server.delay)
            reply = server.reply
            payload = reply if isinstance(reply, bytes) else json.dumps(reply).encode()
            with server.lock:
                status = server.statuses.pop(0) if server.statuses else server.status
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for key, value in server.reply_headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting, as it should

        def log_message(self, format, *args):
            pass

    return Handler


@pytest.fixture
def chat_server(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    state = ChatServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(state))
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    state.stop.set()
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)
