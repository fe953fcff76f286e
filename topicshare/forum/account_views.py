"""The profile's "download my data" and "delete my account" (topicshare/forum/account_data.py)."""

from allauth.account.decorators import reauthentication_required
from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from members.personal_data import PersonalDataError, erasure_refusal
from topicshare.forum.account_data import (
    data_export_make,
    deletion_confirm,
    deletion_open,
    deletion_read,
    deletion_request,
)


class DeletionRequestForm(forms.Form):
    password = forms.CharField(
        label=gettext_lazy("Your password"),
        strip=False,
        max_length=4096,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


@login_required
@require_POST
def data_export(request):
    """My data as a zip (data.json and the files I uploaded), for me only: the signed-in
    person's own, never anyone else's (no argument names a person)."""
    try:
        archive, filename = data_export_make(user=request.user, now=timezone.now())
    except PersonalDataError as error:
        messages.error(request, str(error))
        return redirect("profile")
    response = HttpResponse(archive, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _without_password(request) -> bool:
    return not request.user.has_usable_password()


@login_required
@require_http_methods(["GET", "POST"])
@reauthentication_required(allow_get=True, enabled=_without_password)
def account_delete(request):
    """What deleting the account erases and keeps; the password (accounts without one:
    a fresh re-authentication, asked by allauth) sends the confirmation link."""
    user = request.user
    needs_password = user.has_usable_password()
    form = DeletionRequestForm(request.POST if request.method == "POST" else None)
    if not needs_password:
        del form.fields["password"]
    refusal = erasure_refusal(user)
    if request.method == "POST" and refusal is None and form.is_valid():
        try:
            deletion_request(
                user=user,
                password=form.cleaned_data["password"] if needs_password else None,
                now=timezone.now(),
            )
        except PersonalDataError as error:
            form.add_error("password" if needs_password else None, str(error))
        else:
            messages.success(
                request,
                _("We sent a link to %(email)s. Open it to confirm the deletion.")
                % {"email": user.email},
            )
            return redirect("account-delete")
    return render(
        request,
        "members/account_delete.html",
        {"form": form, "refusal": refusal, "pending": deletion_open(user=user)},
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
def account_delete_confirm(request, token: str):
    """The e-mailed link: the token is the credential (the person may open it signed out);
    the deletion happens only on the page's POST. Signed in as someone else: refused."""
    try:
        deletion = deletion_read(token)
    except PersonalDataError as error:
        return render(request, "members/account_delete_confirm.html", {"error": error}, status=400)
    if request.user.is_authenticated and request.user.pk != deletion.user_id:
        error = _("This link is for another account. Sign out first, then open it again.")
        return render(request, "members/account_delete_confirm.html", {"error": error}, status=400)
    if request.method == "POST":
        try:
            deletion_confirm(deletion=deletion, now=timezone.now())
        except PersonalDataError as error:
            return render(
                request, "members/account_delete_confirm.html", {"error": error}, status=400
            )
        if request.user.is_authenticated:
            logout(request)
        return render(request, "members/account_delete_confirm.html", {"done": True})
    return render(request, "members/account_delete_confirm.html", {"deletion": deletion})
