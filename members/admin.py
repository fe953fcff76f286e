from django import forms
from django.contrib import admin, messages
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from members.admission import (
    AdmissionError,
    application_close,
    application_schedule_review,
    application_set_feedback,
    conflict_declare,
    may_vote,
    tally,
    vote_cast,
    votes_needed,
    votes_visible,
)
from members.ledger import ledger_exempt, ledger_exemption_revoke
from members.models import (
    AdmissionSettings,
    Application,
    AuditEvent,
    LedgerExemption,
    LedgerPolicy,
    User,
    Vote,
)
from members.placeholders import placeholder_merge
from members.roles import Role
from members.rules import is_organiser
from members.services import role_set


class UserChangeForm(auth_forms.UserChangeForm):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)

    class Meta:
        model = User
        fields = [
            "email",
            "password",
            "display_name",
            "wechat_id",
            "preferred_language",
            "tracks_of_interest",
            "is_active",
            "is_superuser",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["role"].initial = self.instance.role.value


class UserCreationForm(auth_forms.AdminUserCreationForm):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.AUDIENCE)

    class Meta:
        model = User
        fields = ["email", "display_name"]


def _role_action(role: Role):
    def action(modeladmin, request, queryset):
        for user in queryset:
            role_set(user=user, role=role, by=request.user)
        count = queryset.count()
        modeladmin.message_user(
            request,
            ngettext(
                "%(count)d person is now %(role)s.", "%(count)d people are now %(role)s.", count
            )
            % {"count": count, "role": role.label},
            messages.SUCCESS,
        )

    action.__name__ = f"make_{role.value.lower()}"
    action.short_description = _("Set role: %(role)s") % {"role": role.label}
    action.allowed_permissions = ("change_role",)
    return action


@admin.action(description=_("Merge the selected placeholder into the selected account"))
def merge_placeholder(modeladmin, request, queryset):
    """Select exactly one placeholder (from an imported sheet) and one real account."""
    people = list(queryset)
    placeholders = [person for person in people if person.is_placeholder]
    accounts = [person for person in people if not person.is_placeholder]
    if len(people) != 2 or len(placeholders) != 1:
        modeladmin.message_user(
            request,
            _("Select exactly one placeholder and one real account."),
            messages.ERROR,
        )
        return
    try:
        placeholder_merge(placeholder=placeholders[0], into=accounts[0], by=request.user)
    except (ValueError, PermissionDenied) as error:
        modeladmin.message_user(request, str(error), messages.ERROR)
        return
    modeladmin.message_user(
        request,
        _("%(placeholder)s is now %(account)s.")
        % {"placeholder": placeholders[0].name, "account": accounts[0].email},
        messages.SUCCESS,
    )


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    ordering = ["email"]
    list_display = ["email", "display_name", "role_label", "is_active", "date_joined"]
    list_filter = ["groups", "is_active", "is_staff", "is_placeholder", "tracks_of_interest"]
    search_fields = ["email", "display_name", "wechat_id"]  # also serves autocomplete
    filter_horizontal = ["tracks_of_interest", "user_permissions"]
    readonly_fields = ["last_login", "date_joined", "is_staff", "groups"]
    actions = [*(_role_action(role) for role in Role), merge_placeholder]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        (
            _("Profile"),
            {"fields": ["display_name", "wechat_id", "preferred_language", "tracks_of_interest"]},
        ),
        (_("Role"), {"fields": ["role", "groups", "is_active", "is_staff", "is_superuser"]}),
        (_("Dates"), {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": [
                    "email",
                    "display_name",
                    "usable_password",
                    "password1",
                    "password2",
                    "role",
                ],
            },
        )
    ]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            # Only a superuser can make another superuser.
            fields.append("is_superuser")
        return fields

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description=_("role"))
    def role_label(self, obj: User) -> str:
        return obj.role.label

    def has_change_role_permission(self, request) -> bool:
        return request.user.has_perm("members.change_role")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        role = form.cleaned_data.get("role")
        if role and request.user.has_perm("members.change_role"):
            role_set(user=obj, role=Role(role), by=request.user)


class VoteForm(forms.Form):
    choice = forms.ChoiceField(
        label=_("Your vote"), choices=Vote.Choice.choices, widget=forms.RadioSelect
    )
    comment = forms.CharField(
        label=_("Questions asked and your assessment"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ConflictForm(forms.Form):
    reason = forms.CharField(label=_("Why you step aside"), max_length=200)


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    """The committee's workplace: schedule the review talk, vote (a secret ballot), close."""

    list_display = [
        "applicant",
        "paper_title",
        "status",
        "review_at",
        "votes_progress",
        "vote_deadline",
    ]
    list_filter = ["status"]
    search_fields = ["applicant__email", "applicant__display_name", "paper_title"]
    list_select_related = ["applicant"]
    date_hierarchy = "created_at"
    change_form_template = "admin/members/application/change_form.html"
    actions = ["close_vote"]
    fieldsets = [
        (
            _("Application"),
            {"fields": ["applicant", "status", "motivation", "paper_title", "paper_url",
                        "preferred_dates", "slides_link", "created_at", "decided_at"]},
        ),
        (
            _("Review talk"),
            {"fields": ["review_at", "review_meeting_url", "review_notes", "vote_deadline"]},
        ),
        (_("Decision"), {"fields": ["feedback"]}),
    ]  # fmt: skip
    readonly_fields = [
        "applicant", "status", "motivation", "paper_title", "paper_url", "preferred_dates",
        "slides_link", "created_at", "decided_at",
    ]  # fmt: skip
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(vote_count=Count("votes"))

    def get_readonly_fields(self, request, obj=None):
        fields = list(self.readonly_fields)
        if obj is not None and not obj.is_open:
            fields += [
                "review_at",
                "review_meeting_url",
                "review_notes",
                "vote_deadline",
                "feedback",
            ]
        return fields

    def has_add_permission(self, request) -> bool:
        return False  # applicants apply in the browser

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the record and its audit trail stay

    @admin.display(description=_("votes cast / needed"))
    def votes_progress(self, obj: Application) -> str:
        needed = votes_needed(obj)
        late = obj.is_open and obj.vote_deadline and obj.vote_deadline < timezone.now()
        return f"{obj.vote_count} / {needed}" + (f" · {_('no quorum')}" if late else "")

    @admin.display(description=_("slides"))
    def slides_link(self, obj: Application) -> str:
        if not obj.slides:
            return "—"
        url = reverse("application-slides", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.slides_name or _("slides"))

    def save_model(self, request, obj, form, change):
        changed = set(form.changed_data)
        review_fields = {"review_at", "review_meeting_url", "review_notes", "vote_deadline"}
        try:
            if changed & review_fields and obj.review_at:
                application_schedule_review(
                    application=obj, by=request.user, review_at=obj.review_at,
                    meeting_url=obj.review_meeting_url, notes=obj.review_notes,
                    vote_deadline=obj.vote_deadline,
                )  # fmt: skip
            if "feedback" in changed:
                application_set_feedback(application=obj, by=request.user, feedback=obj.feedback)
        except AdmissionError as error:
            self.message_user(request, str(error), messages.ERROR)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        application = self.get_object(request, object_id)
        extra = extra_context or {}
        if application is not None:
            user = request.user
            visible = votes_visible(user, application)
            own = Vote.objects.filter(application=application, voter=user).first()
            extra.update(
                {
                    "votes_visible": visible,
                    "votes": application.votes.select_related("voter") if visible else None,
                    "tally": tally(application) if visible else None,
                    "votes_cast": application.votes.count(),
                    "votes_needed": votes_needed(application),
                    "may_vote": application.is_open and may_vote(user, application),
                    "own_vote": own,
                    "vote_form": VoteForm(
                        initial={"choice": own.choice, "comment": own.comment} if own else None
                    ),
                    "conflict_form": ConflictForm(),
                    "conflicts": application.conflicts.select_related("member"),
                    "audit": application.audit.select_related("actor")
                    if is_organiser(user)
                    else None,
                }
            )
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/vote/", wrap(self.vote_view), name="members_application_vote"),
            path(
                "<int:pk>/conflict/", wrap(self.conflict_view), name="members_application_conflict"
            ),
            path("<int:pk>/close/", wrap(self.close_view), name="members_application_close"),
            *super().get_urls(),
        ]

    def _back(self, pk: int):
        return redirect(reverse("admin:members_application_change", args=[pk]))

    def _application(self, request, pk: int) -> Application:
        if request.method != "POST":
            raise PermissionDenied
        if not self.has_view_permission(request):
            raise PermissionDenied
        return get_object_or_404(Application, pk=pk)

    def vote_view(self, request, pk: int):
        application = self._application(request, pk)
        form = VoteForm(request.POST)
        if not form.is_valid():
            self.message_user(request, _("Choose approve, reject or abstain."), messages.ERROR)
            return self._back(pk)
        try:
            vote_cast(application=application, voter=request.user, **form.cleaned_data)
        except AdmissionError as error:
            self.message_user(request, str(error), messages.ERROR)
        else:
            self.message_user(
                request,
                _("Your vote is recorded. You can change it until the vote closes."),
                messages.SUCCESS,
            )
        return self._back(pk)

    def conflict_view(self, request, pk: int):
        application = self._application(request, pk)
        form = ConflictForm(request.POST)
        if not form.is_valid():
            self.message_user(request, _("Please give a reason."), messages.ERROR)
            return self._back(pk)
        try:
            conflict_declare(
                application=application, member=request.user, reason=form.cleaned_data["reason"]
            )
        except AdmissionError as error:
            self.message_user(request, str(error), messages.ERROR)
        else:
            self.message_user(
                request, _("You stepped aside from this application."), messages.SUCCESS
            )
        return self._back(pk)

    def close_view(self, request, pk: int):
        application = self._application(request, pk)
        self._close(request, [application])
        return self._back(pk)

    def _close(self, request, applications) -> None:
        for application in applications:
            try:
                application = application_close(application=application, by=request.user)
            except AdmissionError as error:
                self.message_user(request, f"{application}: {error}", messages.ERROR)
            else:
                self.message_user(
                    request, f"{application}: {application.get_status_display()}", messages.SUCCESS
                )

    @admin.action(description=_("Close the vote and decide"), permissions=["change"])
    def close_vote(self, request, queryset):
        self._close(request, list(queryset))


@admin.register(AdmissionSettings)
class AdmissionSettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "quorum", "cooldown_days", "reveal_votes"]

    def has_add_permission(self, request) -> bool:
        return not AdmissionSettings.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Append-only and read-only; organisers only."""

    list_display = ["at", "actor", "action", "subject_user", "application", "details"]
    list_filter = ["action"]
    search_fields = ["actor__email", "subject_user__email"]
    list_select_related = ["actor", "subject_user", "application"]
    date_hierarchy = "at"

    def has_view_permission(self, request, obj=None) -> bool:
        return is_organiser(request.user)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(LedgerPolicy)
class LedgerPolicyAdmin(admin.ModelAdmin):
    """Organisers only (the committee's admin section is admissions)."""

    list_display = [
        "__str__", "min_attendance_percent", "presenting_protects", "task_protects",
        "grace_for_new_members",
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
