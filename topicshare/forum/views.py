from collections import Counter

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseBadRequest, HttpResponseServerError
from django.shortcuts import get_object_or_404, redirect, render
from django.template import loader
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import SimpleLazyObject
from django.utils.translation import check_for_language
from django.utils.translation import gettext as _
from django.views.decorators.http import (
    require_GET,
    require_http_methods,
    require_POST,
    require_safe,
)
from django.views.i18n import set_language as django_set_language

from members.api_tokens import api_token_create, api_token_revoke, api_tokens_live
from members.forms import ApiTokenForm, NotificationPreferencesForm, ProfileForm
from members.models import ApiToken
from members.services import profile_update
from sessions.models import Track
from sessions.topics.selectors import invitations_open_for
from sessions.weekly.calendar import ALARMS, calendar_token_for
from sessions.weekly.selectors import sessions_upcoming
from topicshare.core.confirm import Confirmation, confirmation_page, confirmed
from topicshare.core.fragments import personal_page, store_no_fragments
from topicshare.core.i18n import set_language_cookie
from topicshare.core.links import absolute_url
from topicshare.core.pagecache import public_page
from topicshare.forum.inbox import KINDS, inbox_items
from topicshare.forum.me import me_context
from topicshare.notifications.models import NotificationKind


@public_page(signed_in=True)
def home(request):
    return render(
        request,
        "home.html",
        {
            # Lazy: both are inside the page's cached fragment.
            "tracks": Track.objects.all(),
            "next_sessions": SimpleLazyObject(
                lambda: sessions_upcoming(now=timezone.now(), limit=3)
            ),
        },
    )


@public_page
def join(request):
    return render(request, "join.html")


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
    store_no_fragments(request)
    return render(request, "403.html", status=403)


def page_not_found(request, exception=None):
    store_no_fragments(request)
    return render(request, "404.html", status=404)


def server_error(request):
    # Rendered without context processors: the database may be why we got here.
    return HttpResponseServerError(loader.get_template("500.html").render())


@login_required
@require_safe
@personal_page
def me(request):
    """My page: my sessions, groups and tasks, proposals, application and calendar."""
    return render(request, "me.html", me_context(user=request.user, now=timezone.now()))


CALENDAR_ALARMS = {"off", *ALARMS}


@login_required
@require_http_methods(["GET", "POST"])
@personal_page(params=("alarm",))
def profile(request):
    form = ProfileForm(request.POST if request.method == "POST" else None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        messages.success(request, _("Your profile is saved."))
        response = redirect("profile")
        if user.preferred_language:
            translation.activate(user.preferred_language)
            set_language_cookie(response, user.preferred_language)
        return response
    return _profile_page(request, form=form)


def _profile_page(request, *, form, api_token_form=None, api_token_shown=None, status=200):
    opted_out = set(request.user.notification_opt_outs.values_list("kind", flat=True))
    preferences = NotificationPreferencesForm(
        initial={"wanted": [kind for kind in NotificationKind.values if kind not in opted_out]}
    )
    token = calendar_token_for(user=request.user)
    calendar_url = absolute_url(reverse("sessions:calendar-personal", args=[token]))
    # The feed's reminder alarm is part of its address: choosing one shows that address.
    alarm = request.GET.get("alarm", "off")
    if alarm not in CALENDAR_ALARMS:
        alarm = "off"
    if alarm != "off":
        calendar_url += f"?alarm={alarm}"
    response = render(
        request,
        "members/profile_edit.html",
        {
            "api_tokens": api_tokens_live(user=request.user),
            "api_token_form": api_token_form or ApiTokenForm(),
            "api_token_shown": api_token_shown,
            "form": form,
            "calendar_url": calendar_url,
            "alarm": alarm,
            "alarm_choices": [
                ("off", _("No reminder")),
                ("15m", _("15 minutes before")),
                ("1h", _("1 hour before")),
                ("1d", _("1 day before")),
            ],
            "preferences": preferences,
            "invitations": invitations_open_for(user=request.user),
        },
        status=status,
    )
    return response


@login_required
@require_POST
def api_token_new(request):
    """Make a personal API token. Its plaintext is in this response only (never stored, not
    even in the session or the page cache): the profile page, rendered here, not redirected."""
    form = ApiTokenForm(request.POST)
    if form.is_valid():
        try:
            token, raw = api_token_create(
                user=request.user, name=form.cleaned_data["name"], scope=form.cleaned_data["scope"]
            )
        except ValidationError as error:
            if hasattr(error, "error_dict"):
                for field, errors in error.error_dict.items():
                    for message in errors:
                        form.add_error(field, message)
            else:
                form.add_error(None, error)
        else:
            response = _profile_page(
                request, form=ProfileForm(instance=request.user),
                api_token_shown={"token": token, "raw": raw},
            )  # fmt: skip
            response["Cache-Control"] = "no-store"
            return response
    return _profile_page(
        request, form=ProfileForm(instance=request.user), api_token_form=form, status=400
    )


@login_required
@require_POST
def api_token_revoke_view(request, pk: int):
    # Only one's own tokens here (someone else's: 404); organisers revoke others' in the admin.
    token = get_object_or_404(ApiToken, pk=pk, user=request.user, revoked_at__isnull=True)
    if not confirmed(request):
        return confirmation_page(
            request,
            Confirmation(
                title=_("Revoke the API token “%(name)s”?") % {"name": token.name},
                button=_("Yes, revoke it"),
                happens=[
                    _("Scripts and apps that use it are refused from now on."),
                    _("This cannot be undone: make a new token if you need one."),
                ],
                back_url=reverse("profile"),
            ),
        )
    api_token_revoke(token=token, by=request.user)
    messages.success(request, _("The API token “%(name)s” is revoked.") % {"name": token.name})
    return redirect("profile")


@login_required
@require_GET
@personal_page
def staff_inbox(request):
    """Organisers: what waits for them, oldest first, each with its action one click away."""
    if not request.user.has_perm("forum.view_inbox"):
        raise PermissionDenied
    now = timezone.now()
    items = inbox_items(now=now)
    kinds = Counter(item.kind for item in items)
    return render(
        request,
        "staff/inbox.html",
        {
            "items": items,
            "now": now,
            "kinds": [(kind, label, kinds[kind]) for kind, label in KINDS.items() if kinds[kind]],
        },
    )
