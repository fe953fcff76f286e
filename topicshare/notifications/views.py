from django.contrib.auth import get_user_model
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from topicshare.notifications.models import NotificationKind
from topicshare.notifications.outbox import unsubscribe_read
from topicshare.notifications.services import notification_opt_out


@csrf_exempt  # mail clients' one-click unsubscribe (RFC 8058) POSTs without a CSRF token
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    """Opt out of one kind of e-mail from the link in it; no login needed (the token is signed)."""
    parsed = unsubscribe_read(token)
    user = get_user_model().objects.filter(pk=parsed[0], is_active=True).first() if parsed else None
    if user is None or parsed[1] not in NotificationKind.values:
        return render(request, "notifications/unsubscribe.html", {"invalid": True}, status=404)
    kind_label = NotificationKind(parsed[1]).label
    if request.method == "POST":
        notification_opt_out(user=user, kind=parsed[1])
        return render(
            request, "notifications/unsubscribe.html", {"done": True, "kind_label": kind_label}
        )
    return render(request, "notifications/unsubscribe.html", {"kind_label": kind_label})
