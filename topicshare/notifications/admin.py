import datetime

from django.contrib import admin, messages
from django.utils import timezone
from django.utils.text import Truncator
from django.utils.timesince import timeuntil
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from topicshare.notifications.models import (
    ChatWebhook,
    DeliveryLane,
    Notification,
    NotificationOptOut,
    WebhookDelivery,
    WebhookEndpoint,
)
from topicshare.notifications.outbox import notification_resend


def _when(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _next_try(moment: datetime.datetime | None, now: datetime.datetime) -> str:
    """ "in 4 minutes", or "at the next sweep" once the moment has come."""
    if moment is None or moment <= now:
        return gettext("at the next sweep")
    return gettext("in %(time)s") % {"time": timeuntil(moment, now, depth=1)}


def lane_status(lane: DeliveryLane | None, now: datetime.datetime | None = None) -> str:
    """One line on a lane (e-mail, a chat bot) for organisers: working, or failing since when,
    how many times in a row, and when it is tried next."""
    now = now or timezone.now()
    if lane is None or not lane.failures:
        if lane is not None and lane.last_success_at:
            return gettext("Delivering (last message %(when)s)") % {
                "when": _when(lane.last_success_at)
            }
        return gettext("Nothing sent yet")
    since = lane.failing_since or now
    paused = lane.paused_until is not None and lane.paused_until > now
    failing = gettext("Failing since %(since)s, failures in a row: %(count)d") % {
        "since": _when(since), "count": lane.failures,
    }  # fmt: skip
    if paused:
        next_try = gettext("paused, next try %(when)s") % {
            "when": _next_try(lane.paused_until, now)
        }
    else:
        next_try = gettext("next try %(when)s") % {"when": _next_try(None, now)}
    line = f"{failing}; {next_try}"
    return f"{line} — {Truncator(lane.last_error).chars(120)}" if lane.last_error else line


@admin.register(ChatWebhook)
class ChatWebhookAdmin(admin.ModelAdmin):
    list_display = ["name", "provider", "audience", "enabled", "delivery"]
    list_filter = ["provider", "audience", "enabled"]
    list_select_related = ["lane"]

    @admin.display(description=_("delivery"))
    def delivery(self, obj: ChatWebhook) -> str:
        try:
            lane = obj.lane
        except DeliveryLane.DoesNotExist:
            lane = None
        return lane_status(lane)


@admin.register(DeliveryLane)
class DeliveryLaneAdmin(admin.ModelAdmin):
    """Each way out of the outbox (e-mail, every chat bot): is it delivering, or failing and
    paused until when. Read-only: the outbox keeps these."""

    list_display = ["__str__", "status", "failures", "failing_since", "last_success_at"]
    list_select_related = ["channel"]
    readonly_fields = [
        "key", "channel", "failures", "pauses", "failing_since", "paused_until", "last_error",
        "last_success_at", "busy_until",
    ]  # fmt: skip

    @admin.display(description=_("status"))
    def status(self, obj: DeliveryLane) -> str:
        return lane_status(obj)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    """The outbox, read-only: failed rows can be sent again."""

    list_display = [
        "title",
        "kind",
        "recipient",
        "channel",
        "status",
        "attempts",
        "next_try",
        "error",
        "due_at",
        "sent_at",
    ]
    list_filter = ["status", "kind", "channel"]
    search_fields = ["title", "recipient__email", "recipient__display_name"]
    list_select_related = ["recipient", "channel"]
    date_hierarchy = "created_at"
    actions = ["resend"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("next attempt"), ordering="next_attempt_at")
    def next_try(self, obj: Notification) -> str:
        if obj.status != Notification.Status.PENDING:
            return "—"
        return _next_try(obj.next_attempt_at, timezone.now())

    @admin.display(description=_("last error"))
    def error(self, obj: Notification) -> str:
        return Truncator(obj.last_error).chars(80) or "—"

    def changelist_view(self, request, extra_context=None):
        """Above the list: the lanes that are failing (e-mail first), so that a provider's
        outage is seen before its pending rows are."""
        now = timezone.now()
        failing = DeliveryLane.objects.filter(failures__gt=0).select_related("channel")
        lines = [
            f"{lane}: {lane_status(lane, now)}"
            for lane in sorted(failing, key=lambda lane: lane.key != DeliveryLane.EMAIL)
        ]
        return super().changelist_view(request, {**(extra_context or {}), "failing_lanes": lines})

    @admin.action(description=_("Send again"), permissions=["view"])
    def resend(self, request, queryset):
        count = notification_resend(notifications=queryset)
        self.message_user(request, _("%(count)d notification(s) queued again.") % {"count": count},
                          messages.SUCCESS)  # fmt: skip


@admin.register(NotificationOptOut)
class NotificationOptOutAdmin(admin.ModelAdmin):
    list_display = ["user", "kind", "created_at"]
    list_filter = ["kind"]
    search_fields = ["user__email"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    """Outgoing webhooks; made and edited on /staff/webhooks/ (the secret is shown there once)."""

    list_display = ["url", "description", "active", "created_at"]
    list_filter = ["active"]
    search_fields = ["url", "description"]
    exclude = ["secret"]
    readonly_fields = ["created_by", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """The delivery log of outgoing webhooks, read-only."""

    list_display = [
        "event_type",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "created_at",
    ]
    list_filter = ["status", "event_type"]
    search_fields = ["message_id", "endpoint__url"]
    list_select_related = ["endpoint"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
