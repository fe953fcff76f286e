"""A real Celery worker and beat, started as processes the way `make run` and compose start
them, run the heartbeat through a real broker and write to the test database."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlparse, urlunparse

import pytest
from django.db import connection
from django.utils import timezone

from tests.conftest import redis_reachable, redis_url, skip_or_fail
from topicshare.core.models import Heartbeat

ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    """The URL of the database this test runs on (the test database, not the real one)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    credentials = quote(db["USER"] or "")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"])
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{credentials}@{host}/{db['NAME']}"


def _start(args: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "topicshare", *args],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _broker_env(kind: str, tmp_path: Path) -> dict:
    if kind == "redis":
        url = redis_url()
        if not redis_reachable(url):
            skip_or_fail(f"no Redis reachable at {url}; set REDIS_URL or start redis-server")
        import redis

        # A database of its own, emptied first, so no other worker takes our messages.
        isolated = urlunparse(urlparse(url)._replace(path="/14"))
        redis.Redis.from_url(isolated).flushdb()
        return {"REDIS_URL": isolated}
    return {"REDIS_URL": ""}  # the embedded filesystem broker `make run` uses


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("broker", ["redis", "filesystem"])
def test_real_worker_and_beat_record_heartbeats(broker, tmp_path):
    env = {
        **os.environ,
        **_broker_env(broker, tmp_path),
        "DJANGO_SETTINGS_MODULE": "topicshare.settings.test",
        "DATABASE_URL": _database_url(),
        "TOPICSHARE_VAR_DIR": str(tmp_path),
        "TOPICSHARE_HEARTBEAT_SECONDS": "1",
        "CELERY_BEAT_SCHEDULE_FILENAME": str(tmp_path / "beat-schedule"),
    }
    assert not Heartbeat.objects.exists()
    started = time.time()
    worker = _start(["worker", "--pool=solo", "--loglevel=INFO"], env, tmp_path / "worker.log")
    beat = _start(["beat", "--loglevel=INFO"], env, tmp_path / "beat.log")
    try:
        deadline = time.monotonic() + 60
        seen = {}
        while time.monotonic() < deadline and len(seen) < 2:
            seen = dict(Heartbeat.objects.values_list("component", "seen_at"))
            if worker.poll() is not None or beat.poll() is not None:
                break
            time.sleep(0.5)
    finally:
        _stop(beat)
        _stop(worker)

    logs = "\n".join(
        f"--- {name}.log ---\n" + (tmp_path / f"{name}.log").read_text(errors="replace")[-3000:]
        for name in ("worker", "beat")
    )
    assert set(seen) == {"worker", "beat"}, logs
    assert seen["worker"].timestamp() >= started - 1, logs
    assert seen["beat"].timestamp() >= started - 1, logs
    assert "topicshare.heartbeat" in (tmp_path / "worker.log").read_text(), logs


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_real_worker_sends_the_outbox_through_redis(tmp_path):
    """A notification queued here is sent by a real worker that got the dispatch task through
    a real Redis broker; the worker writes the e-mail to files we read back."""
    from celery import Celery

    from tests.factories import TopicFactory, UserFactory
    from topicshare.notifications.models import Notification
    from topicshare.notifications.outbox import Message, notification_enqueue

    env = {
        **os.environ,
        **_broker_env("redis", tmp_path),
        "DJANGO_SETTINGS_MODULE": "topicshare.settings.test",
        "DATABASE_URL": _database_url(),
        "TOPICSHARE_VAR_DIR": str(tmp_path),
        "EMAIL_URL": f"filemail:///{tmp_path / 'mails'}",  # 4 slashes: an absolute path
    }
    person = UserFactory(email="worker-mail@example.org")
    notification_enqueue(
        kind="group_joined",
        subject=TopicFactory(),
        occasion="celery",
        recipients=[person],
        render=lambda: Message("Sent by a real worker", ["hello"], ""),
        due_at=timezone.now(),
    )
    worker = _start(["worker", "--pool=solo", "--loglevel=INFO"], env, tmp_path / "worker.log")
    sender = Celery(broker=env["REDIS_URL"])
    try:
        sender.send_task("notifications.dispatch")
        deadline = time.monotonic() + 60
        row = Notification.objects.get()
        while time.monotonic() < deadline and row.status != "sent" and worker.poll() is None:
            time.sleep(0.5)
            row.refresh_from_db()
    finally:
        sender.close()
        _stop(worker)

    log = (tmp_path / "worker.log").read_text(errors="replace")[-3000:]
    assert row.status == "sent", log
    mails = list((tmp_path / "mails").iterdir())
    assert len(mails) == 1, log
    assert "worker-mail@example.org" in mails[0].read_text()
