from datetime import datetime

from django.utils import timezone

from topicshare.core.models import Heartbeat


def heartbeat_record(*, beat_sent_at: datetime | None, now: datetime | None = None) -> None:
    """Record that the worker ran a heartbeat now, and that beat sent it at `beat_sent_at`."""
    now = now or timezone.now()
    Heartbeat.objects.update_or_create(component="worker", defaults={"seen_at": now})
    if beat_sent_at is not None:
        Heartbeat.objects.update_or_create(component="beat", defaults={"seen_at": beat_sent_at})
