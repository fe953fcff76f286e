from topicshare.notifications.models import NotificationOptOut


def notification_opt_out(*, user, kind: str) -> None:
    NotificationOptOut.objects.get_or_create(user=user, kind=kind)


def notification_preferences_set(*, user, opted_out: set[str]) -> None:
    """Replace a person's e-mail opt-outs with `opted_out` (kinds)."""
    NotificationOptOut.objects.filter(user=user).exclude(kind__in=opted_out).delete()
    for kind in opted_out:
        NotificationOptOut.objects.get_or_create(user=user, kind=kind)
