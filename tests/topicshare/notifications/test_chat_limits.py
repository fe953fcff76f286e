"""Chat bots within their providers' limits (topicshare/notifications/webhooks.py RATE_LIMITS):
a burst is spread over the sweeps instead of being refused and lost, a provider's "too fast"
holds the bot back (DingTalk: ten minutes) without counting as a failed attempt, and Feishu
bots stay off the hour and the half hour. Sweeps run with their own clock (`now`), so no test
waits."""

import datetime
import zoneinfo

import pytest

from tests.factories import TopicFactory
from topicshare.notifications.models import ChatWebhook, Notification
from topicshare.notifications.outbox import Message, notification_enqueue, notifications_dispatch

pytestmark = pytest.mark.django_db
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
# 20:17 in Shanghai: off the half hours.
T0 = datetime.datetime(2026, 12, 5, 20, 17, 5, tzinfo=SHANGHAI)


def _bot(chat_server, provider: str, path: str) -> ChatWebhook:
    return ChatWebhook.objects.create(name=provider, provider=provider, url=chat_server.url(path))


def _burst(bot: ChatWebhook, count: int, *, due: datetime.datetime) -> None:
    subject = TopicFactory()
    for n in range(count):
        notification_enqueue(
            kind="group_joined", subject=subject, occasion=f"burst-{n}", channels=[bot],
            render=lambda n=n: Message(f"第 {n} 条", ["正文"], "https://forum.example.org/x"),
            due_at=due,
        )  # fmt: skip


def _sweep(at: datetime.datetime):
    return notifications_dispatch(now=at, materialise=False)


def test_a_burst_of_60_to_one_dingtalk_bot_arrives_in_full_20_a_minute(chat_server):
    chat_server.reply = {"errcode": 0, "errmsg": "ok"}
    bot = _bot(chat_server, "dingtalk", "/robot/send?access_token=tok")
    _burst(bot, 60, due=T0)

    sweeps = [T0 + datetime.timedelta(seconds=61 * n) for n in range(4)]
    arrived = []
    for at in sweeps:
        before = len(chat_server.received)
        report = _sweep(at)
        arrived.append(len(chat_server.received) - before)
        assert report.failed == 0 and report.retrying == 0

    assert arrived == [20, 20, 20, 0]
    assert Notification.objects.filter(status="sent").count() == 60
    assert set(Notification.objects.values_list("attempts", flat=True)) == {1}  # none wasted
    titles = {f"第 {n} 条" for n in range(60)}
    bodies = [request.body.decode() for request in chat_server.received]
    assert all(sum(title in body for body in bodies) == 1 for title in titles)  # each once


def test_a_feishu_bot_gets_5_a_second(chat_server):
    chat_server.reply = {"code": 0, "msg": "success"}
    bot = _bot(chat_server, "feishu", "/open-apis/bot/v2/hook/abc")
    _burst(bot, 12, due=T0)

    first = _sweep(T0)
    assert (first.sent, first.deferred) == (5, 7)
    assert _sweep(T0 + datetime.timedelta(seconds=1)).sent == 5
    assert _sweep(T0 + datetime.timedelta(seconds=2)).sent == 2
    assert len(chat_server.received) == 12


def test_a_feishu_bot_does_not_post_on_the_half_hour(chat_server):
    chat_server.reply = {"code": 0, "msg": "success"}
    bot = _bot(chat_server, "feishu", "/open-apis/bot/v2/hook/abc")
    half_past = datetime.datetime(2026, 12, 5, 20, 30, 0, tzinfo=SHANGHAI)
    _burst(bot, 1, due=half_past)

    assert _sweep(half_past).deferred == 1
    assert chat_server.received == []
    assert _sweep(half_past + datetime.timedelta(minutes=1)).sent == 1


def test_dingtalk_saying_too_fast_holds_the_bot_ten_minutes_and_loses_nothing(chat_server):
    chat_server.reply = {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}
    bot = _bot(chat_server, "dingtalk", "/robot/send?access_token=tok")
    _burst(bot, 3, due=T0)

    report = _sweep(T0)

    assert (report.sent, report.failed, report.retrying, report.deferred) == (0, 0, 0, 3)
    assert len(chat_server.received) == 1  # the bot is held back after the first refusal
    waiting = Notification.objects.all()
    assert {n.status for n in waiting} == {"pending"}
    assert {n.attempts for n in waiting} == {0}
    assert {n.next_attempt_at for n in waiting} == {T0 + datetime.timedelta(minutes=10)}
    assert _sweep(T0 + datetime.timedelta(minutes=9)).sent == 0
    chat_server.reply = {"errcode": 0, "errmsg": "ok"}
    assert _sweep(T0 + datetime.timedelta(minutes=10)).sent == 3
