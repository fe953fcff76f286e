from django.http import HttpResponseBadRequest, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.utils import timezone
from django.utils.translation import check_for_language
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.i18n import set_language as django_set_language

from members.models import User
from members.services import profile_update
from sessions.models import Track
from sessions.selectors import sessions_upcoming
from topicshare.health import health_report
from topicshare.models import NotificationKind
from topicshare.outbox import unsubscribe_read
from topicshare.pagecache import public_page
from topicshare.services import notification_opt_out


@public_page
def home(request):
    return render(
        request,
        "home.html",
        {
            "tracks": Track.objects.all(),
            "next_sessions": sessions_upcoming(now=timezone.now(), limit=3),
            "rsvped": set(),
        },
    )


@public_page
def join(request):
    return render(request, "join.html")


@never_cache
@require_GET
def healthz(request):
    database_ok, report = health_report()
    return JsonResponse(report, status=200 if database_ok else 503)


@require_POST
def set_language(request):
    """Django's language switch, which also remembers the choice on the user's profile."""
    language = request.POST.get("language", "")
    if not check_for_language(language):
        return HttpResponseBadRequest("Unknown language.")
    response = django_set_language(request)
    if request.user.is_authenticated:
        profile_update(user=request.user, language=language)
    return response


def permission_denied(request, exception=None):
    return render(request, "403.html", status=403)


def page_not_found(request, exception=None):
    return render(request, "404.html", status=404)


def server_error(request):
    # Rendered without context processors: the database may be why we got here.
    return HttpResponseServerError(loader.get_template("500.html").render())


@csrf_exempt  # mail clients' one-click unsubscribe (RFC 8058) POSTs without a CSRF token
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    """Opt out of one kind of e-mail from the link in it; no login needed (the token is signed)."""
    parsed = unsubscribe_read(token)
    user = User.objects.filter(pk=parsed[0], is_active=True).first() if parsed else None
    if user is None or parsed[1] not in NotificationKind.values:
        return render(request, "notifications/unsubscribe.html", {"invalid": True}, status=404)
    kind_label = NotificationKind(parsed[1]).label
    if request.method == "POST":
        notification_opt_out(user=user, kind=parsed[1])
        return render(
            request, "notifications/unsubscribe.html", {"done": True, "kind_label": kind_label}
        )
    return render(request, "notifications/unsubscribe.html", {"kind_label": kind_label})
