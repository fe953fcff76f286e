"""What /healthz reports: the database, the broker and the background heartbeats.

The answer is public, so it says what is down ("unreachable") and never why: exception texts
name hosts, ports, file paths and drivers. The details go to the log. The broker check gives
up after TOPICSHARE_HEALTH_TIMEOUT_SECONDS, connect and reply each, with no retries, so
/healthz stays quick when the broker is gone — a load balancer's probe must not queue behind
it. The database check uses the site's own connection (a refused connection fails at once).

`state` tells a probe (compose's health check, a load balancer) what to do with this process:
- "starting": not ready yet and never was — the database is not reachable yet, or the schema
  is behind this version's migrations (compose's one-shot `migrate` service has not finished);
  answered 503, so nothing routes requests here yet;
- "ready": the database answers and every migration of this version is applied (200);
- "unavailable": it was ready and has lost the database since (503).
Once a process has seen every migration applied it does not look again: its code, and so its
migrations, do not change while it runs.
"""

import logging
from datetime import datetime

from django.conf import settings
from django.db import connection
from django.utils import timezone
from kombu import Connection

from topicshare.core.backups import backup_health
from topicshare.core.models import Heartbeat

logger = logging.getLogger(__name__)

OK = "ok"
UNREACHABLE = "unreachable"


def check_database() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "down"
        logger.warning("health: the database is unreachable: %s: %s", type(exc).__name__, exc)
        return False, UNREACHABLE
    return True, OK


def check_broker() -> tuple[bool, str]:
    timeout = settings.TOPICSHARE_HEALTH_TIMEOUT_SECONDS
    options = {
        **settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        # Redis: bound the connect and the PING's reply (without a socket timeout a server that
        # accepts and never answers holds the request forever); no retries.
        "socket_connect_timeout": timeout,
        "socket_timeout": timeout,
        "retry_on_timeout": False,
    }
    try:
        with Connection(
            settings.CELERY_BROKER_URL, transport_options=options, connect_timeout=timeout
        ) as broker:
            broker.ensure_connection(max_retries=0, timeout=timeout)
    except Exception as exc:  # kombu raises many kinds; all mean "unreachable"
        logger.warning("health: the broker is unreachable: %s: %s", type(exc).__name__, exc)
        return False, UNREACHABLE
    return True, OK


_READY = {"migrated": False, "was_ready": False}


def migrations_pending() -> bool:
    """Whether this version has migrations the database lacks (checked until there are none)."""
    if _READY["migrated"]:
        return False
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    pending = bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))
    _READY["migrated"] = not pending
    return pending


def _schema_ready() -> bool:
    try:
        return not migrations_pending()
    except Exception as exc:  # a half-created schema, a lost connection: not ready
        logger.warning(
            "health: could not read the migration state: %s: %s", type(exc).__name__, exc
        )
        return False


def heartbeat_ages(*, now: datetime) -> dict[str, float | None]:
    seen = dict(Heartbeat.objects.values_list("component", "seen_at"))
    return {
        component: round((now - seen[component]).total_seconds(), 1) if component in seen else None
        for component in ("worker", "beat")
    }


def health_report(*, now: datetime | None = None) -> tuple[bool, dict]:
    now = now or timezone.now()
    db_ok, db_detail = check_database()
    migrated = db_ok and _schema_ready()
    if migrated:
        _READY["was_ready"] = True
        state = "ready"
    else:
        state = "unavailable" if _READY["was_ready"] else "starting"
    broker_ok, broker_detail = check_broker()
    ages = heartbeat_ages(now=now) if migrated else {"worker": None, "beat": None}
    stale_after = settings.TOPICSHARE_HEARTBEAT_STALE_SECONDS
    report = {
        "status": "ok" if migrated else "error",
        "state": state,
        "database": db_detail,
        "migrations": "applied" if migrated else ("pending" if db_ok else UNREACHABLE),
        "broker": broker_detail,
        "heartbeat_stale_after_seconds": stale_after,
    }
    for component, age in ages.items():
        report[f"{component}_heartbeat_age_seconds"] = age
        report[f"{component}_fresh"] = age is not None and age <= stale_after
    report["broker_ok"] = broker_ok
    # Informational: an old backup never turns /healthz into a 503.
    report.update(backup_health(now=now, database_ok=migrated))
    return migrated, report
