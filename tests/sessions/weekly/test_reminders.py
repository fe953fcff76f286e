"""Reminders and event notices through the outbox, with the clock passed in as `now`."""

import datetime
import json
import zoneinfo

import pytest
from django.core import mail
from django.urls import reverse

from members.roles import Role
from sessions.models import ReminderRule, TopicStatus
from sessions.topics.services import group_join, topic_transition, topics_open_recruiting
from sessions.topics.slots import track_slots
from sessions.weekly.reminders import reminders_materialise
from sessions.weekly.scheduling import (
    rsvp_set,
    session_cancel,
    session_move,
    session_schedule,
    session_slip,
)
from tests.factories import TopicFactory, TrackFactory, UserFactory
from tests.topicshare.notifications.test_webhooks import _feishu_sign
from topicshare.notifications.models import ChatWebhook, Notification, NotificationOptOut
from topicshare.notifications.outbox import notifications_dispatch, unsubscribe_token

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
# A Saturday 20:30 session, scheduled three weeks ahead.
START = datetime.datetime(2027, 1, 16, 20, 30, tzinfo=SHANGHAI)
SCHEDULED_AT = START - datetime.timedelta(days=21)
MINUTE = datetime.timedelta(minutes=1)
pytestmark = pytest.mark.django_db


@pytest.fixture
def forum():
    """A track, its people and a session three weeks ahead (scheduling mail already sent)."""
    track = TrackFactory(slug="nlp", weekday=5, local_time=datetime.time(20, 30))
    people = {
        "organiser": UserFactory(role=Role.ORGANISER, email="org@example.org"),
        "proposer": UserFactory(role=Role.MEMBER, email="proposer@example.org"),
        "member": UserFactory(role=Role.MEMBER, email="member@example.org"),
        "follower": UserFactory(role=Role.AUDIENCE, email="follower@example.org"),
        "participant": UserFactory(role=Role.AUDIENCE, email="participant@example.org"),
        "listener": UserFactory(role=Role.AUDIENCE, email="listener@example.org"),
        "bystander": UserFactory(role=Role.AUDIENCE, email="bystander@example.org"),
    }
    people["follower"].tracks_of_interest.add(track)
    topic = TopicFactory(
        track=track, proposer=people["proposer"], status=TopicStatus.RECRUITING, capacity=4
    )
    group_join(topic=topic, user=people["participant"])
    topic_transition(topic=topic, to=TopicStatus.PREPARING, by=people["organiser"])
    topic.status = TopicStatus.READY
    topic.save()
    session = session_schedule(
        topic=topic, start=START, by=people["organiser"], now=SCHEDULED_AT,
        meeting_url="https://meeting.tencent.com/dm/abc", meeting_id="123 456 789",
    )  # fmt: skip
    rsvp_set(session=session, user=people["listener"], going=True, now=SCHEDULED_AT)
    notifications_dispatch(now=SCHEDULED_AT, materialise=False)
    mail.outbox.clear()
    return {"session": session, "topic": topic, "track": track, **people}


def _sweep(now) -> dict[str, set[str]]:
    """Run the dispatcher at `now`; return who got which kind of e-mail."""
    mail.outbox.clear()
    notifications_dispatch(now=now)
    sent = Notification.objects.filter(status="sent", sent_at=now, recipient__isnull=False)
    received: dict[str, set[str]] = {}
    for kind, email in sent.values_list("kind", "recipient__email"):
        received.setdefault(kind, set()).add(email)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        sent.values_list("recipient__email", flat=True)
    )
    return received


def test_every_rule_fires_once_at_its_time_and_not_before(forum):
    offsets = {
        "promotion": datetime.timedelta(days=-14),
        "recruitment_check": datetime.timedelta(days=-7),
        "day_before": datetime.timedelta(days=-1),
        "at_start": datetime.timedelta(minutes=-15),
        "after": datetime.timedelta(days=2),
    }
    expected = {
        "promotion": {"org@example.org", "proposer@example.org", "member@example.org",
                      "follower@example.org"},
        "recruitment_check": {"proposer@example.org", "org@example.org"},
        "day_before": {"proposer@example.org", "participant@example.org", "listener@example.org"},
        "at_start": {"listener@example.org"},
        "after": {"proposer@example.org"},
    }  # fmt: skip
    # With the promotion, the organisers get the link to its pack.
    also = {"promotion": {"promotion_pack": {"org@example.org"}}}
    for kind, offset in offsets.items():
        moment = START + offset
        assert kind not in _sweep(moment - MINUTE), kind
        assert _sweep(moment) == {kind: expected[kind], **also.get(kind, {})}
        assert _sweep(moment + MINUTE) == {}  # exactly once
        if kind == "at_start":
            notifications_dispatch(now=START + datetime.timedelta(hours=2))  # let it finish


def test_day_before_mail_has_meeting_details_ics_and_unsubscribe(forum):
    _sweep(START - datetime.timedelta(days=1))

    message = next(m for m in mail.outbox if m.to == ["participant@example.org"])
    assert "https://meeting.tencent.com/dm/abc" in message.body
    assert message.extra_headers["List-Unsubscribe"].startswith("<http")
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = message.alternatives[0].content
    assert "__UNSUBSCRIBE__" not in html and "/notifications/unsubscribe/" in html
    ((name, ics, mimetype),) = message.attachments
    assert mimetype.startswith("text/calendar")
    assert b"BEGIN:VEVENT" in ics.encode() if isinstance(ics, str) else b"BEGIN:VEVENT" in ics


def test_mail_is_in_the_recipients_language(forum):
    forum["participant"].preferred_language = "en"
    forum["participant"].save()

    _sweep(START - datetime.timedelta(days=1))

    subjects = {m.to[0]: m.subject for m in mail.outbox}
    assert subjects["participant@example.org"].endswith(f"Tomorrow: {forum['topic'].title}")
    assert subjects["listener@example.org"].endswith(f"明天：{forum['topic'].title}")


def test_late_schedule_sends_due_rules_at_once_but_not_fully_passed_ones(forum):
    track, organiser = forum["track"], forum["organiser"]
    slot = track_slots(track=track, after=START)[0]
    reminder_kinds = ["promotion", "recruitment_check", "day_before", "at_start", "after"]

    five_days_ahead = slot - datetime.timedelta(days=5)
    late = session_schedule(
        topic=TopicFactory(track=track, status=TopicStatus.READY, proposer=forum["member"]),
        start=slot, by=organiser, now=five_days_ahead,
    )  # fmt: skip
    _sweep(five_days_ahead)
    late_kinds = set(
        Notification.objects.filter(
            subject_id=late.pk, kind__in=reminder_kinds, status="sent"
        ).values_list("kind", flat=True)
    )

    next_slot = track_slots(track=track, after=slot)[0]
    half_a_day_ahead = next_slot - datetime.timedelta(hours=12)
    very_late = session_schedule(
        topic=TopicFactory(track=track, status=TopicStatus.READY, proposer=forum["bystander"]),
        start=next_slot, by=organiser, now=half_a_day_ahead,
    )  # fmt: skip
    _sweep(half_a_day_ahead)
    very_late_kinds = set(
        Notification.objects.filter(subject_id=very_late.pk, kind__in=reminder_kinds).values_list(
            "kind", flat=True
        )
    )

    # Five days ahead: the promotion and the recruitment check are due, not yet the day before.
    assert late_kinds == {"promotion", "recruitment_check"}
    # Twelve hours ahead: the promotion and recruitment check have fully passed.
    assert very_late_kinds == {"day_before"}


def test_slip_replans_and_cancel_cancels_pending_reminders(forum):
    session, organiser = forum["session"], forum["organiser"]
    two_weeks_before = START - datetime.timedelta(days=14)
    reminders_materialise(now=two_weeks_before)  # queued, not sent yet
    assert Notification.objects.filter(kind="promotion", status="pending").count() == 4

    session = session_slip(session=session, by=organiser, now=two_weeks_before)
    assert Notification.objects.filter(kind="promotion", status="pending").count() == 0
    assert Notification.objects.filter(kind="promotion", status="cancelled").count() == 4
    assert _sweep(two_weeks_before + MINUTE).get("session_slipped") == {
        "proposer@example.org", "participant@example.org", "listener@example.org"
    }  # fmt: skip
    assert "promotion" in _sweep(session.start - datetime.timedelta(days=14))

    reminders_materialise(now=session.start - datetime.timedelta(days=7))
    session_cancel(session=session, by=organiser, reason="Presenter ill")
    assert (
        not Notification.objects.filter(status="pending").exclude(kind="session_cancelled").exists()
    )
    assert _sweep(session.start - datetime.timedelta(days=1)).keys() == {"session_cancelled"}


def test_move_to_an_earlier_slot_tells_everyone_and_replans_reminders(forum):
    session, organiser = forum["session"], forum["organiser"]
    two_weeks_before = START - datetime.timedelta(days=14)
    reminders_materialise(now=two_weeks_before)
    earlier = START - datetime.timedelta(weeks=1)

    session = session_move(session=session, start=earlier, by=organiser, now=two_weeks_before)

    assert Notification.objects.filter(kind="promotion", status="pending").count() == 0
    assert _sweep(two_weeks_before + MINUTE).get("session_slipped") == {
        "proposer@example.org", "participant@example.org", "listener@example.org"
    }  # fmt: skip
    # The new time gets its own reminders: the day before the new start, not the old one.
    assert "day_before" in _sweep(earlier - datetime.timedelta(days=1))
    assert "day_before" not in _sweep(START - datetime.timedelta(days=1))


def test_event_notices_reach_the_proposer(forum):
    organiser = forum["organiser"]
    topic = TopicFactory(track=forum["track"], proposer=forum["bystander"])

    topic_transition(topic=topic, to=TopicStatus.ACCEPTED, by=organiser)
    topic_transition(topic=topic, to=TopicStatus.RECRUITING, by=organiser)
    group_join(topic=topic, user=forum["listener"])
    received = _sweep(SCHEDULED_AT + datetime.timedelta(hours=1))

    assert received == {
        "topic_accepted": {"bystander@example.org"},
        "recruiting_opened": {"bystander@example.org"},
        "group_joined": {"bystander@example.org"},
    }


def test_promotion_of_an_accepted_topic_opens_recruiting(forum):
    topic = TopicFactory(
        track=forum["track"], status=TopicStatus.ACCEPTED, preferred_week=datetime.date(2027, 2, 1)
    )
    slot = datetime.datetime(2027, 2, 6, 20, 30, tzinfo=SHANGHAI)  # Saturday of that week

    assert topics_open_recruiting(now=slot - datetime.timedelta(days=14) - MINUTE) == []
    topic.refresh_from_db()
    assert topic.status == TopicStatus.ACCEPTED
    assert topics_open_recruiting(now=slot - datetime.timedelta(days=14)) == [topic]
    received = _sweep(slot - datetime.timedelta(days=14))

    topic.refresh_from_db()
    assert topic.status == TopicStatus.RECRUITING
    assert "follower@example.org" in received["promotion"]
    assert topic.transitions.last().by is None
    # The next minute: nothing more to open, no second promotion.
    assert topics_open_recruiting(now=slot - datetime.timedelta(days=14) + MINUTE) == []
    assert "promotion" not in _sweep(slot - datetime.timedelta(days=14) + MINUTE)


def test_the_promotion_rule_switched_off_still_opens_recruiting_but_sends_nothing(forum):
    ReminderRule.objects.filter(kind="promotion").update(enabled=False)
    topic = TopicFactory(
        track=forum["track"], status=TopicStatus.ACCEPTED, preferred_week=datetime.date(2027, 2, 1)
    )
    slot = datetime.datetime(2027, 2, 6, 20, 30, tzinfo=SHANGHAI)

    assert topics_open_recruiting(now=slot - datetime.timedelta(days=14)) == [topic]

    topic.refresh_from_db()
    assert topic.status == TopicStatus.RECRUITING
    assert not Notification.objects.filter(kind="promotion", subject_id=topic.pk).exists()


def test_opt_out_is_respected_and_unsubscribe_link_works(client, forum):
    NotificationOptOut.objects.create(user=forum["listener"], kind="day_before")
    received = _sweep(START - datetime.timedelta(days=1))
    assert "listener@example.org" not in received["day_before"]

    token = unsubscribe_token(user_id=forum["participant"].pk, kind="at_start")
    url = reverse("unsubscribe", args=[token])
    assert client.get(url).status_code == 200
    assert client.post(url).status_code == 200
    assert NotificationOptOut.objects.filter(user=forum["participant"], kind="at_start").exists()
    assert client.get(reverse("unsubscribe", args=["forged"])).status_code == 404


def test_chat_webhook_rows_are_queued_per_channel(forum):
    ChatWebhook.objects.create(name="学习群", provider="generic", url="http://127.0.0.1:9/x",
                               audience="study")  # fmt: skip
    cv_only = ChatWebhook.objects.create(name="CV only", provider="generic",
                                         url="http://127.0.0.1:9/y", audience="study")  # fmt: skip
    TrackFactory(slug="cv").chat_webhooks.add(cv_only)
    ours = ChatWebhook.objects.create(name="本方向群", provider="generic",
                                      url="http://127.0.0.1:9/z", audience="study")  # fmt: skip
    forum["session"].track.chat_webhooks.add(ours)

    reminders_materialise(now=START - datetime.timedelta(days=14))

    channels = Notification.objects.filter(kind="promotion", channel__isnull=False)
    assert sorted(n.channel.name for n in channels) == sorted(["学习群", "本方向群"])


def test_failed_webhook_is_retried_then_visible_and_resendable(client, forum):
    ChatWebhook.objects.create(name="dead", provider="generic", url="http://127.0.0.1:9/",
                               audience="study")  # fmt: skip
    moment = START - datetime.timedelta(days=14)

    notifications_dispatch(now=moment)
    row = Notification.objects.get(channel__name="dead")
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.next_attempt_at > moment
    for _attempt in range(2, 6):
        notifications_dispatch(now=row.next_attempt_at, materialise=False)
        row.refresh_from_db()
    assert (row.status, row.attempts) == ("failed", 5)
    assert row.last_error

    client.force_login(forum["organiser"])
    client.post(reverse("admin:notifications_notification_changelist"),
                {"action": "resend", "_selected_action": [row.pk]})  # fmt: skip
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("pending", 0)


def test_repeated_sweeps_send_each_mail_once(forum):
    moment = START - datetime.timedelta(days=1)
    for _ in range(3):
        notifications_dispatch(now=moment)
    mail.outbox.clear()
    notifications_dispatch(now=moment)

    assert mail.outbox == []
    assert Notification.objects.filter(kind="day_before", status="sent").count() == 3


def test_dispatch_command_with_now(forum):
    from io import StringIO

    from django.core.management import CommandError, call_command

    out = StringIO()
    call_command(
        "dispatch_notifications",
        "--now",
        (START - datetime.timedelta(days=1)).isoformat(),
        stdout=out,
    )
    assert out.getvalue().startswith("queued 3, sent 3")
    with pytest.raises(CommandError, match="time zone"):
        call_command("dispatch_notifications", "--now", "2027-01-01T10:00")
    with pytest.raises(CommandError, match="ISO 8601"):
        call_command("dispatch_notifications", "--now", "tomorrow")


def test_promotion_reaches_a_real_chat_server_signed(forum, chat_server):
    """End to end: the sweep queues the promotion for the study group's Feishu bot, and the
    dispatcher posts it, signed, to a real HTTP server on 127.0.0.1."""
    ChatWebhook.objects.create(
        name="学习群", provider="feishu", url=chat_server.url("/open-apis/bot/v2/hook/x"),
        secret="s3cret", audience="study",
    )  # fmt: skip

    _sweep(START - datetime.timedelta(days=14))
    # Due at 20:30, on the half hour, which Feishu asks bots to avoid: a minute later.
    assert chat_server.received == []
    _sweep(START - datetime.timedelta(days=14) + datetime.timedelta(minutes=1))

    request = chat_server.only_request()
    body = request.json()
    assert body["sign"] == _feishu_sign(body["timestamp"], "s3cret")
    assert forum["topic"].title in json.dumps(body, ensure_ascii=False)
    assert Notification.objects.get(channel__isnull=False).status == "sent"
    # An interactive card whose one button opens the session's page.
    assert body["msg_type"] == "interactive"
    assert body["card"]["header"]["title"]["content"].endswith(forum["topic"].title)
    (button,) = body["card"]["elements"][1]["actions"]
    topic_url = f"/topics/{forum['topic'].pk}/"  # where people sign up for its group
    assert button["url"].startswith("http") and button["url"].endswith(topic_url)
    assert button["text"]["content"] == "详情与加入参与小组"


@pytest.mark.parametrize("provider", ["wecom", "dingtalk"])
def test_day_before_reaches_a_bot_as_a_card_with_the_poster(forum, chat_server, provider):
    """WeCom's news card and DingTalk's action card show the session's poster, by its absolute
    address, and open the session's page."""
    ChatWebhook.objects.create(
        name="旁听群", provider=provider, url=chat_server.url("/robot/send?key=k"),
        audience="audience",
    )  # fmt: skip
    ReminderRule.objects.filter(kind="day_before").update(chat_audience="audience")

    _sweep(START - datetime.timedelta(days=1))

    body = chat_server.only_request().json()
    session_url = f"/sessions/{forum['session'].pk}/"
    poster = f"/sessions/{forum['session'].pk}/poster.png"
    if provider == "wecom":
        assert body["msgtype"] == "news"
        (article,) = body["news"]["articles"]
        assert article["url"].startswith("http") and article["url"].endswith(session_url)
        assert article["picurl"].startswith("http") and poster in article["picurl"]
        assert len(article["description"].encode()) <= 512
    else:
        assert body["msgtype"] == "actionCard"
        card = body["actionCard"]
        assert card["singleURL"].endswith(session_url) and card["singleTitle"] == "详情与报名"
        assert card["text"].startswith("![](http") and poster in card["text"]
        assert forum["topic"].title in card["text"]


def test_the_promotion_pack_notice_goes_to_organisers_only_with_the_pack_link(forum):
    _sweep(START - datetime.timedelta(days=14))

    pack = Notification.objects.get(kind="promotion_pack")
    assert pack.recipient == forum["organiser"]
    assert pack.url.startswith("http")
    assert pack.url.endswith(f"/sessions/{forum['session'].pk}/promote/")
    (message,) = [m for m in mail.outbox if m.subject.endswith(f"该宣传了：{forum['topic'].title}")]
    assert message.to == ["org@example.org"]
    assert pack.url in message.body
