"""Two web nodes on one PostgreSQL, Redis and object store: what a second node must share.

    .venv/bin/python .ci/two_node_smoke.py

Starts, as child processes it owns: a moto S3 server and two gunicorn instances (production
settings, DEBUG off, plain HTTP on 127.0.0.1, the same DJANGO_SECRET_KEY, DATABASE_URL,
REDIS_URL and S3_*) on free ports, A and B, on a fresh database (TWONODE_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/topicshare_twonode, dropped and re-created) and a flushed
Redis database (TWONODE_REDIS_URL, default redis://127.0.0.1:6379/7). Then, with `requests`:

1. signs in on A (allauth's form, with its CSRF token) and opens /me/ on B with A's cookie;
2. uploads slides through the library's materials form on A while B's anonymous, cached page
   of that item is polled without pause: the change must show on B within 1 s of A's answer;
3. downloads the slides through B's permission-checked view (a redirect to a presigned URL in
   the bucket) and compares the bytes; nothing may be written to either node's MEDIA_ROOT.

Prints what it checked, with figures, and exits non-zero on any failure; the processes are
stopped in every case.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / ".ci"))

from compose_smoke import (  # noqa: E402
    SmokeError,
    flush_redis,
    recreate_database,
    run_step,
    tail,
    wait_for,
)

from tests.processes import Service, free_port  # noqa: E402

VENV_BIN = REPO / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python")
DATABASE_URL = os.environ.get(
    "TWONODE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/topicshare_twonode"
)
REDIS_URL = os.environ.get("TWONODE_REDIS_URL", "redis://127.0.0.1:6379/7")
SECRET_KEY = "two-node-smoke-not-a-secret-" + "0123456789abcdef" * 2 + "y"
EMAIL, PASSWORD = "organiser@twonode.example.org", "two-node-smoke-Password-1"
CHANGE_DEADLINE = 1.0  # seconds from A's answer until B's cached page shows the change
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + b"% two-node smoke\n" * 20_000

SETUP = f"""
from allauth.account.models import EmailAddress
from library.models import LibraryItem
from members.models import User
from members.roles import Role
from members.services import role_set
user = User.objects.create_user(email={EMAIL!r}, password={PASSWORD!r}, display_name="Two Node")
role_set(user=user, role=Role.ORGANISER)
EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=True)
item = LibraryItem.objects.create(title="Two-node smoke: LightGCN")
item.presenters.set([user])
print("ITEM", item.pk)
"""


class Node(Service):
    def check_running(self) -> None:
        code = self.popen.poll()
        if code is not None:
            raise SmokeError(f"{self.name} exited early with status {code}")


class Client:
    """Keeps cookies by hand: production marks them Secure, and this talks plain HTTP."""

    def __init__(self, cookies: dict[str, str] | None = None):
        self.cookies = dict(cookies or {})

    def request(self, method: str, url: str, **kwargs) -> requests.Response:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        response = requests.request(
            method, url, headers=headers, allow_redirects=False, timeout=10, **kwargs
        )
        self.cookies.update(response.cookies.get_dict())
        return response

    def csrf(self, url: str) -> str:
        page = self.request("GET", url)
        found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        if page.status_code != 200 or not found:
            raise SmokeError(f"GET {url}: {page.status_code}, no CSRF token")
        return found.group(1)


def main() -> int:
    sys.stdout.reconfigure(line_buffering=True)
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="two-node-smoke-"))
    s3_port, port_a, port_b = free_port(), free_port(), free_port()
    s3_url = f"http://127.0.0.1:{s3_port}"
    base_a, base_b = f"http://127.0.0.1:{port_a}", f"http://127.0.0.1:{port_b}"
    common = {
        **os.environ,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "topicshare.settings.production",
        "DJANGO_SECRET_KEY": SECRET_KEY,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        # Plain HTTP on 127.0.0.1; cookies stay Secure (we send them by hand).
        "DJANGO_SECURE_SSL_REDIRECT": "False",
        "TOPICSHARE_SITE_URL": base_a,
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "REDIS_CACHE_URL": REDIS_URL,
        "CELERY_BROKER_URL": REDIS_URL,
        "EMAIL_URL": "consolemail://",
        "S3_BUCKET": "topicshare",
        "S3_PRIVATE_BUCKET": "topicshare-private",
        "S3_ENDPOINT_URL": s3_url,
        "S3_ACCESS_KEY_ID": "two-node",
        "S3_SECRET_ACCESS_KEY": "two-node-secret",
        "S3_REGION": "us-east-1",
        "STATIC_ROOT": str(tmp / "staticfiles"),
        "XDG_RUNTIME_DIR": str(tmp),
    }
    # Each node its own disk: whatever they share must come through the services above.
    node_env = {
        name: {
            **common,
            "TOPICSHARE_VAR_DIR": str(tmp / name / "var"),
            "MEDIA_ROOT": str(tmp / name / "media"),
            "PRIVATE_MEDIA_ROOT": str(tmp / name / "private"),
        }
        for name in ("a", "b")
    }
    services: list[Node] = []
    logs = [tmp / "setup.log"]
    ok = False
    try:
        recreate_database(DATABASE_URL)
        flush_redis(REDIS_URL)
        print(f"two-node smoke: database {DATABASE_URL} recreated, redis {REDIS_URL} flushed")
        logs.append(tmp / "s3.log")
        s3 = Node("s3", [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(s3_port)],
                  common, tmp / "s3.log")  # fmt: skip
        services.append(s3)
        wait_for("the S3 server", lambda: (requests.get(s3_url, timeout=2).ok, None), services,
                 time.monotonic() + 30)  # fmt: skip

        env = node_env["a"]
        for step in (["migrate", "--noinput"], ["create_buckets"],
                     ["collectstatic", "--noinput"]):  # fmt: skip
            run_step(step[0], [PYTHON, "manage.py", *step], env, logs[0])
        setup = subprocess.run(
            [PYTHON, "manage.py", "shell", "-c", SETUP], cwd=REPO, env=env,
            capture_output=True, text=True,
        )  # fmt: skip
        found = re.search(r"^ITEM (\d+)$", setup.stdout, re.M)
        if setup.returncode != 0 or not found:
            raise SmokeError(f"creating the organiser and item failed: {setup.stderr[-2000:]}")
        item = int(found.group(1))
        print(f"  migrated, buckets and static files made, organiser and library item {item}")

        for name, port in (("a", port_a), ("b", port_b)):
            (tmp / name / "media").mkdir(parents=True)
            (tmp / name / "private").mkdir(parents=True)
            logs.append(tmp / f"web-{name}.log")
            argv = [str(VENV_BIN / "gunicorn"), "topicshare.wsgi:application",
                    "--bind", f"127.0.0.1:{port}", "--workers", "2"]  # fmt: skip
            services.append(Node(f"web-{name}", argv, node_env[name], tmp / f"web-{name}.log"))
        for base in (base_a, base_b):
            wait_for(f"{base}/healthz", lambda b=base: (requests.get(f"{b}/healthz", timeout=2)
                     .status_code == 200, None), services, time.monotonic() + 60)  # fmt: skip
        print(f"  node A {base_a}, node B {base_b} (gunicorn, 2 workers each), S3 {s3_url}")

        # 1. Signed in on A, signed in on B.
        member = Client()
        token = member.csrf(f"{base_a}/accounts/login/")
        login = member.request(
            "POST",
            f"{base_a}/accounts/login/",
            data={"login": EMAIL, "password": PASSWORD, "csrfmiddlewaretoken": token},
        )
        if login.status_code != 302 or "sessionid" not in member.cookies:
            raise SmokeError(f"login on A answered {login.status_code}, no session")
        me_b = member.request("GET", f"{base_b}/me/")
        if me_b.status_code != 200 or "Two Node" not in me_b.text:
            raise SmokeError(f"GET /me/ on B with A's session: {me_b.status_code}")
        anonymous_me = requests.get(f"{base_b}/me/", allow_redirects=False, timeout=10)
        if anonymous_me.status_code != 302:
            raise SmokeError(f"GET /me/ on B without a session: {anonymous_me.status_code}")

        # 2. Slides uploaded on A; B's cached page, polled without pause, shows them.
        page_b = f"{base_b}/library/{item}/"
        for _ in range(3):  # fill the page cache, and see B's workers answer from it
            warm = requests.get(page_b, timeout=10)
            if warm.status_code != 200 or 'data-role="slides"' in warm.text:
                raise SmokeError(f"B's item page before the upload: {warm.status_code}")
        if warm.headers.get("X-Page-Cache") != "hit":
            raise SmokeError("B's anonymous item page does not come from the page cache")
        seen: dict[str, float] = {}
        stop = threading.Event()
        polls = {"count": 0, "hits": 0}

        def poll_b():
            session = requests.Session()
            while not stop.is_set():
                response = session.get(page_b, timeout=10)
                body = response.text
                polls["count"] += 1
                polls["hits"] += response.headers.get("X-Page-Cache") == "hit"
                if 'data-role="slides"' in body:
                    seen["at"] = time.monotonic()
                    return

        poller = threading.Thread(target=poll_b, daemon=True)
        poller.start()
        time.sleep(1.5)  # B is busy serving the cached page before and during the change
        materials = f"{base_a}/library/{item}/materials/"
        token = member.csrf(materials)
        upload = member.request(
            "POST",
            materials,
            data={"csrfmiddlewaretoken": token, "recording_url": "", "extraction_code": ""},
            files={"slides_file": ("讲义.pdf", PDF, "application/pdf")},
        )
        answered = time.monotonic()
        if upload.status_code != 302:
            raise SmokeError(f"slides upload on A answered {upload.status_code}")
        poller.join(timeout=5)
        stop.set()
        if "at" not in seen:
            raise SmokeError("B's cached item page never showed the slides (5 s)")
        lag = seen["at"] - answered
        if lag > CHANGE_DEADLINE:
            raise SmokeError(f"B showed the change {lag * 1000:.0f} ms after A's answer (> 1 s)")

        # 3. The slides, through B's permission-checked view, from the bucket.
        slides = member.request("GET", f"{base_b}/library/{item}/slides/")
        link = slides.headers.get("Location", "")
        if slides.status_code != 302 or not link.startswith(f"{s3_url}/topicshare-private/"):
            raise SmokeError(f"B's slides view answered {slides.status_code} {link[:80]}")
        if "X-Amz-Expires=60" not in link:
            raise SmokeError(f"the slides link does not expire in 60 s: {link}")
        download = requests.get(link, timeout=10)
        if download.status_code != 200 or download.content != PDF:
            raise SmokeError(f"downloading from the bucket: {download.status_code}")
        written = [
            path
            for name in ("a", "b")
            for folder in ("media", "private")
            for path in (tmp / name / folder).rglob("*")
            if path.is_file()
        ]
        if written:
            raise SmokeError(f"files written to a node's disk: {written}")

        print("two-node smoke passed:")
        print(f"  signed in on A ({login.status_code} -> {login.headers.get('Location')}); "
              f"B's /me/ with A's session cookie: 200, signed in; without it: 302")  # fmt: skip
        print(f"  slides ({len(PDF)} bytes) uploaded on A: shown on B's cached item page "
              f"{lag * 1000:.0f} ms after A's answer (limit {CHANGE_DEADLINE * 1000:.0f} ms; "
              f"{polls['count']} anonymous requests to B meanwhile, {polls['hits']} from the "
              "page cache)")  # fmt: skip
        print(f"  B's slides view: 302 to a presigned URL (X-Amz-Expires=60); the bucket "
              f"answered {download.status_code}, {len(download.content)} bytes, "
              "identical")  # fmt: skip
        print("  nothing written to either node's MEDIA_ROOT or PRIVATE_MEDIA_ROOT")
        print(f"  took {time.monotonic() - started:.1f} s")
        ok = True
    except (SmokeError, requests.RequestException, OSError) as exc:
        print(f"two-node smoke FAILED: {type(exc).__name__}: {exc}", file=sys.stderr)
    finally:
        for service in reversed(services):
            service.stop(10.0)
        print(f"  stopped {', '.join(s.name for s in services) or 'nothing'}")
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
