"""Every link the forum sends or publishes — reminder and notice e-mails, chat messages, .ics
files, allauth's sign-up and password-reset mails, the feeds — is built from
TOPICSHARE_SITE_URL, never from the Host header of whatever request set it off, and
production refuses to start without that setting."""

import datetime
import re
import zoneinfo

import pytest
from django.core import mail
from django.urls import reverse
from icalendar import Calendar

from members.roles import Role
from sessions.models import TopicStatus
from sessions.topics.services import group_join, topic_transition
from sessions.weekly.scheduling import rsvp_set, session_schedule
from tests.factories import PASSWORD, TopicFactory, TrackFactory, UserFactory
from tests.topicshare.test_settings import DUMMY_SECRET, _run_production
from topicshare.notifications.models import ChatWebhook, Notification
from topicshare.notifications.outbox import notifications_dispatch

SITE = "https://forum.example.org"
FORGED = "evil.example"
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
START = datetime.datetime(2027, 1, 16, 20, 30, tzinfo=SHANGHAI)
LINK = re.compile(r"(?:https?:)?//[^\s\"'<>)\]]+")


@pytest.fixture(autouse=True)
def site(settings):
    settings.TOPICSHARE_SITE_URL = SITE
    # As if the deployment answered to several names: the forged one is "allowed".
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, FORGED, "testserver"]


def _links(text: str) -> list[str]:
    return LINK.findall(text)


def _foreign(links: list[str]) -> list[str]:
    return [link for link in links if not link.startswith(SITE + "/")]


# --- Production refuses to start without it ----------------------------------------------


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("", "TOPICSHARE_SITE_URL is not set"),
        ("forum.example.org", "TOPICSHARE_SITE_URL must be"),
        ("ftp://forum.example.org", "TOPICSHARE_SITE_URL must be"),
        ("https://forum.example.org/forum/?x=1", "TOPICSHARE_SITE_URL must be"),
        ("https://user:pw@forum.example.org", "TOPICSHARE_SITE_URL must be"),
        ("https://other.example.org", "is not in DJANGO_ALLOWED_HOSTS"),
    ],
)
def test_production_refuses_to_start_without_a_usable_site_url(value, says):
    result = _run_production(
        ["manage.py", "check"], secret=DUMMY_SECRET, extra={"TOPICSHARE_SITE_URL": value}
    )

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert says in result.stderr


def test_production_with_the_site_url_starts():
    result = _run_production(
        ["manage.py", "check"], secret=DUMMY_SECRET, extra={"TOPICSHARE_SITE_URL": SITE + "/"}
    )

    assert result.returncode == 0, result.stderr


# --- allauth's mails ---------------------------------------------------------------------


@pytest.mark.django_db
def test_the_sign_up_mail_links_to_the_site_whatever_the_host(client, mailoutbox):
    response = client.post(
        reverse("account_signup"),
        {"email": "newcomer@example.org", "password1": PASSWORD, "password2": PASSWORD},
        HTTP_HOST=FORGED,
    )

    assert response.status_code == 302
    (message,) = mailoutbox
    links = _links(message.body)
    assert any("/accounts/confirm-email/" in link for link in links), message.body
    assert _foreign(links) == []
    assert FORGED not in message.body + message.subject


@pytest.mark.django_db
def test_the_password_reset_mail_links_to_the_site_whatever_the_host(client, mailoutbox):
    UserFactory(email="member@example.org")

    client.post(
        reverse("account_reset_password"), {"email": "member@example.org"}, HTTP_HOST=FORGED
    )

    (message,) = mailoutbox
    links = _links(message.body)
    assert any("/accounts/password/reset/key/" in link for link in links), message.body
    assert _foreign(links) == []
    assert FORGED not in message.body + message.subject


@pytest.mark.django_db
def test_allauth_mails_with_other_links_rebase_them_on_the_site(rf, mailoutbox):
    """Mails whose links allauth builds itself (signup_url, password_reset_url …) from the
    request: the adapter moves them onto the site."""
    from allauth.account.adapter import get_adapter
    from allauth.core import context

    request = rf.get("/", HTTP_HOST=FORGED)
    with context.request_context(request):
        get_adapter(request).send_account_already_exists_mail("member@example.org")

    (message,) = mailoutbox
    links = _links(message.body)
    assert links
    assert _foreign(links) == []
    assert FORGED not in message.body


# --- The forum's own mails, chat messages and calendars ---------------------------------


@pytest.fixture
def session(db):
    track = TrackFactory(slug="nlp", weekday=5, local_time=datetime.time(20, 30))
    organiser = UserFactory(role=Role.ORGANISER, email="org@example.org")
    listener = UserFactory(role=Role.AUDIENCE, email="listener@example.org")
    topic = TopicFactory(track=track, status=TopicStatus.RECRUITING)
    group_join(topic=topic, user=UserFactory(role=Role.AUDIENCE))
    topic_transition(topic=topic, to=TopicStatus.PREPARING, by=organiser)
    topic.status = TopicStatus.READY
    topic.save()
    scheduled_at = START - datetime.timedelta(days=21)
    session = session_schedule(
        topic=topic, start=START, by=organiser, now=scheduled_at,
        meeting_url="https://meeting.tencent.com/dm/abc",
    )  # fmt: skip
    rsvp_set(session=session, user=listener, going=True, now=scheduled_at)
    return session


def test_reminder_mails_chat_messages_and_ics_link_to_the_site(session, chat_server):
    ChatWebhook.objects.create(
        name="群", provider="generic", url=chat_server.url("/hook"), audience="audience"
    )
    meeting = "https://meeting.tencent.com/dm/abc"

    mail.outbox.clear()
    notifications_dispatch(now=START - datetime.timedelta(days=1))  # mails with an .ics
    notifications_dispatch(now=START - datetime.timedelta(minutes=15))  # mails and the chat

    assert mail.outbox
    for message in mail.outbox:
        links = [link for link in _links(message.body) if link != meeting]
        assert links and _foreign(links) == [], message.body
        html = message.alternatives[0].content
        assert _foreign([link for link in _links(html) if link != meeting]) == []
        assert _foreign(re.findall(r"<(.*?)>", message.extra_headers["List-Unsubscribe"])) == []
    attachments = [a for m in mail.outbox for a in m.attachments]
    assert attachments
    for _name, content, _type in attachments:
        for event in Calendar.from_ical(content).walk("VEVENT"):
            assert str(event["URL"]).startswith(SITE + "/")
            assert f"{SITE}/topics/" in str(event["DESCRIPTION"])
    (posted,) = chat_server.received
    assert posted.json()["url"] == f"{SITE}/sessions/{session.pk}/"
    assert _foreign(_links(posted.json()["text"])) == []
    assert Notification.objects.filter(url__startswith=SITE).count() == Notification.objects.count()


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["sessions:calendar-all", "library:feed", "library:feed-atom"])
def test_public_feeds_link_to_the_site_whatever_the_host(client, session, name):
    response = client.get(reverse(name), HTTP_HOST=FORGED)

    assert response.status_code == 200
    text = response.content.decode()
    assert FORGED not in text
    assert f"{SITE}/" in text


@pytest.mark.django_db
def test_the_personal_calendar_and_its_address_link_to_the_site(client, session):
    listener = session.rsvps.get().user
    client.force_login(listener)

    page = client.get(reverse("profile"), HTTP_HOST=FORGED)
    address = page.context["calendar_url"]
    feed = client.get(address.removeprefix(SITE), HTTP_HOST=FORGED)

    assert address.startswith(f"{SITE}/")
    assert FORGED not in feed.content.decode()
    (event,) = Calendar.from_ical(feed.content).walk("VEVENT")
    assert str(event["URL"]) == f"{SITE}/sessions/{session.pk}/"
