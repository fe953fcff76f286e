from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from topicshare.models import (
    ChatWebhook,
    ForumSettings,
    Heartbeat,
    Notification,
    NotificationOptOut,
    ReminderRule,
)
from topicshare.outbox import notification_resend


@admin.register(ForumSettings)
class ForumSettingsAdmin(admin.ModelAdmin):
    list_display = ["forum_name", "slogan", "updated_at"]

    def has_add_permission(self, request) -> bool:
        # One row only; it is created on first use.
        return not ForumSettings.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ["component", "seen_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ReminderRule)
class ReminderRuleAdmin(admin.ModelAdmin):
    list_display = ["kind", "offset", "stale_after", "enabled", "by_email", "chat_audience"]
    list_editable = ["enabled"]
    fieldsets = [
        (None, {"fields": ["kind", "enabled", "offset", "stale_after", "minimum_group"]}),
        (
            _("Who"),
            {
                "fields": [
                    "to_presenters", "to_participants", "to_rsvps", "to_members",
                    "to_track_followers", "to_organisers",
                ]
            },
        ),
        (_("How"), {"fields": ["by_email", "chat_audience"]}),
    ]  # fmt: skip


@admin.register(ChatWebhook)
class ChatWebhookAdmin(admin.ModelAdmin):
    list_display = ["name", "provider", "audience", "track", "enabled"]
    list_filter = ["provider", "audience", "track", "enabled"]


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
