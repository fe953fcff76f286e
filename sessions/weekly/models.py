"""Weekly sessions: the slot a topic is presented in, its presenters, changes, RSVPs and
attendance, and the reminder rules."""

import datetime

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from sessions.topics.models import Topic, Track
from topicshare.core.limits import (
    REASON_MAX_CHARS,
    LimitedTextField,
)
from topicshare.notifications.models import ChatWebhook, NotificationKind


class SessionStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    LIVE = "live", _("Live")
    DONE = "done", _("Done")
    POSTPONED = "postponed", _("Postponed")
    CANCELLED = "cancelled", _("Cancelled")


# Sessions that hold their slot (a cancelled or postponed one frees it).
ACTIVE_SESSION_STATUSES = [SessionStatus.SCHEDULED, SessionStatus.LIVE, SessionStatus.DONE]
# Sessions still to come or running: their topic is "scheduled".
UPCOMING_SESSION_STATUSES = [SessionStatus.SCHEDULED, SessionStatus.LIVE]


class MeetingProvider(models.TextChoices):
    TENCENT = "tencent", _("Tencent Meeting")
    FEISHU = "feishu", _("Feishu")
    ZOOM = "zoom", _("Zoom")
    OTHER = "other", _("Other")


class WeeklySession(models.Model):
    """A topic presented in one of its track's weekly slots."""

    topic = models.ForeignKey(
        Topic, verbose_name=_("topic"), on_delete=models.PROTECT, related_name="sessions"
    )
    track = models.ForeignKey(
        Track, verbose_name=_("track"), on_delete=models.PROTECT, related_name="sessions"
    )
    start = models.DateTimeField(_("start"), db_index=True)
    duration_minutes = models.PositiveSmallIntegerField(
        _("duration (minutes)"),
        default=90,
        validators=[MinValueValidator(15), MaxValueValidator(600)],
    )
    status = models.CharField(
        _("status"), max_length=12, choices=SessionStatus.choices, default=SessionStatus.SCHEDULED
    )
    meeting_provider = models.CharField(
        _("meeting provider"), max_length=12, choices=MeetingProvider.choices, blank=True
    )
    meeting_url = models.URLField(_("meeting link"), blank=True)
    meeting_id = models.CharField(_("meeting ID"), max_length=40, blank=True)
    meeting_passcode = models.CharField(_("passcode"), max_length=20, blank=True)
    organiser_note = LimitedTextField(
        _("organiser's note"), max_length=REASON_MAX_CHARS, blank=True
    )
    cancel_reason = LimitedTextField(_("reason"), max_length=REASON_MAX_CHARS, blank=True)
    # RFC 5545 SEQUENCE: grows on every change calendar clients must pick up.
    sequence = models.PositiveIntegerField(_("revision"), default=0)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("weekly session")
        verbose_name_plural = _("weekly sessions")
        ordering = ["start", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["track", "start"],
                condition=models.Q(status__in=ACTIVE_SESSION_STATUSES),
                name="one_session_per_slot",
                violation_error_message=_("This slot already has a session."),
            ),
            models.UniqueConstraint(
                fields=["topic"],
                condition=models.Q(status__in=ACTIVE_SESSION_STATUSES),
                name="one_active_session_per_topic",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.topic} · {self.start:%Y-%m-%d %H:%M}"

    @property
    def end(self) -> datetime.datetime:
        return self.start + datetime.timedelta(minutes=self.duration_minutes)

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_SESSION_STATUSES


class SessionPresenter(models.Model):
    """Who presents in a session, copied when it is scheduled, so that the database itself
    refuses one person presenting in two sessions that start at the same moment."""

    session = models.ForeignKey(WeeklySession, on_delete=models.CASCADE, related_name="presenters")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="presenting"
    )
    start = models.DateTimeField()
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("presenter")
        verbose_name_plural = _("presenters")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "start"],
                condition=models.Q(active=True),
                name="one_presentation_at_a_time",
                violation_error_message=_("This person already presents at that time."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.start:%Y-%m-%d %H:%M}"


class SessionChange(models.Model):
    """Append-only history of a session: scheduled, slipped, postponed, cancelled, edited."""

    class Kind(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        SLIPPED = "slipped", _("Slipped to a later week")
        MOVED = "moved", _("Moved to another slot")
        POSTPONED = "postponed", _("Postponed")
        CANCELLED = "cancelled", _("Cancelled")
        EDITED = "edited", _("Meeting details changed")

    session = models.ForeignKey(WeeklySession, on_delete=models.CASCADE, related_name="changes")
    kind = models.CharField(_("change"), max_length=12, choices=Kind.choices)
    from_start = models.DateTimeField(_("from"), null=True, blank=True)
    to_start = models.DateTimeField(_("to"), null=True, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reason = LimitedTextField(_("reason"), max_length=REASON_MAX_CHARS, blank=True)
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("session change")
        verbose_name_plural = _("session changes")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.session_id}: {self.kind}"


class RSVP(models.Model):
    session = models.ForeignKey(WeeklySession, on_delete=models.CASCADE, related_name="rsvps")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="rsvps"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("RSVP")
        verbose_name_plural = _("RSVPs")
        constraints = [
            models.UniqueConstraint(fields=["session", "user"], name="one_rsvp_per_person")
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.session_id}"


class Attendance(models.Model):
    class How(models.TextChoices):
        SELF = "self", _("Self check-in")
        ORGANISER = "organiser", _("Recorded by an organiser")
        IMPORT = "import", _("Imported from the meeting's export")

    session = models.ForeignKey(WeeklySession, on_delete=models.CASCADE, related_name="attendances")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="attendances"
    )
    how = models.CharField(_("how"), max_length=12, choices=How.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(_("at"), auto_now_add=True)

    class Meta:
        verbose_name = _("attendance")
        verbose_name_plural = _("attendances")
        constraints = [
            models.UniqueConstraint(fields=["session", "user"], name="one_attendance_per_person")
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.session_id}"


class ReminderRule(models.Model):
    """When a time-based reminder goes out, to whom and through which channels."""

    kind = models.CharField(
        _("reminder"),
        max_length=30,
        unique=True,
        choices=[
            (k.value, k.label)
            for k in [
                NotificationKind.PROMOTION,
                NotificationKind.RECRUITMENT_CHECK,
                NotificationKind.DAY_BEFORE,
                NotificationKind.AT_START,
                NotificationKind.AFTER,
            ]
        ],
    )
    offset = models.DurationField(
        _("offset from the start"),
        help_text=_("Negative: before the session starts, e.g. -14 days. Format: “-14 00:00:00”."),
    )
    stale_after = models.DurationField(
        _("still worth sending for"),
        help_text=_(
            "A session scheduled late still gets this reminder if its moment passed less than "
            "this long ago."
        ),
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    to_presenters = models.BooleanField(_("presenters"), default=False)
    to_participants = models.BooleanField(_("participant group"), default=False)
    to_rsvps = models.BooleanField(_("people who RSVP'd"), default=False)
    to_members = models.BooleanField(_("all members"), default=False)
    to_track_followers = models.BooleanField(_("audience following the track"), default=False)
    to_organisers = models.BooleanField(_("organisers"), default=False)
    by_email = models.BooleanField(_("by e-mail"), default=True)
    chat_audience = models.CharField(
        _("chat group"),
        max_length=10,
        choices=ChatWebhook.Audience.choices,
        blank=True,
        help_text=_("Also post to this group's chat webhooks. Empty: no chat."),
    )
    minimum_group = models.PositiveSmallIntegerField(
        _("minimum group size"),
        default=2,
        help_text=_("Recruitment check only: sent when the group has fewer participants."),
    )

    class Meta:
        db_table = "topicshare_reminderrule"
        verbose_name = _("reminder rule")
        verbose_name_plural = _("reminder rules")
        ordering = ["offset"]

    def __str__(self) -> str:
        return self.get_kind_display()


class ReminderMark(models.Model):
    """Marks a reminder as materialised for one occasion (a session at one start time), so that
    the per-minute sweep does not recompute recipients it has already queued."""

    kind = models.CharField(max_length=30, choices=NotificationKind.choices)
    subject_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    subject_id = models.PositiveBigIntegerField()
    occasion = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "topicshare_remindermark"
        verbose_name = _("materialised reminder")
        verbose_name_plural = _("materialised reminders")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "subject_type", "subject_id", "occasion"],
                name="one_mark_per_occasion",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject_id} {self.occasion}"
