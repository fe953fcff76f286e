"""The notification outbox: queue messages (idempotently), then send them in batches.

Queueing writes rows to the database — the source of truth. Sending happens only here, from
the rows: claimed in short transactions (`select_for_update(skip_locked=True)`, so two
dispatchers never take the same row), sent, each marked the moment it is handed over. Each
way out — e-mail, every chat bot — is a lane of its own (see "Lanes" below), so one provider's
outage does not delay another's messages. Failures are retried with a jittered, capped,
exponential backoff; a lane that keeps failing is paused (a circuit breaker); permanent
failures stay visible in the admin with a resend action."""

import contextlib
import datetime
import logging
import random
import smtplib
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import psycopg
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core import signing
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connections, models, router, transaction
from django.db.models import F, Q
from django.db.models.constants import OnConflict
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from topicshare.core.links import absolute_url
from topicshare.notifications.models import (
    ChatWebhook,
    DeliveryLane,
    Notification,
    NotificationOptOut,
)
from topicshare.notifications.prepared import Templates
from topicshare.notifications.signals import sweep

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
# Failed attempts before a message is given up (FAILED, for an organiser to send again); a
# message whose lane delivers others meanwhile (a flaky service) keeps trying up to
# MAX_ATTEMPTS_FLAKY (see _given_up).
MAX_ATTEMPTS = 5
MAX_ATTEMPTS_FLAKY = 20
UNSUBSCRIBE_SALT = "topicshare.unsubscribe"


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: str
    mimetype: str

    def as_json(self) -> dict:
        return {"filename": self.filename, "content": self.content, "mimetype": self.mimetype}


@dataclass
class Message:
    """What a notification says, in one language.

    `private` lines (a meeting's link, ID and passcode …) are for the signed-in people an
    e-mail goes to. A chat message lands in a group chat that anyone may read, so chat rows
    get `public_text`: never the private lines, `instead_of_private` in their place."""

    title: str
    lines: list[str]
    url: str = ""
    private: list[str] = field(default_factory=list)
    instead_of_private: str = ""
    # Files for the e-mails (never for group chats), built by the app that sends the message.
    attachments: list[Attachment] = field(default_factory=list)
    # The picture of a chat card (CARD_KINDS), an absolute URL: the session's poster.
    image_url: str = ""

    @property
    def text(self) -> str:
        return self._join([*self.lines, *self.private])

    @property
    def public_text(self) -> str:
        note = [self.instead_of_private] if self.private and self.instead_of_private else []
        return self._join([*self.lines, *note])

    def _join(self, lines: list[str]) -> str:
        return "\n\n".join([*lines, self.url] if self.url else lines)

    def html(self) -> str:
        return render_to_string("notifications/email.html", {"message": self})


@dataclass
class DispatchReport:
    materialised: int = 0
    sent: int = 0
    failed: int = 0
    retrying: int = 0
    deferred: int = 0  # held back by a chat provider's limits: sent later, not failed
    batches: int = 0
    errors: list[str] = field(default_factory=list)
    webhooks_sent: int = 0  # outgoing webhooks for integrations (outgoing.py)
    webhooks_failed: int = 0
    untried: int = 0  # left in the queue because their lane's breaker opened
    paused: list[str] = field(default_factory=list)  # lanes whose breaker opened
    busy: bool = False  # notifications_lane_dispatch: another task holds the lane


def _language_of(user) -> str:
    languages = {code for code, _name in settings.LANGUAGES}
    return (
        user.preferred_language if user.preferred_language in languages else settings.LANGUAGE_CODE
    )


def notification_enqueue(
    *,
    kind: str,
    subject: models.Model,
    occasion: str,
    recipients: Iterable = (),
    channels: Iterable[ChatWebhook] = (),
    render: Callable[[], Message],
    due_at: datetime.datetime,
) -> int:
    """Queue one notification per recipient and per chat channel. Idempotent: the database's
    unique constraints drop what is already queued for this (kind, subject, occasion).

    `render` is called once per language, with that language active. People who opted out of
    this kind, placeholders and inactive accounts get nothing. Returns how many rows are new
    (0 or more). Side effect: after commit, nudges the Celery dispatcher."""
    people = {user.pk: user for user in recipients if user.is_active and not user.is_placeholder}
    if people:
        opted_out = set(
            NotificationOptOut.objects.filter(kind=kind, user_id__in=list(people)).values_list(
                "user_id", flat=True
            )
        )
        people = {pk: user for pk, user in people.items() if pk not in opted_out and user.email}
    by_language: dict[str, list] = defaultdict(list)
    for user in people.values():
        by_language[_language_of(user)].append(user)
    channels = [channel for channel in channels if channel.enabled]
    if channels:
        by_language.setdefault(settings.LANGUAGE_CODE, [])
    subject_type = ContentType.objects.get_for_model(subject)
    rows = []
    for language, users in by_language.items():
        with translation.override(language):
            message = render()
            html = message.html() if users else ""
        common = {
            "kind": kind,
            "subject_type": subject_type,
            "subject_id": subject.pk,
            "occasion": occasion,
            "language": language,
            "title": message.title[:300],
            "url": message.url[:500],
            "image_url": message.image_url[:500],
            "due_at": due_at,
            "next_attempt_at": due_at,
        }
        if users:
            personal = Notification(
                body_text=message.text,
                body_html=html,
                attachments=[attachment.as_json() for attachment in message.attachments],
                **common,
            )
            rows.append((personal, "recipient_id", [user.pk for user in users]))
        if language == settings.LANGUAGE_CODE and channels:
            # Group chats are public: no private lines, no calendar file (Message's docstring).
            public = Notification(body_text=message.public_text, **common)
            rows.append((public, "channel_id", [channel.pk for channel in channels]))
    if not rows:
        return 0
    before = Notification.objects.filter(
        kind=kind, subject_type=subject_type, subject_id=subject.pk, occasion=occasion
    ).count()
    _insert_ignoring_queued(rows)
    added = (
        Notification.objects.filter(
            kind=kind, subject_type=subject_type, subject_id=subject.pk, occasion=occasion
        ).count()
        - before
    )
    if added:
        transaction.on_commit(kick_dispatcher)
    return added


def _insert_ignoring_queued(groups: list[tuple[Notification, str, list[int]]]) -> None:
    """Insert one row per id of each group: the group's notification with `attname` set to
    the id; a row already queued (the unique constraints) is skipped. What bulk_create does
    (no signals either), with each field's value prepared once a group instead of once a row:
    a reminder to 10,000 people is 10,000 rows that differ in the recipient only."""
    connection = connections[router.db_for_write(Notification)]
    fields = [field for field in Notification._meta.concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    sql = (
        f"{connection.ops.insert_statement(on_conflict=OnConflict.IGNORE)} "
        f"{quote(Notification._meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) "
        f"{connection.ops.on_conflict_suffix_sql(fields, OnConflict.IGNORE, None, None)}"
    )
    with connection.cursor() as cursor:
        for notification, attname, ids in groups:
            values = [
                field.get_db_prep_save(field.pre_save(notification, add=True), connection)
                for field in fields
            ]
            varying = next(n for n, field in enumerate(fields) if field.attname == attname)
            params = []
            for pk in ids:
                values[varying] = pk
                params.append(tuple(values))
            for start in range(0, len(params), 1000):
                cursor.executemany(sql, params[start : start + 1000])


def notifications_cancel(
    *, subject: models.Model, kinds: Iterable[str], keep_occasion: str = ""
) -> int:
    """Cancel pending notifications of these kinds about `subject` (a slipped or cancelled
    session), except those for `keep_occasion`."""
    pending = Notification.objects.filter(
        subject_type=ContentType.objects.get_for_model(subject),
        subject_id=subject.pk,
        kind__in=list(kinds),
        status=Notification.Status.PENDING,
    )
    if keep_occasion:
        pending = pending.exclude(occasion=keep_occasion)
    return pending.update(status=Notification.Status.CANCELLED)


def kick_dispatcher() -> None:
    """Ask a worker to send now instead of at the next minute. If the broker is down the page
    still works: the rows are safe in the outbox and the next sweep sends them."""
    if not settings.TOPICSHARE_KICK_DISPATCHER:
        return
    try:
        from topicshare.celery import app
        from topicshare.notifications.tasks import dispatch_notifications

        # One attempt to reach the broker: kombu would otherwise retry for seconds while the
        # page waits.
        with app.connection_for_write(transport_options={"max_retries": 0}) as connection:
            dispatch_notifications.apply_async(retry=False, connection=connection)
    except Exception as error:  # the broker being down must never break a page
        logger.warning("could not queue the dispatcher (the next sweep will send): %s", error)


def notification_resend(*, notifications: Iterable[Notification], now=None) -> int:
    """Put failed (or cancelled) notifications back in the queue, from the admin."""
    now = now or timezone.now()
    ids = [n.pk for n in notifications if n.status != Notification.Status.SENT]
    return Notification.objects.filter(pk__in=ids).update(
        status=Notification.Status.PENDING, attempts=0, next_attempt_at=now, last_error=""
    )


# --- Sending -------------------------------------------------------------------------------


def unsubscribe_token(*, user_id: int, kind: str) -> str:
    """A signed "<user>.<kind>" (one HMAC: a 10,000-recipient reminder signs 10,000 of them;
    signing.dumps' JSON, compression and base64 cost five times as much)."""
    return _unsubscribe_signer().sign(f"{user_id}.{kind}")


def unsubscribe_read(token: str) -> tuple[int, str] | None:
    """The person and kind of a token; also of the older signing.dumps tokens already sent."""
    try:
        user_id, kind = _unsubscribe_signer().unsign(token).split(".", 1)
        return int(user_id), kind
    except (signing.BadSignature, ValueError):
        pass
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
        return int(data["u"]), str(data["k"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None


def _unsubscribe_signer() -> signing.Signer:
    return signing.Signer(salt=UNSUBSCRIBE_SALT)


def _stale_claim() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.TOPICSHARE_STALE_CLAIM_SECONDS)


def _release_stale_claims(now: datetime.datetime) -> None:
    """Rows claimed by a worker that died are sent again. Each row is marked sent the moment
    its message is handed over and a live worker renews its claim as it goes, so only the
    message in flight at the death can go out twice."""
    stale_before = min(now, timezone.now()) - _stale_claim()
    Notification.objects.filter(
        status=Notification.Status.SENDING, claimed_at__lt=stale_before
    ).update(status=Notification.Status.PENDING)


_MARK_SENT = (
    f"UPDATE {Notification._meta.db_table} SET status = %s, sent_at = %s, last_error = ''"  # noqa: S608 — the model's own table
    " WHERE id = %s"
)


class _Progress:
    """Marks each message sent as soon as it is delivered, and renews the claim on the rest
    of the batch every third of the stale-claim time."""

    def __init__(self, batch: list[Notification], now: datetime.datetime, lease: str = ""):
        self.waiting = {notification.pk for notification in batch}
        self.now = now
        self.sent = 0
        self.deferred: list[tuple[Notification, datetime.datetime]] = []
        # Not tried because the lane's breaker opened: back to the queue, no attempt counted.
        self.untried: list[Notification] = []
        self.lease = lease  # the lane whose Celery task this is (its hold is renewed too)
        self.started = time.monotonic()
        self.renewed = time.monotonic()
        connection = connections[router.db_for_write(Notification)]
        self._connection = connection
        self._cursor = None
        self._sent = [Notification.Status.SENT.value, connection.ops.adapt_datetimefield_value(now)]

    def delivered(self, notification: Notification) -> None:
        # One statement a message, as it is handed over (exactly once under a killed worker),
        # prepared once, on one cursor a batch: the ORM would compile the same UPDATE ten
        # thousand times.
        if self._cursor is None:
            self._cursor = self._open_cursor()
        if isinstance(self._cursor, psycopg.Cursor):
            self._cursor.execute(_MARK_SENT, [*self._sent, notification.pk], prepare=True)
        else:
            self._cursor.execute(_MARK_SENT, [*self._sent, notification.pk])
        self.sent += 1
        self.done(notification)

    def _postgresql_autocommit(self) -> bool:
        return self._connection.vendor == "postgresql" and not self._connection.in_atomic_block

    def _open_cursor(self):
        if not self._postgresql_autocommit():
            return self._connection.cursor()
        # PostgreSQL, each mark committed at once (autocommit):
        # - without waiting for its WAL to reach the disk: a killed worker loses nothing
        #   committed (only a crash of PostgreSQL itself could lose the last fraction of a
        #   second of marks, and those messages would go again), and a reminder to 10,000
        #   people no longer waits for 10,000 flushes;
        # - on psycopg's own cursor, with server-side binding and the statement prepared
        #   once (Django's binds on the client: the statement parsed and planned 10,000
        #   times).
        # For this batch's statements only: close() resets the setting.
        self._connection.ensure_connection()
        cursor = psycopg.Cursor(self._connection.connection)
        cursor.execute("SET synchronous_commit TO OFF")
        return cursor

    def close(self) -> None:
        if self._cursor is not None:
            cursor, self._cursor = self._cursor, None
            try:
                if isinstance(cursor, psycopg.Cursor):
                    cursor.execute("RESET synchronous_commit")
                cursor.close()
            except psycopg.Error:  # the connection broke: what failed is reported, not this
                logger.warning("outbox: could not reset the connection after a batch")

    def ended(self) -> datetime.datetime:
        """The sweep's clock at the end of the batch: what a retry's wait counts from (a
        batch of timeouts takes a while; its pause must not be over before it ends)."""
        return self.now + datetime.timedelta(seconds=max(0.0, time.monotonic() - self.started))

    def done(self, notification: Notification) -> None:
        self.waiting.discard(notification.pk)
        if time.monotonic() - self.renewed > _stale_claim().total_seconds() / 3:
            self.renewed = time.monotonic()
            Notification.objects.filter(
                pk__in=self.waiting, status=Notification.Status.SENDING
            ).update(claimed_at=timezone.now())
            if self.lease:
                DeliveryLane.objects.filter(key=self.lease).update(
                    busy_until=timezone.now() + _stale_claim()
                )


def _claim(*, now: datetime.datetime, batch_size: int, lane: str) -> list[Notification]:
    with transaction.atomic():
        ids = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(_lane_rows(lane), status=Notification.Status.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")
            .values_list("id", flat=True)[:batch_size]
        )
        if not ids:
            return []
        Notification.objects.filter(id__in=ids).update(
            status=Notification.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1
        )
    # What sending reads, and of the recipient the address only (a batch is 500 rows).
    return list(
        Notification.objects.filter(id__in=ids)
        .select_related("recipient", "channel")
        .only(*_SENT_FIELDS, "recipient__email", "channel")
    )


_SENT_FIELDS = (
    "kind", "language", "title", "body_text", "body_html", "url", "image_url", "attachments",
    "attempts", "due_at",
)  # fmt: skip


def _card_of(notification: Notification):
    """The rich card of a chat message whose kind has one (webhooks.CARD_KINDS), else None."""
    from topicshare.notifications.webhooks import CARD_KINDS, Card

    if notification.kind not in CARD_KINDS or not notification.url:
        return None
    with translation.override(notification.language):
        button = str(CARD_KINDS[notification.kind])
    return Card(button=button, image_url=notification.image_url)


def _email(notification: Notification, templates: Templates) -> EmailMultiAlternatives:
    user = notification.recipient
    token = unsubscribe_token(user_id=user.pk, kind=notification.kind)
    unsubscribe = absolute_url(_unsubscribe_path(token))
    key = (
        notification.title,
        notification.body_text,
        notification.body_html,
        tuple((a["filename"], a["content"], a["mimetype"]) for a in notification.attachments),
    )
    expected = 2 + notification.body_html.count("__UNSUBSCRIBE__")  # text, header, HTML
    return templates.email(
        key,
        lambda to, link, email_class: _build_email(notification, to, link, email_class),
        to=user.email,
        unsubscribe=unsubscribe,
        expected=expected,
    )


def _unsubscribe_path(token: str) -> str:
    # reverse() once a process: the token (URL-safe base64 and colons) is the last part.
    prefix = _reversed.get("prefix")
    if prefix is None:
        prefix = _reversed["prefix"] = reverse("unsubscribe", args=["T"])[:-2]
    return f"{prefix}{token}/"


_reversed: dict[str, str] = {}


def _build_email(notification: Notification, to: str, unsubscribe: str, email_class):
    prefix = settings.ACCOUNT_EMAIL_SUBJECT_PREFIX
    email = email_class(
        subject=f"{prefix}{notification.title}",
        body=f"{notification.body_text}\n\n--\n{unsubscribe}",
        to=[to],
        headers={
            "List-Unsubscribe": f"<{unsubscribe}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        },
    )
    if notification.body_html:
        email.attach_alternative(
            notification.body_html.replace("__UNSUBSCRIBE__", unsubscribe), "text/html"
        )
    for attachment in notification.attachments:
        email.attach(attachment["filename"], attachment["content"], attachment["mimetype"])
    return email


# The notification, the error, whether permanent, whether it was the probe of a paused lane.
_Failure = tuple[Notification, str, bool, bool]


# --- Lanes: each way out is sent on its own -----------------------------------------------
#
# A lane is e-mail (the one SMTP server) or one chat bot. Rows are claimed a lane at a time,
# the Celery dispatcher gives every lane its own task (tasks.py), and both SMTP and chat
# requests give up after a bounded time (EMAIL_TIMEOUT, TOPICSHARE_CHAT_TIMEOUT_SECONDS): a
# mail server that hangs holds back e-mails only, never a chat message, and one chat service
# that fails holds back its own bot's messages only.
#
# Exactly once, as far as a client can know: a message is marked sent the moment its server
# says it has it — SMTP's 250 reply to DATA, a chat service's 2xx (and code 0). A connection
# refused or dropped before that means not delivered, so it is sent again, and nothing the
# server took is sent twice. Two edges no client can close: a connection dropped after the
# server sent its 250 but before we read it, and a chat request that timed out after the
# service had taken it (the chat bots' webhooks take no idempotency key). Both are sent again:
# at least once, never lost.


def _lane_rows(lane: str) -> Q:
    if lane == DeliveryLane.EMAIL:
        return Q(recipient__isnull=False)
    return Q(channel_id=int(lane.removeprefix("chat:")))


def _lane_key(channel_id: int | None) -> str:
    return DeliveryLane.EMAIL if channel_id is None else f"chat:{channel_id}"


def _lane_get(lane: str) -> DeliveryLane:
    channel_id = None if lane == DeliveryLane.EMAIL else int(lane.removeprefix("chat:"))
    found, _created = DeliveryLane.objects.get_or_create(
        key=lane, defaults={"channel_id": channel_id}
    )
    return found


def notification_lanes_due(*, now: datetime.datetime, idle_only: bool = False) -> list[str]:
    """The lanes with messages to send at `now`, e-mail first; paused lanes (their breaker
    open) are left out, and with `idle_only` those a Celery task is sending already."""
    channels = set(
        Notification.objects.filter(status=Notification.Status.PENDING, next_attempt_at__lte=now)
        .order_by()
        .values_list("channel_id", flat=True)
        .distinct()
    )
    keys = sorted(
        (_lane_key(channel) for channel in channels), key=lambda key: key != DeliveryLane.EMAIL
    )
    if not keys:
        return []
    held = Q(paused_until__gt=now)
    if idle_only:
        held |= Q(busy_until__gt=timezone.now())
    skipped = set(DeliveryLane.objects.filter(held, key__in=keys).values_list("key", flat=True))
    return [key for key in keys if key not in skipped]


def outbox_backoff(attempts: int) -> datetime.timedelta:
    """How long to wait after the `attempts`-th failure: TOPICSHARE_OUTBOX_BACKOFF_SECONDS
    doubled each time (2, 4, 8, 16 … minutes by default), at most
    TOPICSHARE_OUTBOX_BACKOFF_MAX_SECONDS, and up to a quarter less at random, so that
    messages that failed together do not all come back at the same moment."""
    base = settings.TOPICSHARE_OUTBOX_BACKOFF_SECONDS
    seconds = min(settings.TOPICSHARE_OUTBOX_BACKOFF_MAX_SECONDS, base * 2 ** min(attempts, 30))
    return datetime.timedelta(seconds=seconds * random.uniform(0.75, 1.0))  # noqa: S311 — jitter


class _Breaker:
    """Counts a lane's failures in a row, from where the lane's row left off: the lane's last
    TOPICSHARE_OUTBOX_TRIP_AFTER attempts failed → it opens and the rest of the batch is left
    for later. After a pause the lane's count is still at the limit, so the first message is
    the probe: one more failure opens it again, a success closes it. A failed probe is the
    lane's failure, not its message's: it counts no attempt, so an outage, however long, sends
    no message to the failures (the lane's backoff is capped: it is probed at least hourly)."""

    def __init__(self, lane: DeliveryLane):
        self.failures = lane.failures
        self.limit = max(1, settings.TOPICSHARE_OUTBOX_TRIP_AFTER)
        self.tripped = False
        self.error = ""

    def failed(self, error: str) -> bool:
        """Count a failure; whether it was a probe's (the lane was paused before it)."""
        probe = self.failures >= self.limit
        self.failures += 1
        self.error = error
        self.tripped = self.failures >= self.limit
        return probe

    def succeeded(self) -> None:
        self.failures = 0


def _hand_over(batch: list[Notification], progress: "_Progress", breaker: _Breaker):
    """Each message of one lane to its mail server or chat, marked sent the moment it is
    handed over; the failures, to be retried or given up."""
    if batch[0].recipient_id:
        return _hand_over_emails(batch, progress, breaker)
    return _hand_over_chats(batch, progress, breaker)


def _close_quietly(connection) -> None:
    # What was sent on it is marked already; a server that drops us at QUIT changes nothing.
    if connection is not None:
        with contextlib.suppress(Exception):  # any SMTP or socket error at QUIT
            connection.close()


def _hand_over_emails(batch, progress, breaker) -> list[_Failure]:
    """One SMTP connection for as long as it works; a fresh one after any failure (a dropped
    connection is not reused, and a server that refused one may take the next)."""
    failures: list[_Failure] = []
    templates = Templates()
    connection = None
    try:
        for notification in batch:
            if breaker.tripped:
                progress.untried.append(notification)
                progress.done(notification)
                continue
            try:
                if connection is None:
                    connection = get_connection()
                    connection.open()
                if not connection.send_messages([_email(notification, templates)]):
                    raise smtplib.SMTPException("the mail backend sent nothing")
            except Exception as error:  # SMTP and socket errors, timeouts: retry later
                text = f"{type(error).__name__}: {error}"
                failures.append((notification, text, False, breaker.failed(text)))
                _close_quietly(connection)
                connection = None
                progress.done(notification)
            else:
                breaker.succeeded()
                progress.delivered(notification)
    finally:
        _close_quietly(connection)
    return failures


def _hand_over_chats(batch, progress, breaker) -> list[_Failure]:
    from topicshare.notifications.webhooks import (
        RATE_LIMITED_PAUSE,
        WebhookError,
        send_wait,
        webhook_send,
    )

    failures: list[_Failure] = []
    channel = batch[0].channel
    now = progress.now
    recent = _recent_chat_sends(channel.pk, now)
    paused = None
    for notification in batch:
        if breaker.tripped:
            progress.untried.append(notification)
            progress.done(notification)
            continue
        wait = send_wait(channel, sent=recent, now=now)
        until = paused or (now + wait if wait is not None else None)
        if until is not None:  # within the provider's limits: later, not lost
            progress.deferred.append((notification, until))
            progress.done(notification)
            continue
        try:
            webhook_send(
                webhook=channel,
                title=notification.title,
                text=notification.body_text,
                url=notification.url,
                card=_card_of(notification),
                # The real clock, never the sweep's (possibly replayed) `now`: Feishu and
                # DingTalk refuse signatures with an old timestamp.
                now=timezone.now(),
                timeout=settings.TOPICSHARE_CHAT_TIMEOUT_SECONDS,
            )
        except WebhookError as error:
            if error.rate_limited:  # the provider holds this bot back: so do we
                paused = now + RATE_LIMITED_PAUSE[channel.provider]
                progress.deferred.append((notification, paused))
            else:
                # A refused message says nothing about the service: not the breaker's business.
                probe = not error.permanent and breaker.failed(str(error))
                failures.append((notification, str(error), error.permanent, probe))
            progress.done(notification)
        else:
            breaker.succeeded()
            progress.delivered(notification)
            recent.append(now)
    return failures


def _recent_chat_sends(channel_id: int, now: datetime.datetime) -> list[datetime.datetime]:
    """When this chat got its messages in the last minute (the longest window of the
    providers' limits)."""
    return list(
        Notification.objects.filter(
            channel_id=channel_id,
            status=Notification.Status.SENT,
            sent_at__gt=now - datetime.timedelta(minutes=1),
            sent_at__lte=now,
        ).values_list("sent_at", flat=True)
    )


def _lane_update(lane: DeliveryLane, breaker: _Breaker, progress: "_Progress") -> None:
    """The lane's row after a batch: what the admin shows, and the breaker's pause."""
    now = progress.now
    if progress.sent:
        lane.last_success_at = now
        lane.pauses = 0
        lane.paused_until = None
        lane.failing_since = None
    if breaker.failures:
        lane.failing_since = lane.failing_since or now
        lane.last_error = breaker.error[:2000] or lane.last_error
    else:
        lane.last_error = ""
    lane.failures = breaker.failures
    if breaker.tripped:
        lane.pauses += 1
        lane.paused_until = progress.ended() + outbox_backoff(lane.pauses)
        logger.warning(
            "outbox: lane %s paused until %s after %d failures in a row: %s",
            lane.key, lane.paused_until.isoformat(), lane.failures, lane.last_error,
        )  # fmt: skip
    lane.save(
        update_fields=[
            "last_success_at", "pauses", "paused_until", "failing_since", "last_error", "failures",
        ]
    )  # fmt: skip


def _given_up(notification: Notification, lane: DeliveryLane, permanent: bool) -> bool:
    """A refused message fails at once. A message that failed MAX_ATTEMPTS times fails too,
    unless its lane delivered other messages since it came due: then the service is flaky,
    not gone, and it keeps trying (at most MAX_ATTEMPTS_FLAKY times) rather than land among
    the failures for an organiser to send again."""
    if permanent or notification.attempts >= MAX_ATTEMPTS_FLAKY:
        return True
    lane_works = lane.last_success_at is not None and lane.last_success_at >= notification.due_at
    return notification.attempts >= MAX_ATTEMPTS and not lane_works


def _send_batch(
    batch: list[Notification],
    now: datetime.datetime,
    report: DispatchReport,
    lane: DeliveryLane,
    lease: str = "",
) -> None:
    progress = _Progress(batch, now, lease=lease)
    breaker = _Breaker(lane)
    try:
        failures = _hand_over(batch, progress, breaker)
    finally:
        progress.close()
    _lane_update(lane, breaker, progress)
    ended = progress.ended()
    for notification, until in progress.deferred:
        # Claimed, not tried: the attempt the claim counted is given back.
        Notification.objects.filter(pk=notification.pk).update(
            status=Notification.Status.PENDING, next_attempt_at=until, attempts=F("attempts") - 1
        )
        report.deferred += 1
    if progress.untried:
        Notification.objects.filter(pk__in=[n.pk for n in progress.untried]).update(
            status=Notification.Status.PENDING,
            next_attempt_at=lane.paused_until or now,
            attempts=F("attempts") - 1,
        )
        report.untried += len(progress.untried)
    if breaker.tripped:
        # What waits for the lane waits for its pause, as the admin's "next attempt" says.
        Notification.objects.filter(
            _lane_rows(lane.key),
            status=Notification.Status.PENDING,
            next_attempt_at__lt=lane.paused_until,
        ).update(next_attempt_at=lane.paused_until)
    for notification, error, permanent, probe in failures:
        final = not probe and _given_up(notification, lane, permanent)
        next_attempt = ended + outbox_backoff(notification.attempts)
        if probe or (lane.paused_until and lane.paused_until > next_attempt):
            next_attempt = lane.paused_until
        Notification.objects.filter(pk=notification.pk).update(
            status=Notification.Status.FAILED if final else Notification.Status.PENDING,
            last_error=error[:2000],
            next_attempt_at=next_attempt,
            # The probe's failure is the lane's (see _Breaker): its attempt is given back.
            attempts=F("attempts") - 1 if probe else F("attempts"),
        )
        logger.warning(
            "notification %s failed (%s): %s",
            notification.pk,
            "final" if final else "will retry",
            error,
        )
        report.errors.append(error)
        if final:
            report.failed += 1
        else:
            report.retrying += 1
    if breaker.tripped:
        report.paused.append(lane.key)
    report.sent += progress.sent
    report.batches += 1


def _lane_send(
    lane_key: str, *, now: datetime.datetime, batch_size: int, report: DispatchReport,
    lease: str = "",
) -> None:  # fmt: skip
    lane = _lane_get(lane_key)
    while not (lane.paused_until and lane.paused_until > now) and (
        batch := _claim(now=now, batch_size=batch_size, lane=lane_key)
    ):
        _send_batch(batch, now, report, lane, lease=lease)


def notifications_sweep(
    *, now: datetime.datetime | None = None
) -> tuple[DispatchReport, list[str]]:
    """What the Celery dispatcher does before it hands the lanes out: the apps queue what has
    come due (the `sweep` signal: sessions materialise their reminders), claims of dead
    workers are released, and the lanes with something to send that no task is sending yet
    are returned, one task each (tasks.py)."""
    now = now or timezone.now()
    report = DispatchReport()
    report.materialised = sum(
        queued or 0 for _receiver, queued in sweep.send(sender=DispatchReport, now=now)
    )
    _release_stale_claims(now)
    return report, notification_lanes_due(now=now, idle_only=True)


def notifications_lane_dispatch(
    *, lane: str, now: datetime.datetime | None = None, batch_size: int = BATCH_SIZE
) -> DispatchReport:
    """Send one lane's due messages, for the lane's Celery task. One task a lane at a time:
    it holds the lane (`busy_until`, renewed with its claims; a dead worker's hold runs out
    with them), and a second task for a lane that is held does nothing."""
    now = now or timezone.now()
    report = DispatchReport()
    _lane_get(lane)
    moment = timezone.now()
    taken = (
        DeliveryLane.objects.filter(key=lane)
        .filter(Q(busy_until__isnull=True) | Q(busy_until__lte=moment))
        .update(busy_until=moment + _stale_claim())
    )
    if not taken:
        report.busy = True
        return report
    try:
        _lane_send(lane, now=now, batch_size=batch_size, report=report, lease=lane)
    finally:
        DeliveryLane.objects.filter(key=lane).update(busy_until=None)
    return report


def notifications_dispatch(
    *, now: datetime.datetime | None = None, batch_size: int = BATCH_SIZE, materialise: bool = True
) -> DispatchReport:
    """The whole sweep in this process (the management command, the tests): the apps queue
    what has come due, then every lane that is not paused is sent, one after the other — each
    with bounded timeouts, so one that hangs costs at most TOPICSHARE_OUTBOX_TRIP_AFTER
    timeouts before its breaker opens — and then the outgoing webhooks."""
    now = now or timezone.now()
    report = DispatchReport()
    if materialise:
        report.materialised = sum(
            queued or 0 for _receiver, queued in sweep.send(sender=DispatchReport, now=now)
        )
    _release_stale_claims(now)
    for lane in notification_lanes_due(now=now):
        _lane_send(lane, now=now, batch_size=batch_size, report=report)
    from topicshare.notifications.outgoing import webhook_deliveries_send

    report.webhooks_sent, report.webhooks_failed = webhook_deliveries_send(now=now)
    return report
