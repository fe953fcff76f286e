from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from sessions.topics.models import (
    CoPresenterInvitation,
    Participation,
    Season,
    Task,
    Topic,
    TopicInterest,
    TopicStatus,
    TopicTransition,
    Track,
)
from sessions.topics.services import TopicError, topic_transition
from topicshare.core.limits import REASON_MAX_CHARS, LongTextFormField


@admin.register(Track)
class TrackAdmin(admin.ModelAdmin):
    list_display = ["name_zh", "name_en", "slug", "weekday", "local_time", "time_zone", "order"]
    list_editable = ["order"]
    prepopulated_fields = {"slug": ["name_en"]}
    search_fields = ["name_zh", "name_en", "slug"]
    formfield_overrides = {models.ManyToManyField: {"widget": forms.CheckboxSelectMultiple}}


@admin.register(Season)
class SeasonAdmin(admin.ModelAdmin):
    list_display = ["label", "order", "start_date", "end_date", "is_current", "review_link"]
    list_editable = ["order"]
    search_fields = ["label"]

    @admin.display(description=_("season review"))
    def review_link(self, obj):
        return format_html(
            '<a href="{}">{}</a>', reverse("ledger:season-review", args=[obj.pk]), _("Review")
        )


class ReadOnlyInline(admin.TabularInline):
    """Shown for context only: these rows change through the services (capacity, history)."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class ParticipationInline(ReadOnlyInline):
    model = Participation
    fields = ["user", "role", "joined_at"]


class InterestInline(ReadOnlyInline):
    """Who wants to hear it (“想听”): organisers only see who."""

    model = TopicInterest
    fields = ["user", "created_at"]


class TaskInline(ReadOnlyInline):
    model = Task
    fields = ["title", "assignee", "status", "due_date"]


class InvitationInline(ReadOnlyInline):
    model = CoPresenterInvitation
    fields = ["invitee", "status", "invited_by", "created_at", "responded_at"]


class TransitionInline(ReadOnlyInline):
    model = TopicTransition
    fields = ["at", "from_status", "to_status", "by", "reason"]


class ReasonForm(forms.Form):
    reason = LongTextFormField(
        label=_("Reason"), max_length=REASON_MAX_CHARS, widget=forms.Textarea(attrs={"rows": 3})
    )


def _transition_action(to: str, label, needs_reason: bool = False):
    def action(modeladmin, request, queryset):
        reason = ""
        if needs_reason:
            form = ReasonForm(request.POST if "apply" in request.POST else None)
            if not form.is_valid():
                return TemplateResponse(
                    request,
                    "admin/topic_sessions/topic/reason.html",
                    {
                        **modeladmin.admin_site.each_context(request),
                        "title": label,
                        "form": form,
                        "topics": queryset,
                        "action": request.POST["action"],
                        "opts": modeladmin.model._meta,
                    },
                )
            reason = form.cleaned_data["reason"]
        done = 0
        for topic in queryset:
            try:
                topic_transition(topic=topic, to=to, by=request.user, reason=reason)
                done += 1
            except (TopicError, PermissionDenied) as error:
                modeladmin.message_user(request, f"{topic}: {error}", messages.ERROR)
        if done:
            modeladmin.message_user(
                request,
                _("%(count)d topic(s): %(action)s.") % {"count": done, "action": label},
                messages.SUCCESS,
            )
        return None

    action.__name__ = f"make_{to}"
    action.short_description = label
    return action


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    list_display = [
        "title", "proposer", "track", "sub_theme", "season", "status", "preferred_week",
        "interest_count",
    ]  # fmt: skip
    list_filter = ["status", "track", "season", "members_only"]
    search_fields = ["title", "sub_theme", "summary", "proposer__email", "proposer__display_name"]
    list_select_related = ["proposer", "track", "season"]
    autocomplete_fields = ["proposer", "co_presenters"]
    readonly_fields = ["status", "interest_count", "created_at", "updated_at"]
    inlines = [
        ParticipationInline, InterestInline, InvitationInline, TaskInline, TransitionInline,
    ]  # fmt: skip
    date_hierarchy = "created_at"
    actions = [
        _transition_action(TopicStatus.ACCEPTED, _("Accept")),
        _transition_action(TopicStatus.REJECTED, _("Reject (with a reason)"), needs_reason=True),
        _transition_action(TopicStatus.RECRUITING, _("Start recruiting")),
        "export_csv",
    ]
    change_list_template = "admin/topic_sessions/topic/change_list.html"
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_urls(self):
        from sessions.topics.admin_csv import import_view

        return [
            path(
                "import-csv/",
                self.admin_site.admin_view(lambda request: import_view(request, self.admin_site)),
                name="topic_sessions_topic_import",
            ),
            *super().get_urls(),
        ]

    @admin.action(description=_("Export selected topics as CSV"))
    def export_csv(self, request, queryset):
        from sessions.topics.admin_csv import export_view

        return export_view(request, queryset)
