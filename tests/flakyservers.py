"""Providers that fail, as real servers on 127.0.0.1: an SMTP server that refuses or drops a
share of its connections (or stalls on every one), and a chat endpoint that times out or
answers 5xx a share of the time. Both count only what they accepted, so a test (or
.ci/faults.py) can check that every message arrived exactly once.

Failures are drawn from `random.Random(seed)` in the order connections and requests arrive:
the same seed and the same client make the same run.

A failure never happens after acceptance: the SMTP server drops a connection before its 250
reply to DATA (the server's responsibility starts with that reply), and the chat endpoint
stalls *without* recording the message. A real service may also fail just after accepting (a
connection lost while the 250 or the 200 is on its way); no client can tell that apart from a
failure before, so that edge is at least once by nature (topicshare/notifications/outbox.py,
"Lanes") and is not played here."""

from __future__ import annotations

import asyncio
import collections
import json
import random
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


class FlakySMTP:
    """A small ESMTP server (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT; no TLS, no AUTH).

    Of its connections, a share `refuse` is refused at once (closed before the greeting, or
    greeted with 421 and closed) and a share `drop` is dropped in the middle of a session,
    after its DATA was sent and before the 250 (after 0 to 2 messages that went through).
    The others close after `per_connection` messages (after the last one's 250), as servers
    that limit a connection's messages do: the client finds out at its next MAIL.
    `stall`: every connection is accepted and never answered (a server that hangs)."""

    def __init__(self, *, refuse: float = 0.0, drop: float = 0.0, stall: bool = False,
                 per_connection: int | None = None, seed: int = 0):  # fmt: skip
        self.refuse, self.drop, self.stall = refuse, drop, stall
        self.per_connection = per_connection
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.accepted: collections.Counter[str] = collections.Counter()
        self.accepted_at: list[tuple[float, str]] = []  # (time.time(), recipient)
        self.connections = self.refused = self.dropped = 0
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopped: asyncio.Event | None = None
        self._sessions: set[asyncio.Task] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    # -- running --

    def start(self) -> FlakySMTP:
        ready = threading.Event()

        async def serve():
            self._loop = asyncio.get_running_loop()
            self._stopped = asyncio.Event()
            server = await asyncio.start_server(self._session, "127.0.0.1", self.port)
            self.port = server.sockets[0].getsockname()[1]
            ready.set()
            await self._stopped.wait()
            server.close()
            # Sessions end by themselves (a stalled one waits for _stopped; the others see
            # their connection closed): cancelled tasks make asyncio's stream callbacks noisy.
            for writer in list(self._writers):
                writer.close()
            await asyncio.wait_for(asyncio.gather(*self._sessions, return_exceptions=True), 5)

        self._thread = threading.Thread(
            target=lambda: asyncio.run(serve()), name="flaky-smtp", daemon=True
        )
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the flaky SMTP server did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._stopped.set)
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> FlakySMTP:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def total(self) -> int:
        with self.lock:
            return sum(self.accepted.values())

    # -- one connection --

    def _fate(self) -> tuple[str, int]:
        """What this connection does: ("ok"|"refuse"|"greet421"|"drop"|"stall", messages
        before the drop)."""
        with self.lock:
            self.connections += 1
            if self.stall:
                return "stall", 0
            roll = self.random.random()
            if roll < self.refuse:
                self.refused += 1
                return self.random.choice(["refuse", "greet421"]), 0
            if roll < self.refuse + self.drop:
                return "drop", self.random.randint(0, 2)
            return "ok", 0

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        fate, drop_after = self._fate()
        self._sessions.add(asyncio.current_task())
        self._writers.add(writer)
        try:
            if fate == "stall":
                await self._stopped.wait()
                return
            if fate == "refuse":
                return
            if fate == "greet421":
                writer.write(b"421 4.3.2 Service not available, closing channel\r\n")
                await writer.drain()
                return
            await self._serve(reader, writer, drop_after if fate == "drop" else None)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            self._writers.discard(writer)
            self._sessions.discard(asyncio.current_task())

    async def _serve(self, reader, writer, drop_after: int | None) -> None:
        async def reply(line: str) -> None:
            writer.write(line.encode() + b"\r\n")
            await writer.drain()

        await reply("220 127.0.0.1 flaky ESMTP")
        recipients: list[str] = []
        delivered = 0
        while line := await reader.readline():
            command = line.decode("utf-8", "replace").strip()
            verb = command[:4].upper()
            if verb == "EHLO":
                await reply("250-127.0.0.1\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 HELP")
            elif verb == "HELO":
                await reply("250 127.0.0.1")
            elif verb == "MAIL":
                recipients = []
                await reply("250 OK")
            elif verb == "RCPT":
                found = re.search(r"<([^>]*)>", command)
                recipients.append((found.group(1) if found else command[8:]).lower())
                await reply("250 OK")
            elif verb == "DATA":
                await reply("354 End data with <CR><LF>.<CR><LF>")
                while (data := await reader.readline()) not in (b".\r\n", b".\n"):
                    if not data:
                        return
                if drop_after is not None and delivered >= drop_after:
                    with self.lock:
                        self.dropped += 1
                    return  # dropped before the 250: not delivered
                with self.lock:
                    now = time.time()
                    for recipient in recipients:
                        self.accepted[recipient] += 1
                        self.accepted_at.append((now, recipient))
                delivered += 1
                recipients = []
                await reply("250 OK: queued")
                if self.per_connection and delivered >= self.per_connection:
                    return
            elif verb == "RSET":
                recipients = []
                await reply("250 OK")
            elif verb == "NOOP":
                await reply("250 OK")
            elif verb == "QUIT":
                await reply("221 Bye")
                return
            else:
                await reply("502 Command not implemented")


class FlakyChat:
    """A chat endpoint for every provider (Feishu's reply to /open-apis/… paths, DingTalk's
    and WeCom's to the others). A share `fail` of its requests fails: a share `stall_share`
    of those stalls for `stall_seconds` (past the client's timeout) without recording the
    message, the rest answer 500, 502 or 503. Paths starting with one of `stall_paths` stall
    on every request (a chat service that hangs)."""

    def __init__(self, *, fail: float = 0.0, stall_share: float = 1 / 3,
                 stall_seconds: float = 2.0, stall_paths: tuple[str, ...] = (),
                 seed: int = 0):  # fmt: skip
        self.fail, self.stall_share, self.stall_seconds = fail, stall_share, stall_seconds
        self.stall_paths = stall_paths
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.accepted: list[tuple[float, str, bytes]] = []  # (time.time(), path, body)
        self.requests = self.stalled = self.errors = 0
        self.port = 0
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> FlakyChat:
        self._httpd = _QuietServer(("127.0.0.1", self.port), _chat_handler(self))
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name="flaky-chat", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stop_event.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join(timeout=10)
            self._httpd = None

    def __enter__(self) -> FlakyChat:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def counts(self, pattern: str = r"#([\w-]+)#") -> collections.Counter[tuple[str, str]]:
        """Accepted messages by (path without the query, each match of `pattern` in the
        body): with a marker in each message's title, one key a message."""
        found: collections.Counter[tuple[str, str]] = collections.Counter()
        with self.lock:
            for _at, path, body in self.accepted:
                for marker in set(re.findall(pattern, body.decode("utf-8", "replace"))):
                    found[(urlsplit(path).path, marker)] += 1
        return found

    def _fate(self, path: str) -> str | int:
        with self.lock:
            self.requests += 1
            if any(path.startswith(prefix) for prefix in self.stall_paths):
                self.stalled += 1
                return "stall"
            if self.random.random() >= self.fail:
                return "ok"
            if self.random.random() < self.stall_share:
                self.stalled += 1
                return "stall"
            self.errors += 1
            return self.random.choice([500, 502, 503])


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # A client that timed out and closed (what a stall is for) is no error of the test's.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _chat_handler(server: FlakyChat):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):  # noqa: N802 — http.server's name
            length = min(int(self.headers.get("Content-Length", 0) or 0), 1024 * 1024)
            body = self.rfile.read(length)
            fate = server._fate(self.path)
            if fate == "stall":
                server.stop_event.wait(server.stall_seconds)
                self.close_connection = True
                return  # no answer, nothing recorded: the client timed out
            if fate != "ok":
                self._answer(fate, {"error": "unavailable"})
                return
            with server.lock:
                server.accepted.append((time.time(), self.path, body))
            if self.path.startswith("/open-apis/"):
                self._answer(200, {"code": 0, "msg": "success"})
            else:
                self._answer(200, {"errcode": 0, "errmsg": "ok"})

        def _answer(self, status: int, data: dict) -> None:
            payload = json.dumps(data).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, format, *args):
            pass

    return Handler
