from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from topicshare.core.limits import REASON_MAX_CHARS, LimitedTextField
from topicshare.core.pagecache import data_version
from topicshare.core.singletons import keeps_row, kept_row


@keeps_row
class LedgerPolicy(models.Model):
    """When the season ledger flags a member (one row, edited by organisers in the admin).
    A flag is a suggestion: nothing happens until an organiser confirms the removal."""

    min_attendance_percent = models.PositiveSmallIntegerField(
        _("minimum attendance (%)"),
        default=40,
        validators=[MaxValueValidator(100)],
        help_text=_("Members who attended fewer of the season's sessions than this are flagged…"),
    )
    presenting_protects = models.BooleanField(
        _("…unless they presented"),
        default=True,
        help_text=_("A member who presented a session in the season is not flagged."),
    )
    task_protects = models.BooleanField(
        _("…or did a task"),
        default=True,
        help_text=_("A member who finished a task of a study group in the season is not flagged."),
    )
    grace_for_new_members = models.BooleanField(
        _("grace for new members"),
        default=True,
        help_text=_("Members admitted during the season are not flagged for it."),
    )
    at_risk_notice_weeks = models.PositiveSmallIntegerField(
        _("warn members this many weeks before the season ends"),
        default=4,
        validators=[MaxValueValidator(26)],
        help_text=_(
            "Members below the threshold then get one notice with their figures and what would "
            "keep them above it. 0: no notice."
        ),
    )
    min_minutes_in_meeting = models.PositiveSmallIntegerField(
        _("minimum time in the meeting (minutes)"),
        default=30,
        validators=[MaxValueValidator(600)],
        help_text=_(
            "When a meeting's participant list is imported, a person counts as attending from "
            "this many minutes in the meeting (all their rows added up)."
        ),
    )

    class Meta:
        db_table = "members_ledgerpolicy"
        verbose_name = _("season review policy")
        verbose_name_plural = _("season review policy")
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="ledger_policy_singleton"),
            models.CheckConstraint(
                condition=models.Q(min_attendance_percent__lte=100),
                name="ledger_policy_percent_at_most_100",
            ),
        ]

    def __str__(self) -> str:
        return str(_("Season review policy"))

    @classmethod
    def load(cls) -> "LedgerPolicy":
        obj, _created = cls.objects.get_or_create(id=1)
        return obj

    @classmethod
    def kept(cls) -> "LedgerPolicy":
        """load(), kept under the data version (read at most a second before) and in the
        shared cache: the inbox and the season review read it without a query."""
        return kept_row(cls, version=data_version())


class LedgerExemption(models.Model):
    """A lock: this member is never flagged — for one season, or for every season when no
    season is given (someone on parental leave, a maintainer of the forum's projects…)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("member"),
        on_delete=models.CASCADE,
        related_name="ledger_exemptions",
    )
    season = models.ForeignKey(
        "topic_sessions.Season",
        verbose_name=_("season"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="ledger_exemptions",
        help_text=_("Empty: every season, until the exemption is removed."),
    )
    reason = LimitedTextField(_("reason"), max_length=REASON_MAX_CHARS)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        db_table = "members_ledgerexemption"
        verbose_name = _("season review exemption")
        verbose_name_plural = _("season review exemptions")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "season"],
                name="one_exemption_per_member_and_season",
                violation_error_message=_("This member is already exempted for this season."),
            ),
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(season__isnull=True),
                name="one_standing_exemption_per_member",
                violation_error_message=_("This member is already exempted for every season."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.season or _('every season')}"


class AttendanceImport(models.Model):
    """A participant list a meeting app exported for a session, between its upload and the
    organiser's confirmation: the file's cells as read (never the file), which column holds
    what, and the people matched by hand. Keyed by a random token in the pages' addresses; one
    per session and file (its SHA-256), so uploading the same file again changes nothing."""

    session = models.ForeignKey(
        "topic_sessions.WeeklySession",
        verbose_name=_("session"),
        on_delete=models.CASCADE,
        related_name="attendance_imports",
    )
    token = models.CharField(max_length=43, unique=True, editable=False)
    sha256 = models.CharField(max_length=64, editable=False)
    file_name = models.CharField(_("file name"), max_length=200)
    kind = models.CharField(max_length=4, editable=False)  # "csv" or "xlsx"
    # {"rows": [[cell, …], …], "lines": [line number, …]}: bounded by attendance_files.
    table = models.JSONField(editable=False)
    header_row = models.PositiveSmallIntegerField(null=True, blank=True)
    columns = models.JSONField(default=dict, blank=True)  # role -> column index
    picks = models.JSONField(default=dict, blank=True)  # person key -> user id (0: left out)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    added = models.PositiveIntegerField(_("attendances added"), default=0)

    class Meta:
        verbose_name = _("attendance import")
        verbose_name_plural = _("attendance imports")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["session", "sha256"], name="one_import_per_file"),
        ]

    def __str__(self) -> str:
        return f"{self.file_name} @ {self.session_id}"


@keeps_row
class ExemptionRequest(models.Model):
    """A member asks the organisers not to count a season (a reason: travel, exams, a new
    baby…). One open request per member and season; an organiser grants it (an exemption)
    or declines it, and the member sees the answer on their standing page."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("member"),
        on_delete=models.CASCADE,
        related_name="exemption_requests",
    )
    season = models.ForeignKey(
        "topic_sessions.Season",
        verbose_name=_("season"),
        on_delete=models.CASCADE,
        related_name="exemption_requests",
    )
    reason = LimitedTextField(_("reason"), max_length=REASON_MAX_CHARS)
    created_at = models.DateTimeField(_("asked"), auto_now_add=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("answered by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    granted = models.BooleanField(_("granted"), null=True, blank=True)

    class Meta:
        verbose_name = _("exemption request")
        verbose_name_plural = _("exemption requests")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "season"],
                condition=models.Q(answered_at__isnull=True),
                name="one_open_exemption_request_per_season",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.season_id}"
