"""Delivery through real components on this machine: an SMTP server, a broker that is down,
and two dispatchers racing on PostgreSQL."""

import email
import socket
import threading
from types import SimpleNamespace

import pytest
from aiosmtpd.controller import Controller
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import connection, connections
from django.urls import reverse
from django.utils import timezone, translation

from sessions.models import TopicStatus
from tests.factories import TopicFactory, UserFactory
from topicshare.notifications.models import Notification
from topicshare.notifications.outbox import Message, notification_enqueue, notifications_dispatch


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _Inbox:
    def __init__(self):
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 — aiosmtpd's name
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted"


def _enqueue(users, *, subject_obj, occasion="1"):
    return notification_enqueue(
        kind="group_joined",
        subject=subject_obj,
        occasion=occasion,
        recipients=users,
        render=lambda: Message("测试通知", ["第一段", "第二段"], "https://forum.example.org/x"),
        due_at=timezone.now(),
    )


@pytest.fixture
def smtp_inbox(settings):
    """A real SMTP server on 127.0.0.1 that the mail backend sends to; what it received."""
    inbox = _Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield inbox
    controller.stop()


@pytest.mark.django_db
def test_mail_goes_through_a_real_smtp_server(smtp_inbox):
    inbox = smtp_inbox
    person = UserFactory(email="smtp@example.org")
    _enqueue([person], subject_obj=TopicFactory())
    report = notifications_dispatch(materialise=False)

    assert report.sent == 1
    (received,) = inbox.messages
    assert received["To"] == "smtp@example.org"
    assert "测试通知" in str(
        email.header.make_header(email.header.decode_header(received["Subject"]))
    )
    assert received["List-Unsubscribe"].strip().startswith("<http")
    parts = {part.get_content_type() for part in received.walk()}
    assert {"text/plain", "text/html"} <= parts


@pytest.mark.django_db
def test_many_people_get_one_content_each_with_their_own_address_link_and_id(smtp_inbox):
    """The e-mails of one content are put together once (notifications/prepared.py): what
    arrives at a real SMTP server is each person's own, and parses like any e-mail."""
    from topicshare.notifications.outbox import Attachment
    from topicshare.notifications.prepared import TO, UNSUBSCRIBE

    inbox = smtp_inbox
    people = [UserFactory(email=f"reader{n}@example.org") for n in range(3)]
    people.append(UserFactory(email="读者@例子.公司"))  # not ASCII: put together on its own

    def render():
        message = Message(
            "明天见：模型蒸馏", ["周六 20:30", "腾讯会议"], "https://forum.example.org/s/1"
        )
        message.attachments = [
            Attachment("topicshare.ics", "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "text/calendar")
        ]
        return message

    notification_enqueue(
        kind="group_joined", subject=TopicFactory(), occasion="1", recipients=people,
        render=render, due_at=timezone.now(),
    )  # fmt: skip
    report = notifications_dispatch(materialise=False)

    assert report.sent == 4
    by_address = {message["To"]: message for message in inbox.messages}
    assert len(by_address) == 4
    ids = {message["Message-ID"] for message in inbox.messages}
    assert len(ids) == 4
    for person in people[:3]:
        received = by_address[person.email]
        raw = received.as_string()
        assert TO not in raw and UNSUBSCRIBE not in raw
        link = received["List-Unsubscribe"].strip()[1:-1]
        assert link.startswith("http") and "/notifications/unsubscribe/" in link
        parts = {part.get_content_type(): part for part in received.walk()}
        text = parts["text/plain"].get_payload(decode=True).decode()
        html = parts["text/html"].get_payload(decode=True).decode()
        assert "周六 20:30" in text and link in text and link in html
        assert b"BEGIN:VCALENDAR" in parts["text/calendar"].get_payload(decode=True)
    links = {by_address[person.email]["List-Unsubscribe"] for person in people[:3]}
    assert len(links) == 3  # each person's own


@pytest.mark.django_db
def test_e_mails_of_one_content_are_prepared_and_read_like_any_other():
    from topicshare.notifications.prepared import PreparedEmail

    people = [UserFactory(email=f"reader{n}@example.org") for n in range(2)]
    _enqueue(people, subject_obj=TopicFactory())
    mail.outbox.clear()

    notifications_dispatch(materialise=False)

    assert {type(sent) for sent in mail.outbox} == {PreparedEmail}
    for sent in mail.outbox:
        message = sent.message()
        assert message["To"] == sent.to[0]
        assert sent.to[0].encode() in message.as_bytes(linesep="\r\n")
        assert "测试通知" in sent.subject


@pytest.mark.django_db
def test_smtp_server_down_keeps_mail_for_a_retry(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", _free_port(), 2
    _enqueue([UserFactory()], subject_obj=TopicFactory())

    report = notifications_dispatch(materialise=False)

    row = Notification.objects.get()
    assert (report.sent, report.retrying) == (0, 1)
    assert (row.status, row.attempts) == ("pending", 1)
    assert "Connection" in row.last_error or "refused" in row.last_error.lower()


@pytest.fixture
def broker_down(settings):
    """The Celery broker unreachable (a Redis URL where nothing listens)."""
    from topicshare.celery import app

    settings.TOPICSHARE_KICK_DISPATCHER = True
    previous = app.conf.broker_url
    app.conf.broker_url = f"redis://127.0.0.1:{_free_port()}/0"
    app._pool = None
    yield
    app.conf.broker_url = previous
    app._pool = None


@pytest.mark.django_db(transaction=True)
def test_broker_down_pages_work_and_the_next_sweep_sends_once(client, broker_down):
    topic = TopicFactory(status=TopicStatus.RECRUITING)
    joiner = UserFactory()
    client.force_login(joiner)

    response = client.post(reverse("topics:join", args=[topic.pk]), follow=True)

    assert response.status_code == 200
    row = Notification.objects.get(kind="group_joined")
    assert row.status == "pending"
    mail.outbox.clear()
    notifications_dispatch(materialise=False)
    notifications_dispatch(materialise=False)
    assert [m.to for m in mail.outbox] == [[topic.proposer.email]]


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_dispatchers_send_each_mail_exactly_once():
    if connection.vendor != "postgresql":
        pytest.skip("SKIP LOCKED under a race: run with DATABASE_URL=postgres://… (CI does)")
    people = [UserFactory() for _ in range(120)]
    _enqueue(people, subject_obj=TopicFactory())
    mail.outbox.clear()
    barrier = threading.Barrier(2)
    reports = []

    def dispatch():
        try:
            barrier.wait(timeout=10)
            with translation.override("en"):
                reports.append(notifications_dispatch(materialise=False, batch_size=10))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=dispatch) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    recipients = [message.to[0] for message in mail.outbox]
    assert len(recipients) == 120
    assert len(set(recipients)) == 120
    assert sum(report.sent for report in reports) == 120
    assert all(report.sent > 0 for report in reports)  # both really worked
    assert Notification.objects.filter(status="sent").count() == 120


class _WorkerKilled(BaseException):
    """Stands for SIGKILL: nothing after it runs, no except clause catches it."""


class _DyingBackend(LocmemBackend):
    """Delivers `survive` messages, then the worker 'dies' in the middle of the batch."""

    survive = 0

    def send_messages(self, messages):
        if len(mail.outbox) >= self.survive:
            raise _WorkerKilled
        return super().send_messages(messages)


@pytest.mark.django_db(transaction=True)  # each mark committed as it would be in a worker
def test_a_worker_killed_mid_batch_sends_nothing_twice_and_loses_nothing(settings):
    people = [UserFactory() for _ in range(30)]
    _enqueue(people, subject_obj=TopicFactory())
    mail.outbox.clear()
    settings.EMAIL_BACKEND = f"{__name__}._DyingBackend"
    _DyingBackend.survive = 12

    with pytest.raises(_WorkerKilled):
        notifications_dispatch(materialise=False)

    statuses = sorted(Notification.objects.values_list("status", flat=True))
    assert statuses.count("sent") == 12  # each marked the moment it was delivered
    assert statuses.count("sending") == 18  # claimed by the dead worker
    # A new worker soon after: the dead worker's claim is not stale yet, nothing is sent.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert notifications_dispatch(materialise=False).sent == 0
    # Once the claim is stale (no renewal came), the rest goes out — once.
    later = timezone.now() + timezone.timedelta(seconds=settings.TOPICSHARE_STALE_CLAIM_SECONDS)
    Notification.objects.filter(status="sending").update(claimed_at=later - timezone.timedelta(
        seconds=2 * settings.TOPICSHARE_STALE_CLAIM_SECONDS))  # fmt: skip
    assert notifications_dispatch(materialise=False).sent == 18
    delivered = sorted(address for message in mail.outbox for address in message.to)
    assert delivered == sorted(person.email for person in people)
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}


@pytest.mark.django_db
def test_a_live_worker_renews_its_claim_during_a_long_batch(settings, monkeypatch):
    from topicshare.notifications import outbox

    settings.TOPICSHARE_STALE_CLAIM_SECONDS = 30
    clock = iter(range(0, 10_000, 4))  # each message "takes" four seconds
    monkeypatch.setattr(outbox, "time", SimpleNamespace(monotonic=lambda: next(clock)))
    people = [UserFactory() for _ in range(10)]
    _enqueue(people, subject_obj=TopicFactory())
    claimed = {}
    original = outbox._Progress.done

    def done(self, notification):
        original(self, notification)
        claimed.update(
            Notification.objects.filter(status="sending").values_list("pk", "claimed_at")
        )

    monkeypatch.setattr(outbox._Progress, "done", done)
    started = timezone.now()  # the sweep's clock: the claim time
    notifications_dispatch(now=started, materialise=False)

    # Renewed every ten "seconds": rows still waiting got a claim time later than the sweep's.
    assert claimed and max(claimed.values()) > started
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}


def test_an_unsubscribe_token_reads_back_and_a_changed_one_is_refused():
    from django.core import signing

    from topicshare.notifications.outbox import (
        UNSUBSCRIBE_SALT,
        unsubscribe_read,
        unsubscribe_token,
    )

    token = unsubscribe_token(user_id=42, kind="day_before")
    assert unsubscribe_read(token) == (42, "day_before")
    assert unsubscribe_read(token.replace("42.", "43.", 1)) is None
    assert unsubscribe_read(token[:-2] + ("AA" if not token.endswith("AA") else "BB")) is None
    assert unsubscribe_read("") is None
    # The links in e-mails sent before the cheaper token still unsubscribe.
    older = signing.dumps({"u": 7, "k": "promotion"}, salt=UNSUBSCRIBE_SALT, compress=True)
    assert unsubscribe_read(older) == (7, "promotion")
