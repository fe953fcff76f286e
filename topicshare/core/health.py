"""What /healthz reports: the database, the broker and the background heartbeats.

The answer is public, so it says what is down ("unreachable") and never why: exception texts
name hosts, ports, file paths and drivers. The details go to the log. The broker check gives
up after TOPICSHARE_HEALTH_TIMEOUT_SECONDS, connect and reply each, with no retries, so
/healthz stays quick when the broker is gone — a load balancer's probe must not queue behind
it. The database check uses the site's own connection (a refused connection fails at once).
"""

import logging
from datetime import datetime

from django.conf import settings
from django.db import connection
from django.utils import timezone
from kombu import Connection

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


def heartbeat_ages(*, now: datetime) -> dict[str, float | None]:
    seen = dict(Heartbeat.objects.values_list("component", "seen_at"))
    return {
        component: round((now - seen[component]).total_seconds(), 1) if component in seen else None
        for component in ("worker", "beat")
    }


def health_report(*, now: datetime | None = None) -> tuple[bool, dict]:
    now = now or timezone.now()
    db_ok, db_detail = check_database()
    broker_ok, broker_detail = check_broker()
    ages = heartbeat_ages(now=now) if db_ok else {"worker": None, "beat": None}
    stale_after = settings.TOPICSHARE_HEARTBEAT_STALE_SECONDS
    report = {
        "status": "ok" if db_ok else "error",
        "database": db_detail,
        "broker": broker_detail,
        "heartbeat_stale_after_seconds": stale_after,
    }
    for component, age in ages.items():
        report[f"{component}_heartbeat_age_seconds"] = age
        report[f"{component}_fresh"] = age is not None and age <= stale_after
    report["broker_ok"] = broker_ok
    return db_ok, report
