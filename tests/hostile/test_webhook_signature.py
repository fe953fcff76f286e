"""The generic webhook's signature covers its timestamp: a receiver that checks freshness
cannot be fooled by an old request replayed with a new X-TopicShare-Timestamp."""

import datetime
import hashlib
import hmac

from topicshare.notifications.models import ChatWebhook
from topicshare.notifications.webhooks import webhook_send

SECRET = "receiver-shared-secret-0123456789"
SENT = datetime.datetime(2025, 3, 1, 12, 30, 15, tzinfo=datetime.UTC)
TOLERANCE_SECONDS = 300


def _receiver_accepts(*, headers: dict[str, str], body: bytes, now: datetime.datetime) -> bool:
    """What a receiver does, following topicshare/notifications/webhooks.py's docstring."""
    timestamp = headers.get("x-topicshare-timestamp", "")
    if not timestamp.isdigit() or abs(now.timestamp() - int(timestamp)) > TOLERANCE_SECONDS:
        return False
    digest = hmac.new(SECRET.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest(
        headers.get("x-topicshare-signature", ""), "v1=" + digest.hexdigest()
    )


def test_a_replay_with_a_fresh_timestamp_fails_verification(chat_server):
    webhook = ChatWebhook(name="g", provider="generic", url=chat_server.url("/hook"), secret=SECRET)
    webhook_send(webhook=webhook, title="本周分享", text="周六 20:30", url="", now=SENT)
    received = chat_server.only_request()
    an_hour_later = SENT + datetime.timedelta(hours=1)
    replayed = {**received.headers, "x-topicshare-timestamp": str(int(an_hour_later.timestamp()))}
    one_second_off = {**received.headers, "x-topicshare-timestamp": str(int(SENT.timestamp()) + 1)}

    assert _receiver_accepts(headers=received.headers, body=received.body, now=SENT) is True
    assert (
        _receiver_accepts(headers=received.headers, body=received.body, now=an_hour_later) is False
    )
    assert _receiver_accepts(headers=replayed, body=received.body, now=an_hour_later) is False
    assert _receiver_accepts(headers=one_second_off, body=received.body, now=SENT) is False
    assert _receiver_accepts(headers=received.headers, body=received.body + b" ", now=SENT) is False
