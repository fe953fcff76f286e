from django.contrib import admin

from topicshare.core.models import Heartbeat


class ReadOnlyAdmin(admin.ModelAdmin):
    """A list to look at, never to edit here: rows are written by services only. With
    `view_permission`, only those who hold it see the list (checked by the admin itself)."""

    view_permission: str | None = None

    def has_view_permission(self, request, obj=None) -> bool:
        if self.view_permission is None:
            return super().has_view_permission(request, obj)
        return request.user.has_perm(self.view_permission)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Heartbeat)
class HeartbeatAdmin(admin.ModelAdmin):
    list_display = ["component", "seen_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
