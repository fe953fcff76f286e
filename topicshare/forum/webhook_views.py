"""Outgoing webhooks for integrations, for organisers (/staff/webhooks/): list, add, edit,
deactivate, delete, rotate the secret, send a test event, see the last deliveries. The
sending is the outbox's (topicshare/notifications/outgoing.py)."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from topicshare.notifications.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from topicshare.notifications.outgoing import (
    webhook_endpoint_delete,
    webhook_endpoint_rotate_secret,
    webhook_endpoint_save,
    webhook_test_send,
)

DELIVERIES_SHOWN = 20
# The secret is shown once, on the page after it was made (kept in the session until then).
_SHOWN_ONCE = "webhook_secret_once"


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(label=gettext_lazy("Address"), max_length=500, assume_scheme="https")
    events = forms.MultipleChoiceField(
        label=gettext_lazy("Events"),
        choices=WebhookEvent.choices,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["url", "description", "events", "active"]


def _check(request) -> None:
    if not request.user.has_perm("forum.manage_webhooks"):
        raise PermissionDenied


@login_required
def webhooks(request):
    _check(request)
    endpoints = list(WebhookEndpoint.objects.all())
    secret = request.session.pop(_SHOWN_ONCE, None)
    return render(
        request,
        "staff/webhooks.html",
        {"endpoints": endpoints, "new_secret": secret, "events": dict(WebhookEvent.choices)},
    )


def _save(request, form, endpoint_is_new: bool):
    try:
        endpoint = webhook_endpoint_save(endpoint=form.save(commit=False), by=request.user)
    except ValidationError as error:
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return None
    if endpoint_is_new:
        request.session[_SHOWN_ONCE] = {"id": endpoint.pk, "secret": endpoint.secret}
    messages.success(request, _("The webhook is saved."))
    return endpoint


@login_required
def webhook_add(request):
    _check(request)
    form = WebhookEndpointForm(request.POST or None, initial={"active": True})
    if request.method == "POST" and form.is_valid() and _save(request, form, True):
        return redirect("webhooks")
    return render(request, "staff/webhook_form.html", {"form": form, "endpoint": None})


@login_required
def webhook_edit(request, pk: int):
    _check(request)
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    form = WebhookEndpointForm(request.POST or None, instance=endpoint)
    if request.method == "POST" and form.is_valid() and _save(request, form, False):
        return redirect("webhook-edit", pk=endpoint.pk)
    deliveries = WebhookDelivery.objects.filter(endpoint=endpoint)[:DELIVERIES_SHOWN]
    return render(
        request,
        "staff/webhook_form.html",
        {"form": form, "endpoint": endpoint, "deliveries": deliveries},
    )


@login_required
@require_POST
def webhook_action(request, pk: int, action: str):
    """rotate (a new secret, shown once), test (a webhook.test event) or delete."""
    _check(request)
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    if action == "rotate":
        secret = webhook_endpoint_rotate_secret(endpoint=endpoint)
        request.session[_SHOWN_ONCE] = {"id": endpoint.pk, "secret": secret}
        messages.success(request, _("A new secret is made; the old one no longer signs."))
        return redirect("webhooks")
    if action == "test":
        webhook_test_send(endpoint=endpoint)
        messages.success(request, _("A test event is queued."))
        return redirect("webhook-edit", pk=endpoint.pk)
    if action == "delete":
        webhook_endpoint_delete(endpoint=endpoint)
        messages.success(request, _("The webhook and its delivery log are deleted."))
        return redirect("webhooks")
    raise PermissionDenied
