"""Providers that fail (tests/flakyservers.py: real servers on 127.0.0.1): an SMTP server that
refuses or drops half of its connections and chat endpoints that time out or answer 5xx a
third of the time still get every message exactly once; a provider that hangs holds back its
own lane only; the admin shows attempts, the next attempt and the last error.

Sweeps run with their own clock (`now`), moved to the next retry instead of sleeping through
the backoff; the only real waiting is the bounded timeouts of requests to servers that stall."""

import collections
import datetime
import zoneinfo

import pytest
from django.db.models import Min, Sum
from django.urls import reverse
from django.utils import timezone

from tests.factories import TopicFactory, UserFactory
from tests.flakyservers import FlakyChat, FlakySMTP
from topicshare.notifications.models import ChatWebhook, DeliveryLane, Notification
from topicshare.notifications.outbox import (
    Message,
    notification_enqueue,
    notifications_dispatch,
    notifications_lane_dispatch,
)

pytestmark = pytest.mark.django_db
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
T0 = datetime.datetime(2026, 12, 5, 20, 1, 5, tzinfo=SHANGHAI)  # off Feishu's half hours


@pytest.fixture
def providers_settings(settings, monkeypatch):
    """Short timeouts, so that a stalling server costs a fraction of a second a request."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 0.5
    settings.TOPICSHARE_CHAT_TIMEOUT_SECONDS = 0.3
    settings.TOPICSHARE_OUTBOX_TRIP_AFTER = 3
    return settings


def _emails(people, *, subject, due=T0):
    return notification_enqueue(
        kind="group_joined", subject=subject, occasion="mail", recipients=people,
        render=lambda: Message("测试通知", ["正文"], "https://forum.example.org/x"), due_at=due,
    )  # fmt: skip


def _chats(channels, count, *, subject):
    for n in range(count):
        notification_enqueue(
            kind="group_joined", subject=subject, occasion=f"chat-{n}", channels=channels,
            render=lambda n=n: Message(f"#c-{n:03d}# 新消息", ["正文"], ""), due_at=T0,
        )  # fmt: skip


def _bots(chat: FlakyChat) -> tuple[ChatWebhook, ChatWebhook]:
    feishu = ChatWebhook.objects.create(
        name="飞书群", provider="feishu", url=chat.url("/open-apis/bot/v2/hook/abc")
    )
    generic = ChatWebhook.objects.create(name="通用", provider="generic", url=chat.url("/generic"))
    return feishu, generic


def _until_nothing_pending(
    start: datetime.datetime, most: int = 400
) -> tuple[int, datetime.datetime]:
    """Sweep, then move the clock to the next retry (a pause or a backoff), until nothing is
    pending; (sweeps, the clock at the end)."""
    now = start
    for sweep in range(1, most + 1):
        notifications_dispatch(now=now, materialise=False)
        waiting = Notification.objects.filter(status__in=["pending", "sending"])
        upcoming = waiting.aggregate(at=Min("next_attempt_at"))["at"]
        if upcoming is None:
            return sweep, now
        now = max(now + datetime.timedelta(seconds=1), upcoming)
    raise AssertionError(f"still pending after {most} sweeps")


def test_flaky_smtp_and_chat_deliver_every_message_exactly_once(providers_settings):
    with FlakySMTP(refuse=0.25, drop=0.25, per_connection=5, seed=20) as smtp, \
            FlakyChat(fail=1 / 3, stall_seconds=1.0, seed=20) as chat:  # fmt: skip
        providers_settings.EMAIL_PORT = smtp.port
        people = [UserFactory(email=f"flaky{n:02d}@example.org") for n in range(60)]
        subject = TopicFactory()
        _emails(people, subject=subject)
        feishu, generic = _bots(chat)
        _chats([feishu, generic], 15, subject=subject)

        sweeps, end = _until_nothing_pending(T0)

        rows = Notification.objects.all()
        assert collections.Counter(rows.values_list("status", flat=True)) == {"sent": 90}
        assert smtp.accepted == {person.email: 1 for person in people}
        expected = {(path, f"c-{n:03d}"): 1 for n in range(15)
                    for path in ("/open-apis/bot/v2/hook/abc", "/generic")}  # fmt: skip
        assert chat.counts() == expected
        attempts = rows.aggregate(n=Sum("attempts"))["n"]
        # The providers really failed, and the outbox really retried.
        assert smtp.refused > 0 and smtp.dropped > 0
        assert chat.stalled > 0 and chat.errors > 0
        assert attempts > 90
        print(
            f"\n60 e-mails + 30 chat messages: {sweeps} sweeps over "
            f"{(end - T0).total_seconds() / 60:.0f} min of sweep clock, {attempts} attempts "
            f"({attempts - 90} retries); SMTP: {smtp.connections} connections, "
            f"{smtp.refused} refused, {smtp.dropped} dropped; chat: {chat.requests} requests, "
            f"{chat.stalled} timed out, {chat.errors} answered 5xx"
        )


def test_an_smtp_server_that_hangs_holds_back_e_mails_only(providers_settings):
    with FlakySMTP(stall=True) as smtp, FlakyChat() as chat:
        providers_settings.EMAIL_PORT = smtp.port
        subject = TopicFactory()
        _emails([UserFactory() for _ in range(10)], subject=subject)
        _chats(list(_bots(chat)), 4, subject=subject)

        report = notifications_dispatch(now=T0, materialise=False)

        # The chat messages went out in this same sweep, while the mail server hung.
        assert len(chat.accepted) == 8
        assert report.sent == 8
        emails = Notification.objects.filter(recipient__isnull=False)
        assert set(emails.values_list("status", flat=True)) == {"pending"}
        # The breaker opened after three timeouts; the other seven were not even tried.
        assert sorted(emails.values_list("attempts", flat=True)) == [0] * 7 + [1] * 3
        assert smtp.connections == 3
        lane = DeliveryLane.objects.get(key="email")
        assert (lane.failures, lane.pauses) == (3, 1)
        assert lane.paused_until > T0 and "timed out" in lane.last_error.lower()
        assert report.paused == ["email"]
        # Paused: the next sweeps leave the mail server alone, and the chats are not waiting.
        notifications_dispatch(now=T0 + datetime.timedelta(seconds=30), materialise=False)
        assert smtp.connections == 3
        # When the pause ends, one message probes the server; it still hangs: paused again.
        notifications_dispatch(now=lane.paused_until, materialise=False)
        assert smtp.connections == 4
        lane.refresh_from_db()
        assert (lane.failures, lane.pauses) == (4, 2)


def test_a_chat_service_that_hangs_holds_back_its_own_bot_only(providers_settings):
    with FlakySMTP() as smtp, FlakyChat(stall_paths=("/open-apis/",), stall_seconds=1.0) as chat:
        providers_settings.EMAIL_PORT = smtp.port
        subject = TopicFactory()
        people = [UserFactory() for _ in range(5)]
        _emails(people, subject=subject)
        feishu, generic = _bots(chat)
        _chats([feishu, generic], 6, subject=subject)

        notifications_dispatch(now=T0, materialise=False)

        assert smtp.accepted == {person.email: 1 for person in people}
        assert chat.counts() == {("/generic", f"c-{n:03d}"): 1 for n in range(6)}
        stuck = Notification.objects.filter(channel=feishu)
        assert set(stuck.values_list("status", flat=True)) == {"pending"}
        assert chat.stalled == 3  # three timeouts, then the bot's lane is paused
        assert DeliveryLane.objects.get(channel=feishu).paused_until > T0
        assert Notification.objects.filter(status="sent").count() == 11


def test_a_message_retries_with_a_growing_backoff_and_a_flaky_lane_keeps_it(providers_settings):
    """Each failure waits longer (jittered: between three quarters and all of 2, 4, 8 …
    minutes); a lane that delivers other messages meanwhile is flaky, not gone, so a message
    that failed five times is not given up."""
    providers_settings.TOPICSHARE_OUTBOX_TRIP_AFTER = 100
    with FlakyChat(stall_paths=("/generic",), stall_seconds=1.0) as chat:
        bot = ChatWebhook.objects.create(name="通用", provider="generic", url=chat.url("/generic"))
        _chats([bot], 1, subject=TopicFactory())
        row = Notification.objects.get()
        now, waits = T0, []
        for _attempt in range(5):
            notifications_dispatch(now=now, materialise=False)
            row.refresh_from_db()
            waits.append((row.next_attempt_at - now).total_seconds() / 60)
            now = row.next_attempt_at
        assert row.status == "failed"  # the lane never delivered anything: given up
        for attempt, wait in enumerate(waits[:4], start=1):
            # Counted from the end of the sweep: the timed-out request's fraction of a second.
            assert 0.75 * 2**attempt <= wait <= 2**attempt + 0.05

        row.status, row.attempts = "pending", 5
        row.save(update_fields=["status", "attempts"])
        DeliveryLane.objects.filter(channel=bot).update(last_success_at=row.due_at)
        notifications_dispatch(now=now, materialise=False)
        row.refresh_from_db()
        assert (row.status, row.attempts) == ("pending", 6)  # the lane works: keep trying


def test_a_lane_held_by_another_task_is_left_to_it(providers_settings):
    with FlakyChat() as chat:
        bot = ChatWebhook.objects.create(name="通用", provider="generic", url=chat.url("/generic"))
        _chats([bot], 2, subject=TopicFactory())
        lane = f"chat:{bot.pk}"
        DeliveryLane.objects.create(
            key=lane, channel=bot, busy_until=datetime.datetime.now(tz=SHANGHAI)
            + datetime.timedelta(minutes=5),
        )  # fmt: skip

        held = notifications_lane_dispatch(lane=lane, now=T0)
        DeliveryLane.objects.filter(key=lane).update(busy_until=None)
        free = notifications_lane_dispatch(lane=lane, now=T0)

        assert (held.busy, held.sent) == (True, 0)
        assert (free.busy, free.sent) == (False, 2)
        assert DeliveryLane.objects.get(key=lane).busy_until is None
        assert len(chat.accepted) == 2


def test_the_outbox_admin_shows_attempts_next_attempt_and_last_error(client, providers_settings):
    with FlakySMTP(stall=True) as smtp:
        providers_settings.EMAIL_PORT = smtp.port
        providers_settings.TOPICSHARE_OUTBOX_TRIP_AFTER = 1
        person = UserFactory(email="waiting@example.org")
        _emails([person], subject=TopicFactory(), due=timezone.now())
        notifications_dispatch(materialise=False)
    row = Notification.objects.get()
    assert (row.status, row.attempts) == ("pending", 1)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    client.cookies["django_language"] = "en"
    page = client.get(reverse("admin:notifications_notification_changelist"))

    text = page.content.decode()
    assert page.status_code == 200
    assert '<td class="field-attempts">1</td>' in text
    assert "in 1\xa0minute" in text or "in 2\xa0minutes" in text  # 2 minutes, jittered
    assert "timed out" in text
    assert "E-mail: Failing since" in text  # the lane's line above the list
    lanes = client.get(reverse("admin:notifications_deliverylane_changelist"))
    assert "paused, next try in" in lanes.content.decode()


def test_an_outage_however_long_sends_no_message_to_the_failures(providers_settings):
    """Only the failures before the breaker opens count against their messages; each probe
    after a pause is the lane's failure: a mail server that hangs for many pauses leaves
    every message pending, with one attempt at most, rather than failed."""
    with FlakySMTP(stall=True) as smtp:
        providers_settings.EMAIL_PORT = smtp.port
        _emails([UserFactory() for _ in range(6)], subject=TopicFactory())
        now = T0
        for _sweep in range(8):
            notifications_dispatch(now=now, materialise=False)
            now = DeliveryLane.objects.get(key="email").paused_until

        rows = Notification.objects.all()
        assert set(rows.values_list("status", flat=True)) == {"pending"}
        assert sorted(rows.values_list("attempts", flat=True)) == [0, 0, 0, 1, 1, 1]
        lane = DeliveryLane.objects.get(key="email")
        assert (lane.failures, lane.pauses, smtp.connections) == (10, 8, 10)
        assert all(row.next_attempt_at >= lane.paused_until for row in rows)
