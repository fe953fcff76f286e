"""Fault tests with real processes: Redis dies, PostgreSQL restarts, a worker is killed.

    .venv/bin/python .ci/faults.py            # all faults, about 3–4 minutes
    FAULTS_ONLY=a,c .venv/bin/python .ci/faults.py
    FAULTS_SMALL=1 .venv/bin/python .ci/faults.py   # (d) with fewer notices, as CI runs it

Starts, as child processes it owns: a private redis-server (FAULTS_REDIS_PORT, default 6390,
never the system Redis), gunicorn (topicshare.settings.production, plain HTTP), a Celery worker
and Celery beat, all on a throwaway PostgreSQL database (FAULTS_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/topicshare_faults, dropped and re-created), and an SMTP
sink (aiosmtpd, in this process) that counts the messages each recipient gets. Then:

(a)  Redis is SIGKILLed while the site runs: home, /topics/, a topic page and /healthz must
     answer 200 (healthz reporting the broker down), an organiser accepts a topic in the
     browser and more notices are queued through the services; Redis comes back (empty) and,
     without any nudge from us, the beat/worker sweep must send everything exactly once.
(a2) The pages that read the Django cache (on the same Redis): /library/, the calendar feed
     and the login form, with Redis down. The README says pages keep working without Redis.
(b)  `pg_ctlcluster --skip-systemctl-redirect 15 main restart` (FAULTS_PG_CLUSTER="15 main")
     while requests flow: after the restart, requests must answer 200 again without restarting
     gunicorn (same worker processes), and the worker must still deliver notices. This
     restarts the SHARED cluster: every other database's connections are dropped too.
(c)  A worker is SIGKILLed in the middle of a batch (300 notices to a sink that takes
     FAULTS_SINK_DELAY = 0.1 s a message); a new worker starts. Every notice must arrive, and
     at most the one message in flight at the kill may arrive twice.
(d)  Providers that fail (tests/flakyservers.py, in this process): a worker and beat started
     for this fault send to an SMTP server that first hangs (accepts, never answers) and then
     refuses or drops half of its connections, and to two chat bots whose endpoint times out
     or answers 5xx a third of the time. While the mail server hangs, the chat messages must
     still arrive (their lanes are their own); in the end every notice must have arrived
     exactly once and none may be 'failed'. Short backoffs (1 s doubling to 8 s) and a sweep
     every 2 s for this fault. FAULTS_SMALL=1 (CI): 60 e-mails and 30 chat messages instead
     of 300 and 120.

Prints one PASS/FAIL line per fault and exits non-zero if any failed. Logs of the processes are
kept (and their tails printed) when something fails.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import unquote, urlsplit

import psycopg
from aiosmtpd.controller import Controller
from celery import Celery
from psycopg import sql

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests import processes  # noqa: E402
from tests.flakyservers import FlakyChat, FlakySMTP  # noqa: E402
from tests.processes import free_port  # noqa: E402

VENV_BIN = REPO / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python")
DATABASE_URL = os.environ.get(
    "FAULTS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/topicshare_faults"
)
REDIS_PORT = int(os.environ.get("FAULTS_REDIS_PORT", "6390"))
PG_CLUSTER = os.environ.get("FAULTS_PG_CLUSTER", "15 main").split()
ONLY = {part.strip() for part in os.environ.get("FAULTS_ONLY", "a,b,c,d").split(",") if part}
SMALL = os.environ.get("FAULTS_SMALL", "") not in ("", "0")
# (d): e-mails and chat messages per chat bot (two bots) while the providers are flaky.
FLAKY_EMAILS, FLAKY_CHATS = (60, 15) if SMALL else (300, 60)
HUNG_EMAILS, HUNG_CHATS = 20, 10  # (d), queued while the mail server hangs
SINK_DELAY = float(os.environ.get("FAULTS_SINK_DELAY", "0.1"))
BATCH_NOTICES = 300
KILL_AFTER = 60  # messages received by the sink before the worker is killed
STALE_CLAIM_SECONDS = 15  # TOPICSHARE_STALE_CLAIM_SECONDS for every process here
ORGANISER = ("organiser@demo.topicshare.local", "topicshare-demo")
DOMAIN = "faults.example.org"


class FaultError(Exception):
    pass


# --- Child processes ----------------------------------------------------------------------


class Service(processes.Service):
    def check(self) -> None:
        if not self.running():
            raise FaultError(f"{self.name} exited with {self.popen.returncode}; see its log")


def children_of(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.add(int(entry.name))
    return found


def tail(path: Path, lines: int = 40) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    return "(no log)"


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as redis-server does
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def wait_until(description: str, condition, timeout: float, interval: float = 0.5, check=()):
    """Poll condition() until it returns something truthy; FaultError after `timeout`."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        for service in check:
            service.check()
        try:
            last = condition()
        except (OSError, ValueError, psycopg.Error) as exc:
            last = exc
        else:
            if last:
                return last
        time.sleep(interval)
    raise FaultError(f"timed out after {timeout:.0f} s waiting for {description} (last: {last!r})")


# --- The SMTP sink ------------------------------------------------------------------------


class Sink:
    """A real SMTP server on 127.0.0.1 that records each message's recipients. With a delay,
    a message is recorded after the delay, just before the server answers 250."""

    def __init__(self):
        self.delay = 0.0
        self.lock = threading.Lock()
        self.received: list[tuple[float, str]] = []
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 — aiosmtpd's name
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            self.received += [(time.monotonic(), rcpt.lower()) for rcpt in envelope.rcpt_tos]
        return "250 Message accepted"

    def counts(self, tag: str) -> collections.Counter:
        prefix = f"{tag}-"
        with self.lock:
            return collections.Counter(r for _t, r in self.received if r.startswith(prefix))


# --- HTTP ---------------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


@dataclass
class Response:
    status: int  # 0: no HTTP answer (refused, reset, timed out)
    text: str
    seconds: float


@dataclass
class Browser:
    """Keeps cookies by hand: production marks them Secure, and this talks plain HTTP."""

    base: str
    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, path: str, data: dict | None = None, timeout: float = 15) -> Response:
        headers = {"User-Agent": "faults.py"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if data is not None:
            body = urllib.parse.urlencode(data).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        request = urllib.request.Request(self.base + path, data=body, headers=headers)
        started = time.monotonic()
        try:
            with _opener.open(request, timeout=timeout) as response:
                status, response_headers, raw = response.status, response.headers, response.read()
        except urllib.error.HTTPError as exc:
            status, response_headers, raw = exc.code, exc.headers, exc.read()
        except (OSError, urllib.error.URLError) as exc:
            return Response(0, f"{type(exc).__name__}: {exc}", time.monotonic() - started)
        for header in response_headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie()
            cookie.load(header)
            self.cookies.update({name: morsel.value for name, morsel in cookie.items()})
        return Response(status, raw.decode(errors="replace"), time.monotonic() - started)

    def csrf(self, path: str) -> str:
        page = self.request(path)
        found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        if page.status != 200 or not found:
            raise FaultError(f"GET {path}: {page.status}, no CSRF token")
        return found.group(1)

    def login(self, email: str, password: str) -> Response:
        token = self.csrf("/accounts/login/")
        data = {"login": email, "password": password, "csrfmiddlewaretoken": token}
        return self.request("/accounts/login/", data)


# --- Database -----------------------------------------------------------------------------


def recreate_database(url: str) -> None:
    parts = urlsplit(url)
    name = unquote(parts.path.lstrip("/"))
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        ident = sql.Identifier(name)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(ident))


def query(text: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(DATABASE_URL, autocommit=True, connect_timeout=5) as conn:
        return conn.execute(text, params).fetchall()


def statuses(tag: str) -> dict[str, int]:
    """Notification rows to this tag's recipients, by status."""
    rows = query(
        "SELECT n.status, count(*) FROM topicshare_notification n"
        " JOIN members_user u ON u.id = n.recipient_id WHERE u.email LIKE %s GROUP BY n.status",
        (f"{tag}-%",),
    )
    return dict(rows)


# Run inside `manage.py shell -c`: the application's own services queue the notices.
SHELL_PRELUDE = """
import json
from django.contrib.auth.hashers import make_password
from django.utils import timezone
from members.models import User
from members.services import user_start_as_audience
from sessions.models import Topic, Track
from sessions.topics.services import topic_propose, topic_transition
from topicshare.notifications.outbox import Message, notification_enqueue

def people(tag, count):
    emails = [f"{tag}-{n:04d}@DOMAIN" for n in range(count)]
    password = make_password(None)
    User.objects.bulk_create(
        [User(email=e, display_name=e.split("@")[0], password=password) for e in emails],
        ignore_conflicts=True,
    )
    return list(User.objects.filter(email__in=emails).order_by("email"))

def propose(tag, count):
    # A topic with many presenters, so that accepting it queues one notice each. Co-presenters
    # are normally invited and accept one by one; the fault test only needs the fan-out.
    users = people(tag, count)
    user_start_as_audience(user=users[0])
    track = Track.objects.order_by("order").first()
    topic = topic_propose(proposer=users[0], track=track, title=f"Fault test {tag}")
    topic.co_presenters.add(*users[1:])
    return topic.pk

def accept(pk):
    organiser = User.objects.get(email="ORGANISER")
    topic_transition(topic=Topic.objects.get(pk=pk), to="accepted", by=organiser)

def enqueue(tag, count):
    subject = Topic.objects.order_by("pk").first()
    return notification_enqueue(
        kind="group_joined", subject=subject, occasion=f"faults-{tag}",
        recipients=people(tag, count),
        render=lambda: Message(f"Fault test {tag}", ["hello"], ""), due_at=timezone.now(),
    )

def bots(base):
    # Generic receivers: no provider limits (a Feishu bot skips the half hours, which would
    # show as a minute's delay), so the delays measured are the outbox's own.
    from topicshare.notifications.models import ChatWebhook
    return [
        ChatWebhook.objects.get_or_create(
            name=f"faults {name}", defaults={"provider": "generic", "url": f"{base}/{name}"}
        )[0]
        for name in ("study-group", "audience")
    ]

def chats(tag, count, base):
    # One message a call, to both bots; its marker #tag-n# is what the chat endpoint counts.
    subject = Topic.objects.order_by("pk").first()
    channels = bots(base)
    return sum(
        notification_enqueue(
            kind="group_joined", subject=subject, occasion=f"faults-{tag}-{n}",
            channels=channels, due_at=timezone.now(),
            render=lambda n=n: Message(f"#{tag}-{n:04d}# fault test", ["hi"], ""),
        )
        for n in range(count)
    )

def out(**data):
    print("FAULTJSON " + json.dumps(data))
""".replace("DOMAIN", DOMAIN).replace("ORGANISER", ORGANISER[0])


# --- The run ------------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    ok: bool
    summary: str
    details: list[str] = field(default_factory=list)


class Faults:
    def __init__(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="topicshare-faults-"))
        self.services: list[Service] = []
        self.sink = Sink()
        self.redis_port = REDIS_PORT
        self.web_port = free_port()
        self.base = f"http://127.0.0.1:{self.web_port}"
        self.worker: Service | None = None
        self.redis: Service | None = None
        self.web: Service | None = None
        self.workers_started = 0
        self.secret = "faults-dummy-" + secrets.token_urlsafe(48)

    # -- setup --

    def env(self, settings: str = "topicshare.settings.production") -> dict[str, str]:
        return {
            **os.environ,
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "DJANGO_SETTINGS_MODULE": settings,
            "DJANGO_SECRET_KEY": self.secret,
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_SECURE_SSL_REDIRECT": "False",
            "DATABASE_URL": DATABASE_URL,
            "REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            # These would win over REDIS_URL if set in the caller's environment or .env.
            "REDIS_CACHE_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "CELERY_BROKER_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "EMAIL_URL": f"smtp://127.0.0.1:{self.sink.port}",
            "TOPICSHARE_SITE_URL": self.base,
            "TOPICSHARE_HEARTBEAT_SECONDS": "2",
            "TOPICSHARE_STALE_CLAIM_SECONDS": str(STALE_CLAIM_SECONDS),
            "TOPICSHARE_VAR_DIR": str(self.tmp / "var"),
            "STATIC_ROOT": str(self.tmp / "staticfiles"),
            "MEDIA_ROOT": str(self.tmp / "var" / "media"),
            "CELERY_BEAT_SCHEDULE_FILENAME": str(self.tmp / "celerybeat-schedule"),
            "XDG_RUNTIME_DIR": str(self.tmp),
            "PYTHONUNBUFFERED": "1",
        }

    def start(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Service:
        service = Service(name, argv, env or self.env(), self.tmp / f"{name}.log")
        self.services.append(service)
        return service

    def start_redis(self) -> Service:
        redis = self.start(
            "redis",
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", str(self.tmp)],
        )  # fmt: skip
        wait_until("the private Redis to answer PING", lambda: redis_ping(self.redis_port), 15,
                   0.1, check=[redis])  # fmt: skip
        self.redis = redis
        return redis

    def start_worker(self, env: dict[str, str] | None = None) -> Service:
        self.workers_started += 1
        celery = str(VENV_BIN / "celery")
        name = f"worker{self.workers_started}"
        argv = [celery, "-A", "topicshare", "worker", "--loglevel=INFO", "--concurrency=2",
                "-n", f"{name}@%h"]  # fmt: skip
        self.worker = self.start(name, argv, env)
        return self.worker

    def manage(self, *args: str, settings: str = "topicshare.settings.production",
               timeout: float = 180) -> str:  # fmt: skip
        try:
            result = subprocess.run(
                [PYTHON, "manage.py", *args],
                cwd=REPO,
                env=self.env(settings),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        except subprocess.TimeoutExpired as exc:
            raise FaultError(f"manage.py {args[0]} took longer than {timeout:.0f} s") from exc
        if result.returncode != 0:
            raise FaultError(
                f"manage.py {args[0]} failed ({result.returncode}):\n"
                f"{result.stdout[-1500:]}\n{result.stderr[-3000:]}"
            )
        return result.stdout + result.stderr

    def shell(self, code: str) -> dict:
        output = self.manage("shell", "-c", SHELL_PRELUDE + code, timeout=120)
        line = next((ln for ln in output.splitlines() if ln.startswith("FAULTJSON ")), None)
        if line is None:
            raise FaultError(f"manage.py shell printed no result:\n{output[-2000:]}")
        return json.loads(line.removeprefix("FAULTJSON "))

    def health(self) -> dict:
        response = Browser(self.base).request("/healthz", timeout=10)
        report = json.loads(response.text) if response.status else {}
        report["http_status"] = response.status
        return report

    def healthy(self) -> dict | None:
        report = self.health()
        good = (
            report["http_status"] == 200
            and report.get("database") == "ok"
            and report.get("broker") == "ok"
            and report.get("worker_fresh")
            and report.get("beat_fresh")
        )
        return report if good else None

    def setup(self) -> None:
        if REDIS_PORT == 6379:
            raise FaultError("FAULTS_REDIS_PORT must not be 6379: that is the system Redis")
        if not port_free(self.redis_port):
            self.redis_port = free_port()
            print(f"  port {REDIS_PORT} is taken; the private Redis uses {self.redis_port}")
        (self.tmp / "var" / "media").mkdir(parents=True)
        self.sink.controller.start()
        recreate_database(DATABASE_URL)
        # Redis first: seed_demo's notices nudge the dispatcher, and with the broker down
        # every nudge waits about 6 s (see fault a).
        self.start_redis()
        started = time.monotonic()
        self.manage("migrate", "--noinput")
        # seed_demo refuses production settings (published demo passwords): local settings,
        # same database. It gives the organiser account and the tracks.
        self.manage("seed_demo", settings="topicshare.settings.local")
        self.manage("collectstatic", "--noinput")
        print(f"  migrated, seeded, collected static in {time.monotonic() - started:.0f} s")
        gunicorn = str(VENV_BIN / "gunicorn")
        self.web = self.start(
            "gunicorn",
            [gunicorn, "topicshare.wsgi:application", "--bind", f"127.0.0.1:{self.web_port}",
             "--workers", "2", "--timeout", "60", "--access-logfile", "-"],
        )  # fmt: skip
        self.start_worker()
        self.beat = self.start(
            "beat",
            [str(VENV_BIN / "celery"), "-A", "topicshare", "beat", "--loglevel=INFO",
             "--schedule", str(self.tmp / "celerybeat-schedule")],
        )  # fmt: skip
        self.beat_started = time.monotonic()
        wait_until(
            "/healthz: database, broker, worker and beat healthy",
            self.healthy,
            90,
            check=[self.web, self.worker, self.beat, self.redis],
        )
        print(
            f"  web {self.base} (gunicorn, 2 workers), worker, beat, Redis :{self.redis_port}, "
            f"SMTP sink :{self.sink.port}, database {DATABASE_URL.rsplit('/', 1)[1]}: healthy "
            f"after {time.monotonic() - self.beat_started:.0f} s"
        )

    def wait_sent(self, tag: str, expected: int, timeout: float) -> float:
        """Seconds until the tag's `expected` rows are sent and the sink saw them all."""
        started = time.monotonic()

        def done():
            sent = statuses(tag).get("sent", 0)
            return sent >= expected and len(self.sink.counts(tag)) >= expected

        wait_until(f"{expected} notices to {tag}-* to be sent", done, timeout,
                   check=[self.web, self.worker, self.beat])  # fmt: skip
        return time.monotonic() - started

    def exactly_once(self, tags: dict[str, int]) -> list[str]:
        """Problems: a recipient with no message or more than one, rows not sent."""
        time.sleep(2)  # let anything late (a duplicate) arrive before counting
        problems = []
        for tag, expected in tags.items():
            counts = self.sink.counts(tag)
            rows = statuses(tag)
            twice = {r: n for r, n in counts.items() if n > 1}
            if len(counts) != expected or twice:
                problems.append(
                    f"{tag}: {len(counts)} of {expected} recipients got mail, "
                    f"{len(twice)} more than once"
                )
            if rows != {"sent": expected}:
                problems.append(f"{tag}: rows by status {rows}, expected {{'sent': {expected}}}")
        return problems

    # -- (a) Redis dies --

    def fault_redis(self) -> list[Result]:
        print("\n(a) Redis killed while the site runs")
        details: list[str] = []
        problems: list[str] = []
        started = time.monotonic()
        made = self.shell(
            "a1 = propose('a1', 20); accept(a1); a2 = propose('a2', 20); out(a1=a1, a2=a2)"
        )
        self.wait_sent("a1", 20, 60)
        details.append(
            f"before: a topic with 20 presenters accepted through the services (manage.py "
            f"shell) → 20 notices mailed {time.monotonic() - started:.1f} s after the shell "
            f"started"
        )
        organiser = Browser(self.base)
        login = organiser.login(*ORGANISER)
        if login.status != 302:
            raise FaultError(f"organiser login answered {login.status}")

        self.redis.kill()
        wait_until("Redis to be gone", lambda: not redis_ping(self.redis_port), 10, 0.1)
        killed = time.monotonic()
        details.append(f"Redis SIGKILLed (pid {self.redis.pid})")
        visitor = Browser(self.base)
        for path in ("/", "/topics/", f"/topics/{made['a2']}/"):
            response = visitor.request(path)
            details.append(f"  GET {path}: {response.status} in {response.seconds:.2f} s")
            if response.status != 200:
                problems.append(f"GET {path} answered {response.status} with Redis down")
        report = self.health()
        details.append(
            f"  GET /healthz: {report['http_status']}, database {report.get('database')!r}, "
            f"broker {report.get('broker', '')[:70]!r}"
        )
        if report["http_status"] != 200 or report.get("broker_ok") is not False:
            problems.append(f"/healthz with Redis down: {report}")
        token = organiser.csrf(f"/topics/{made['a2']}/")
        accept = organiser.request(
            f"/topics/{made['a2']}/transition/", {"to": "accepted", "csrfmiddlewaretoken": token}
        )
        queued = statuses("a2")
        details.append(
            f"  organiser accepts a topic in the browser: {accept.status} in "
            f"{accept.seconds:.2f} s; notices {queued}"
        )
        if accept.seconds > 2:
            details.append(
                f"  note: the accept took {accept.seconds:.1f} s — kick_dispatcher() waits for "
                f"kombu's connection retries before giving up on the broker"
            )
        if accept.status != 302 or queued != {"pending": 20}:
            problems.append(f"accepting with Redis down: {accept.status}, rows {queued}")
        started = time.monotonic()
        added = self.shell("out(added=enqueue('a3', 30))")["added"]
        details.append(
            f"  30 notices queued through notification_enqueue (manage.py shell): {added} new, "
            f"{time.monotonic() - started:.1f} s including Django start"
        )
        if added != 30:
            problems.append(f"notification_enqueue with Redis down queued {added}, not 30")

        # (a2) pages that use the Django cache, which lives on the same Redis.
        cache_pages = {}
        for path in ("/sessions/", "/library/", "/library/?q=transformer",
                     "/sessions/calendar.ics"):  # fmt: skip
            cache_pages[path] = visitor.request(path).status
        cache_pages["POST /accounts/login/"] = Browser(self.base).login(*ORGANISER).status
        time.sleep(2)
        while_down = {tag: statuses(tag) for tag in ("a2", "a3")}
        mailed = len(self.sink.counts("a2")) + len(self.sink.counts("a3"))
        details.append(
            f"  {time.monotonic() - killed:.0f} s into the outage: rows {while_down}, "
            f"{mailed} of them mailed"
        )
        if mailed:
            problems.append(f"{mailed} notices were mailed while the broker was down?")

        self.redis = self.start_redis()
        back = time.monotonic()
        details.append(f"Redis restarted, empty, after {back - killed:.1f} s down")
        try:
            waited_a2 = self.wait_sent("a2", 20, 150)
            waited_a3 = self.wait_sent("a3", 30, 30)
            details.append(
                f"  the sweep sent the 50 queued notices {max(waited_a2, waited_a3):.0f} s "
                f"after Redis came back (beat sends notifications.dispatch every 60 s; "
                f"no nudge from this script)"
            )
        except FaultError as exc:
            problems.append(str(exc))
        outbox = self.exactly_once({"a1": 20, "a2": 20, "a3": 30})
        problems += outbox
        details.append(
            "  outbox: " + ("; ".join(outbox) if outbox else "each of the 70 recipients got "
                            "exactly one message; the 70 rows are 'sent'")
        )  # fmt: skip
        report = wait_until("healthz healthy again", self.healthy, 60)
        details.append(
            f"  /healthz after: broker {report['broker']}, worker heartbeat "
            f"{report['worker_heartbeat_age_seconds']} s old, beat "
            f"{report['beat_heartbeat_age_seconds']} s old"
        )
        results = [
            Result(
                "(a) Redis down: pages, healthz, outbox sends everything once after",
                not problems,
                "; ".join(problems) or "pages 200, healthz reports broker down, 70/70 sent once",
                details,
            )
        ]
        broken = {path: status for path, status in cache_pages.items() if status not in (200, 302)}
        results.append(
            Result(
                "(a2) pages that read the cache (on Redis) while Redis is down",
                not broken,
                ", ".join(f"{p} → {s}" for p, s in cache_pages.items()),
                [],
            )
        )
        return results

    # -- (b) PostgreSQL restarts --

    def fault_postgres(self) -> Result:
        print("\n(b) PostgreSQL restarted while requests flow")
        details: list[str] = []
        problems: list[str] = []
        master = self.web.pid
        workers_before = children_of(master)
        others = query(
            "SELECT coalesce(datname, '-'), count(*) FROM pg_stat_activity"
            " WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()"
            " AND datname IS DISTINCT FROM %s GROUP BY 1 ORDER BY 2 DESC",
            (DATABASE_URL.rsplit("/", 1)[1],),
        )
        details.append(
            "other clients' connections dropped by the restart: "
            + (", ".join(f"{db} {n}" for db, n in others) or "none")
        )
        log: list[tuple[float, str, int, float]] = []
        stop = threading.Event()

        def poll():
            browser = Browser(self.base)
            paths = ["/topics/", "/", "/healthz"]
            n = 0
            while not stop.is_set():
                path = paths[n % len(paths)]
                n += 1
                response = browser.request(path, timeout=10)
                log.append((time.monotonic(), path, response.status, response.seconds))
                time.sleep(0.05)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        try:
            time.sleep(2)
            restart_started = time.monotonic()
            argv = ["pg_ctlcluster", "--skip-systemctl-redirect", *PG_CLUSTER, "restart"]
            result = subprocess.run(argv, capture_output=True, text=True, timeout=120)
            restart_done = time.monotonic()
            if result.returncode != 0:
                raise FaultError(f"{' '.join(argv)} failed: {result.stdout}{result.stderr}")
            details.append(
                f"{' '.join(argv)}: {restart_done - restart_started:.1f} s (run from "
                f"{restart_started - log[0][0]:.1f} s into the request stream)"
            )

            def recovered():
                after = [entry for entry in log if entry[0] - entry[3] >= restart_done]
                return len(after) >= 15 and all(e[2] == 200 for e in after[-15:]) and after

            after = wait_until("15 answers of 200 in a row after the restart", recovered, 30, 0.2)
        finally:
            stop.set()
            poller.join(timeout=15)
        failed = [entry for entry in log if entry[2] != 200]
        first_ok = next(
            (e for e in log if e[0] - e[3] >= restart_done and e[2] == 200), None
        )  # fmt: skip
        details.append(
            f"  {len(log)} requests (/topics/, /, /healthz in turn): {len(log) - len(failed)} "
            f"answered 200, {len(failed)} did not"
        )
        for at, path, status, seconds in failed[:8]:
            details.append(
                f"    {path}: {status or 'no answer'} at {at - restart_started:+.2f} s "
                f"from the restart ({seconds:.2f} s)"
            )
        late = [e for e in failed if e[0] - e[3] > restart_done + 1]
        if late:
            problems.append(f"{len(late)} requests failed more than 1 s after the restart")
        during = [e for e in log if restart_started <= e[0] and e[0] - e[3] <= restart_done]
        details.append(
            f"  requests overlapping the restart: {len(during)}, answers "
            f"{dict(collections.Counter(e[2] for e in during))} (0 = no HTTP answer), longest "
            f"{max((e[3] for e in during), default=0):.2f} s"
        )
        details.append(
            f"  first request started after the restart: {first_ok[1]} 200 in "
            f"{first_ok[3] * 1000:.0f} ms; {len(after)} requests after it, the last 15 all 200"
        )
        workers_after = children_of(master)
        same = self.web.running() and workers_after == workers_before
        details.append(
            f"  gunicorn master {master} and workers {sorted(workers_before)}: "
            + ("the same processes, not restarted" if same else f"now {sorted(workers_after)}")
        )
        if not same:
            problems.append("gunicorn workers changed: the app was restarted or crashed")
        started = time.monotonic()
        added = self.shell("out(added=enqueue('b', 10))")["added"]
        self.wait_sent("b", added, 60)
        details.append(
            f"  worker after the restart: {added} new notices queued (manage.py shell) and "
            f"mailed {time.monotonic() - started:.1f} s after the shell started"
        )
        problems += self.exactly_once({"b": 10})
        return Result(
            "(b) PostgreSQL restart: requests recover without restarting the app",
            not problems,
            "; ".join(problems)
            or f"{len(failed)} of {len(log)} requests failed, all within the restart; 200s after",
            details,
        )

    # -- (c) A worker dies in the middle of a batch --

    def fault_worker(self) -> Result:
        print("\n(c) Worker SIGKILLed in the middle of a batch")
        details: list[str] = []
        problems: list[str] = []
        self.sink.delay = SINK_DELAY
        self.shell(f"out(added=enqueue('c', {BATCH_NOTICES}))")
        queued = time.monotonic()
        wait_until(
            f"the sink to receive {KILL_AFTER} messages",
            lambda: sum(self.sink.counts("c").values()) >= KILL_AFTER,
            90,
            0.05,
            check=[self.worker],
        )
        self.worker.kill()
        killed_worker = self.worker
        at_kill = sum(self.sink.counts("c").values())
        time.sleep(2)
        before = self.sink.counts("c")
        rows = statuses("c")
        details.append(
            f"{BATCH_NOTICES} notices queued; the sink takes {SINK_DELAY} s a message; worker "
            f"{killed_worker.name} SIGKILLed {time.monotonic() - queued - 2:.1f} s later with "
            f"{at_kill} messages delivered ({sum(before.values())} after 2 s)"
        )
        details.append(f"  rows right after the kill: {rows}")
        self.sink.delay = 0.0

        worker = self.start_worker()
        restarted = time.time()
        wait_until(
            "the new worker's heartbeat",
            lambda: query(
                "SELECT 1 FROM topicshare_heartbeat WHERE component = 'worker'"
                " AND seen_at > to_timestamp(%s)",
                (restarted,),
            ),
            60,
            check=[worker],
        )
        # The dead worker's claim goes stale STALE_CLAIM_SECONDS after its last renewal; then
        # a sweep (beat's, or the ones sent here every few seconds) sends the rest.
        sender = Celery(broker=f"redis://127.0.0.1:{self.redis_port}/0")

        def all_sent() -> bool:
            sender.send_task("notifications.dispatch")
            return statuses("c") == {"sent": BATCH_NOTICES}

        try:
            wait_until("every notice sent", all_sent, STALE_CLAIM_SECONDS + 60, 3, check=[worker])
        finally:
            sender.close()
        details.append(
            f"  new worker {worker.name}: everything sent {time.time() - restarted:.0f} s after "
            f"it started (claims go stale after {STALE_CLAIM_SECONDS} s without renewal)"
        )
        time.sleep(2)
        counts = self.sink.counts("c")
        rows = statuses("c")
        lost = BATCH_NOTICES - len(counts)
        twice = {r: n for r, n in counts.items() if n > 1}
        duplicates = sum(n - 1 for n in twice.values())
        resent = sum(1 for r in before if counts[r] > 1)
        details.append(
            f"  final: rows {rows}; {len(counts)} of {BATCH_NOTICES} recipients mailed, "
            f"{lost} never, {len(twice)} twice ({duplicates} duplicate messages); of the "
            f"{len(before)} delivered before the kill, {resent} were delivered again"
        )
        if rows != {"sent": BATCH_NOTICES}:
            problems.append(f"rows {rows}")
        if lost:
            problems.append(f"{lost} notices never arrived")
        if duplicates > 1:
            problems.append(
                f"{duplicates} messages sent twice: every message the killed worker had already "
                f"delivered in its batch, not only the one in flight"
            )
        return Result(
            "(c) worker killed mid-batch: nothing lost, nothing sent twice",
            not problems,
            "; ".join(problems) or "every notice arrived once",
            details,
        )

    # -- (d) Providers that fail --

    def fault_providers(self) -> Result:
        print("\n(d) Providers that fail: a mail server that hangs, then flaky SMTP and chat")
        details: list[str] = []
        problems: list[str] = []
        smtp = FlakySMTP(stall=True, refuse=0.25, drop=0.25, per_connection=10, seed=4).start()
        # The chat endpoint is healthy while the mail server hangs (what delays its messages
        # then is the outbox, not the endpoint), flaky afterwards.
        chat = FlakyChat(fail=0, stall_seconds=2.5, seed=4).start()
        try:
            self._providers(smtp, chat, details, problems)
        finally:
            smtp.stop()
            chat.stop()
        return Result(
            "(d) flaky providers: each notice exactly once, chats not held behind SMTP",
            not problems,
            "; ".join(problems) or details[-1].strip(),
            details,
        )

    def _providers(self, smtp: FlakySMTP, chat: FlakyChat, details, problems) -> None:
        # Production settings never post to loopback (chat bots are public services): the
        # worker for this fault runs the local settings, with loopback allowed.
        env = {
            **self.env("topicshare.settings.local"),
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp.port}",
            "EMAIL_TIMEOUT": "2",
            "TOPICSHARE_CHAT_TIMEOUT_SECONDS": "1",
            "TOPICSHARE_OUTBOX_BACKOFF_SECONDS": "1",
            "TOPICSHARE_OUTBOX_BACKOFF_MAX_SECONDS": "8",
            "TOPICSHARE_OUTBOX_TRIP_AFTER": "3",
            "TOPICSHARE_DISPATCH_SECONDS": "2",
            "TOPICSHARE_WEBHOOKS_ALLOW_PRIVATE": "True",
            "TOPICSHARE_WEBHOOKS_ALLOWED_HOSTS": "127.0.0.1",
            "NO_PROXY": "127.0.0.1",
        }
        for service in (self.worker, getattr(self, "beat", None)):
            if service is not None:
                service.stop()
        worker = self.start_worker(env)
        beat = self.start(
            "beat-d",
            [str(VENV_BIN / "celery"), "-A", "topicshare", "beat", "--loglevel=INFO",
             "--schedule", str(self.tmp / "celerybeat-schedule-d")],
            env,
        )  # fmt: skip
        self.beat = beat
        base = chat.url("")
        live = [worker, beat, self.web]
        restarted = time.time()
        wait_until(
            "the fault's worker and beat to beat",
            lambda: len(query(
                "SELECT 1 FROM topicshare_heartbeat WHERE seen_at > to_timestamp(%s)",
                (restarted,),
            )) >= 2,
            60,
            check=live,
        )  # fmt: skip

        # 1. The mail server hangs: the chat messages must arrive anyway.
        started = time.monotonic()
        self.shell(f"out(e=enqueue('dh', {HUNG_EMAILS}), c=chats('dh', {HUNG_CHATS}, {base!r}))")
        hung = 2 * HUNG_CHATS
        wait_until(
            f"the {hung} chat messages while the mail server hangs",
            lambda: sum(n for (_p, m), n in chat.counts().items() if m.startswith("dh-")) >= hung,
            60,
            check=live,
        )
        mailed_while_hung = smtp.total()
        delays_hung = self.chat_delays(chat, "dh")
        details.append(
            f"mail server hanging (accepts, never answers; EMAIL_TIMEOUT 2 s): {HUNG_EMAILS} "
            f"e-mails and {hung} chat messages queued; all {hung} chat messages arrived "
            f"{time.monotonic() - started:.1f} s after the queueing shell started, each "
            f"{max(delays_hung):.1f} s at most after its row was written (median "
            f"{sorted(delays_hung)[len(delays_hung) // 2]:.1f} s); e-mails accepted meanwhile: "
            f"{mailed_while_hung}, SMTP connections tried: {smtp.connections}"
        )
        if mailed_while_hung:
            problems.append(f"{mailed_while_hung} e-mails accepted by a server that hangs?")
        lane = wait_until(
            "the e-mail lane's breaker to open",
            lambda: query(
                "SELECT failures, pauses, last_error FROM topicshare_deliverylane"
                " WHERE key = 'email' AND paused_until > now()"
            ),
            60,
            check=live,
        )[0]
        details.append(
            f"  the e-mail lane paused {time.monotonic() - started:.1f} s after the shell "
            f"started: {lane[0]} failures in a row, pause {lane[1]} ({lane[2][:60]})"
        )

        # 2. The mail server comes back flaky; the bulk of the notices goes out.
        smtp.stall = False
        chat.fail = 1 / 3
        started = time.monotonic()
        wall = time.time()
        self.shell(f"out(e=enqueue('df', {FLAKY_EMAILS}), c=chats('df', {FLAKY_CHATS}, {base!r}))")
        emails = HUNG_EMAILS + FLAKY_EMAILS
        chats = 2 * (HUNG_CHATS + FLAKY_CHATS)

        def delivered():
            mailed = len(self.sink_counts(smtp, ("dh", "df")))
            chatted = len([k for k in chat.counts() if k[1][:2] in ("dh", "df")])
            return mailed >= emails and chatted >= chats and not self.outbox_pending()

        wait_until(f"all {emails + chats} notices delivered", delivered, 150, 1, check=live)
        seconds = time.time() - wall
        time.sleep(3)  # anything late (a duplicate) arrives before counting
        mail_counts = self.sink_counts(smtp, ("dh", "df"))
        chat_counts = {k: n for k, n in chat.counts().items() if k[1][:2] in ("dh", "df")}
        rows = dict(query("SELECT status, count(*) FROM topicshare_notification"
                          " WHERE kind = 'group_joined' AND occasion LIKE 'faults-d%%'"
                          " GROUP BY status"))  # fmt: skip
        attempts = query("SELECT coalesce(sum(attempts), 0) FROM topicshare_notification"
                         " WHERE occasion LIKE 'faults-d%%'")[0][0]  # fmt: skip
        total = emails + chats
        twice = sum(1 for n in [*mail_counts.values(), *chat_counts.values()] if n > 1)
        delays = self.chat_delays(chat, "df")
        details.append(
            f"flaky: SMTP refuses or drops {smtp.refused + smtp.dropped} of {smtp.connections} "
            f"connections ({smtp.refused} refused, {smtp.dropped} dropped before the 250); chat "
            f"endpoint: {chat.stalled} of {chat.requests} requests timed out, {chat.errors} "
            f"answered 5xx"
        )
        details.append(
            f"  {total} notices ({emails} e-mails, {chats} chat messages to 2 bots): rows "
            f"{rows}; {attempts} attempts, {attempts - total} retries; all delivered "
            f"{seconds:.0f} s after the second batch was queued; chat messages of that batch "
            f"arrived at most {max(delays):.1f} s after their rows were written"
        )
        if len(mail_counts) != emails or len(chat_counts) != chats:
            problems.append(
                f"delivered {len(mail_counts)} of {emails} e-mails, {len(chat_counts)} of "
                f"{chats} chat messages"
            )
        if twice:
            problems.append(f"{twice} notices delivered more than once")
        if rows != {"sent": total}:
            problems.append(f"rows by status {rows}, expected {{'sent': {total}}}")
        if not (smtp.refused and smtp.dropped and chat.stalled and chat.errors):
            problems.append("the providers did not fail: nothing was tested")
        details.append(
            f"  {total} of {total} delivered exactly once, none failed; {attempts - total} "
            f"retries; chat delay while SMTP hung ≤ {max(delays_hung):.1f} s; all delivered in "
            f"{seconds:.0f} s"
        )

    def sink_counts(self, smtp: FlakySMTP, tags: tuple[str, ...]) -> collections.Counter:
        with smtp.lock:
            return collections.Counter(
                {r: n for r, n in smtp.accepted.items() if r.split("-", 1)[0] in tags}
            )

    def outbox_pending(self) -> int:
        return query(
            "SELECT count(*) FROM topicshare_notification"
            " WHERE occasion LIKE 'faults-d%%' AND status IN ('pending', 'sending')"
        )[0][0]

    def chat_delays(self, chat: FlakyChat, tag: str) -> list[float]:
        """Seconds from each chat row being written to the endpoint accepting it."""
        written = {
            (urlsplit(url).path, title.split("#")[1]): created
            for url, title, created in query(
                "SELECT c.url, n.title, extract(epoch FROM n.created_at)::float"
                " FROM topicshare_notification n JOIN topicshare_chatwebhook c"
                " ON c.id = n.channel_id WHERE n.title LIKE %s",
                (f"#{tag}-%",),
            )
        }
        with chat.lock:
            accepted = list(chat.accepted)
        delays = []
        for at, path, body in accepted:
            for marker in set(re.findall(r"#([\w-]+)#", body.decode("utf-8", "replace"))):
                created = written.get((urlsplit(path).path, marker))
                if created is not None:
                    delays.append(max(0.0, at - created))
        return delays or [0.0]

    # -- all --

    def run(self) -> int:
        started = time.monotonic()
        results: list[Result] = []
        error = None
        try:
            print(f"faults: temp dir {self.tmp}")
            self.setup()
            steps = [("a", self.fault_redis), ("b", self.fault_postgres), ("c", self.fault_worker),
                     ("d", self.fault_providers)]  # fmt: skip
            for key, step in steps:
                if key not in ONLY:
                    continue
                try:
                    outcome = step()
                except FaultError as exc:
                    outcome = Result(f"({key})", False, str(exc), [])
                for result in outcome if isinstance(outcome, list) else [outcome]:
                    results.append(result)
                    print("\n".join(result.details))
        except FaultError as exc:
            error = str(exc)
        finally:
            for service in reversed(self.services):
                service.stop()
            with contextlib.suppress(Exception):
                self.sink.controller.stop()
        failed = bool(error) or not all(result.ok for result in results)
        if failed and (error or os.environ.get("FAULTS_SHOW_LOGS")):
            for service in self.services:
                print(f"\n----- {service.name}.log (last lines) -----\n{tail(service.log_path)}")
        print()
        for result in results:
            print(f"{'PASS' if result.ok else 'FAIL'} {result.name}: {result.summary}")
        if error:
            print(f"FAIL setup: {error}")
        print(f"faults: {'FAIL' if failed else 'PASS'} in {time.monotonic() - started:.0f} s")
        if failed:
            print(f"logs kept in {self.tmp} (FAULTS_SHOW_LOGS=1 prints their tails)")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)
        return 1 if failed else 0


def main() -> int:
    sys.stdout.reconfigure(line_buffering=True)

    def on_term(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    return Faults().run()


if __name__ == "__main__":
    sys.exit(main())
