from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from members.admission import (
    AdmissionError,
    application_submit,
    application_withdraw,
    application_withdraw_consequences,
)
from members.forms import ApplicationForm, NotificationPreferencesForm
from members.models import Application, User
from members.selectors import member_search, public_label
from topicshare.core.confirm import Confirmation, confirmation_page, confirmed
from topicshare.core.uploads import serve_file
from topicshare.notifications.models import NotificationKind
from topicshare.notifications.services import notification_preferences_set


@login_required
@require_safe
def members_search(request):
    """Verified members by name (or e-mail prefix), for the co-presenter picker: a few
    results, each a display name and account number, never an e-mail address."""
    people = member_search(query=request.GET.get("q", ""), exclude=request.user)
    response = JsonResponse(
        {"results": [{"id": person.pk, "label": public_label(person)} for person in people]}
    )
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def notification_preferences(request):
    form = NotificationPreferencesForm(request.POST)
    if form.is_valid():
        wanted = set(form.cleaned_data["wanted"])
        notification_preferences_set(
            user=request.user, opted_out=set(NotificationKind.values) - wanted
        )
        messages.success(request, _("Your e-mail preferences are saved."))
    else:
        messages.error(request, _("Those preferences could not be read; nothing changed."))
    return redirect("profile")


@login_required
def member_detail(request, pk: int):
    member = get_object_or_404(
        User.objects.prefetch_related("tracks_of_interest", "groups"), pk=pk, is_active=True
    )
    if not request.user.has_perm("members.view_profile", member):
        raise PermissionDenied
    return render(
        request,
        "members/member_detail.html",
        {
            "member": member,
            "show_wechat": request.user.has_perm("members.view_wechat_id", member),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def join_apply(request):
    # Said at once, before anyone fills in the form the service would refuse.
    open_application = (
        request.user.applications.filter(status__in=Application.OPEN)
        .order_by("-created_at")
        .first()
    )
    if open_application is not None:
        return render(request, "members/join_apply.html", {"open_application": open_application})
    form = ApplicationForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
    )
    if request.method == "POST" and form.is_valid():
        try:
            application_submit(applicant=request.user, **form.cleaned_data)
        except AdmissionError as error:
            form.add_error(None, str(error))
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(
                request, _("Your application is in. The committee will get back to you.")
            )
            return redirect("join-status")
    return render(request, "members/join_apply.html", {"form": form})


@login_required
def join_status(request):
    """Where my applications stand: never who voted what."""
    applications = request.user.applications.order_by("-created_at")
    return render(request, "members/join_status.html", {"applications": applications})


@login_required
def application_slides(request, pk: int):
    """The applicant's slides: for the applicant and the committee only."""
    application = get_object_or_404(Application, pk=pk)
    if not request.user.has_perm("members.view_application_slides", application):
        raise PermissionDenied
    if not application.slides:
        raise Http404
    return serve_file(
        request, application.slides, download_name=application.slides_name or "slides"
    )


@login_required
@require_POST
def join_withdraw(request, pk: int):
    application = get_object_or_404(Application, pk=pk, applicant=request.user)
    if application.is_open and not confirmed(request):
        happens, told = application_withdraw_consequences(application)
        return confirmation_page(
            request,
            Confirmation(
                title=_("Withdraw your application?"),
                button=_("Yes, withdraw it"),
                happens=happens,
                told=told,
                back_url=reverse("join-status"),
            ),
        )
    try:
        application_withdraw(application=application, by=request.user)
    except AdmissionError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Your application is withdrawn."))
    return redirect("join-status")
