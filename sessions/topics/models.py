"""Topics: tracks, seasons, the sheet (topics and their lifecycle), co-presenter invitations,
participant groups and their tasks."""

import datetime
import uuid
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from topicshare.core.limits import (
    LONG_TEXT_MAX_CHARS,
    MARKDOWN_MAX_CHARS,
    REASON_MAX_CHARS,
    LimitedTextField,
)
from topicshare.core.markup import RenderedMarkdown
from topicshare.core.uploads import private_storage
from topicshare.core.validators import (
    validate_image_size,
    validate_name_characters,
    validate_plausible_date,
)


def monday_of(day: datetime.date | None) -> datetime.date | None:
    """The week of `day`, as the forum stores and shows weeks: its Monday."""
    return day - datetime.timedelta(days=day.weekday()) if day else None


def _validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("“%(value)s” is not a known time zone."), params={"value": value})


class Track(models.Model):
    """A domain of the forum (NLP, CV, RecSys …) with the weekly slot its sessions use."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    name_zh = models.CharField(
        _("name (Chinese)"), max_length=60, validators=[validate_name_characters]
    )
    name_en = models.CharField(
        _("name (English)"), max_length=60, validators=[validate_name_characters]
    )
    slug = models.SlugField(_("slug"), max_length=40, unique=True)
    colour = models.CharField(
        _("colour"),
        max_length=7,
        default="#2563eb",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Use a colour like #2563eb."))],
    )
    weekday = models.PositiveSmallIntegerField(
        _("weekday"), choices=Weekday.choices, default=Weekday.SATURDAY
    )
    local_time = models.TimeField(_("local start time"), default=datetime.time(20, 30))
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Asia/Shanghai", validators=[_validate_time_zone]
    )
    duration_minutes = models.PositiveSmallIntegerField(
        _("duration (minutes)"),
        default=90,
        validators=[MinValueValidator(15), MaxValueValidator(600)],
    )
    chat_webhooks = models.ManyToManyField(
        "notifications.ChatWebhook",
        verbose_name=_("chat groups"),
        related_name="tracks",
        blank=True,
        help_text=_("The group chats that get this track's notices. A chat no track lists is "
                    "forum-wide."),
    )  # fmt: skip
    order = models.PositiveSmallIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("track")
        verbose_name_plural = _("tracks")
        ordering = ["order", "slug"]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        return self.name_en if (get_language() or "").startswith("en") else self.name_zh


class Season(models.Model):
    """A season of the forum: "Topic 1" … "Topic 7", or "初期" for the early days."""

    label = models.CharField(
        _("label"), max_length=40, unique=True, validators=[validate_name_characters]
    )
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    start_date = models.DateField(_("start date"), null=True, blank=True)
    end_date = models.DateField(_("end date"), null=True, blank=True)
    is_current = models.BooleanField(_("current"), default=False)

    class Meta:
        verbose_name = _("season")
        verbose_name_plural = _("seasons")
        ordering = ["order", "label"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_current"],
                condition=models.Q(is_current=True),
                name="one_current_season",
                violation_error_message=_("Only one season can be the current one."),
            ),
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True)
                | models.Q(start_date__isnull=True)
                | models.Q(end_date__gte=models.F("start_date")),
                name="season_ends_after_start",
                violation_error_message=_("A season cannot end before it starts."),
            ),
        ]

    def __str__(self) -> str:
        return self.label


class TopicStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    RECRUITING = "recruiting", _("Recruiting")
    PREPARING = "preparing", _("Preparing")
    READY = "ready", _("Ready")
    SCHEDULED = "scheduled", _("Scheduled")
    PRESENTED = "presented", _("Presented")
    CANCELLED = "cancelled", _("Cancelled")


# The five things every share must cover (必须分享内容), in DOMAIN.md's order.
CHECKLIST = [
    ("check_intro", _("Introduction to the field (10–20 min)")),
    ("check_methods", _("Common methods and ideas (motivation, model, loss)")),
    ("check_code", _("Preprocessing and model code")),
    ("check_survey", _("Survey of industry and academic approaches")),
    ("check_opinion", _("The presenter's own view")),
]


# A topic is about a paper or a family of papers: a handful of links, not a crawl.
MAX_PAPER_LINKS = 20
MAX_PAPER_LINK_CHARS = 2_000


def validate_paper_links(value) -> None:
    if not isinstance(value, list) or not all(isinstance(link, str) for link in value):
        raise ValidationError(_("The paper links must be a list of links."))
    if len(value) > MAX_PAPER_LINKS:
        raise ValidationError(_("Give at most %(max)d paper links.") % {"max": MAX_PAPER_LINKS})
    if any(len(link) > MAX_PAPER_LINK_CHARS for link in value):
        raise ValidationError(
            _("A paper link may have at most %(max)d characters.") % {"max": MAX_PAPER_LINK_CHARS}
        )


def group_qr_upload_to(instance, filename: str) -> str:
    """A random name: nothing of the uploader's file name, nothing to guess."""
    return f"topics/qr/{uuid.uuid4().hex}"


class Topic(RenderedMarkdown, models.Model):
    """One row of the topic sheet (Topic 发起表)."""

    markdown_fields = {"summary": "summary_html"}

    title = models.CharField(_("title"), max_length=200, validators=[validate_name_characters])
    track = models.ForeignKey(
        Track, verbose_name=_("track"), on_delete=models.PROTECT, related_name="topics"
    )
    season = models.ForeignKey(
        Season,
        verbose_name=_("season"),
        on_delete=models.PROTECT,
        related_name="topics",
        null=True,
        blank=True,
    )
    sub_theme = models.CharField(
        _("sub-theme"),
        max_length=60,
        blank=True,
        help_text=_("For example 文本匹配."),
        validators=[validate_name_characters],
    )
    summary = LimitedTextField(
        _("summary"), max_length=MARKDOWN_MAX_CHARS, blank=True, help_text=_("Markdown.")
    )
    # The summary rendered and sanitised when it is saved: pages never render it.
    summary_html = models.TextField(editable=False, blank=True)
    paper_links = models.JSONField(
        _("paper links"), default=list, blank=True, validators=[validate_paper_links]
    )
    proposer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("proposer"),
        on_delete=models.PROTECT,
        related_name="proposed_topics",
    )
    co_presenters = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("co-presenters"),
        related_name="co_presented_topics",
        blank=True,
    )
    preferred_week = models.DateField(
        _("preferred week"),
        null=True,
        blank=True,
        help_text=_("Any day of the week you would like to present in."),
        validators=[validate_plausible_date],
    )
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=TopicStatus.choices,
        default=TopicStatus.PROPOSED,
        db_index=True,
    )
    capacity = models.PositiveSmallIntegerField(
        _("participant places"),
        default=6,
        validators=[MinValueValidator(1), MaxValueValidator(50)],
    )
    members_only = models.BooleanField(
        _("members only"),
        default=False,
        help_text=_("Only members of the inner study group may join the participant group."),
    )
    group_chat_link = models.URLField(
        _("group chat link"), blank=True, help_text=_("WeChat group or Feishu link.")
    )
    group_qr = models.ImageField(
        _("group QR code"),
        # Private: only the group sees it, through topics:group-qr.
        upload_to=group_qr_upload_to,
        storage=private_storage,
        blank=True,
        validators=[validate_image_size],
    )
    check_intro = models.BooleanField(CHECKLIST[0][1], default=False)
    check_methods = models.BooleanField(CHECKLIST[1][1], default=False)
    check_code = models.BooleanField(CHECKLIST[2][1], default=False)
    check_survey = models.BooleanField(CHECKLIST[3][1], default=False)
    check_opinion = models.BooleanField(CHECKLIST[4][1], default=False)
    reason = LimitedTextField(
        _("reason"),
        max_length=REASON_MAX_CHARS,
        blank=True,
        help_text=_("Why it was rejected or cancelled."),
    )
    # How many people want to hear it (“想听”): kept by topic_interest_set, one row each in
    # TopicInterest, so that the sheet sorts by it without counting.
    interest_count = models.PositiveIntegerField(_("want to hear it"), default=0, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("topic")
        verbose_name_plural = _("topics")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["track", "status"]), models.Index(fields=["season"])]

    def __str__(self) -> str:
        return self.title

    @property
    def label(self) -> str:
        """The title, in the reader's language for the checklist's own tasks."""
        return str(dict(CHECKLIST)[self.checklist_item]) if self.checklist_item else self.title

    @property
    def checklist(self) -> list[tuple[str, str, bool]]:
        return [(field, label, getattr(self, field)) for field, label in CHECKLIST]

    @property
    def checklist_tasks(self) -> list[tuple[str, str, bool, "Task | None"]]:
        """The checklist with each item's task, if the group has one (uses prefetched tasks)."""
        tasks = {task.checklist_item: task for task in self.tasks.all() if task.checklist_item}
        return [
            (field, label, getattr(self, field), tasks.get(field)) for field, label in CHECKLIST
        ]

    @property
    def checklist_missing(self) -> list[tuple[str, str]]:
        return [(field, label) for field, label in CHECKLIST if not getattr(self, field)]

    @property
    def checklist_done(self) -> bool:
        return all(getattr(self, field) for field, _label in CHECKLIST)

    @property
    def participant_count(self) -> int:
        """Participants (not the proposer). Selectors annotate it; otherwise one query."""
        annotated = self.__dict__.get("participant_total")
        if annotated is not None:
            return annotated
        return self.participations.filter(role=Participation.Role.PARTICIPANT).count()

    @property
    def places_left(self) -> int:
        return max(0, self.capacity - self.participant_count)

    def clean(self) -> None:
        if not self.title.strip():
            raise ValidationError({"title": _("The title cannot be empty.")})
        if self.preferred_week:
            # A week is stored as its Monday, whatever day was picked.
            self.preferred_week = monday_of(self.preferred_week)


class CoPresenterInvitation(models.Model):
    """A proposer asks a member to present the topic with them. The member becomes a
    co-presenter (Topic.co_presenters, the only list pages show) when they accept."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Invited")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="invitations")
    invitee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("invited person"),
        on_delete=models.CASCADE,
        related_name="co_presenter_invitations",
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("invited by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    created_at = models.DateTimeField(_("invited"), auto_now_add=True)
    responded_at = models.DateTimeField(_("answered"), null=True, blank=True)

    class Meta:
        verbose_name = _("co-presenter invitation")
        verbose_name_plural = _("co-presenter invitations")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["topic", "invitee"], name="one_invitation_per_person")
        ]

    def __str__(self) -> str:
        return f"{self.invitee} → {self.topic_id} ({self.status})"


class TopicTransition(models.Model):
    """Append-only: every status change of a topic, who made it and why."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="transitions")
    from_status = models.CharField(
        _("from"), max_length=20, choices=TopicStatus.choices, blank=True
    )
    to_status = models.CharField(_("to"), max_length=20, choices=TopicStatus.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    reason = LimitedTextField(_("reason"), max_length=REASON_MAX_CHARS, blank=True)
    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("topic transition")
        verbose_name_plural = _("topic transitions")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.topic_id}: {self.from_status or '∅'} → {self.to_status}"


class Participation(models.Model):
    class Role(models.TextChoices):
        PROPOSER = "proposer", _("Proposer")
        PARTICIPANT = "participant", _("Participant")

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="participations")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="participations"
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    joined_at = models.DateTimeField(_("joined"), auto_now_add=True)

    class Meta:
        verbose_name = _("participation")
        verbose_name_plural = _("participations")
        ordering = ["joined_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["topic", "user"], name="one_participation_per_person")
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.topic} ({self.role})"


class WaitlistEntry(models.Model):
    """A place in the queue for a full participant group: the first in line moves in when a
    place frees (sessions.topics.services.waitlist_promote)."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="waitlist")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="waitlist_entries"
    )
    created_at = models.DateTimeField(_("since"), auto_now_add=True)

    class Meta:
        verbose_name = _("waitlist place")
        verbose_name_plural = _("waitlist")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["topic", "user"], name="one_waitlist_place_per_person")
        ]

    def __str__(self) -> str:
        return f"{self.user} ⏳ {self.topic}"


class TopicInterest(models.Model):
    """Someone wants to hear this topic (“想听”): one per person and topic. Who is shown only
    to organisers; everyone sees the count (Topic.interest_count)."""

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="interests")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="topic_interests"
    )
    created_at = models.DateTimeField(_("since"), auto_now_add=True)

    class Meta:
        verbose_name = _("wish to hear a topic")
        verbose_name_plural = _("wishes to hear a topic")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["topic", "user"], name="one_interest_per_person")
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.topic}"


DUE_BEFORE_SESSION_CHOICES = [
    (14, _("2 weeks before the session")),
    (7, _("1 week before the session (e.g. the outline)")),
    (3, _("3 days before the session (e.g. the slides)")),
    (1, _("the day before the session (e.g. the rehearsal)")),
    (0, _("on the day of the session")),
]


class Task(models.Model):
    """A piece of the group's preparation work (分工)."""

    class Status(models.TextChoices):
        TODO = "todo", _("To do")
        DOING = "doing", _("Doing")
        DONE = "done", _("Done")

    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="tasks")
    title = models.CharField(_("title"), max_length=200, validators=[validate_name_characters])
    notes = LimitedTextField(_("notes"), max_length=LONG_TEXT_MAX_CHARS, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tasks",
    )
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.TODO
    )
    due_date = models.DateField(_("due date"), null=True, blank=True)
    # Due so many days before the session (outline T-7, slides T-3, rehearsal T-1): the due
    # date follows the session when it is scheduled or moves (sessions/topics/deadlines.py).
    due_before_session = models.PositiveSmallIntegerField(
        _("due before the session"),
        null=True,
        blank=True,
        choices=DUE_BEFORE_SESSION_CHOICES,
        help_text=_("Moves with the session. Leave empty to use the due date."),
    )
    # One of the five things every share covers (CHECKLIST): a new group starts with them as
    # tasks, and finishing such a task ticks the topic's checklist (and the other way round).
    checklist_item = models.CharField(
        _("checklist item"), max_length=20, choices=CHECKLIST, blank=True, editable=False
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["status", "due_date", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["topic", "checklist_item"],
                condition=~models.Q(checklist_item=""),
                name="one_task_per_checklist_item",
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def label(self) -> str:
        """The title, in the reader's language for the checklist's own tasks."""
        return str(dict(CHECKLIST)[self.checklist_item]) if self.checklist_item else self.title

    @property
    def overdue(self) -> bool:
        return (
            self.due_date is not None
            and self.status != self.Status.DONE
            and self.due_date < timezone.localdate()
        )
