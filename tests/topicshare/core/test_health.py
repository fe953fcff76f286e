import datetime

import pytest
from django.db import connections
from django.urls import reverse
from django.utils import timezone

from topicshare.core.models import Heartbeat
from topicshare.core.services import heartbeat_record


@pytest.mark.django_db
def test_healthz_reports_ok_and_heartbeat_ages(client):
    now = timezone.now()
    heartbeat_record(beat_sent_at=now - datetime.timedelta(seconds=12), now=now)

    response = client.get(reverse("healthz"))

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["broker"] == "ok"
    assert body["broker_ok"] is True
    assert 0 <= body["worker_heartbeat_age_seconds"] < 5
    assert 12 <= body["beat_heartbeat_age_seconds"] < 17
    assert body["worker_fresh"] is True
    assert body["beat_fresh"] is True


@pytest.mark.django_db
def test_healthz_marks_old_heartbeat_stale(client, settings):
    settings.TOPICSHARE_HEARTBEAT_STALE_SECONDS = 60
    long_ago = timezone.now() - datetime.timedelta(minutes=10)
    Heartbeat.objects.create(component="worker", seen_at=long_ago)

    body = client.get(reverse("healthz")).json()

    assert body["worker_fresh"] is False
    assert body["worker_heartbeat_age_seconds"] >= 600
    assert body["beat_heartbeat_age_seconds"] is None
    assert body["beat_fresh"] is False


@pytest.mark.django_db(transaction=True)
def test_healthz_returns_503_when_database_is_unreachable(client, tmp_path):
    connection = connections["default"]
    connection.close()
    original = dict(connection.settings_dict)
    if connection.vendor == "sqlite":
        connection.settings_dict["NAME"] = str(tmp_path / "missing-dir" / "db.sqlite3")
    else:
        connection.settings_dict.update({"HOST": "127.0.0.1", "PORT": "9"})
    try:
        response = client.get(reverse("healthz"))
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(original)

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    # What is down, not why: the driver's message names files, hosts and ports.
    assert body["database"] == "unreachable"
    assert body["worker_heartbeat_age_seconds"] is None
    text = response.content.decode()
    internals = ["Error", "missing-dir", "sqlite", "127.0.0.1", "refused"]
    assert [word for word in internals if word in text] == []


@pytest.fixture
def fresh_process(monkeypatch):
    """/healthz as a process that has just started: it has not yet seen its migrations applied."""
    from topicshare.core import health

    monkeypatch.setattr(health, "_READY", {"migrated": False, "was_ready": False})
    return health


@pytest.mark.django_db
def test_healthz_is_ready_when_every_migration_is_applied(client, fresh_process):
    response = client.get(reverse("healthz"))

    assert response.status_code == 200
    body = response.json()
    assert body["state"] == "ready"
    assert body["migrations"] == "applied"


@pytest.mark.django_db
def test_healthz_is_starting_while_migrations_are_pending(client, fresh_process):
    from django.db.migrations.recorder import MigrationRecorder

    # The database as the migrate step leaves it half-way: the forum's last migration not yet
    # applied (its record gone; this test's transaction puts it back).
    MigrationRecorder.Migration.objects.filter(app="forum").order_by("-id").first().delete()

    response = client.get(reverse("healthz"))

    assert response.status_code == 503
    body = response.json()
    assert body["state"] == "starting"
    assert body["migrations"] == "pending"
    assert body["database"] == "ok"
    assert body["status"] == "error"
    assert body["worker_heartbeat_age_seconds"] is None


@pytest.mark.django_db(transaction=True)
def test_healthz_tells_starting_from_unavailable_when_the_database_is_gone(
    client, fresh_process, tmp_path
):
    connection = connections["default"]
    original = dict(connection.settings_dict)

    def unreachable():
        connection.close()
        if connection.vendor == "sqlite":
            connection.settings_dict["NAME"] = str(tmp_path / "missing-dir" / "db.sqlite3")
        else:
            connection.settings_dict.update({"HOST": "127.0.0.1", "PORT": "9"})

    def restore():
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(original)

    try:
        unreachable()
        never_ready = client.get(reverse("healthz"))
        restore()
        ready = client.get(reverse("healthz"))
        unreachable()
        lost = client.get(reverse("healthz"))
    finally:
        restore()

    assert (never_ready.status_code, never_ready.json()["state"]) == (503, "starting")
    assert (ready.status_code, ready.json()["state"]) == (200, "ready")
    assert (lost.status_code, lost.json()["state"]) == (503, "unavailable")
    assert lost.json()["migrations"] == "unreachable"
