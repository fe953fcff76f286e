from django.contrib import admin

from topicshare.forum.models import ForumSettings


@admin.register(ForumSettings)
class ForumSettingsAdmin(admin.ModelAdmin):
    list_display = ["forum_name", "slogan", "updated_at"]

    def has_add_permission(self, request) -> bool:
        # One row only; it is created on first use.
        return not ForumSettings.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
