from datetime import datetime

from django.utils import timezone

from topicshare.models import Heartbeat


def heartbeat_record(*, beat_sent_at: datetime | None, now: datetime | None = None) -> None:
    """Record that the worker ran a heartbeat now, and that beat sent it at `beat_sent_at`."""
    now = now or timezone.now()
    Heartbeat.objects.update_or_create(component="worker", defaults={"seen_at": now})
    if beat_sent_at is not None:
        Heartbeat.objects.update_or_create(component="beat", defaults={"seen_at": beat_sent_at})


def notification_opt_out(*, user, kind: str) -> None:
    from topicshare.models import NotificationOptOut

    NotificationOptOut.objects.get_or_create(user=user, kind=kind)


def notification_preferences_set(*, user, opted_out: set[str]) -> None:
    """Replace a person's e-mail opt-outs with `opted_out` (kinds)."""
    from topicshare.models import NotificationOptOut

    NotificationOptOut.objects.filter(user=user).exclude(kind__in=opted_out).delete()
    for kind in opted_out:
        NotificationOptOut.objects.get_or_create(user=user, kind=kind)
