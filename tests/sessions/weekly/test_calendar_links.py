"""Calendars made easy: subscribe links (webcal://), per-track feeds on /sessions/, a
one-event .ics per session, and "start–end" in the forum's time zone on every session."""

import datetime
import zoneinfo

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone, translation
from icalendar import Calendar

from sessions.models import TopicStatus, WeeklySession
from sessions.templatetags.session_times import start_end_text, webcal
from sessions.topics.slots import track_slots
from sessions.weekly.scheduling import session_schedule
from tests.factories import TopicFactory, TrackFactory

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
MEETING = {
    "meeting_provider": "tencent",
    "meeting_url": "https://meeting.tencent.com/dm/Zq81kTopicShare",
    "meeting_id": "MTG-987654321",
    "meeting_passcode": "pq7731",
}


@pytest.fixture(autouse=True)
def _site(settings):
    settings.TOPICSHARE_SITE_URL = "https://forum.example.org"


@pytest.fixture
def nlp(db):
    return TrackFactory(slug="nlp", name_en="NLP", name_zh="自然语言处理")


@pytest.fixture
def cv(db):
    return TrackFactory(slug="cv", name_en="Computer vision", name_zh="计算机视觉")


def _schedule(*, track, by, week=0, **meeting) -> WeeklySession:
    now = timezone.now()
    topic = TopicFactory(status=TopicStatus.READY, track=track)
    start = track_slots(track=track, after=now, weeks=week + 1)[week]
    return session_schedule(topic=topic, start=start, by=by, now=now, **meeting)


def test_start_end_text_is_in_shanghai_whatever_the_zone_of_the_value():
    start = datetime.datetime(2026, 12, 5, 12, 30, tzinfo=datetime.UTC)  # 20:30 in Shanghai

    with translation.override("en"):
        text = start_end_text(start, start + datetime.timedelta(minutes=90))

    assert text == "2026-12-05 Sat 20:30–22:00"


def test_start_end_text_gives_the_end_its_date_past_midnight():
    start = datetime.datetime(2026, 12, 5, 23, 0, tzinfo=SHANGHAI)

    with translation.override("en"):
        text = start_end_text(start, start + datetime.timedelta(minutes=90), style="short")

    assert text == "12-05 Sat 23:00–12-06 00:30"


def test_start_end_filter_marks_up_start_and_end_for_the_viewers_zone(db):
    class Slot:
        start = datetime.datetime(2026, 12, 5, 20, 30, tzinfo=SHANGHAI)
        end = start + datetime.timedelta(minutes=90)

    with translation.override("zh-hans"):
        html = Template("{% load session_times %}{{ s|start_end }}").render(Context({"s": Slot}))

    assert 'datetime="2026-12-05T20:30:00+08:00"' in html
    assert 'data-end="2026-12-05T22:00:00+08:00"' in html
    assert "data-local " in html
    assert ">2026-12-05 星期六 20:30–22:00</time>" in html


def test_webcal_turns_https_and_http_feed_addresses_into_subscriptions():
    assert webcal("https://forum.example.org/sessions/calendar.ics") == (
        "webcal://forum.example.org/sessions/calendar.ics"
    )
    assert webcal("http://127.0.0.1:8000/x.ics") == "webcal://127.0.0.1:8000/x.ics"


def test_track_feed_address_is_under_tracks_and_the_old_one_still_works(client, nlp, organiser):
    session = _schedule(track=nlp, by=organiser)

    new = client.get("/sessions/tracks/nlp.ics")
    old = client.get("/sessions/calendar/nlp.ics")

    assert reverse("sessions:calendar-track", args=["nlp"]) == "/sessions/tracks/nlp.ics"
    assert new.status_code == old.status_code == 200
    uids = [str(event["UID"]) for event in Calendar.from_ical(new.content).walk("VEVENT")]
    assert uids == [f"session-{session.pk}@topicshare"]


def test_track_feed_is_valid_rfc_5545_without_the_meeting_link(client, nlp, cv, organiser):
    _schedule(track=nlp, by=organiser, **MEETING)
    _schedule(track=cv, by=organiser, **MEETING)

    content = client.get(reverse("sessions:calendar-track", args=["nlp"])).content
    calendar = Calendar.from_ical(content)

    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["PRODID"])
    [event] = calendar.walk("VEVENT")
    for required in ("UID", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY"):
        assert required in event
    assert calendar.walk("VTIMEZONE")
    assert b"meeting.tencent.com" not in content
    assert b"MTG-987654321" not in content
    assert b"pq7731" not in content
    assert "LOCATION" not in event


def test_session_ics_is_one_event_download_without_meeting_for_anonymous(client, nlp, organiser):
    session = _schedule(track=nlp, by=organiser, **MEETING)
    _schedule(track=nlp, by=organiser, week=1)

    response = client.get(reverse("sessions:calendar-event", args=[session.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="topicshare-session-{session.pk}.ics"'
    )
    [event] = Calendar.from_ical(response.content).walk("VEVENT")
    assert str(event["UID"]) == f"session-{session.pk}@topicshare"
    assert event["DTSTART"].dt == session.start
    assert event["DTEND"].dt == session.end
    assert b"meeting.tencent.com" not in response.content


def test_session_ics_has_the_meeting_for_the_signed_in_and_is_not_stored(
    client, nlp, organiser, audience
):
    session = _schedule(track=nlp, by=organiser, **MEETING)
    client.force_login(audience)

    response = client.get(reverse("sessions:calendar-event", args=[session.pk]))

    [event] = Calendar.from_ical(response.content).walk("VEVENT")
    assert str(event["LOCATION"]) == MEETING["meeting_url"]
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"]


def test_session_ics_of_an_unknown_session_is_404(client, db):
    assert client.get(reverse("sessions:calendar-event", args=[999999])).status_code == 404


def test_sessions_page_links_every_track_feed_as_webcal_with_a_copy_button(
    client, nlp, cv, organiser
):
    _schedule(track=nlp, by=organiser)

    html = client.get(reverse("sessions:upcoming"), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert 'href="webcal://forum.example.org/sessions/calendar.ics"' in html
    assert 'data-copy="https://forum.example.org/sessions/calendar.ics"' in html
    for slug in ("nlp", "cv"):
        assert f'href="webcal://forum.example.org/sessions/tracks/{slug}.ics"' in html
        assert f'data-copy="https://forum.example.org/sessions/tracks/{slug}.ics"' in html
    for app in ("Apple", "Google", "Outlook", "Feishu"):
        assert f"<strong>{app}</strong>" in html
    assert "/static/js/copy" in html


def test_sessions_page_in_chinese_names_feishu_in_chinese(client, nlp, organiser):
    html = client.get(reverse("sessions:upcoming"), HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert "<strong>飞书</strong>" in html.content.decode()


def test_session_page_has_add_to_calendar_and_the_track_subscription(client, nlp, organiser):
    session = _schedule(track=nlp, by=organiser)

    html = client.get(reverse("sessions:detail", args=[session.pk])).content.decode()

    assert f'href="/sessions/{session.pk}/calendar.ics"' in html
    assert 'data-action="add-to-calendar"' in html
    assert 'href="webcal://forum.example.org/sessions/tracks/nlp.ics"' in html
    assert 'class="start-end"' in html


def test_session_cards_show_start_end(client, nlp, organiser):
    session = _schedule(track=nlp, by=organiser)
    local = timezone.localtime(session.start)

    html = client.get(reverse("sessions:upcoming")).content.decode()

    expected_end = timezone.localtime(session.end).strftime("%H:%M")
    assert f"{local:%m-%d}" in html
    assert f"{local:%H:%M}–{expected_end}</time>" in html


def test_a_scheduled_topic_page_shows_its_date_and_links_to_its_session(client, nlp, organiser):
    session = _schedule(track=nlp, by=organiser)
    proposed = TopicFactory(status=TopicStatus.PROPOSED, track=nlp)

    html = client.get(
        reverse("topics:detail", args=[session.topic_id]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    other = client.get(reverse("topics:detail", args=[proposed.pk])).content.decode()

    assert 'data-role="topic-session"' in html
    assert f'href="/sessions/{session.pk}/"' in html
    assert f'datetime="{timezone.localtime(session.start).isoformat()}"' in html
    assert "Scheduled:" in html
    assert 'data-role="topic-session"' not in other
