from django.contrib import admin

from members.ledger.models import ExemptionRequest, LedgerExemption, LedgerPolicy
from members.ledger.services import ledger_exempt, ledger_exemption_revoke


@admin.register(LedgerPolicy)
class LedgerPolicyAdmin(admin.ModelAdmin):
    """Organisers only (the committee's admin section is admissions)."""

    list_display = [
        "__str__", "min_attendance_percent", "presenting_protects", "task_protects",
        "grace_for_new_members", "min_minutes_in_meeting",
    ]  # fmt: skip

    def has_add_permission(self, request) -> bool:
        return not LedgerPolicy.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        LedgerPolicy.load()  # the defaults, ready to edit
        return super().changelist_view(request, extra_context)


@admin.register(LedgerExemption)
class LedgerExemptionAdmin(admin.ModelAdmin):
    """Locks against the season review's flags. Adding and deleting go through the ledger
    services, so both land in the audit trail."""

    list_display = ["user", "season", "reason", "by", "created_at"]
    list_filter = ["season"]
    list_select_related = ["user", "season", "by"]
    search_fields = ["user__email", "user__display_name", "reason"]
    autocomplete_fields = ["user"]
    fields = ["user", "season", "reason"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        created = ledger_exempt(
            user=obj.user, season=obj.season, reason=obj.reason, by=request.user
        )
        obj.pk = created.pk

    def delete_model(self, request, obj):
        ledger_exemption_revoke(exemption=obj, by=request.user)

    def delete_queryset(self, request, queryset):
        for exemption in queryset:
            ledger_exemption_revoke(exemption=exemption, by=request.user)


@admin.register(ExemptionRequest)
class ExemptionRequestAdmin(admin.ModelAdmin):
    """Read here; answered on /staff/exemption-requests/ (through the service: granting makes
    the exemption)."""

    list_display = ["user", "season", "created_at", "answered_at", "granted"]
    list_filter = ["season", "granted"]
    readonly_fields = ["user", "season", "reason", "created_at", "answered_at", "answered_by",
                       "granted"]  # fmt: skip

    def has_add_permission(self, request) -> bool:
        return False
