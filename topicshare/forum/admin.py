from django.contrib import admin
from django.contrib.admin.widgets import AdminFileWidget
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from topicshare.forum.models import ForumSettings


class _ShownAt:
    """A stored file as the file input shows it: linked to the view that serves it."""

    def __init__(self, field_file, url: str):
        self.field_file, self.url = field_file, url

    def __str__(self) -> str:
        return str(_("the stored QR code"))


class PrivateImageInput(AdminFileWidget):
    """The file input of a private image (its storage has no public URL): "Currently" links to
    the view that serves it after checking who asks."""

    def __init__(self, *, url_name: str, **kwargs):
        super().__init__(**kwargs)
        self.url_name = url_name

    def format_value(self, value):
        if value and getattr(value, "name", None):
            return _ShownAt(value, reverse(self.url_name))
        return super().format_value(value)


@admin.register(ForumSettings)
class ForumSettingsAdmin(admin.ModelAdmin):
    list_display = ["forum_name", "slogan", "updated_at"]
    fieldsets = [
        (None, {"fields": ["forum_name", "slogan"]}),
        (_("Joining (public)"), {"fields": ["join_instructions", "official_account_qr"]}),
        (_("Study group (members only)"), {"fields": ["study_group_steps", "study_group_qr"]}),
    ]

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "study_group_qr":
            kwargs["widget"] = PrivateImageInput(url_name="study-group-qr")
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def has_add_permission(self, request) -> bool:
        # One row only; it is created on first use.
        return not ForumSettings.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
