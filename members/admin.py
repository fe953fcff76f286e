from django import forms
from django.contrib import admin, messages
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone, translation
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from members.admission import (
    OVERRIDE_REASON_MAX_LENGTH,
    AdmissionError,
    application_close,
    application_schedule_review,
    application_set_feedback,
    close_check,
    conflict_check,
    conflict_declare,
    review_check,
    tally,
    vote_cast,
    vote_check,
    vote_input_clean,
    votes_needed,
)
from members.api_tokens import api_token_revoke
from members.models import AdmissionSettings, ApiToken, Application, AuditEvent, User, Vote
from members.placeholders import placeholder_merge
from members.roles import Role
from members.rules import audit_events_visible_to
from members.services import role_set
from topicshare.core.admin import ReadOnlyAdmin


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
        if not request.user.has_perm("members.grant_superuser"):
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


BALLOT_FIELDS = ("vote_choice", "vote_comment", "vote_final", "conflict_reason")
REVIEW_FIELDS = ("review_at", "review_meeting_url", "review_notes", "vote_deadline")


class ApplicationAdminForm(forms.ModelForm):
    """The application page's one form: the review talk, the feedback and — for whoever may
    vote — one's own vote or stepping aside. One Save sends all of it. What a service would
    refuse is refused here, as a form error, so the page comes back with everything typed."""

    feedback = forms.CharField(
        label=capfirst(Application._meta.get_field("feedback").verbose_name),
        required=False,
        max_length=Application.FEEDBACK_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "Required for the decision. The applicant gets it with the decision and sees it on "
            "their status page (never who voted what)."
        ),
    )
    vote_choice = forms.ChoiceField(
        label=_("Your vote"), choices=Vote.Choice.choices, widget=forms.RadioSelect, required=False
    )
    vote_comment = forms.CharField(
        label=_("Questions asked and your assessment"),
        required=False,
        max_length=Vote.COMMENT_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    vote_final = forms.BooleanField(
        label=_("Make my vote final and show me the others' votes"),
        required=False,
        help_text=_("Until then your vote stays yours to change; a final vote cannot change."),
    )
    conflict_reason = forms.CharField(
        label=_("Or step aside (conflict of interest), because"),
        required=False,
        max_length=200,
        help_text=_("Removes your vote, if you cast one."),
    )

    user = None  # set by ApplicationAdmin.get_form
    ballot_fields: tuple[str, ...] = ()

    class Meta:
        model = Application
        fields = []  # the admin's fieldsets say which (with its URL field overrides)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in BALLOT_FIELDS:
            if name not in self.ballot_fields:
                self.fields.pop(name, None)
        self.own_vote = None
        if self.instance.pk and self.user is not None:
            self.own_vote = Vote.objects.filter(application=self.instance, voter=self.user).first()
        if self.own_vote is not None and "vote_choice" in self.fields:
            self.fields["vote_choice"].initial = self.own_vote.choice
            self.fields["vote_comment"].initial = self.own_vote.comment
            if "vote_final" in self.fields:
                self.fields["vote_final"].initial = self.own_vote.final_at is not None
        self.vote_to_cast: dict | None = None
        self.conflict_to_declare = ""
        self.review_changed = False
        self.feedback_changed = False

    def clean(self):
        cleaned = super().clean()
        if "vote_choice" in self.fields:
            self._clean_ballot(cleaned)
        if self._review_typed(cleaned):
            self._clean_review(cleaned)
        if "feedback" in self.fields:
            feedback = (cleaned.get("feedback") or "").strip()
            self.feedback_changed = feedback != self.instance.feedback
        return cleaned

    def changes(self) -> list[str]:
        """What this submit changes on the application itself (not the ballot)."""
        return [
            *(name for name in REVIEW_FIELDS if self.review_changed and name in self.changed_data),
            *(["feedback"] if self.feedback_changed else []),
        ]

    def _review_typed(self, cleaned) -> bool:
        """Whether the review talk was changed (the page shows times to the minute)."""

        def minute(value):
            return value.replace(second=0, microsecond=0) if value is not None else None

        if "review_at" not in self.fields:
            return False  # read-only here
        application = self.instance  # still as stored: the form's values land after clean()
        return (
            minute(cleaned.get("review_at")) != minute(application.review_at)
            or minute(cleaned.get("vote_deadline")) != minute(application.vote_deadline)
            or (cleaned.get("review_meeting_url") or "") != application.review_meeting_url
            or (cleaned.get("review_notes") or "").strip() != application.review_notes
        )

    def _clean_ballot(self, cleaned) -> None:
        own = self.own_vote
        # A radio button cannot be unticked: no choice sent keeps one's vote as it is.
        choice = cleaned.get("vote_choice") or (own.choice if own else "")
        comment = (cleaned.get("vote_comment") or "").strip()
        if own is not None and self.add_prefix("vote_comment") not in self.data:
            comment = own.comment
        final = bool(cleaned.get("vote_final"))
        reason = (cleaned.get("conflict_reason") or "").strip()
        if own is None:
            typed = bool(choice or comment or final)
        else:
            typed = (choice, comment) != (own.choice, own.comment) or (final and not own.final_at)
        if typed and not choice:
            self.add_error("vote_choice", _("Choose approve, reject or abstain."))
        elif typed and reason:
            self.add_error("conflict_reason", _("Either vote or step aside, not both."))
        elif typed:
            try:
                vote_input_clean(choice=choice, comment=comment)
                vote_check(application=self.instance, voter=self.user)
            except (AdmissionError, PermissionDenied) as error:
                self.add_error("vote_choice", str(error))
            else:
                self.vote_to_cast = {"choice": choice, "comment": comment, "final": final}
        elif reason:
            try:
                conflict_check(application=self.instance, member=self.user)
            except (AdmissionError, PermissionDenied) as error:
                self.add_error("conflict_reason", str(error))
            else:
                self.conflict_to_declare = reason

    def _clean_review(self, cleaned) -> None:
        review_at = cleaned.get("review_at")
        if review_at is None:
            if "review_at" not in self.errors:
                self.add_error("review_at", _("Set the date and time of the review talk."))
            return
        try:
            review_check(
                application=self.instance, by=self.user, review_at=review_at,
                vote_deadline=cleaned.get("vote_deadline"), now=timezone.now(),
            )  # fmt: skip
        except (AdmissionError, PermissionDenied) as error:
            self.add_error("review_at", str(error))
        else:
            self.review_changed = True


class CloseForm(forms.Form):
    feedback = forms.CharField(
        label=_("Feedback for the applicant"),
        max_length=Application.FEEDBACK_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_(
            "Sent to the applicant with the decision and shown on their status page (never who "
            "voted what)."
        ),
    )
    override_reason = forms.CharField(
        label=_("Decide before the review talk, because"),
        required=False,
        max_length=OVERRIDE_REASON_MAX_LENGTH,
        help_text=_("Organisers only. Recorded with the decision in the audit trail."),
    )

    def __init__(self, *args, may_override: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not may_override:
            del self.fields["override_reason"]


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    """The committee's workplace: schedule the review talk, vote (a secret ballot), close.

    Who sees the votes is the ballot's rule (members.rules, "members.view_votes"); who may
    vote is the service's guard (members.admission.vote_check, "members.cast_vote")."""

    form = ApplicationAdminForm
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
        (_("Review talk"), {"fields": list(REVIEW_FIELDS)}),
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
            fields += [*REVIEW_FIELDS, "feedback"]
        return fields

    def _ballot_fields(self, request, obj) -> list[str]:
        """The ballot fields this person gets on this page: their vote while they may cast
        or change it (and, on a POST that carries a vote, always — so that a refused vote is
        shown again, not dropped), stepping aside while they may."""
        if obj is None:
            return []
        user = request.user
        posted = set()
        if request.method == "POST" and user.has_perm("members.change_application"):
            posted = {name for name in BALLOT_FIELDS if request.POST.get(name)}
        fields = []
        if posted & {"vote_choice", "vote_comment", "vote_final"} or user.has_perm(
            "members.cast_vote", obj
        ):
            fields += ["vote_choice", "vote_comment"]
            reveal = AdmissionSettings.load().reveal_votes
            if reveal == AdmissionSettings.Reveal.AFTER_OWN_VOTE or "vote_final" in posted:
                fields.append("vote_final")
        try:
            conflict_check(application=obj, member=user)
        except (AdmissionError, PermissionDenied):
            if "conflict_reason" in posted:
                fields.append("conflict_reason")
        else:
            fields.append("conflict_reason")
        return fields

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        ballot = self._ballot_fields(request, obj)
        if ballot and self.has_change_permission(request, obj):
            fieldsets.insert(2, (_("Your vote"), {"fields": ballot}))
        return fieldsets

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        ballot = tuple(self._ballot_fields(request, obj))
        return type(form.__name__, (form,), {"user": request.user, "ballot_fields": ballot})

    def has_add_permission(self, request) -> bool:
        return False  # applicants apply in the browser

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("members.change_application", obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the record and its audit trail stay

    @admin.display(description=_("votes cast / needed"))
    def votes_progress(self, obj: Application) -> str:
        needed = votes_needed(obj)
        progress = f"{obj.vote_count} / {needed}"
        now = timezone.now()
        if obj.is_open and obj.vote_deadline and obj.vote_deadline < now:
            # Past the deadline and still open: say what keeps it open.
            try:
                close_check(application=obj, by=None, now=now)
            except AdmissionError as error:
                return f"{progress} · {error}"
        return progress

    @admin.display(description=_("slides"))
    def slides_link(self, obj: Application) -> str:
        if not obj.slides:
            return "—"
        url = reverse("application-slides", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.slides_name or _("slides"))

    def save_model(self, request, obj, form, change):
        """Only the services write; the form has checked what they would refuse."""
        try:
            if form.review_changed:
                application_schedule_review(
                    application=obj, by=request.user, review_at=obj.review_at,
                    meeting_url=obj.review_meeting_url, notes=obj.review_notes,
                    vote_deadline=obj.vote_deadline,
                )  # fmt: skip
            if form.feedback_changed:
                application_set_feedback(
                    application=obj, by=request.user, feedback=form.cleaned_data["feedback"]
                )
            if form.vote_to_cast is not None:
                vote = vote_cast(application=obj, voter=request.user, **form.vote_to_cast)
                if vote.final_at is None:
                    text = _("Your vote is recorded. You can change it until you make it final.")
                elif request.user.has_perm("members.view_votes", obj):
                    text = _("Your vote is recorded and final: the others' votes are shown now.")
                else:
                    text = _("Your vote is recorded and final.")
                self.message_user(request, text, messages.SUCCESS)
            if form.conflict_to_declare:
                conflict_declare(
                    application=obj, member=request.user, reason=form.conflict_to_declare
                )
                self.message_user(
                    request, _("You stepped aside from this application."), messages.SUCCESS
                )
        except (AdmissionError, PermissionDenied) as error:  # lost a race since the check
            self.message_user(request, str(error), messages.ERROR)

    def construct_change_message(self, request, form, formsets, add=False):
        # The admin's history (LogEntry) is read by the whole committee: the ballot stays out
        # of it. Votes are in the audit trail, under the ballot's rule.
        changed = form.changes()
        if not changed:
            return []
        with translation.override(None):
            labels = [str(form.fields[name].label or name) for name in changed]
        return [{"changed": {"fields": labels}}]

    def log_change(self, request, obj, message):
        if message == []:
            return None  # only the ballot changed: nothing for the history
        return super().log_change(request, obj, message)

    def response_change(self, request, obj):
        if "_close" in request.POST:
            # Saved first (nothing typed is lost), then the decision asks once, on its page.
            return redirect(reverse("admin:members_application_close", args=[obj.pk]))
        return super().response_change(request, obj)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        application = self.get_object(request, object_id)
        extra = extra_context or {}
        if application is not None:
            user = request.user
            visible = user.has_perm("members.view_votes", application)
            trail = None
            if user.has_perm("members.view_audit_trail"):
                trail = audit_events_visible_to(user, application.audit.select_related("actor"))
            extra.update(
                {
                    "votes_visible": visible,
                    "votes": application.votes.select_related("voter") if visible else None,
                    "tally": tally(application) if visible else None,
                    "votes_cast": application.votes.count(),
                    "votes_needed": votes_needed(application),
                    "own_application": application.applicant_id == user.pk,
                    "own_vote": Vote.objects.filter(application=application, voter=user).first(),
                    "reveal_after_close": AdmissionSettings.load().reveal_votes
                    == AdmissionSettings.Reveal.AFTER_CLOSE,
                    "conflicts": application.conflicts.select_related("member"),
                    "audit": trail,
                }
            )
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/close/", wrap(self.close_view), name="members_application_close"),
            *super().get_urls(),
        ]

    def _back(self, pk: int):
        return redirect(reverse("admin:members_application_change", args=[pk]))

    def close_view(self, request, pk: int):
        """Close the vote and decide: the feedback for the applicant (required), and for an
        organiser before the review talk, the reason to decide early. Refusals come back on
        this page with what was typed."""
        application = get_object_or_404(Application, pk=pk)
        if not self.has_view_permission(request, application):
            raise PermissionDenied
        if not application.is_open:
            self.message_user(request, _("This application is already decided."), messages.ERROR)
            return self._back(pk)
        if not self.has_change_permission(request, application):
            raise PermissionDenied
        now = timezone.now()
        early = application.review_at is None or application.review_at > now
        form = CloseForm(
            request.POST if request.method == "POST" else None,
            initial={"feedback": application.feedback},
            may_override=early and request.user.has_perm("members.close_application_early"),
        )
        if request.method == "POST" and form.is_valid():
            try:
                application = application_close(
                    application=application, by=request.user, now=now,
                    feedback=form.cleaned_data["feedback"],
                    override_reason=form.cleaned_data.get("override_reason", ""),
                )  # fmt: skip
            except (AdmissionError, PermissionDenied) as error:
                form.add_error(None, str(error))
            else:
                self.message_user(
                    request, f"{application}: {application.get_status_display()}", messages.SUCCESS
                )
                return self._back(pk)
        return TemplateResponse(
            request,
            "admin/members/application/close.html",
            {
                **self.admin_site.each_context(request),
                "title": _("Close the vote and decide"),
                "opts": self.model._meta,
                "original": application,
                "form": form,
                "early": early,
                "votes_cast": application.votes.count(),
                "votes_needed": votes_needed(application),
            },
        )

    def _close(self, request, applications) -> None:
        for application in applications:
            try:
                application = application_close(application=application, by=request.user)
            except (AdmissionError, PermissionDenied) as error:
                self.message_user(request, f"{application}: {error}", messages.ERROR)
            else:
                self.message_user(
                    request, f"{application}: {application.get_status_display()}", messages.SUCCESS
                )

    @admin.action(description=_("Close the vote and decide"), permissions=["change"])
    def close_vote(self, request, queryset):
        """With the feedback already saved on each application; refusals are listed."""
        self._close(request, list(queryset))


@admin.register(AdmissionSettings)
class AdmissionSettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "quorum", "cooldown_days", "reveal_votes"]

    def has_add_permission(self, request) -> bool:
        return not AdmissionSettings.objects.exists() and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """Append-only and read-only; organisers only. Vote events and decision tallies only on
    applications whose votes the reader may see (members.rules.audit_events_visible_to): the
    list, its search, filters and dates, the detail and history pages all use that queryset."""

    list_display = ["at", "actor", "action", "subject_user", "application", "details_shown"]
    list_filter = ["action"]
    search_fields = ["actor__email", "subject_user__email"]
    list_select_related = ["actor", "subject_user", "application"]
    date_hierarchy = "at"
    fields = ["at", "actor", "action", "subject_user", "application", "details_shown"]
    readonly_fields = fields
    view_permission = "members.view_audit_trail"

    def get_queryset(self, request):
        return audit_events_visible_to(request.user, super().get_queryset(request))

    @admin.display(description=_("details"))
    def details_shown(self, obj: AuditEvent):
        return obj.details_shown or "—"


@admin.register(ApiToken)
class ApiTokenAdmin(ReadOnlyAdmin):
    """Read-only (organisers): who has which personal API token. The hash is not shown (it
    tells nobody anything); a token is revoked with the action, through the service."""

    list_display = ["name", "user", "scope", "prefix_shown", "created_at", "last_used_at",
                    "revoked_at"]  # fmt: skip
    list_filter = ["scope", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["user__email", "name", "prefix"]
    list_select_related = ["user"]
    view_permission = "members.view_api_tokens"
    fields = ["user", "name", "scope", "prefix_shown", "created_at", "last_used_at",
              "revoked_at"]  # fmt: skip
    readonly_fields = fields
    actions = ["revoke"]

    @admin.display(description=_("token"))
    def prefix_shown(self, obj: ApiToken) -> str:
        return f"tsk_{obj.prefix}…"

    @admin.action(description=_("Revoke the selected API tokens"), permissions=["view"])
    def revoke(self, request, queryset):
        revoked = 0
        for token in queryset.filter(revoked_at__isnull=True).select_related("user"):
            try:
                api_token_revoke(token=token, by=request.user)
            except PermissionDenied as error:
                self.message_user(request, str(error), messages.ERROR)
                return
            revoked += 1
        self.message_user(
            request,
            ngettext("%(count)d API token revoked.", "%(count)d API tokens revoked.", revoked)
            % {"count": revoked},
            messages.SUCCESS,
        )
