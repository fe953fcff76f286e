from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from sessions.models import (
    RSVP,
    Attendance,
    ReminderRule,
    SessionChange,
    Topic,
    WeeklySession,
)
from sessions.topics.admin import ReadOnlyInline, ReasonForm, TopicAdmin
from sessions.weekly.rules import PROMOTED
from sessions.weekly.scheduling import (
    MEETING_FIELDS,
    SchedulingError,
    free_slots,
    preferred_slot,
    session_cancel,
    session_schedule,
    session_slip,
    session_update_meeting,
)


class SessionChangeInline(ReadOnlyInline):
    model = SessionChange
    fields = ["at", "kind", "from_start", "to_start", "by", "reason"]


class RSVPInline(ReadOnlyInline):
    model = RSVP
    fields = ["user", "created_at"]


class AttendanceInline(ReadOnlyInline):
    model = Attendance
    fields = ["user", "how", "recorded_by", "at"]


@admin.register(WeeklySession)
class WeeklySessionAdmin(admin.ModelAdmin):
    """Times change only through the actions (slip, cancel), which keep history and SEQUENCE."""

    list_display = [
        "topic", "track", "start", "status", "meeting_provider", "sequence", "promotion_pack",
    ]  # fmt: skip
    list_filter = ["status", "track", "meeting_provider"]
    search_fields = ["topic__title"]  # also serves the library's autocomplete
    list_select_related = ["topic", "track"]
    date_hierarchy = "start"
    fields = [
        "topic", "track", "start", "duration_minutes", "status", "sequence",
        "meeting_provider", "meeting_url", "meeting_id", "meeting_passcode", "organiser_note",
        "cancel_reason",
    ]  # fmt: skip
    readonly_fields = [
        "topic",
        "track",
        "start",
        "duration_minutes",
        "status",
        "sequence",
        "cancel_reason",
    ]
    inlines = [SessionChangeInline, RSVPInline, AttendanceInline]
    actions = ["slip", "cancel"]

    @admin.display(description=_("promotion pack"))
    def promotion_pack(self, session):
        # By name: the pack is the forum's page (it shows the forum's name and colours).
        if session.status not in PROMOTED:
            return "—"
        return format_html(
            '<a href="{}">{}</a>', reverse("session-promote", args=[session.pk]), _("poster, texts")
        )

    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def has_add_permission(self, request) -> bool:
        return False  # sessions are made by scheduling a ready topic

    def save_model(self, request, obj, form, change):
        session_update_meeting(
            session=obj,
            by=request.user,
            **{field: form.cleaned_data.get(field, "") for field in MEETING_FIELDS},
        )

    @admin.action(description=_("Slip to the next free week"))
    def slip(self, request, queryset):
        for session in queryset:
            try:
                session = session_slip(session=session, by=request.user)
            except (SchedulingError, PermissionDenied) as error:
                self.message_user(request, f"{session}: {error}", messages.ERROR)
            else:
                self.message_user(request, str(session), messages.SUCCESS)

    @admin.action(description=_("Cancel (with a reason)"))
    def cancel(self, request, queryset):
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return TemplateResponse(
                request,
                "admin/topic_sessions/topic/reason.html",
                {
                    **self.admin_site.each_context(request),
                    "title": _("Cancel (with a reason)"),
                    "form": form,
                    "topics": queryset,
                    "action": request.POST["action"],
                    "opts": self.model._meta,
                },
            )
        for session in queryset:
            try:
                session_cancel(session=session, by=request.user, reason=form.cleaned_data["reason"])
            except (SchedulingError, PermissionDenied) as error:
                self.message_user(request, f"{session}: {error}", messages.ERROR)
        return None


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


class SchedulingTopicAdmin(TopicAdmin):
    """The topics' admin, plus what only weekly sessions can do: schedule a topic."""

    actions = [*TopicAdmin.actions[:-1], "schedule_nearest", TopicAdmin.actions[-1]]

    @admin.action(description=_("Schedule in the free slot nearest to the preferred week"))
    def schedule_nearest(self, request, queryset):
        """The same service as the staff scheduling page, with its first suggestion."""
        now = timezone.now()
        for topic in queryset.select_related("track"):
            start = preferred_slot(free_slots(track=topic.track, now=now), topic.preferred_week)
            try:
                if start is None:
                    raise SchedulingError(_("No free slot in the next weeks."))
                session = session_schedule(topic=topic, start=start, by=request.user, now=now)
            except (SchedulingError, PermissionDenied) as error:
                self.message_user(request, f"{topic}: {error}", messages.ERROR)
            else:
                when = timezone.localtime(session.start)
                self.message_user(request, f"{topic}: {when:%Y-%m-%d %H:%M}", messages.SUCCESS)


admin.site.unregister(Topic)
admin.site.register(Topic, SchedulingTopicAdmin)
