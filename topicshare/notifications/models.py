from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from topicshare.core.egress import AddressRefused, webhook_address_check


class NotificationKind(models.TextChoices):
    # Time-based reminders (one ReminderRule each)
    PROMOTION = "promotion", _("Promotion (two weeks ahead)")
    RECRUITMENT_CHECK = "recruitment_check", _("Recruitment check")
    DAY_BEFORE = "day_before", _("Reminder the day before")
    AT_START = "at_start", _("Starting now")
    AFTER = "after", _("Materials after the session")
    # To organisers, with the promotion reminder: the pack is ready (its link)
    PROMOTION_PACK = "promotion_pack", _("Promotion pack ready (organisers)")
    # Event notices
    TOPIC_ACCEPTED = "topic_accepted", _("Topic accepted")
    TOPIC_REJECTED = "topic_rejected", _("Topic rejected")
    RECRUITING_OPENED = "recruiting_opened", _("Recruiting opened")
    WANTED_TOPIC_RECRUITING = "wanted_topic_recruiting", _("A topic I want to hear is recruiting")
    GROUP_JOINED = "group_joined", _("Someone joined my group")
    WAITLIST_PROMOTED = "waitlist_promoted", _("A place in a group came free for me")
    TASK_DUE = "task_due", _("My task is due tomorrow")
    TASKS_LATE = "tasks_late", _("Late tasks of a group (its chat)")
    CO_PRESENTER_INVITED = "co_presenter_invited", _("Invited to present a topic")
    SESSION_SCHEDULED = "session_scheduled", _("Session scheduled")
    SESSION_SLIPPED = "session_slipped", _("Session moved")
    SESSION_CANCELLED = "session_cancelled", _("Session cancelled")
    TOPIC_CANCELLED = "topic_cancelled", _("Topic cancelled before its session was scheduled")
    # Admission
    APPLICATION_RECEIVED = "application_received", _("New membership application")
    APPLICATION_WITHDRAWN = "application_withdrawn", _("Membership application withdrawn")
    REVIEW_SCHEDULED = "review_scheduled", _("Review talk scheduled")
    ADMISSION_DECIDED = "admission_decided", _("Admission decision")
    # Season review
    MEMBERSHIP_ENDED = "membership_ended", _("Back to the audience after a season")
    AT_RISK = "at_risk", _("My attendance is below the season's threshold")
    # Subscriptions (what I follow: tracks and tags)
    FOLLOWED_NEWS = "followed_news", _("News of what I follow, at once")
    WEEKLY_DIGEST = "weekly_digest", _("The weekly digest of what I follow")


class ChatWebhook(models.Model):
    """A group chat bot the forum posts to. Which messages it gets is the sending app's choice
    (a track lists its chats: Track.chat_webhooks); the outbox only delivers."""

    class Provider(models.TextChoices):
        FEISHU = "feishu", _("Feishu / Lark custom bot")
        WECOM = "wecom", _("WeCom (企业微信) group bot")
        DINGTALK = "dingtalk", _("DingTalk group bot")
        GENERIC = "generic", _("Generic JSON POST")

    class Audience(models.TextChoices):
        STUDY_GROUP = "study", _("Study group (members)")
        AUDIENCE = "audience", _("Audience group (everyone)")

    name = models.CharField(_("name"), max_length=80)
    provider = models.CharField(_("provider"), max_length=12, choices=Provider.choices)
    url = models.URLField(_("webhook address"), max_length=500)
    secret = models.CharField(
        _("signing secret"),
        max_length=200,
        blank=True,
        help_text=_("Feishu and DingTalk sign requests with it; generic webhooks get an HMAC."),
    )
    audience = models.CharField(
        _("which group"), max_length=10, choices=Audience.choices, default=Audience.STUDY_GROUP
    )
    enabled = models.BooleanField(_("enabled"), default=True)

    class Meta:
        db_table = "topicshare_chatwebhook"
        verbose_name = _("chat webhook")
        verbose_name_plural = _("chat webhooks")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if not self.url or not self.provider:
            return  # the fields' own errors say what is missing
        try:
            webhook_address_check(url=self.url, provider=self.provider)
        except AddressRefused as refused:
            raise ValidationError({"url": str(refused)}) from None


class Notification(models.Model):
    """The outbox: one row per (kind, subject, occasion, recipient or channel). The database
    refuses a second one, so a reminder can never be queued twice. Sending happens only from
    here."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    kind = models.CharField(_("kind"), max_length=30, choices=NotificationKind.choices)
    subject_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    subject_id = models.PositiveBigIntegerField()
    subject = GenericForeignKey("subject_type", "subject_id")
    # What makes two notifications of one kind and subject different occasions, e.g. the
    # session's start for a reminder (a slipped session gets new ones) or an event's id.
    occasion = models.CharField(_("occasion"), max_length=64, blank=True)
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
    )
    channel = models.ForeignKey(
        ChatWebhook,
        verbose_name=_("chat webhook"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="notifications",
    )
    language = models.CharField(_("language"), max_length=10, default="zh-hans")
    title = models.CharField(_("subject line"), max_length=300)
    body_text = models.TextField(_("text"))
    body_html = models.TextField(_("HTML"), blank=True)
    url = models.CharField(_("link"), max_length=500, blank=True)
    # The picture of a chat card (the session's poster), where the provider shows one.
    image_url = models.CharField(_("image"), max_length=500, blank=True)
    # [{"filename", "content", "mimetype"}]: files the sending app built (a session's .ics).
    attachments = models.JSONField(_("attachments"), default=list, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    due_at = models.DateTimeField(_("due"))
    next_attempt_at = models.DateTimeField(_("next attempt"), db_index=True)
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        db_table = "topicshare_notification"
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"]),
            models.Index(fields=["subject_type", "subject_id"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(recipient__isnull=False, channel__isnull=True)
                | models.Q(recipient__isnull=True, channel__isnull=False),
                name="notification_has_one_destination",
            ),
            models.UniqueConstraint(
                fields=["kind", "subject_type", "subject_id", "occasion", "recipient"],
                condition=models.Q(recipient__isnull=False),
                name="one_notification_per_recipient",
            ),
            models.UniqueConstraint(
                fields=["kind", "subject_type", "subject_id", "occasion", "channel"],
                condition=models.Q(channel__isnull=False),
                name="one_notification_per_channel",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} → {self.recipient or self.channel}"


class DeliveryLane(models.Model):
    """One way out of the outbox: e-mail (one SMTP server) or one chat bot. Each lane is
    claimed and sent on its own, so a mail server that hangs or a chat service that answers
    500 holds back its own messages only. A lane whose last TOPICSHARE_OUTBOX_TRIP_AFTER
    attempts failed is paused (a circuit breaker) until `paused_until`, with a backoff that
    grows with each pause; the first success closes it again. Rows are made on first use."""

    EMAIL = "email"

    key = models.CharField(_("lane"), max_length=40, unique=True)  # "email" or "chat:<id>"
    channel = models.OneToOneField(
        ChatWebhook,
        verbose_name=_("chat webhook"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="lane",
    )
    failures = models.PositiveIntegerField(_("failures in a row"), default=0)
    pauses = models.PositiveSmallIntegerField(_("pauses in a row"), default=0)
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True)
    paused_until = models.DateTimeField(_("paused until"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    last_success_at = models.DateTimeField(_("last delivered"), null=True, blank=True)
    # A Celery task sending this lane holds it until then (renewed as it goes): one task a
    # lane, so a slow provider takes one worker process, never all of them.
    busy_until = models.DateTimeField(_("busy until"), null=True, blank=True)

    class Meta:
        db_table = "topicshare_deliverylane"
        verbose_name = _("delivery lane")
        verbose_name_plural = _("delivery lanes")
        ordering = ["key"]

    def __str__(self) -> str:
        return str(_("E-mail")) if self.key == self.EMAIL else str(self.channel or self.key)


class NotificationOptOut(models.Model):
    """A person who does not want e-mails of one kind."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_opt_outs"
    )
    kind = models.CharField(_("kind"), max_length=30, choices=NotificationKind.choices)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        db_table = "topicshare_notificationoptout"
        verbose_name = _("notification opt-out")
        verbose_name_plural = _("notification opt-outs")
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="one_opt_out_per_kind")
        ]

    def __str__(self) -> str:
        return f"{self.user} ✕ {self.kind}"


class WebhookEvent(models.TextChoices):
    """What an integration may subscribe to (outgoing webhooks, outgoing.py)."""

    TOPIC_ACCEPTED = "topic.accepted", _("Topic accepted")
    SESSION_SCHEDULED = "session.scheduled", _("Session scheduled")
    SESSION_MOVED = "session.moved", _("Session moved")
    SESSION_CANCELLED = "session.cancelled", _("Session cancelled")
    RECORDING_ADDED = "recording.added", _("Recording added")
    LIBRARY_ITEM_ADDED = "library_item.added", _("Library item added")
    MEMBER_ADMITTED = "member.admitted", _("Member admitted")


# Sent by the organisers' "send a test event" button only; nobody subscribes to it.
WEBHOOK_TEST_EVENT = "webhook.test"


class WebhookEndpoint(models.Model):
    """An integration's HTTPS address that gets the events it asked for, signed the Standard
    Webhooks way with its own secret."""

    url = models.URLField(_("address"), max_length=500)
    description = models.CharField(_("description"), max_length=200, blank=True)
    events = models.JSONField(_("events"), default=list)
    # "whsec_" + base64 of 32 random bytes (outgoing.webhook_secret_new).
    secret = models.CharField(_("signing secret"), max_length=100)
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        db_table = "topicshare_webhookendpoint"
        verbose_name = _("outgoing webhook")
        verbose_name_plural = _("outgoing webhooks")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.description or self.url

    def clean(self) -> None:
        from topicshare.notifications.outgoing import endpoint_address_check

        if self.url:
            try:
                endpoint_address_check(url=self.url, resolve=True)
            except AddressRefused as refused:
                raise ValidationError({"url": str(refused)}) from None
        unknown = [event for event in self.events or [] if event not in WebhookEvent.values]
        if not isinstance(self.events, list) or unknown:
            raise ValidationError({"events": _("Unknown event type.")})


class WebhookDelivery(models.Model):
    """One event to one endpoint: the delivery log. Claimed, sent and retried like the
    outbox's notifications."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    endpoint = models.ForeignKey(
        WebhookEndpoint,
        verbose_name=_("outgoing webhook"),
        on_delete=models.CASCADE,
        related_name="deliveries",
    )
    event_type = models.CharField(_("event"), max_length=40)
    # The event: the same key twice is the same event (webhook_event_emit is idempotent).
    key = models.CharField(_("event key"), max_length=120)
    message_id = models.CharField(_("message id"), max_length=40, unique=True)
    payload = models.JSONField(_("payload"))
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"))
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(
        _("last status code"), null=True, blank=True
    )
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    # Every attempt: [{"at", "status_code", "error"}], the last MAX_ATTEMPTS_LOGGED.
    log = models.JSONField(_("attempts log"), default=list, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        db_table = "topicshare_webhookdelivery"
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "key"], name="one_delivery_per_event")
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint}"
