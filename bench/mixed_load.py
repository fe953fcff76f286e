"""`make load` (its second half): a mixed read-write load on 127.0.0.1 — gunicorn (production
settings) on a throwaway PostgreSQL database, driven by locust's simulated members — and then
the invariants, asked of the database. Exits non-zero on any response ≥ 500, any connection
error, any broken invariant, or a write that never once worked (the run did not test it).

    .venv/bin/python bench/mixed_load.py            # 100 members for 120 s
    .venv/bin/python bench/mixed_load.py --small    # 20 members for 30 s (CI), 6 via the form

What it does:

1. Drops and re-creates MIXED_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/
   topicshare_mixed), migrates, runs seed_demo, and adds through the real services: 120
   members (10 of them on the review committee), 8 applicants with open applications, 6
   topics recruiting into small groups (capacity 2–4, so that members really race for the
   last place), each with a dozen tasks, 6 accepted topics to say “想听” to, and 6 upcoming
   sessions to RSVP to (a child process: importing bench/run.py sets Django up on it).
2. Starts a private redis-server (MIXED_REDIS_URL uses an existing one) and gunicorn
   (topicshare.wsgi, topicshare.settings.production, plain HTTP on 127.0.0.1), as
   bench/load.py does.
3. Signs the members in: the first MIXED_FORM_LOGINS (20; --small: 6) through the real
   login form (CSRF, the password checked with production's hasher); the others get a
   session made server-side with production's settings (allauth allows 30 logins a minute
   from one address, and all of them come from 127.0.0.1). About one account in seven is
   used on two devices at once.
4. Runs locust headless (bench/locustfile.py): MIXED_USERS (100) members, spawned at
   MIXED_SPAWN_RATE (20) a second, for MIXED_SECONDS (120), each waiting MIXED_WAIT ("2,6":
   2 to 6 s; --small: 1 to 3) between two clicks; MIXED_DOUBLE_TAPS (0.1) of the writes
   are sent twice at once, as a double tap on a slow phone. Each reads signed-in pages
   (home, the sheet, a topic, the sessions, a session, /me/, the library), RSVPs and takes it
   back, joins and leaves the capped groups (or waits for a place), claims tasks (我来), says
   “想听” and takes it back; committee members also vote on the applications. Every write is
   the page's own form, with its CSRF token, as a browser would send it.
5. Checks, against the database (bench/mixed_invariants.py): 0 responses ≥ 500, 0 connection
   errors; no group over capacity; one RSVP, one place, one “想听” per person, one ballot per
   committee member; every notice queued once and every join noticed; tasks held by their
   group; and that what the members were told (joined, left, RSVP'd, voted) is what the
   database has. Prints requests, p50/p95/p99 per endpoint and overall, requests/s, how
   often members lost a race (“the group is full”), and each invariant.

Other knobs: MIXED_WORKERS (3 gunicorn workers, sync), MIXED_MEMBERS (120). The figures are
indicative: locust, gunicorn and PostgreSQL share this machine's cores.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from load import (  # noqa: E402 — bench/load.py: the read-only run's processes and helpers
    LoadError,
    Service,
    free_port,
    http_status,
    pad,
    private_redis,
    production_env,
    run_step,
    wait_for_web,
)

VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python")
LOCUSTFILE = ROOT / "bench" / "locustfile.py"

DATABASE_URL = os.environ.get(
    "MIXED_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/topicshare_mixed"
)
SMALL = "--small" in sys.argv[1:] or os.environ.get("MIXED_SMALL", "") == "1"
USERS = int(os.environ.get("MIXED_USERS", "20" if SMALL else "100"))
SECONDS = int(os.environ.get("MIXED_SECONDS", "30" if SMALL else "120"))
SPAWN_RATE = float(os.environ.get("MIXED_SPAWN_RATE", "10" if SMALL else "20"))
WORKERS = int(os.environ.get("MIXED_WORKERS", "3"))
MEMBERS = int(os.environ.get("MIXED_MEMBERS", "120"))
# allauth: 30 logins a minute from one address ("login": "30/m/ip").
FORM_LOGINS = min(int(os.environ.get("MIXED_FORM_LOGINS", "6" if SMALL else "20")), 25)
# Between two clicks of a member: the small run clicks faster, to try every write in 30 s.
WAIT = os.environ.get("MIXED_WAIT", "1,3" if SMALL else "2,6")
COMMITTEE = 10
APPLICANTS = 8
GROUP_CAPACITIES = [2, 3, 3, 4, 4, 4]
TASKS_PER_GROUP = 12  # with the five of the checklist
WANTED_TOPICS = 6
SESSIONS = 6
SHARED_DEVICES = 0.15  # accounts used on two devices at once, of the members' devices
PASSWORD = "mixed-load-" + "Wq7#pass"  # noqa: S105 — throwaway accounts on a throwaway database
# Writes that must have worked at least once, or the run did not test them.
# gunicorn's access log: method, path, status and the time inside the worker (µs).
ACCESS_FORMAT = "ACCESS %(m)s %(U)s %(s)s %(D)s"
MUST_HAPPEN = ["rsvp", "unrsvp", "join", "leave", "claim", "want", "unwant", "vote"]


# --- Seeding (a child process: `mixed_load.py --seed`) -----------------------------------


def seed() -> None:
    """Migrate, seed_demo, then the members, groups, tasks, topics, sessions and applications
    through the real services. Importing bench/run drops and creates BENCH_DATABASE_URL and
    sets Django up on it (test settings)."""
    import run as bench  # noqa: F401 — the import itself prepares the database
    from allauth.account.models import EmailAddress
    from django.contrib.auth.hashers import PBKDF2PasswordHasher
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db.models import Max
    from django.utils import timezone

    from members.admission import application_submit
    from members.models import Application, User
    from members.roles import Role
    from sessions.models import Participation, Topic, TopicStatus, Track
    from sessions.topics.models import CHECKLIST
    from sessions.topics.services import task_create, topic_propose, topic_transition
    from sessions.weekly.scheduling import free_slots, session_schedule
    from topicshare.notifications.models import Notification

    started = time.monotonic()
    call_command("migrate", verbosity=0)
    call_command("seed_demo", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    # Production's hasher (the test settings hash with MD5): the login form checks it.
    hasher = PBKDF2PasswordHasher()
    password = hasher.encode(PASSWORD, hasher.salt())

    def people(prefix: str, name: str, count: int) -> list[User]:
        made = User.objects.bulk_create(
            User(email=f"{prefix}-{n}@mixed.example.org", display_name=f"{name}{n:03d}",
                 password=password)
            for n in range(count)
        )  # fmt: skip
        EmailAddress.objects.bulk_create(
            EmailAddress(user=user, email=user.email, verified=True, primary=True) for user in made
        )
        return made

    members = people("member", "成员", MEMBERS)
    presenters = people("presenter", "讲者", len(GROUP_CAPACITIES) + WANTED_TOPICS + SESSIONS)
    applicants = people("applicant", "申请人", APPLICANTS)
    Group.objects.get(name=Role.MEMBER.value).user_set.add(*members, *presenters)
    Group.objects.get(name=Role.COMMITTEE.value).user_set.add(*members[:COMMITTEE])

    organiser = User.objects.get(email="organiser@demo.topicshare.local")
    tracks = list(Track.objects.order_by("order"))
    speakers = iter(presenters)

    def propose(title: str, n: int, capacity: int = 4) -> Topic:
        return topic_propose(
            proposer=next(speakers),
            track=tracks[n % len(tracks)],
            title=title,
            summary=f"## 动机\n\n{title}：为什么值得读。",
            paper_links=[f"https://arxiv.org/abs/2501.{n:05d}"],
            capacity=capacity,
        )

    def step(topic: Topic, to: str, by: User | None = None) -> Topic:
        return topic_transition(topic=topic, to=to, by=by or organiser, internal=True)

    groups = []
    for n, capacity in enumerate(GROUP_CAPACITIES):
        topic = propose(f"混合负载 小组 {n}: Mixture of Experts 复现", n, capacity)
        topic = step(step(topic, TopicStatus.ACCEPTED), TopicStatus.RECRUITING)
        for t in range(TASKS_PER_GROUP - len(CHECKLIST)):
            task_create(topic=topic, by=topic.proposer, title=f"分工 {t + 1}: 读第 {t + 1} 节")
        groups.append(topic.pk)
    wanted = []
    for n in range(WANTED_TOPICS):
        topic = step(propose(f"混合负载 想听 {n}: Diffusion 模型综述", 100 + n), "accepted")
        wanted.append(topic.pk)
    sessions = []
    for n in range(SESSIONS):
        topic = propose(f"混合负载 分享会 {n}: RLHF 实践", 200 + n)
        for to in (TopicStatus.ACCEPTED, TopicStatus.RECRUITING, TopicStatus.PREPARING):
            topic = step(topic, to)
        for field, _label in CHECKLIST:
            setattr(topic, field, True)
        topic.save(update_fields=[field for field, _label in CHECKLIST])
        topic = step(topic, TopicStatus.READY, by=topic.proposer)
        start = free_slots(track=topic.track, now=timezone.now())[1]
        session = session_schedule(
            topic=topic, start=start, by=organiser, meeting_provider="tencent",
            meeting_url="https://meeting.tencent.com/dm/mixed-load",
        )  # fmt: skip
        sessions.append(session.pk)
    applications = [
        application_submit(
            applicant=applicant,
            motivation="想在读书会分享，也想加入成员群。",
            paper_title=f"LoRA 变体对比 {n}",
            paper_url=f"https://arxiv.org/abs/2502.{n:05d}",
        ).pk
        for n, applicant in enumerate(applicants)
    ]
    print(
        "SEEDJSON "
        + json.dumps(
            {
                "members": [user.email for user in members[COMMITTEE:]],
                "committee": [user.email for user in members[:COMMITTEE]],
                "groups": groups,
                "wanted": wanted,
                "sessions": sessions,
                "applications": applications,
                "browse_topics": list(Topic.objects.values_list("pk", flat=True)),
                "since": {
                    "notification": Notification.objects.aggregate(m=Max("pk"))["m"] or 0,
                    "participation": Participation.objects.aggregate(m=Max("pk"))["m"] or 0,
                },
                "counts": {
                    "users": User.objects.count(),
                    "topics": Topic.objects.count(),
                    "open applications": Application.objects.filter(
                        status__in=Application.OPEN
                    ).count(),
                },
                "seconds": round(time.monotonic() - started, 1),
            }
        ),
        flush=True,
    )


def plan_devices(seeded: dict) -> dict:
    """Which account each simulated member uses, and how it signs in. Some accounts are on
    two devices at once (their writes race each other, as a person's phone and laptop)."""
    committee_users = max(1, round(USERS * 0.12)) if USERS > 1 else 0
    member_users = USERS - committee_users
    distinct = max(1, min(len(seeded["members"]), math.ceil(member_users * (1 - SHARED_DEVICES))))
    member = [seeded["members"][i % distinct] for i in range(member_users)]
    # One committee account fewer than committee devices, where there are enough: a member
    # votes from two devices too.
    accounts = max(1, min(COMMITTEE, committee_users - 1))
    committee = [seeded["committee"][i % accounts] for i in range(committee_users)]
    devices: dict[str, list[dict]] = {"member": [], "committee": []}
    for pool, emails in (("committee", committee), ("member", member)):
        for email in emails:
            # The first FORM_LOGINS sign in through the form; the others get a session.
            form = sum(len(d) for d in devices.values()) < FORM_LOGINS
            devices[pool].append(
                {"email": email, "password": PASSWORD}
                if form
                else {"email": email, "session": True}
            )
    shared = sorted({e for e in member + committee if (member + committee).count(e) > 1})
    return {"devices": devices, "committee_users": committee_users, "shared": shared}


# --- Server-side sessions (a child with gunicorn's environment: `--sessions plan.json`) ---


def make_sessions(path: Path) -> None:
    """A signed-in session for each device that does not use the login form: what
    django.contrib.auth.login stores, with production's settings and secret key."""
    import django

    django.setup()
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    from members.models import User

    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    plan = json.loads(path.read_text())
    devices = [d for pool in plan["devices"].values() for d in pool if d.get("session") is True]
    users = {u.email: u for u in User.objects.filter(email__in={d["email"] for d in devices})}
    for device in devices:
        user = users[device["email"]]
        store = store_class()
        store[SESSION_KEY] = user._meta.pk.value_to_string(user)
        store[BACKEND_SESSION_KEY] = "allauth.account.auth_backends.AuthenticationBackend"
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        device["session"] = store.session_key
    path.write_text(json.dumps(plan))
    print(f"SESSIONS {len(devices)}", flush=True)


# --- Invariants (a child with gunicorn's environment: `--check plan.json report.json`) ---


def check(plan_path: Path, report_path: Path) -> None:
    import django

    django.setup()
    from django.db.models import Count
    from mixed_invariants import run_checks

    from topicshare.notifications.models import Notification

    plan, report = json.loads(plan_path.read_text()), json.loads(report_path.read_text())
    results = run_checks(report, plan["since"], set(plan["shared"]))
    queued = dict(
        Notification.objects.filter(pk__gt=plan["since"]["notification"])
        .values_list("kind")
        .annotate(n=Count("pk"))
        .values_list("kind", "n")
    )
    print("CHECKJSON " + json.dumps({"results": results, "queued": queued}), flush=True)


# --- The figures ----------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def server_times(access_log: Path, since: float) -> dict[str, list[float]]:
    """Milliseconds inside a gunicorn worker per endpoint (named as bench/locustfile.py names
    them), from the access log; the warm-up requests before `since` bytes are left out."""
    times: dict[str, list[float]] = {}
    with contextlib.suppress(OSError), open(access_log, encoding="utf-8", errors="replace") as log:
        log.seek(int(since))
        for line in log:
            parts = line.split()
            if len(parts) == 5 and parts[0] == "ACCESS":
                name = f"{parts[1]} " + re.sub(r"/\d+(?=/|$|\.)", "/[id]", parts[2])
                times.setdefault(name, []).append(int(parts[4]) / 1000)
    return times


def table(report: dict, server: dict[str, list[float]]) -> tuple[int, int, int]:
    """Print requests per endpoint; return (responses ≥ 500, connection errors, 4xx). The
    times are the members' (locust: waiting for a worker included); `srv p95` is the time
    inside the worker (gunicorn's access log)."""
    duration = max(0.001, report["stopped"] - report["started"])
    header = (
        f"{'endpoint':<38} {'requests':>8} {'2xx':>6} {'3xx':>6} {'4xx':>5} {'5xx':>5} "
        f"{'conn':>5} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7} {'srv p95':>7}"
    )
    print(header)
    print("-" * len(header))
    totals = {"2": 0, "3": 0, "4": 0, "5": 0, "0": 0}
    every: list[float] = []
    rows = sorted(report["times"].items(), key=lambda item: (item[0].split()[1], item[0]))
    for name, times in rows:
        by_class = {"2": 0, "3": 0, "4": 0, "5": 0, "0": 0}
        for status, n in report["statuses"].get(name, {}).items():
            by_class[status[0] if status != "0" else "0"] += n
        for key in totals:
            totals[key] += by_class[key]
        every += times
        print(
            f"{pad(name, 38)} {len(times):>8} {by_class['2']:>6} {by_class['3']:>6} "
            f"{by_class['4']:>5} {by_class['5']:>5} {by_class['0']:>5} "
            f"{percentile(times, 50):>7.0f} {percentile(times, 95):>7.0f} "
            f"{percentile(times, 99):>7.0f} {max(times):>7.0f} "
            f"{percentile(server.get(name, []), 95):>7.0f}"
        )
    print("-" * len(header))
    print(
        f"{'all':<38} {len(every):>8} {totals['2']:>6} {totals['3']:>6} {totals['4']:>5} "
        f"{totals['5']:>5} {totals['0']:>5} {percentile(every, 50):>7.0f} "
        f"{percentile(every, 95):>7.0f} {percentile(every, 99):>7.0f} "
        f"{max(every, default=0):>7.0f} "
        f"{percentile([t for times in server.values() for t in times], 95):>7.0f}"
    )
    print(
        f"{len(every) / duration:.1f} requests/s over {duration:.0f} s; mean "
        f"{statistics.fmean(every) if every else 0:.0f} ms"
    )
    errors = sum(sum(c.values()) for c in report["connection_errors"].values())
    if errors:
        print(f"connection errors: {report['connection_errors']}")
    return totals["5"], errors, totals["4"]


def outcomes(report: dict) -> list[str]:
    """Print what the members' writes came to; return the writes that never worked."""
    print()
    print(f"{'write':<16} {'worked':>7} {'refused':>8} {'unknown':>8}  other")
    for action, counts in sorted(report["outcomes"].items()):
        rest = {k: v for k, v in counts.items() if k not in {"ok", "refused", "unknown"}}
        print(
            f"{action:<16} {counts.get('ok', 0):>7} {counts.get('refused', 0):>8} "
            f"{counts.get('unknown', 0):>8}  {', '.join(f'{k}: {v}' for k, v in rest.items())}"
        )
    if report["refusals"]:
        print("refused, most often (lost races and double taps, shown to the member):")
        for text, n in list(report["refusals"].items())[:12]:
            print(f"  {n:>5} × {text}")
    return [a for a in MUST_HAPPEN if not report["outcomes"].get(a, {}).get("ok")]


# --- The run ------------------------------------------------------------------------------


def main() -> int:
    sys.stdout.reconfigure(line_buffering=True)
    if not (VENV_BIN / "locust").exists():
        print("mixed load: locust is not installed in .venv (make install)", file=sys.stderr)
        return 2
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="topicshare-mixed-"))
    services: list[Service] = []
    failed = True

    def on_term(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    try:
        # 1. Data.
        print(f"mixed load: seeding {DATABASE_URL} (dropped and re-created) …")
        seed_env = {**os.environ, "BENCH_DATABASE_URL": DATABASE_URL, "PYTHONUNBUFFERED": "1"}
        out = run_step("seeding", [PYTHON, __file__, "--seed"], seed_env, timeout=600)
        seeded = json.loads(next(ln for ln in out.splitlines() if ln.startswith("SEEDJSON "))[9:])
        plan = {**seeded, **plan_devices(seeded)}
        plan_path, report_path = tmp / "plan.json", tmp / "report.json"
        plan_path.write_text(json.dumps(plan))
        counts = seeded["counts"]
        print(
            f"  {counts['users']} accounts, {counts['topics']} topics, "
            f"{len(seeded['groups'])} groups (capacity {GROUP_CAPACITIES}), "
            f"{len(seeded['sessions'])} upcoming sessions, {counts['open applications']} open "
            f"applications ({seeded['seconds']} s)"
        )

        # 2. Servers.
        redis_url = os.environ.get("MIXED_REDIS_URL", "") or private_redis(tmp, services)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = production_env(
            tmp=tmp,
            base=base,
            database_url=DATABASE_URL,
            redis_url=redis_url,
            run="mixed-load",
            CELERY_BROKER_URL=redis_url,
            EMAIL_URL="consolemail://",
        )
        run_step("collectstatic", [PYTHON, "manage.py", "collectstatic", "--noinput"], env, 300)
        run_step("sessions", [PYTHON, __file__, "--sessions", str(plan_path)], env, 300)
        web = Service(
            "gunicorn",
            [str(VENV_BIN / "gunicorn"), "topicshare.wsgi:application",
             "--bind", f"127.0.0.1:{port}", "--workers", str(WORKERS), "--timeout", "60",
             "--backlog", "2048", "--access-logfile", str(tmp / "access.log"),
             "--access-logformat", ACCESS_FORMAT],
            env,
            tmp / "gunicorn.log",
        )  # fmt: skip
        services.append(web)
        wait_for_web(base, web, timeout=60)
        for path in ("/", "/topics/", "/sessions/", f"/sessions/{seeded['sessions'][0]}/"):
            for _ in range(WORKERS):
                if (status := http_status(base + path)) != 200:
                    raise LoadError(f"GET {path} answered {status}; not load-testing an error")

        # 3. Load.
        warmed = (tmp / "access.log").stat().st_size
        devices = plan["devices"]
        forms = sum(1 for pool in devices.values() for d in pool if "password" in d)
        print(
            f"mixed load: {USERS} members ({plan['committee_users']} on the committee; "
            f"{forms} sign in with the form, {USERS - forms} server-side; "
            f"{len(plan['shared'])} accounts on two devices) for {SECONDS} s, spawned at "
            f"{SPAWN_RATE:g}/s, on gunicorn {WORKERS} × sync at {base}, {os.cpu_count()} cores …"
        )
        locust_env = {
            **os.environ,
            "MIXED_PLAN": str(plan_path),
            "MIXED_REPORT": str(report_path),
            "MIXED_COMMITTEE_USERS": str(plan["committee_users"]),
            "MIXED_WAIT": WAIT,
            "PYTHONUNBUFFERED": "1",
        }
        argv = [
            str(VENV_BIN / "locust"), "-f", str(LOCUSTFILE), "--headless",
            "-u", str(USERS), "-r", f"{SPAWN_RATE:g}", "-t", f"{SECONDS}s",
            "--host", base, "--stop-timeout", "20", "--only-summary",
            "--loglevel", "WARNING", "--exit-code-on-error", "0",
        ]  # fmt: skip
        with open(tmp / "locust.log", "wb") as log:
            try:
                result = subprocess.run(
                    argv, cwd=ROOT, env=locust_env, stdin=subprocess.DEVNULL, stdout=log,
                    stderr=subprocess.STDOUT, timeout=SECONDS + 180, start_new_session=True,
                )  # fmt: skip
            except subprocess.TimeoutExpired as exc:
                raise LoadError(f"locust did not finish within {SECONDS + 180} s") from exc
        if result.returncode != 0 or not report_path.exists():
            tail = (tmp / "locust.log").read_text(errors="replace")[-3000:]
            raise LoadError(f"locust failed ({result.returncode}):\n{tail}")
        report = json.loads(report_path.read_text())

        # 4. Invariants.
        out = run_step(
            "invariants", [PYTHON, __file__, "--check", str(plan_path), str(report_path)], env, 300
        )
        checked = json.loads(
            next(ln for ln in out.splitlines() if ln.startswith("CHECKJSON "))[10:]
        )
        checks = checked["results"]

        # 5. Figures.
        print()
        print(
            f"TopicShare mixed load — locust, {USERS} members, {SECONDS} s, gunicorn {WORKERS} × "
            f"sync, PostgreSQL, {os.cpu_count()} cores (shared with locust and PostgreSQL)"
        )
        server = server_times(tmp / "access.log", warmed)
        server_errors, connection_errors, client_errors = table(report, server)
        never = outcomes(report)
        queued = ", ".join(f"{kind} {n}" for kind, n in sorted(checked["queued"].items()))
        print(f"notices queued during the run: {queued or 'none'}")
        print()
        print("invariants:")
        broken = 0
        for label, violations in checks:
            print(f"  {'FAIL' if violations else 'ok  '} {label}")
            for line in violations:
                print(f"         {line}")
            broken += bool(violations)
        problems = []
        if server_errors:
            problems.append(f"{server_errors} responses ≥ 500")
        if connection_errors:
            problems.append(f"{connection_errors} connection errors")
        if broken:
            problems.append(f"{broken} invariants broken")
        if never:
            problems.append(f"never worked once: {', '.join(never)}")
        logins = report["outcomes"].get("login", {})
        if set(logins) - {"ok"}:
            problems.append(f"sign-ins through the form: {logins}")
        print()
        print(
            f"mixed load: {'FAIL — ' + '; '.join(problems) if problems else 'PASS'} "
            f"({client_errors} responses 4xx, counted above); took "
            f"{time.monotonic() - started:.0f} s"
        )
        failed = bool(problems)
    except LoadError as exc:
        print(f"mixed load FAILED: {exc}", file=sys.stderr)
    finally:
        for service in reversed(services):
            service.stop()
        if failed:
            for service in services:
                with contextlib.suppress(OSError):
                    tail = service.log_path.read_text(errors="replace").splitlines()[-40:]
                    print(f"----- {service.name} log (last lines) -----", file=sys.stderr)
                    print("\n".join(tail), file=sys.stderr)
        if os.environ.get("MIXED_KEEP_TMP"):
            print(f"mixed load: kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--seed"]:
        seed()
    elif sys.argv[1:2] == ["--sessions"]:
        make_sessions(Path(sys.argv[2]))
    elif sys.argv[1:2] == ["--check"]:
        check(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        sys.exit(main())
