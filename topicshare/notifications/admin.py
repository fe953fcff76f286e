from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from topicshare.notifications.models import (
    ChatWebhook,
    Notification,
    NotificationOptOut,
    WebhookDelivery,
    WebhookEndpoint,
)
from topicshare.notifications.outbox import notification_resend


@admin.register(ChatWebhook)
class ChatWebhookAdmin(admin.ModelAdmin):
    list_display = ["name", "provider", "audience", "enabled"]
    list_filter = ["provider", "audience", "enabled"]


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
