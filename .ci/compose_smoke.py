"""Smoke-test docker-compose.yml without Docker.

Runs the `cache`, `migrate`, `web`, `worker` and `beat` commands from docker-compose.yml, with
the environment from its `x-app` anchor, as local processes against a local PostgreSQL and Redis
(the broker). web starts first, on the empty database, and must answer /healthz with 503
"starting"; then the one-shot `migrate` service runs (web, worker and beat wait for it in the
compose file, and web's own command migrates nothing), and web must turn "ready" by itself.
Then worker and beat start, and the smoke waits until /healthz reports the database, the broker
and both heartbeats healthy and the home page answers, and checks that the page cache lands in
the `cache` server with its memory limit and eviction policy.

    .venv/bin/python .ci/compose_smoke.py

SMOKE_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/topicshare_smoke) and
SMOKE_REDIS_URL (default redis://127.0.0.1:6379/5) choose the servers. The database is dropped
and recreated, and the Redis database flushed, at the start of every run.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import unquote, urlsplit

import psycopg
import yaml
from psycopg import sql

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.processes import Service, free_port  # noqa: E402

COMPOSE_FILE = REPO / "docker-compose.yml"
SERVICES = ("migrate", "web", "worker", "beat")
CACHE_SERVICE = "cache"
# The compose file's `s3` service is MinIO; here a local moto server plays it (the same S3 API,
# on a free port), and the migrate service's command creates the buckets in it.
S3_SERVICE = "s3"
S3_SECRET = "compose-smoke-s3-secret"  # noqa: S105 — a throwaway local server
HEALTH_TIMEOUT = 90.0
STOP_GRACE = 10.0
DUMMY_SECRET_KEY = "compose-smoke-not-a-secret-" + "0123456789abcdef" * 2 + "x"
assert len(DUMMY_SECRET_KEY) == 60

_INTERPOLATION = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}"
    r"|(?P<named>[A-Za-z_][A-Za-z0-9_]*))"
)


class SmokeError(Exception):
    pass


# --- docker-compose.yml -------------------------------------------------------------------


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?msg}, ${VAR?msg}, $VAR, $$."""

    def replace(match: re.Match) -> str:
        if match["escaped"]:
            return "$"
        name = match["braced"] or match["named"]
        op, arg = match["op"], match["arg"] or ""
        present = name in variables
        usable = present and (variables[name] != "" or not (op or "").startswith(":"))
        if usable:
            return variables[name]
        if op in (":-", "-"):
            return arg
        if op in (":?", "?"):
            raise SmokeError(f"docker-compose.yml needs {name}: {arg}")
        return ""

    return _INTERPOLATION.sub(replace, value)


def as_dict(environment) -> dict[str, str]:
    """A service's `environment`, in either the mapping or the list form."""
    if environment is None:
        return {}
    if isinstance(environment, dict):
        return {k: "" if v is None else str(v) for k, v in environment.items()}
    result = {}
    for item in environment:
        key, _, value = str(item).partition("=")
        result[key] = value
    return result


def load_command(service: str, variables: dict[str, str]) -> list[str]:
    """One service's command as an argument list, interpolated like compose does."""
    compose = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    command = compose["services"][service].get("command")
    if not command:
        raise SmokeError(f"service {service!r} has no command")
    if isinstance(command, str):
        command = shlex.split(command)
    return [interpolate(str(part), variables) for part in command]


def load_services(variables: dict[str, str]) -> dict[str, dict]:
    """The shell command and environment of each service, interpolated like compose does."""
    compose = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    anchor_env = as_dict((compose.get("x-app") or {}).get("environment"))
    services = {}
    for name in SERVICES:
        service = compose["services"][name]
        argv = load_command(name, variables)
        # `sh -c "..."` runs as it is; any other command becomes one shell line.
        script = argv[2] if argv[:2] == ["sh", "-c"] and len(argv) == 3 else shlex.join(argv)
        environment = {**anchor_env, **as_dict(service.get("environment"))}
        services[name] = {
            "script": script,
            "env": {k: interpolate(v, variables) for k, v in environment.items()},
            "healthcheck": (service.get("healthcheck") or {}).get("test"),
        }
    return services


def check_migrate_once() -> None:
    """Migrations run in one one-shot service that web, worker and beat wait for; no serving
    service runs them (every replica would, and two at once would race)."""
    compose = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))["services"]
    migrate = compose["migrate"]
    if "migrate" not in " ".join(map(str, migrate["command"])):
        raise SmokeError("the migrate service does not run `manage.py migrate`")
    if str(migrate.get("restart", "no")) != "no":
        raise SmokeError('the migrate service must run once (restart: "no")')
    for name in ("web", "worker", "beat"):
        command = " ".join(map(str, compose[name]["command"]))
        if "manage.py migrate" in command:
            raise SmokeError(f"{name} runs the migrations itself: {command}")
        condition = (compose[name].get("depends_on") or {}).get("migrate", {}).get("condition")
        if condition != "service_completed_successfully":
            raise SmokeError(f"{name} does not wait for migrate to complete: {condition!r}")
        if compose[name]["depends_on"]["postgres"]["condition"] != "service_healthy":
            raise SmokeError(f"{name} does not wait for a healthy database")


# --- Local servers ------------------------------------------------------------------------


def recreate_database(url: str) -> None:
    parts = urlsplit(url)
    name = unquote(parts.path.lstrip("/"))
    if not name:
        raise SmokeError(f"no database name in {url}")
    admin_url = parts._replace(path="/postgres").geturl()
    try:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        raise SmokeError(f"cannot recreate database {name!r} at {admin_url}: {exc}") from exc


def _resp(*args: str) -> bytes:
    out = [f"*{len(args)}\r\n".encode()]
    for arg in args:
        data = arg.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


def redis_call(url: str, *commands: list[str], lines: int | None = None) -> bytes:
    """Send commands to the Redis in `url` (after AUTH and SELECT) in plain RESP, so no client
    library is needed; return the raw reply once it has `lines` lines (default: one per
    command)."""
    parts = urlsplit(url)
    db = parts.path.lstrip("/") or "0"
    wire = []
    if parts.password:
        auth = [unquote(parts.username)] if parts.username else []
        wire.append(_resp("AUTH", *auth, unquote(parts.password)))
    wire += [_resp("SELECT", db), *(_resp(*command) for command in commands)]
    wanted = len(wire) - len(commands) + (len(commands) if lines is None else lines)
    try:
        with socket.create_connection((parts.hostname, parts.port or 6379), timeout=5) as sock:
            sock.sendall(b"".join(wire))
            reply = b""
            while reply.count(b"\r\n") < wanted:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                reply += chunk
    except OSError as exc:
        raise SmokeError(f"cannot reach Redis at {url}: {exc}") from exc
    return reply


def flush_redis(url: str) -> None:
    reply = redis_call(url, ["FLUSHDB"])
    if reply.count(b"+OK") < reply.count(b"\r\n"):
        raise SmokeError(f"Redis at {url} refused FLUSHDB: {reply!r}")


def check_cache_server(url: str) -> str:
    """The cache server evicts (allkeys-lru) within a memory limit, and holds the pages."""
    config = redis_call(
        url, ["CONFIG", "GET", "maxmemory-policy"], ["CONFIG", "GET", "maxmemory"], lines=10
    ).split(b"\r\n")
    policy, limit = config[config.index(b"maxmemory-policy") + 2], config[-2]
    if policy != b"allkeys-lru" or not limit.isdigit() or int(limit) == 0:
        raise SmokeError(f"cache server: maxmemory {limit!r}, policy {policy!r}")
    keys = redis_call(url, ["DBSIZE"]).split(b"\r\n")[-2]
    if keys in (b":0", b""):
        raise SmokeError("the cache server holds no keys after a page view")
    return f"maxmemory {int(limit) // 2**20} MB, {policy.decode()}, {keys.decode()[1:]} keys"


def check_buckets(url: str, app_env: dict[str, str]) -> str:
    """migrate's `create_buckets` made the compose file's buckets; the public one is readable by
    anyone (a bucket policy), the private one is not."""
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=url,
        aws_access_key_id=app_env["S3_ACCESS_KEY_ID"],
        aws_secret_access_key=S3_SECRET,
        region_name=app_env["S3_REGION"],
    )
    names = sorted(bucket["Name"] for bucket in client.list_buckets()["Buckets"])
    wanted = sorted([app_env["S3_BUCKET"], app_env["S3_PRIVATE_BUCKET"]])
    if names != wanted:
        raise SmokeError(f"S3 buckets {names}, expected {wanted}")
    policy = client.get_bucket_policy(Bucket=app_env["S3_BUCKET"])["Policy"]
    if "s3:GetObject" not in policy:
        raise SmokeError(f"public bucket policy: {policy}")
    return f"buckets {', '.join(names)} created by migrate's create_buckets; public read policy"


# --- Processes ----------------------------------------------------------------------------


class Process(Service):
    """A compose service's command, run through the shell as compose would."""

    def __init__(self, name: str, script: str, env: dict[str, str], log_path: Path):
        super().__init__(name, ["sh", "-c", script], env, log_path)

    def check_running(self) -> None:
        code = self.popen.poll()
        if code is not None:
            raise SmokeError(f"{self.name} exited early with status {code}")

    def stop(self) -> None:
        super().stop(STOP_GRACE)


def run_step(name: str, argv: list[str], env: dict[str, str], log_path: Path) -> None:
    with open(log_path, "ab") as log:
        result = subprocess.run(
            argv, cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
        )
    if result.returncode != 0:
        raise SmokeError(f"{name} failed with status {result.returncode}")


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty)"


# --- HTTP ---------------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def http_get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with _opener.open(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def is_healthy(report: dict) -> bool:
    return (
        report.get("database") == "ok"
        and report.get("broker") == "ok"
        and report.get("worker_fresh") is True
        and report.get("beat_fresh") is True
    )


def wait_for(description: str, condition, processes: list[Process], deadline: float):
    """Poll condition() until it returns (True, value); fail on timeout or a dead process."""
    last = None
    while time.monotonic() < deadline:
        for process in processes:
            process.check_running()
        try:
            done, last = condition()
        except (OSError, ValueError) as exc:  # not listening yet, or not JSON yet
            last = exc
        else:
            if done:
                return last
        time.sleep(1)
    raise SmokeError(f"timed out waiting for {description}; last result: {last!r}")


# --- The test -----------------------------------------------------------------------------


def main() -> int:
    sys.stdout.reconfigure(line_buffering=True)  # keep stdout and stderr in order in CI logs
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="compose-smoke-"))
    database_url = os.environ.get(
        "SMOKE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/topicshare_smoke"
    )
    redis_url = os.environ.get("SMOKE_REDIS_URL", "redis://127.0.0.1:6379/5")
    port = free_port()
    cache_port = free_port()
    cache_url = f"redis://127.0.0.1:{cache_port}/0"
    s3_port = free_port()
    s3_url = f"http://127.0.0.1:{s3_port}"
    base_url = f"http://127.0.0.1:{port}"
    schedule = tmp / "var" / "celerybeat-schedule"
    overrides = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "REDIS_CACHE_URL": cache_url,
        "DJANGO_SECRET_KEY": DUMMY_SECRET_KEY,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "TOPICSHARE_SITE_URL": base_url,
        "S3_ENDPOINT_URL": s3_url,
        "S3_PUBLIC_ENDPOINT_URL": s3_url,
        "GUNICORN_CMD_ARGS": f"--bind 127.0.0.1:{port} --workers 2 --access-logfile -",
        "TOPICSHARE_HEARTBEAT_SECONDS": "2",
        "STATIC_ROOT": str(tmp / "staticfiles"),
        "MEDIA_ROOT": str(tmp / "var" / "media"),
        "TOPICSHARE_VAR_DIR": str(tmp / "var"),
        "CELERY_BEAT_SCHEDULE_FILENAME": str(schedule),
        # gunicorn's control socket goes here instead of ~/.gunicorn/gunicorn.ctl.
        "XDG_RUNTIME_DIR": str(tmp),
    }
    (tmp / "var" / "media").mkdir(parents=True)
    venv_bin = REPO / ".venv" / "bin"
    base_env = {
        **os.environ,
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONUNBUFFERED": "1",
    }
    # Compose interpolates from the shell environment; these satisfy its ${...:?}.
    variables = {
        **os.environ,
        "DJANGO_SECRET_KEY": DUMMY_SECRET_KEY,
        "TOPICSHARE_SITE_URL": base_url,
        "S3_SECRET_ACCESS_KEY": S3_SECRET,
    }

    processes: list[Process] = []
    logs = [tmp / "collectstatic.log"]
    ok = False
    try:
        services = load_services(variables)
        beat_script, count = re.subn(
            r"(--schedule[= ]|-s )\S+",
            rf"\g<1>{shlex.quote(str(schedule))}",
            services["beat"]["script"],
        )
        if count != 1:
            raise SmokeError("beat command has no --schedule path to rewrite")
        services["beat"]["script"] = beat_script
        print(f"compose smoke: {COMPOSE_FILE.name}, temp dir {tmp}")
        for name in SERVICES:
            print(f"  {name}: {services[name]['script']}")

        # The cache service's own command, on a free port, keeping nothing on disk.
        cache_argv = load_command(CACHE_SERVICE, variables)
        if not shutil.which(cache_argv[0]):
            raise SmokeError(f"the cache service needs {cache_argv[0]} on PATH")
        cache_argv += ["--port", str(cache_port), "--bind", "127.0.0.1", "--dir", str(tmp)]
        print(f"  {CACHE_SERVICE}: {shlex.join(cache_argv)}")

        recreate_database(database_url)
        flush_redis(redis_url)
        print(f"  database {database_url} recreated, redis {redis_url} flushed")

        env = {name: {**base_env, **services[name]["env"], **overrides} for name in SERVICES}
        # The Dockerfile's build step (production settings' manifest storage needs it).
        run_step(
            "collectstatic",
            [str(venv_bin / "python"), "manage.py", "collectstatic", "--noinput"],
            env["web"],
            logs[0],
        )
        print(f"  collectstatic done ({env['web']['DJANGO_SETTINGS_MODULE']})")

        deadline = time.monotonic() + HEALTH_TIMEOUT
        logs.append(tmp / "cache.log")
        processes.append(
            Process(CACHE_SERVICE, shlex.join(cache_argv), base_env, tmp / "cache.log")
        )

        def cache_up():
            try:
                reply = redis_call(cache_url, ["PING"])
            except SmokeError as exc:  # not listening yet
                return False, exc
            return b"+PONG" in reply, reply

        wait_for("the cache server to answer PING", cache_up, processes, deadline)

        if S3_SERVICE not in yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))["services"]:
            raise SmokeError(f"docker-compose.yml has no {S3_SERVICE} service")
        s3_argv = [str(venv_bin / "moto_server"), "-H", "127.0.0.1", "-p", str(s3_port)]
        print(f"  {S3_SERVICE}: {shlex.join(s3_argv)} (in place of the compose image)")
        logs.append(tmp / "s3.log")
        processes.append(Process(S3_SERVICE, shlex.join(s3_argv), base_env, tmp / "s3.log"))

        def s3_up():
            status, _headers, body = http_get(f"{s3_url}/")
            return status == 200, (status, body[:200])

        wait_for("the S3 server to answer", s3_up, processes, deadline)

        def web_up():
            status, _headers, body = http_get(f"{base_url}/healthz")
            return status == 200, (status, body[:300])

        def all_healthy():
            status, _headers, body = http_get(f"{base_url}/healthz")
            report = json.loads(body)
            return status == 200 and is_healthy(report), (status, report)

        def start(name: str) -> None:
            log = tmp / f"{name}.log"
            logs.append(log)
            processes.append(Process(name, services[name]["script"], env[name], log))

        check_migrate_once()

        def web_starting():
            status, _headers, body = http_get(f"{base_url}/healthz")
            report = json.loads(body)
            return status == 503 and report.get("state") == "starting", (status, report)

        # web before its migrations (a new replica while `migrate` still runs): it serves, and
        # tells the probe it is not ready, instead of failing or migrating by itself.
        start("web")
        _status, report = wait_for("web to answer 503 starting", web_starting, processes, deadline)
        print(
            f"  web before migrate: /healthz 503 state={report['state']} "
            f"migrations={report['migrations']}"
        )
        run_step(
            "migrate",
            ["sh", "-c", services["migrate"]["script"]],
            env["migrate"],
            tmp / "migrate.log",
        )
        logs.append(tmp / "migrate.log")
        print("  migrate: done (once; exit 0)")
        _status, body = wait_for("web to answer /healthz with 200", web_up, processes, deadline)
        state = re.search(rb'"state": "(\w+)"', body)
        state = state.group(1).decode() if state else "?"
        print(f"  web {state} on {base_url} after {time.monotonic() - started:.1f} s")
        start("worker")
        start("beat")
        _status, report = wait_for(
            "database, broker, worker and beat to be healthy", all_healthy, processes, deadline
        )

        # The compose health check, pointed at our port.
        check = services["web"]["healthcheck"]
        if check and check[0] in ("CMD", "CMD-SHELL"):
            argv = [part.replace("127.0.0.1:8000", f"127.0.0.1:{port}") for part in check[1:]]
            if check[0] == "CMD-SHELL":
                argv = ["sh", "-c", " ".join(argv)]
            try:
                code = subprocess.run(argv, env=env["web"], cwd=REPO, timeout=30).returncode
            except subprocess.TimeoutExpired:
                code = "timeout"
            if code != 0:
                raise SmokeError(f"web health check {check} failed: {code}")

        home_status, _headers, home = http_get(f"{base_url}/", {"X-Forwarded-Proto": "https"})
        if home_status != 200:
            raise SmokeError(f"GET / (X-Forwarded-Proto: https) answered {home_status}")
        plain_status, plain_headers, _body = http_get(f"{base_url}/")
        if plain_status != 301 or not plain_headers.get("Location", "").startswith("https://"):
            raise SmokeError(f"GET / over plain HTTP should redirect to https, got {plain_status}")
        cache_report = check_cache_server(cache_url)
        s3_report = check_buckets(s3_url, services["web"]["env"])
        css = re.search(rb'/static/[^"\']+\.[0-9a-f]{12}\.css', home)
        if not css:
            raise SmokeError("home page links no hashed stylesheet (manifest storage)")
        css_status, _headers, _body = http_get(
            f"{base_url}{css.group().decode()}", {"X-Forwarded-Proto": "https"}
        )
        if css_status != 200:
            raise SmokeError(f"GET {css.group().decode()} answered {css_status}")

        print("compose smoke passed:")
        print(
            f"  /healthz 200: database={report['database']} broker={report['broker']} "
            f"worker age {report['worker_heartbeat_age_seconds']} s "
            f"(fresh={report['worker_fresh']}), beat age {report['beat_heartbeat_age_seconds']} s "
            f"(fresh={report['beat_fresh']})"
        )
        print("  web health check command: ok")
        print(f"  GET / with X-Forwarded-Proto: https -> 200 ({len(home)} bytes)")
        print(f"  GET / over plain HTTP -> 301 {plain_headers['Location']}")
        print(f"  GET {css.group().decode()} -> 200 (whitenoise, manifest)")
        print(f"  cache server: {cache_report}")
        print(f"  s3: {s3_report}")
        print(f"  took {time.monotonic() - started:.1f} s")
        ok = True
    except SmokeError as exc:
        print(f"compose smoke FAILED: {exc}", file=sys.stderr)
    finally:
        for process in reversed(processes):
            process.stop()
        print(f"  stopped {', '.join(p.name for p in processes) or 'nothing'}")
        if not ok:
            for log in (log for log in logs if log.exists()):
                print(f"\n----- {log.name} (last lines) -----\n{tail(log)}", file=sys.stderr)
            print(f"\nlogs kept in {tmp}", file=sys.stderr)
    if ok:
        shutil.rmtree(tmp, ignore_errors=True)
        return 0
    return 1


if __name__ == "__main__":
    sys.exit(main())
