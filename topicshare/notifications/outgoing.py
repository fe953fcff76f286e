"""Outgoing webhooks for integrations, signed as the Standard Webhooks spec says.

The apps above call `webhook_event_emit` with public fields only; after their transaction
commits, one WebhookDelivery is queued per active endpoint subscribed to the event (once per
event key: emitting the same event again queues nothing). The outbox's sweep
(`notifications_dispatch`) sends them through `webhook_deliveries_send`:

    POST <endpoint>  body: {"type": ..., "timestamp": ISO 8601, "data": {...}}
    webhook-id:        msg_<32 hex>           (the same on every retry)
    webhook-timestamp: <seconds since the epoch, at this attempt>
    webhook-signature: v1,<base64 HMAC-SHA256(base64-decoded secret, "<id>.<timestamp>.<body>")>

2xx is sent; anything else is retried with the outbox's backoff (2, 4, 8, 16 minutes …) up to
MAX_ATTEMPTS, then failed. An address the egress policy refuses is never contacted and fails
at once. Every attempt is in the delivery's log."""

import base64
import datetime
import hashlib
import hmac
import json
import logging
import secrets
import uuid

import requests
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from topicshare.core.egress import AddressRefused, guarded_session, webhook_address_check
from topicshare.notifications.models import WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
TIMEOUT = 5.0
BATCH_SIZE = 100
MAX_ATTEMPTS_LOGGED = 10
SECRET_PREFIX = "whsec_"  # noqa: S105 — the Standard Webhooks prefix, no secret
USER_AGENT = "TopicShare-Webhooks"


def webhook_secret_new() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def endpoint_address_check(*, url: str, resolve: bool) -> str:
    """The chat webhooks' SSRF policy (a generic receiver), and https only unless the
    deployment allows private addresses (tests, development)."""
    host = webhook_address_check(url=url, provider="generic", resolve=resolve)
    if not url.lower().startswith("https://") and not settings.TOPICSHARE_WEBHOOKS_ALLOW_PRIVATE:
        raise AddressRefused(gettext("The webhook address must start with https://."))
    return host


def webhook_signature(*, secret: str, message_id: str, timestamp: str, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def _body(payload: dict) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def webhook_event_emit(
    *, event_type: str, data: dict, key: str = "", endpoints=None, now=None
) -> None:
    """Queue the event for every active endpoint subscribed to it, after the transaction
    commits. `key` names the event (e.g. "session.moved:12:3"); the same key twice sends
    once. `endpoints` (the test button) bypasses the subscriptions."""
    key = (key or f"{event_type}:{data.get('id', '')}")[:120]

    def queue() -> None:
        moment = now or timezone.now()
        if endpoints is None:
            chosen = [
                e for e in WebhookEndpoint.objects.filter(active=True) if event_type in e.events
            ]
        else:
            chosen = list(endpoints)
        payload = {"type": event_type, "timestamp": moment.isoformat(), "data": data}
        queued = 0
        for endpoint in chosen:
            try:
                with transaction.atomic():
                    WebhookDelivery.objects.create(
                        endpoint=endpoint,
                        event_type=event_type,
                        key=key,
                        message_id=f"msg_{uuid.uuid4().hex}",
                        payload=payload,
                        next_attempt_at=moment,
                    )
            except IntegrityError:
                continue  # this event is already queued for this endpoint
            queued += 1
        if queued:
            from topicshare.notifications.outbox import kick_dispatcher

            kick_dispatcher()

    transaction.on_commit(queue)


def _claim(now: datetime.datetime) -> list[WebhookDelivery]:
    stale = min(now, timezone.now()) - datetime.timedelta(
        seconds=settings.TOPICSHARE_STALE_CLAIM_SECONDS
    )
    WebhookDelivery.objects.filter(
        status=WebhookDelivery.Status.SENDING, claimed_at__lt=stale
    ).update(status=WebhookDelivery.Status.PENDING)
    with transaction.atomic():
        ids = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at", "id")
            .values_list("id", flat=True)[:BATCH_SIZE]
        )
        WebhookDelivery.objects.filter(id__in=ids).update(
            status=WebhookDelivery.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1
        )
    return list(WebhookDelivery.objects.filter(id__in=ids).select_related("endpoint"))


def _post(delivery: WebhookDelivery) -> tuple[int | None, str, bool]:
    """(status code, error, permanent): no error is a 2xx."""
    endpoint = delivery.endpoint
    try:
        host = endpoint_address_check(url=endpoint.url, resolve=False)
    except AddressRefused as refused:
        return None, str(refused), refused.permanent
    body = _body(delivery.payload)
    timestamp = str(int(timezone.now().timestamp()))  # the real clock: receivers check it
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": delivery.message_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": webhook_signature(
            secret=endpoint.secret, message_id=delivery.message_id, timestamp=timestamp, body=body
        ),
    }
    try:
        with guarded_session(host=host) as session:
            response = session.post(
                endpoint.url,
                data=body,
                headers=headers,
                timeout=TIMEOUT,
                allow_redirects=False,
                stream=True,
            )
            response.close()  # a receiver's reply is never read
    except AddressRefused as refused:
        return None, str(refused), refused.permanent
    except requests.Timeout:
        return None, gettext("The receiver did not answer in time."), False
    except requests.ConnectionError:
        return None, gettext("Could not connect to the receiver."), False
    except requests.RequestException as error:
        return None, type(error).__name__, True
    if 200 <= response.status_code < 300:
        return response.status_code, "", False
    return (
        response.status_code,
        gettext("The receiver answered HTTP %(status)d.") % {"status": response.status_code},
        False,
    )


def webhook_deliveries_send(*, now: datetime.datetime | None = None) -> tuple[int, int]:
    """Send what is due (the outbox's sweep calls this). Returns (sent, failed for good)."""
    now = now or timezone.now()
    sent = failed = 0
    while batch := _claim(now):
        for delivery in batch:
            status_code, error, permanent = _post(delivery)
            entry = {"at": timezone.now().isoformat(), "status_code": status_code, "error": error}
            log = [*delivery.log, entry][-MAX_ATTEMPTS_LOGGED:]
            changes = {"last_status_code": status_code, "last_error": error[:500], "log": log}
            if not error:
                changes.update(status=WebhookDelivery.Status.SENT, sent_at=timezone.now())
                sent += 1
            elif permanent or delivery.attempts >= MAX_ATTEMPTS:
                changes.update(status=WebhookDelivery.Status.FAILED)
                failed += 1
            else:
                backoff = datetime.timedelta(minutes=min(60, 2**delivery.attempts))
                changes.update(status=WebhookDelivery.Status.PENDING, next_attempt_at=now + backoff)
            WebhookDelivery.objects.filter(pk=delivery.pk).update(**changes)
            if error:
                logger.warning("webhook delivery %s failed: %s", delivery.pk, error)
    return sent, failed


@transaction.atomic
def webhook_endpoint_save(*, endpoint: WebhookEndpoint, by=None) -> WebhookEndpoint:
    """Create (with a new secret) or update an endpoint. Validates its address and events."""
    if not endpoint.secret:
        endpoint.secret = webhook_secret_new()
    if endpoint.pk is None:
        endpoint.created_by = by
    endpoint.full_clean(exclude=["created_by"])
    endpoint.save()
    return endpoint


def webhook_endpoint_rotate_secret(*, endpoint: WebhookEndpoint) -> str:
    endpoint.secret = webhook_secret_new()
    endpoint.save(update_fields=["secret"])
    return endpoint.secret


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    endpoint.delete()


def webhook_test_send(*, endpoint: WebhookEndpoint, now=None) -> None:
    """Queue a `webhook.test` event to this one endpoint (a new event each time)."""
    from topicshare.notifications.models import WEBHOOK_TEST_EVENT

    webhook_event_emit(
        event_type=WEBHOOK_TEST_EVENT,
        data={"endpoint": endpoint.pk},
        key=f"{WEBHOOK_TEST_EVENT}:{uuid.uuid4().hex}",
        endpoints=[endpoint],
        now=now,
    )
