"""Chat messages go to group chats — in effect public — while the site shows a session's
meeting link, ID, passcode and the organisers' note only to signed-in people. No reminder
rule, whatever its recipients and chat group, and no session notice may post them to a chat;
the e-mails to signed-in recipients keep them."""

import datetime
import json
import zoneinfo

import pytest
from django.core import mail

from members.roles import Role
from sessions.models import ReminderRule, TopicStatus
from sessions.topics.services import group_join, topic_transition
from sessions.weekly.notices import REMINDER_KINDS, session_message
from sessions.weekly.scheduling import rsvp_set, session_schedule
from tests.factories import TopicFactory, TrackFactory, UserFactory
from topicshare.notifications.models import ChatWebhook, Notification, NotificationKind
from topicshare.notifications.outbox import notification_enqueue, notifications_dispatch

pytestmark = pytest.mark.django_db

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
START = datetime.datetime(2027, 1, 16, 20, 30, tzinfo=SHANGHAI)
SCHEDULED_AT = START - datetime.timedelta(days=21)
PRIVATE = {
    "meeting_url": "https://meeting.tencent.com/dm/PRIVATE-room-9931",
    "meeting_id": "987 654 321",
    "meeting_passcode": "pq-7731",
    "organiser_note": "Back door code 4417",
}
SESSION_KINDS = [
    *REMINDER_KINDS,
    NotificationKind.SESSION_SCHEDULED,
    NotificationKind.SESSION_SLIPPED,
    NotificationKind.SESSION_CANCELLED,
]


@pytest.fixture
def session():
    track = TrackFactory(slug="nlp", weekday=5, local_time=datetime.time(20, 30))
    organiser = UserFactory(role=Role.ORGANISER, email="org@example.org")
    proposer = UserFactory(role=Role.MEMBER, email="proposer@example.org")
    listener = UserFactory(role=Role.AUDIENCE, email="listener@example.org")
    participant = UserFactory(role=Role.AUDIENCE, email="participant@example.org")
    listener.tracks_of_interest.add(track)
    topic = TopicFactory(track=track, proposer=proposer, status=TopicStatus.RECRUITING)
    group_join(topic=topic, user=participant)
    topic_transition(topic=topic, to=TopicStatus.PREPARING, by=organiser)
    topic.status = TopicStatus.READY
    topic.save()
    session = session_schedule(topic=topic, start=START, by=organiser, now=SCHEDULED_AT, **PRIVATE)
    rsvp_set(session=session, user=listener, going=True, now=SCHEDULED_AT)
    return session


def _leaks(text: str) -> list[str]:
    return [value for value in PRIVATE.values() if value in text]


@pytest.mark.parametrize("chat_audience", ["audience", "study"])
def test_no_reminder_rule_posts_meeting_details_to_a_chat(session, chat_server, chat_audience):
    ChatWebhook.objects.create(
        name="群", provider="generic", url=chat_server.url("/hook"), audience=chat_audience
    )
    # Every rule on, to everyone, by e-mail and to the chat; the recruitment check always fires.
    ReminderRule.objects.update(
        enabled=True, by_email=True, chat_audience=chat_audience, minimum_group=99,
        to_presenters=True, to_participants=True, to_rsvps=True, to_members=True,
        to_track_followers=True, to_organisers=True,
    )  # fmt: skip
    rules = list(ReminderRule.objects.order_by("offset"))
    # Every reminder has its rule, but the pack's notice to organisers (with the promotion's).
    assert sorted(rule.kind for rule in rules) == sorted(set(REMINDER_KINDS) - {"promotion_pack"})

    mails = []
    for rule in rules:
        mail.outbox.clear()
        notifications_dispatch(now=START + rule.offset)
        mails += mail.outbox

    posted = {rule.kind: [] for rule in rules}
    for received in chat_server.received:
        body = received.json()
        posted[Notification.objects.get(title=body["title"], channel__isnull=False).kind] += [body]
    assert {kind: len(bodies) for kind, bodies in posted.items()} == dict.fromkeys(posted, 1)
    leaked = {
        kind: _leaks(json.dumps(bodies, ensure_ascii=False)) for kind, bodies in posted.items()
    }
    assert leaked == dict.fromkeys(posted, [])
    chat_rows = Notification.objects.filter(channel__isnull=False)
    assert [row.kind for row in chat_rows if _leaks(row.body_text)] == []
    # The signed-in recipients still get them by e-mail, the day before and at the start.
    for kind in ("day_before", "at_start"):
        emails = Notification.objects.filter(kind=kind, recipient__isnull=False, status="sent")
        assert emails.exists()
        for email in emails:
            assert _leaks(email.body_text) == list(PRIVATE.values())
            assert PRIVATE["meeting_passcode"] in email.body_html
    assert (
        sum(PRIVATE["meeting_url"] in m.body for m in mails)
        == Notification.objects.filter(
            kind__in=["day_before", "at_start", "session_scheduled"], recipient__isnull=False
        ).count()
    )


@pytest.mark.parametrize("kind", SESSION_KINDS)
def test_no_session_message_reaches_a_chat_row_with_meeting_details(session, kind):
    """The outbox itself keeps them out of chat rows, whichever message is queued there."""
    user = UserFactory(role=Role.AUDIENCE)
    channel = ChatWebhook.objects.create(name="群", provider="generic", url="https://8.8.8.8/")

    notification_enqueue(
        kind=kind, subject=session, occasion="privacy", recipients=[user], channels=[channel],
        render=lambda: session_message(kind, session), due_at=START,
    )  # fmt: skip

    chat = Notification.objects.get(kind=kind, channel=channel)
    email = Notification.objects.get(kind=kind, recipient=user)
    assert _leaks(chat.body_text + chat.title + chat.url) == []
    if kind in {"day_before", "at_start", "session_scheduled"}:
        assert _leaks(email.body_text) == list(PRIVATE.values())
        # The chat says where the details are instead (in the forum's language).
        assert "登录论坛后可在分享页面查看会议链接。" in chat.body_text
