"""`make load`: a load test over HTTP on 127.0.0.1 — gunicorn (production settings) in front
of a throwaway PostgreSQL database, driven by wrk. Prints figures; exits non-zero only if a
request failed (socket error, timeout, or a status outside 2xx/3xx).

    .venv/bin/python bench/load.py

What it does:

1. Drops and re-creates LOAD_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/
   topicshare_load), migrates, runs seed_demo, and bulk-adds 100 presenters, 500 topics,
   300 weekly sessions and 10,000 library items with bench/run.py's functions (in a child
   process: importing bench/run.py sets Django up on the bench database).
2. collectstatic into a temp dir, then starts a private redis-server (the cache, as in
   production; LOAD_REDIS_URL uses an existing one instead) and gunicorn (topicshare.wsgi,
   topicshare.settings.production, a dummy secret key, plain HTTP).
3. wrk with LOAD_CONNECTIONS (50) connections for LOAD_SECONDS (60 s) over a mix of pages
   (bench/load.lua rotates over them), then each page alone for LOAD_PAGE_SECONDS (10 s) with
   LOAD_PAGE_CONNECTIONS (16).
4. Stops gunicorn and Redis (also on error or Ctrl-C) and drops nothing: the database stays
   for inspection and is re-created on the next run.

Anonymous pages are served from the page cache (topicshare/core/pagecache.py, on Redis, 60 s by
default), so most requests of a run are cache hits; the tables show the hit ratio.
LOAD_PAGE_CACHE_SECONDS=0 switches it off to measure the views themselves.

Other knobs: LOAD_WORKERS (3), LOAD_WORKER_CLASS (sync; gthread uses LOAD_THREADS_PER_WORKER,
default 4), LOAD_WRK_THREADS (2), LOAD_TIMEOUT (wrk's per-request timeout, 10 s).
The figures are indicative: wrk, gunicorn and PostgreSQL share this machine's cores.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unicodedata
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.processes import Service, free_port  # noqa: E402, F401 — run.py uses both

VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python")
LUA = ROOT / "bench" / "load.lua"

DATABASE_URL = os.environ.get(
    "LOAD_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/topicshare_load"
)
SECONDS = int(os.environ.get("LOAD_SECONDS", "60"))
CONNECTIONS = int(os.environ.get("LOAD_CONNECTIONS", "50"))
PAGE_SECONDS = int(os.environ.get("LOAD_PAGE_SECONDS", "10"))
PAGE_CONNECTIONS = int(os.environ.get("LOAD_PAGE_CONNECTIONS", "16"))
WRK_THREADS = int(os.environ.get("LOAD_WRK_THREADS", "2"))
WORKERS = int(os.environ.get("LOAD_WORKERS", "3"))
WORKER_CLASS = os.environ.get("LOAD_WORKER_CLASS", "sync")
THREADS_PER_WORKER = int(os.environ.get("LOAD_THREADS_PER_WORKER", "4"))
TIMEOUT = os.environ.get("LOAD_TIMEOUT", "10s")
SEED = {"presenters": 100, "topics": 500, "sessions": 300, "library": 10000}

# (label, path); {session} is filled in with a seeded upcoming session.
PAGES = [
    ("home", "/"),
    ("topic sheet", "/topics/"),
    ("sessions", "/sessions/"),
    ("session detail", "/sessions/{session}/"),
    ("library ?q=蒸馏", "/library/?q=%E8%92%B8%E9%A6%8F"),
    ("library ?q=transformer", "/library/?q=transformer"),
    ("calendar.ics", "/sessions/calendar.ics"),
]


class LoadError(Exception):
    pass


# --- Seeding (runs in a child process: `load.py --seed`) ----------------------------------


def seed() -> None:
    """Migrate, seed_demo and bulk-add data with bench/run.py's functions. Importing bench/run
    drops and creates BENCH_DATABASE_URL and sets Django up on it (test settings)."""
    sys.path.insert(0, str(ROOT / "bench"))
    import run as bench  # the import itself prepares the database
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command

    from library.models import LibraryItem
    from members.models import User
    from sessions.models import Topic, WeeklySession

    started = time.monotonic()
    call_command("migrate", verbosity=0)
    call_command("seed_demo", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    password = make_password(None)
    User.objects.bulk_create(
        User(email=f"presenter-{n}@load.example.org", display_name=f"讲者{n}", password=password)
        for n in range(SEED["presenters"])
    )
    bench.add_topics(SEED["topics"])
    bench.add_sessions(SEED["sessions"])
    bench.add_library(SEED["library"])  # ends with VACUUM ANALYZE on PostgreSQL
    upcoming = WeeklySession.objects.filter(status="scheduled").order_by("start")
    session = upcoming.exclude(topic__members_only=True).first()
    topics = Topic.objects.count()
    sessions = WeeklySession.objects.count()
    presenters = WeeklySession.objects.values("topic__proposer").distinct().count()
    library = LibraryItem.objects.count()
    from members.ledger.services import current_season
    from sessions.models import Participation

    member_group = (
        Participation.objects.filter(user__email="member@demo.topicshare.local")
        .values_list("topic_id", flat=True)
        .first()
    )
    print(
        "SEEDJSON "
        + json.dumps(
            {
                "session": session.pk,
                "topic": session.topic_id,
                "group_topic": member_group,
                "season": current_season().pk,
                "topics": topics,
                "sessions": sessions,
                "presenters": presenters,
                "library": library,
                "seconds": round(time.monotonic() - started, 1),
            }
        ),
        flush=True,
    )


# --- Processes ----------------------------------------------------------------------------


def run_step(name: str, argv: list[str], env: dict[str, str], timeout: float) -> str:
    try:
        result = subprocess.run(
            argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        raise LoadError(f"{name} took longer than {timeout:.0f} s") from exc
    if result.returncode != 0:
        raise LoadError(
            f"{name} failed ({result.returncode}):\n{result.stdout[-2000:]}{result.stderr[-3000:]}"
        )
    return result.stdout


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def gunicorn_rss(master: int) -> tuple[float, list[float]]:
    return rss_mib(master), [rss_mib(pid) for pid in children_of(master)]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def http_status(url: str) -> int:
    """The status of GET url, redirects not followed."""
    try:
        with _opener.open(url, timeout=10) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def wait_for_web(base: str, web: Service, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        if not web.running():
            raise LoadError(f"gunicorn exited ({web.popen.returncode}); see {web.log_path}")
        try:
            if (last := http_status(f"{base}/healthz")) == 200:
                return
        except OSError as exc:
            last = exc
        time.sleep(0.5)
    raise LoadError(f"gunicorn did not answer /healthz with 200 in {timeout:.0f} s: {last!r}")


def wait_for_redis(port: int, server: Service, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.running():
            raise LoadError(f"redis-server exited; see {server.log_path}")
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", port), timeout=1) as sock,
        ):
            sock.sendall(b"PING\r\n")
            if sock.recv(64).startswith(b"+PONG"):
                return
        time.sleep(0.2)
    raise LoadError(f"redis-server on {port} did not answer PING in {timeout:.0f} s")


# --- wrk ----------------------------------------------------------------------------------


def private_redis(tmp: Path, services: list[Service]) -> str:
    """A redis-server of this run's own on a free port, keeping nothing on disk; its URL."""
    redis_port = free_port()
    redis = Service(
        "redis-server",
        ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
         "--save", "", "--appendonly", "no", "--daemonize", "no", "--dir", str(tmp)],
        dict(os.environ),
        tmp / "redis.log",
    )  # fmt: skip
    services.append(redis)
    wait_for_redis(redis_port, redis)
    return f"redis://127.0.0.1:{redis_port}/0"


def production_env(
    *, tmp: Path, base: str, database_url: str, redis_url: str, run: str, **extra: str
) -> dict[str, str]:
    """The environment of gunicorn and manage.py under the production settings, plain HTTP on
    127.0.0.1, files in `tmp`; `extra` on top."""
    return {
        **os.environ,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "DJANGO_SETTINGS_MODULE": "topicshare.settings.production",
        "DJANGO_SECRET_KEY": f"{run}-dummy-{secrets.token_urlsafe(48)}",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "TOPICSHARE_SITE_URL": base,
        "DJANGO_SECURE_SSL_REDIRECT": "False",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "REDIS_CACHE_URL": redis_url,  # would win over REDIS_URL if set in the caller's env
        "STATIC_ROOT": str(tmp / "staticfiles"),
        "MEDIA_ROOT": str(tmp / "media"),
        "TOPICSHARE_VAR_DIR": str(tmp / "var"),
        "DJANGO_LOG_LEVEL": "WARNING",
        "XDG_RUNTIME_DIR": str(tmp),
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def wrk(base: str, paths: list[str], seconds: int, connections: int) -> dict:
    threads = max(1, min(WRK_THREADS, connections))
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        f"--timeout={TIMEOUT}",
        "--latency",
        "-s",
        str(LUA),
        base,
        "--",
        *paths,
    ]
    try:
        result = subprocess.run(
            argv, capture_output=True, text=True, timeout=seconds + 60, stdin=subprocess.DEVNULL
        )
    except subprocess.TimeoutExpired as exc:
        raise LoadError(f"wrk did not finish within {seconds + 60} s") from exc
    line = next((ln for ln in result.stdout.splitlines() if ln.startswith("LOADJSON ")), None)
    if result.returncode != 0 or line is None:
        raise LoadError(f"wrk failed ({result.returncode}): {result.stdout}{result.stderr}")
    figures = json.loads(line.removeprefix("LOADJSON "))
    figures["rate"] = figures["requests"] / (figures["duration_us"] / 1e6)
    figures["socket_errors"] = sum(figures[key] for key in ("connect", "read", "write", "timeout"))
    return figures


def pad(text: str, width: int) -> str:
    """Left-align in a terminal, where CJK characters take two columns."""
    columns = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(0, width - columns)


def ms(microseconds: float) -> str:
    return f"{microseconds / 1000:.1f}"


# --- The run ------------------------------------------------------------------------------


def main() -> int:
    sys.stdout.reconfigure(line_buffering=True)
    if shutil.which("wrk") is None:
        print("load: wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="topicshare-load-"))
    services: list[Service] = []
    failed = True

    def on_term(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    try:
        # 1. Data.
        print(f"load: seeding {DATABASE_URL} (dropped and re-created) …")
        seed_env = {**os.environ, "BENCH_DATABASE_URL": DATABASE_URL, "PYTHONUNBUFFERED": "1"}
        out = run_step("seeding", [PYTHON, __file__, "--seed"], seed_env, timeout=600)
        seeded = json.loads(next(ln for ln in out.splitlines() if ln.startswith("SEEDJSON "))[9:])
        print(
            f"  {seeded['topics']} topics, {seeded['sessions']} sessions by "
            f"{seeded['presenters']} presenters, {seeded['library']} library items "
            f"({seeded['seconds']} s)"
        )

        # 2. Servers.
        redis_url = os.environ.get("LOAD_REDIS_URL", "") or private_redis(tmp, services)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = production_env(
            tmp=tmp,
            base=base,
            database_url=DATABASE_URL,
            redis_url=redis_url,
            run="load-test",
            **(
                {"TOPICSHARE_PAGE_CACHE_SECONDS": os.environ["LOAD_PAGE_CACHE_SECONDS"]}
                if "LOAD_PAGE_CACHE_SECONDS" in os.environ
                else {}
            ),
        )
        run_step("collectstatic", [PYTHON, "manage.py", "collectstatic", "--noinput"], env, 300)
        gunicorn = [
            str(VENV_BIN / "gunicorn"),
            "topicshare.wsgi:application",
            "--bind", f"127.0.0.1:{port}",
            "--workers", str(WORKERS),
            "--worker-class", WORKER_CLASS,
            "--timeout", "60",
            "--backlog", "2048",
        ]  # fmt: skip
        if WORKER_CLASS == "gthread":
            gunicorn += ["--threads", str(THREADS_PER_WORKER)]
        web = Service("gunicorn", gunicorn, env, tmp / "gunicorn.log")
        services.append(web)
        wait_for_web(base, web, timeout=60)

        paths = [path.format(session=seeded["session"]) for _label, path in PAGES]
        for path in paths:  # warm every worker a little, and refuse to measure error pages
            for _ in range(WORKERS):
                status = http_status(base + path)
                if status != 200:
                    raise LoadError(f"GET {path} answered {status}; not load-testing an error")
        master = web.popen.pid
        rss_idle = gunicorn_rss(master)

        # 3. Load.
        load = os.getloadavg()
        print(
            f"load: gunicorn {WORKERS} × {WORKER_CLASS}"
            + (f" ({THREADS_PER_WORKER} threads)" if WORKER_CLASS == "gthread" else "")
            + f" on {base}, {os.cpu_count()} cores, load average {load[0]:.2f} before the run"
        )
        print(
            f"mix: {len(paths)} pages in rotation, {CONNECTIONS} connections, {SECONDS} s, "
            f"{WRK_THREADS} wrk threads, timeout {TIMEOUT} …"
        )
        mix = wrk(base, paths, SECONDS, CONNECTIONS)
        rss_loaded = gunicorn_rss(master)
        per_page = []
        for (label, _path), path in zip(PAGES, paths, strict=True):
            print(f"  page alone: {label} ({PAGE_CONNECTIONS} connections, {PAGE_SECONDS} s) …")
            per_page.append((label, path, wrk(base, [path], PAGE_SECONDS, PAGE_CONNECTIONS)))
        rss_end = gunicorn_rss(master)

        # 4. Figures.
        print()
        print(
            f"TopicShare load test — wrk, {CONNECTIONS} connections, {SECONDS} s, "
            f"gunicorn {WORKERS} × {WORKER_CLASS}, PostgreSQL, {os.cpu_count()} cores (shared), "
            f"page cache {env.get('TOPICSHARE_PAGE_CACHE_SECONDS', '60 (default)')} s"
        )
        print("path mix (rotating): " + " ".join(paths))
        header = (
            f"{'run':<26} {'requests':>9} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
            f"{'max ms':>8} {'KiB':>6} {'cached':>6} {'sock err':>8} {'non-2xx/3xx':>11}"
        )
        print(header)
        print("-" * len(header))

        def row(label: str, f: dict) -> str:
            return (
                f"{pad(label, 26)} {f['requests']:>9} {f['rate']:>8.1f} {ms(f['p50_us']):>8} "
                f"{ms(f['p95_us']):>8} {ms(f['p99_us']):>8} {ms(f['max_us']):>8} "
                f"{f['bytes'] / max(1, f['requests']) / 1024:>6.1f} "
                f"{100 * f['cache_hits'] / max(1, f['requests']):>5.0f}% "
                f"{f['socket_errors']:>8} {f['status_errors']:>11}"
            )

        print(row(f"mix ({len(paths)} pages)", mix))
        print(
            f"  responses: {mix['ok']} 2xx, {mix['redirects']} 3xx, {mix['bad']} other; "
            f"{mix['cache_hits']} served from the page cache; "
            f"load average {os.getloadavg()[0]:.2f} after the mix"
        )
        rss_text = ", ".join(f"{r:.0f}" for r in rss_loaded[1])
        print(
            f"worker RSS MiB: idle {', '.join(f'{r:.0f}' for r in rss_idle[1])} → after the mix "
            f"{rss_text} → at the end {', '.join(f'{r:.0f}' for r in rss_end[1])}; "
            f"master {rss_end[0]:.0f}"
        )
        if mix["socket_errors"]:
            print(
                f"  socket errors: connect {mix['connect']}, read {mix['read']}, "
                f"write {mix['write']}, timeout {mix['timeout']}"
            )
        if mix["bad_statuses"]:
            print(f"  non-2xx/3xx by status: {mix['bad_statuses']}")
        print()
        print(f"each page alone ({PAGE_CONNECTIONS} connections, {PAGE_SECONDS} s):")
        print(header)
        print("-" * len(header))
        for label, _path, figures in per_page:
            print(row(label, figures))
            if figures["bad_statuses"]:
                print(f"  non-2xx/3xx by status: {figures['bad_statuses']}")
        runs = [mix, *(figures for _label, _path, figures in per_page)]
        errors = sum(f["socket_errors"] + f["status_errors"] for f in runs)
        print()
        print(f"load: {'FAIL' if errors else 'PASS'} — {errors} failed requests in all runs; "
              f"took {time.monotonic() - started:.0f} s")  # fmt: skip
        failed = bool(errors)
    except LoadError as exc:
        print(f"load FAILED: {exc}", file=sys.stderr)
    finally:
        for service in reversed(services):
            service.stop()
        if failed:
            for service in services:
                with contextlib.suppress(OSError):
                    tail = service.log_path.read_text(errors="replace").splitlines()[-30:]
                    print(f"----- {service.name} log (last lines) -----", file=sys.stderr)
                    print("\n".join(tail), file=sys.stderr)
        shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--seed"]:
        seed()
    else:
        sys.exit(main())
