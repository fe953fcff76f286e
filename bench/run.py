"""`make bench`: server-side time and query count per page, on a throwaway SQLite database
seeded with the demo data. Prints figures; asserts nothing about time.

Pages are requested in-process through Django's test client, so the figures are the
application's own cost (no network, no web server). Load tests over HTTP belong beside it.
"""

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "topicshare.settings.test"
_tmp = tempfile.mkdtemp(prefix="topicshare-bench-")
# BENCH_DATABASE_URL=postgres://…/topicshare_bench runs on PostgreSQL; that database is
# dropped and created afresh. Default: a throwaway SQLite file.
_BENCH_DB = os.environ.get("BENCH_DATABASE_URL", "")
os.environ["DATABASE_URL"] = _BENCH_DB or f"sqlite:///{_tmp}/bench.sqlite3"
if _BENCH_DB.startswith("sqlite:///"):
    # A SQLite file of the caller's choosing (the pretalx comparison): start it afresh.
    Path(_BENCH_DB.removeprefix("sqlite://")).unlink(missing_ok=True)
elif _BENCH_DB:
    import psycopg

    _name = _BENCH_DB.rsplit("/", 1)[1]
    with psycopg.connect(_BENCH_DB.rsplit("/", 1)[0] + "/postgres", autocommit=True) as _pg:
        _pg.execute(f'DROP DATABASE IF EXISTS "{_name}"')
        _pg.execute(f'CREATE DATABASE "{_name}"')
os.environ.pop("REDIS_URL", None)
os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver"

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, reset_queries  # noqa: E402
from django.test import Client, override_settings  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from members.models import User  # noqa: E402

REPEAT = int(os.environ.get("BENCH_REPEAT", "200"))
BENCH_TOPICS = int(os.environ.get("BENCH_TOPICS", "500"))
BENCH_SESSIONS = int(os.environ.get("BENCH_SESSIONS", "500"))
BENCH_LIBRARY = int(os.environ.get("BENCH_LIBRARY", "10000"))
PAGES = [
    ("home (anonymous)", "/", None),
    (f"sheet ({BENCH_TOPICS} topics)", "/topics/", None),
    ("sheet, filtered", "/topics/?status=recruiting&q=paper", None),
    ("sheet, page 5", "/topics/?page=5", None),
    ("topic detail", "/topics/{topic}/", None),
    ("api/topics", "/api/topics/", None),
    ("api/v1/topics", "/api/v1/topics/", None),
    ("api/v1/topics (member)", "/api/v1/topics/", "member@demo.topicshare.local"),
    (f"sessions ({BENCH_SESSIONS} upcoming)", "/sessions/", None),
    ("calendar.ics (all)", "/sessions/calendar.ics", None),
    ("api/sessions", "/api/sessions/", None),
    ("api/v1/sessions", "/api/v1/sessions/", None),
    (f"library ({BENCH_LIBRARY} items)", "/library/", None),
    ("library ?q=蒸馏", "/library/?q=%E8%92%B8%E9%A6%8F", None),
    (
        "library ?q=命名实体识别",
        "/library/?q=%E5%91%BD%E5%90%8D%E5%AE%9E%E4%BD%93%E8%AF%86%E5%88%AB",
        None,
    ),
    ("library ?q=transformer", "/library/?q=transformer", None),
    ("library filtered", "/library/?domain=nlp&has_recording=true&kind=talk", None),
    ("api/library/items ?q=BERT", "/api/library/items/?q=BERT", None),
    ("api/v1/library/items ?q=BERT", "/api/v1/library/items/?q=BERT", None),
    ("api/v1/library/items (all, children too)", "/api/v1/library/items/", None),
    ("join (anonymous)", "/join/", None),
    ("home (member)", "/", "member@demo.topicshare.local"),
    ("/me/ (member)", "/me/", "member@demo.topicshare.local"),
    ("topic detail (member)", "/topics/{topic}/", "member@demo.topicshare.local"),
    ("home (organiser)", "/", "organiser@demo.topicshare.local"),
    ("inbox (organiser)", "/staff/inbox/", "organiser@demo.topicshare.local"),
    ("profile (member)", "/profile/", "member@demo.topicshare.local"),
    ("healthz", "/healthz", None),
]


def measure(client: Client, path: str) -> tuple[list[float], int, int]:
    warm = client.get(path)
    if warm.status_code != 200:
        raise SystemExit(f"{path} answered {warm.status_code}; not benchmarking an error page")
    with CaptureQueriesContext(connection) as captured:
        status = client.get(path).status_code
    query_count = len(captured)
    timings = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        client.get(path)
        timings.append((time.perf_counter() - started) * 1000)
        reset_queries()
    return timings, query_count, status


def measure_cold(client: Client, path: str) -> tuple[float, int]:
    """p50 and queries of a page rendered from nothing: before each request both versions
    grow (as after any change), so no stored page, fragment or kept value serves it."""
    from topicshare.core.pagecache import bump_content_version

    bump_content_version()
    with CaptureQueriesContext(connection) as captured:
        client.get(path)
    query_count = len(captured)  # now: reset_queries() empties what it reads
    timings = []
    for _ in range(max(10, REPEAT // 4)):
        bump_content_version()
        started = time.perf_counter()
        client.get(path)
        timings.append((time.perf_counter() - started) * 1000)
        reset_queries()
    return statistics.median(timings), query_count


def add_topics(count: int) -> int:
    """Bulk-add topics (with proposer and participant rows) until the sheet has `count`."""
    from sessions.models import Participation, Topic, TopicStatus, Track

    people = list(User.objects.all())
    tracks = list(Track.objects.all())
    statuses = list(TopicStatus.values)
    missing = count - Topic.objects.count()
    topics = Topic.objects.bulk_create(
        Topic(
            title=f"Bench paper {n}: a study of attention",
            track=tracks[n % len(tracks)],
            proposer=people[n % len(people)],
            status=statuses[n % len(statuses)],
            summary="## Motivation\n\nWhy this paper matters.",
            paper_links=[f"https://arxiv.org/abs/2401.{n:05d}"],
        )
        for n in range(max(0, missing))
    )
    Participation.objects.bulk_create(
        Participation(topic=topic, user=topic.proposer, role="proposer") for topic in topics
    )
    return Topic.objects.order_by("id").values_list("id", flat=True).first()


def add_sessions(count: int) -> None:
    """Bulk-add upcoming sessions, one per topic, in each track's weekly slots."""
    from django.utils import timezone

    from sessions.models import Topic, Track, WeeklySession
    from sessions.weekly.scheduling import free_slots

    tracks = list(Track.objects.all())
    weeks = count // len(tracks) + 1
    now = timezone.now()
    slots = {track.pk: free_slots(track=track, now=now, weeks=weeks + 8) for track in tracks}
    used = set(WeeklySession.objects.values_list("topic_id", flat=True))
    topics = Topic.objects.exclude(pk__in=used).order_by("id")[:count]
    WeeklySession.objects.bulk_create(
        WeeklySession(
            topic=topic,
            track=tracks[n % len(tracks)],
            start=slots[tracks[n % len(tracks)].pk][n // len(tracks)],
        )
        for n, topic in enumerate(topics)
    )


BENCH_RECIPIENTS = int(os.environ.get("BENCH_RECIPIENTS", "10000"))


def bench_day_before_reminder(recipients: int) -> None:
    """Materialise and send the T-1 day reminder of one session to `recipients` people who
    RSVP'd, through the locmem mail backend (the target is ≤ 3 s on 2 cores). On PostgreSQL
    the one-a-message "sent" marks go through psycopg's own cursor (notifications/outbox.py)
    and are not in the query count."""
    import datetime

    from django.contrib.auth.hashers import make_password
    from django.core import mail

    from sessions.models import RSVP, ReminderRule, WeeklySession
    from topicshare.notifications.outbox import notifications_dispatch

    ReminderRule.objects.exclude(kind="day_before").update(enabled=False)
    session = WeeklySession.objects.filter(status="scheduled").order_by("-start").first()
    password = make_password(None)
    users = User.objects.bulk_create(
        User(email=f"bench-{n}@example.org", display_name=f"读者{n}", password=password,
             preferred_language="en" if n % 3 == 0 else "")
        for n in range(recipients)
    )  # fmt: skip
    RSVP.objects.bulk_create(RSVP(session=session, user=user) for user in users)
    now = session.start - datetime.timedelta(days=1)
    mail.outbox = []
    executed = []

    def count(execute, sql, params, many, context):
        executed.append(1)
        return execute(sql, params, many, context)

    # A wrapper, not the query log: the log keeps only the last 9,000.
    with connection.execute_wrapper(count):
        started = time.perf_counter()
        report = notifications_dispatch(now=now)
        seconds = time.perf_counter() - started
    queries = len(executed)
    print()
    print(f"T-1 day reminder, {recipients} recipients (locmem mail):")
    print(
        f"  queued {report.materialised}, sent {report.sent} in {report.batches} batches, "
        f"{seconds:.2f} s, {queries} queries, {len(mail.outbox)} e-mails in the outbox"
    )


def add_library(count: int) -> None:
    """Bulk-add library items with realistic Chinese and English titles (search tokens too)."""
    from library.models import LibraryItem
    from library.search import index_tokens
    from sessions.models import Season, Track

    words = [
        "命名实体识别", "模型蒸馏", "推荐系统召回", "文本匹配", "图神经网络", "目标检测",
        "Transformer", "BERT", "contrastive learning", "knowledge graph", "CTR prediction",
    ]  # fmt: skip
    tracks = list(Track.objects.all())
    seasons = [Season.objects.get_or_create(label=f"Topic {n}", defaults={"order": n})[0]
               for n in range(1, 8)]  # fmt: skip
    items = []
    for n in range(count):
        title = f"{words[n % len(words)]} 论文精读 {n}: {words[(n * 7) % len(words)]}"
        items.append(
            LibraryItem(
                title=title,
                kind="talk" if n % 3 else "paper",
                domain=tracks[n % len(tracks)],
                season=seasons[n % len(seasons)],
                position=n,
                recording_url="https://pan.baidu.com/s/x" if n % 5 == 0 else "",
                extraction_code="abcd" if n % 5 == 0 else "",
                search_text=index_tokens(title),
                season_rank=seasons[n % len(seasons)].order,
                domain_rank=tracks[n % len(tracks)].order,
            )
        )
    LibraryItem.objects.bulk_create(items, batch_size=1000)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")  # as autovacuum would after a bulk load


HTTP_SECONDS = int(os.environ.get("BENCH_HTTP_SECONDS", "5"))
HTTP_WORKERS = 2


def http_pass(rows: list[dict]) -> tuple[dict[str, float], list[float]]:
    """req/s over HTTP for the anonymous pages: gunicorn (production settings) on this
    database and wrk, as bench/load.py does. Skipped without wrk or with BENCH_HTTP=0."""
    import shutil
    import subprocess

    if not rows or os.environ.get("BENCH_HTTP") == "0" or not shutil.which("wrk"):
        return {}, []
    sys.path.insert(0, str(ROOT / "bench"))
    import load

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "topicshare.settings.production",
        "DJANGO_SECRET_KEY": "bench-dummy-" + "x" * 50,
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "TOPICSHARE_SITE_URL": "http://127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "False",
        "STATIC_ROOT": f"{_tmp}/static",
        "TOPICSHARE_VAR_DIR": f"{_tmp}/var",
        "DJANGO_LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    subprocess.run(
        [load.PYTHON, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT, env=env, check=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    port = load.free_port()
    base = f"http://127.0.0.1:{port}"
    web = load.Service(
        "gunicorn",
        [str(load.VENV_BIN / "gunicorn"), "topicshare.wsgi:application",
         "--bind", f"127.0.0.1:{port}", "--workers", str(HTTP_WORKERS)],
        env,
        Path(_tmp) / "gunicorn.log",
    )  # fmt: skip
    try:
        load.wait_for_web(base, web, timeout=60)
        rates = {}
        for row in rows:
            figures = load.wrk(base, [row["url"]], HTTP_SECONDS, 16)
            rates[row["url"]] = figures["rate"]
        _master, workers = load.gunicorn_rss(web.popen.pid)
        return rates, workers
    finally:
        web.stop()


def main() -> None:
    call_command("migrate", verbosity=0)
    call_command("seed_demo", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    first_topic = add_topics(BENCH_TOPICS)
    add_sessions(BENCH_SESSIONS)
    add_library(BENCH_LIBRARY)
    only = os.environ.get("BENCH_ONLY", "")
    rows = []
    for name, path, email in PAGES:
        if only and only not in name:
            continue
        client = Client()
        if email:
            client.force_login(User.objects.get(email=email))
        url = path.format(topic=first_topic)
        with override_settings(TOPICSHARE_PAGE_CACHE_SECONDS=0):
            timings, queries, status = measure(client, url)
            cold, cold_queries = measure_cold(client, url)
        cached = ""
        if not email:
            with override_settings(TOPICSHARE_PAGE_CACHE_SECONDS=60):
                hits, _queries, _status = measure(client, url)
                if client.get(url).get("X-Page-Cache") == "hit":
                    cached = f"{statistics.median(hits):.2f}"
        rows.append(
            {
                "name": name, "url": url, "anonymous": not email, "status": status,
                "queries": queries, "p50": statistics.median(timings),
                "p95": statistics.quantiles(timings, n=20)[-1], "cached": cached,
                "cold": cold, "cold_queries": cold_queries,
            }
        )  # fmt: skip
    http, rss = http_pass([row for row in rows if row["anonymous"]])
    print(
        f"TopicShare bench — {REPEAT} requests a page in-process (server time, page cache off;"
        f" 'cached': an anonymous visitor's hit), {connection.vendor}, {os.cpu_count()} cores"
    )
    print(
        "  queries, p50, p95: the page cache off (stored fragments and personal pages serve);"
        " cold: rendered from nothing, after a change (both versions grown)"
    )
    if http:
        print(f"  HTTP req/s: gunicorn {HTTP_WORKERS} sync workers, wrk 16 connections, "
              f"{HTTP_SECONDS} s a page (anonymous pages, page cache on)")  # fmt: skip
    print(
        f"{'page':<26} {'status':>6} {'queries':>7} {'p50 ms':>7} {'p95 ms':>7}"
        f" {'cached ms':>9} {'cold q':>6} {'cold ms':>7} {'HTTP req/s':>10}"
    )
    for row in rows:
        rate = http.get(row["url"]) if row["anonymous"] else None
        rate = "" if rate is None else f"{rate:.0f}"
        print(
            f"{row['name']:<26} {row['status']:>6} {row['queries']:>7} {row['p50']:>7.2f}"
            f" {row['p95']:>7.2f} {row['cached']:>9} {row['cold_queries']:>6}"
            f" {row['cold']:>7.2f} {rate:>10}"
        )
    if rss:
        print(f"worker RSS after the HTTP pass: {', '.join(f'{mib:.0f}' for mib in rss)} MiB")
    if not only:
        bench_day_before_reminder(BENCH_RECIPIENTS)


if __name__ == "__main__":
    main()
