import datetime
import zoneinfo

import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from members.models import User
from members.roles import Role
from sessions.models import Topic, TopicStatus, WeeklySession
from sessions.topics.services import group_join
from sessions.topics.slots import track_slots
from sessions.weekly.calendar import (
    build_calendar,
    calendar_sessions,
    calendar_token_for,
    calendar_token_regenerate,
)
from sessions.weekly.scheduling import (
    rsvp_set,
    session_cancel,
    session_postpone,
    session_schedule,
    session_slip,
    session_update_meeting,
)
from tests.factories import TopicFactory, TrackFactory, UserFactory

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
# A Monday. Pure functions get it; the views use the real clock, so their tests schedule
# relative to timezone.now() (still passed to the services explicitly).
NOW = datetime.datetime(2025, 1, 6, 9, 0, tzinfo=SHANGHAI)
BASE_URL = "https://topicshare.example/"
MEETING = {
    "meeting_provider": "tencent",
    "meeting_url": "https://meeting.tencent.com/dm/Zq81kTopicShare",
    "meeting_id": "MTG-987654321",
    "meeting_passcode": "pq7731",
}


@pytest.fixture
def nlp(db):
    return TrackFactory(slug="nlp", name_en="NLP", name_zh="自然语言处理")


@pytest.fixture
def cv(db):
    return TrackFactory(slug="cv", name_en="Computer vision", name_zh="计算机视觉")


def _schedule(*, track, by, now=NOW, week=0, topic=None, **meeting) -> WeeklySession:
    topic = topic or TopicFactory(status=TopicStatus.READY, track=track)
    start = track_slots(track=track, after=now, weeks=week + 1)[week]
    return session_schedule(topic=topic, start=start, by=by, now=now, **meeting)


def _parse(content: bytes) -> Calendar:
    return Calendar.from_ical(content)


def _events(content: bytes) -> dict[str, dict]:
    """UID → the event, for the events of an .ics."""
    return {str(event["UID"]): event for event in _parse(content).walk("VEVENT")}


def _uid(session: WeeklySession) -> str:
    return f"session-{session.pk}@topicshare"


def _ics(*, now=NOW, include_meeting=False, **selection) -> bytes:
    return build_calendar(
        sessions=calendar_sessions(now=now, **selection),
        name="Test",
        include_meeting=include_meeting,
        base_url=BASE_URL,
        now=now,
    )


# --- build_calendar --------------------------------------------------------------------------


def test_build_calendar_has_the_calendar_properties_and_a_vtimezone(nlp, organiser):
    _schedule(track=nlp, by=organiser)

    calendar = _parse(_ics())

    assert str(calendar["PRODID"]) == "-//TopicShare//Weekly sessions//EN"
    assert str(calendar["VERSION"]) == "2.0"
    assert str(calendar["CALSCALE"]) == "GREGORIAN"
    assert str(calendar["METHOD"]) == "PUBLISH"
    assert str(calendar["X-WR-CALNAME"]) == "Test"
    assert str(calendar["X-WR-TIMEZONE"]) == "Asia/Shanghai"
    assert [str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")] == ["Asia/Shanghai"]


def test_build_calendar_adds_a_vtimezone_for_each_track_time_zone(nlp, organiser):
    berlin = TrackFactory(slug="berlin", time_zone="Europe/Berlin")
    _schedule(track=nlp, by=organiser)
    _schedule(track=berlin, by=organiser)

    calendar = _parse(_ics())

    assert sorted(str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")) == [
        "Asia/Shanghai",
        "Europe/Berlin",
    ]
    starts = {event["DTSTART"].params["TZID"] for event in calendar.walk("VEVENT")}
    assert starts == {"Asia/Shanghai", "Europe/Berlin"}


def test_build_calendar_event_fields(nlp, organiser):
    co_presenter = UserFactory(display_name="Li Lei")
    topic = TopicFactory(
        status=TopicStatus.READY,
        track=nlp,
        title="Sentence-BERT 文本匹配",
        sub_theme="文本匹配",
        summary="**Why** it matters.\n\nSecond paragraph & more.",
    )
    topic.co_presenters.add(co_presenter)
    session = _schedule(track=nlp, by=organiser, topic=topic)

    event = _events(_ics())[_uid(session)]

    assert event["DTSTART"].params["TZID"] == "Asia/Shanghai"
    assert event["DTSTART"].dt == session.start
    assert event["DTSTART"].dt == datetime.datetime(2025, 1, 11, 20, 30, tzinfo=SHANGHAI)
    assert event["DTEND"].params["TZID"] == "Asia/Shanghai"
    assert event["DTEND"].dt == datetime.datetime(2025, 1, 11, 22, 0, tzinfo=SHANGHAI)
    assert event["DTSTAMP"].dt == NOW
    assert event["DTSTAMP"].dt.utcoffset() == datetime.timedelta(0)
    topic.refresh_from_db()
    assert event["LAST-MODIFIED"].dt == max(session.updated_at, topic.updated_at).replace(
        microsecond=0
    )
    assert str(event["SUMMARY"]) == "Sentence-BERT 文本匹配 · NLP"
    assert str(event["URL"]) == f"https://topicshare.example/sessions/{session.pk}/"
    assert event["CATEGORIES"].cats == ["NLP"]
    assert event["SEQUENCE"] == 0
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["DESCRIPTION"]) == (
        f"Presenters: {topic.proposer.name}, Li Lei\n"
        "Sub-theme: 文本匹配\n"
        "\n"
        "Why it matters.\n"
        "\n"
        "Second paragraph & more.\n"
        "\n"
        f"Topic: https://topicshare.example/topics/{topic.pk}/"
    )
    assert "LOCATION" not in event


def test_build_calendar_with_meeting_puts_the_link_in_location_and_description(nlp, organiser):
    session = _schedule(track=nlp, by=organiser, **MEETING)

    event = _events(_ics(include_meeting=True))[_uid(session)]

    assert str(event["LOCATION"]) == MEETING["meeting_url"]
    description = str(event["DESCRIPTION"])
    assert "Meeting: Tencent Meeting" in description
    assert f"Meeting link: {MEETING['meeting_url']}" in description
    assert "Meeting ID: MTG-987654321" in description
    assert "Passcode: pq7731" in description


def test_build_calendar_without_meeting_leaves_out_link_id_and_passcode(nlp, organiser):
    _schedule(track=nlp, by=organiser, **MEETING)

    content = _ics(include_meeting=False)

    assert b"meeting.tencent.com" not in content
    assert b"MTG-987654321" not in content
    assert b"pq7731" not in content
    assert b"LOCATION" not in content


def test_build_calendar_without_sessions_is_a_valid_empty_calendar(db):
    calendar = _parse(_ics())

    assert str(calendar["METHOD"]) == "PUBLISH"
    assert calendar.walk("VEVENT") == []


def test_slip_keeps_the_uid_moves_a_week_and_raises_the_sequence(nlp, organiser):
    session = _schedule(track=nlp, by=organiser)
    before = _events(_ics())[_uid(session)]

    session_slip(session=session, by=organiser, now=NOW)

    after = _events(_ics())
    assert list(after) == [_uid(session)]
    event = after[_uid(session)]
    assert event["SEQUENCE"] == before["SEQUENCE"] + 1 == 1
    assert event["DTSTART"].dt == before["DTSTART"].dt + datetime.timedelta(weeks=1)
    assert event["DTSTART"].params["TZID"] == "Asia/Shanghai"
    assert event["DTEND"].dt == before["DTEND"].dt + datetime.timedelta(weeks=1)
    assert str(event["STATUS"]) == "CONFIRMED"


def test_cancelled_session_stays_with_status_cancelled_and_a_higher_sequence(nlp, organiser):
    session = _schedule(track=nlp, by=organiser)

    session_cancel(session=session, by=organiser, reason="The presenter is ill.")

    event = _events(_ics())[_uid(session)]
    assert str(event["STATUS"]) == "CANCELLED"
    assert event["SEQUENCE"] == 1


def test_postponed_session_stays_with_status_cancelled(nlp, organiser):
    session = _schedule(track=nlp, by=organiser)

    session_postpone(session=session, by=organiser, reason="Not ready yet.")

    event = _events(_ics())[_uid(session)]
    assert str(event["STATUS"]) == "CANCELLED"
    assert event["SEQUENCE"] == 1


# --- calendar_sessions ---------------------------------------------------------------------


def test_calendar_sessions_keep_eight_weeks_of_the_past(nlp, organiser):
    def scheduled_weeks_before(weeks: int) -> WeeklySession:
        return _schedule(track=nlp, by=organiser, now=NOW - datetime.timedelta(weeks=weeks))

    nine_weeks_ago = scheduled_weeks_before(10)  # the first slot after NOW-10w is about 9w ago
    seven_weeks_ago = scheduled_weeks_before(8)
    upcoming = _schedule(track=nlp, by=organiser)

    sessions = list(calendar_sessions(now=NOW))

    assert NOW - nine_weeks_ago.start > datetime.timedelta(weeks=8)
    assert NOW - seven_weeks_ago.start < datetime.timedelta(weeks=8)
    assert sessions == [seven_weeks_ago, upcoming]


def test_calendar_sessions_keep_an_old_session_cancelled_within_eight_weeks(nlp, organiser):
    recently_cancelled = _schedule(track=nlp, by=organiser, now=NOW - datetime.timedelta(weeks=12))
    session_cancel(session=recently_cancelled, by=organiser, reason="Nobody came.")
    cancelled_long_ago = _schedule(track=nlp, by=organiser, now=NOW - datetime.timedelta(weeks=11))
    session_cancel(session=cancelled_long_ago, by=organiser, reason="Nobody came.")
    WeeklySession.objects.filter(pk=cancelled_long_ago.pk).update(
        updated_at=NOW - datetime.timedelta(weeks=9)
    )

    sessions = list(calendar_sessions(now=NOW))

    assert recently_cancelled.updated_at > NOW - datetime.timedelta(weeks=8)
    assert sessions == [recently_cancelled]


# --- Feeds ---------------------------------------------------------------------------------


def _now() -> datetime.datetime:
    return timezone.now()


def test_all_feed_is_text_calendar_inline_with_every_track(client, nlp, cv, organiser):
    now = _now()
    in_nlp = _schedule(track=nlp, by=organiser, now=now)
    in_cv = _schedule(track=cv, by=organiser, now=now)

    response = client.get(reverse("sessions:calendar-all"))

    assert reverse("sessions:calendar-all") == "/sessions/calendar.ics"
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"] == 'inline; filename="topicshare.ics"'
    assert set(_events(response.content)) == {_uid(in_nlp), _uid(in_cv)}


def test_all_feed_links_to_the_session_page_on_this_site(client, nlp, organiser, settings):
    settings.TOPICSHARE_SITE_URL = "https://forum.example.org"
    session = _schedule(track=nlp, by=organiser, now=_now())

    response = client.get(reverse("sessions:calendar-all"), HTTP_ACCEPT_LANGUAGE="en")

    event = _events(response.content)[_uid(session)]
    assert str(event["URL"]) == f"https://forum.example.org/sessions/{session.pk}/"
    assert str(event["SUMMARY"]) == f"{session.topic.title} · NLP"


def test_all_feed_follows_the_language_of_the_request(client, nlp, organiser):
    session = _schedule(track=nlp, by=organiser, now=_now())

    response = client.get(reverse("sessions:calendar-all"), HTTP_ACCEPT_LANGUAGE="zh-hans")

    event = _events(response.content)[_uid(session)]
    assert str(event["SUMMARY"]) == f"{session.topic.title} · 自然语言处理"


def test_track_feed_has_only_that_track(client, nlp, cv, organiser):
    now = _now()
    in_nlp = _schedule(track=nlp, by=organiser, now=now)
    _schedule(track=cv, by=organiser, now=now)

    response = client.get(reverse("sessions:calendar-track", args=["nlp"]))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"] == 'inline; filename="topicshare-nlp.ics"'
    assert list(_events(response.content)) == [_uid(in_nlp)]


def test_track_feed_of_an_unknown_track_is_404(client, nlp):
    response = client.get(reverse("sessions:calendar-track", args=["no-such-track"]))

    assert response.status_code == 404


def test_public_feeds_leave_out_the_meeting_details(client, nlp, organiser):
    _schedule(track=nlp, by=organiser, now=_now(), **MEETING)

    for url in (
        reverse("sessions:calendar-all"),
        reverse("sessions:calendar-track", args=["nlp"]),
    ):
        content = client.get(url).content
        assert b"BEGIN:VEVENT" in content
        assert b"meeting.tencent.com" not in content
        assert b"MTG-987654321" not in content
        assert b"pq7731" not in content


def test_personal_feed_has_the_meeting_details(client, nlp, organiser):
    session = _schedule(track=nlp, by=organiser, now=_now(), **MEETING)
    token = calendar_token_for(user=session.topic.proposer)

    response = client.get(reverse("sessions:calendar-personal", args=[token]))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"] == 'inline; filename="topicshare-me.ics"'
    assert "no-store" in response["Cache-Control"]
    event = _events(response.content)[_uid(session)]
    assert str(event["LOCATION"]) == MEETING["meeting_url"]
    assert "MTG-987654321" in str(event["DESCRIPTION"])
    assert "pq7731" in str(event["DESCRIPTION"])


def test_personal_feed_has_what_the_person_presents_joins_or_rsvps_to(client, nlp, organiser):
    now = _now()
    person = UserFactory(role=Role.MEMBER)
    proposed = _schedule(
        track=nlp,
        by=organiser,
        now=now,
        week=0,
        topic=TopicFactory(status=TopicStatus.READY, track=nlp, proposer=person),
    )
    co_presented_topic = TopicFactory(status=TopicStatus.READY, track=nlp)
    co_presented_topic.co_presenters.add(person)
    co_presented = _schedule(track=nlp, by=organiser, now=now, week=1, topic=co_presented_topic)
    joined_topic = TopicFactory(status=TopicStatus.RECRUITING, track=nlp)
    group_join(topic=joined_topic, user=person)
    joined_topic.status = TopicStatus.READY
    joined_topic.save(update_fields=["status"])
    joined = _schedule(track=nlp, by=organiser, now=now, week=2, topic=joined_topic)
    rsvped = _schedule(track=nlp, by=organiser, now=now, week=3)
    rsvp_set(session=rsvped, user=person, going=True, now=now)
    _schedule(track=nlp, by=organiser, now=now, week=4)  # someone else's
    token = calendar_token_for(user=person)

    response = client.get(reverse("sessions:calendar-personal", args=[token]))

    assert sorted(_events(response.content)) == sorted(
        _uid(session) for session in (proposed, co_presented, joined, rsvped)
    )


def test_personal_feed_keeps_a_cancelled_session_as_cancelled(client, nlp, organiser):
    session = _schedule(track=nlp, by=organiser, now=_now())
    session_cancel(session=session, by=organiser, reason="The presenter is ill.")
    token = calendar_token_for(user=session.topic.proposer)

    response = client.get(reverse("sessions:calendar-personal", args=[token]))

    event = _events(response.content)[_uid(session)]
    assert str(event["STATUS"]) == "CANCELLED"
    assert event["SEQUENCE"] == 1


@pytest.mark.parametrize(
    ("alarm", "before"),
    [("15m", datetime.timedelta(minutes=15)), ("1h", datetime.timedelta(hours=1)),
     ("1d", datetime.timedelta(days=1))],
)  # fmt: skip
def test_personal_feed_carries_the_chosen_alarm_but_not_on_a_cancelled_session(
    client, nlp, organiser, alarm, before
):
    now = _now()
    person = UserFactory(role=Role.MEMBER)
    held = _schedule(track=nlp, by=organiser, now=now, week=0)
    called_off = _schedule(track=nlp, by=organiser, now=now, week=1)
    for session in (held, called_off):
        rsvp_set(session=session, user=person, going=True, now=now)
    session_cancel(session=called_off, by=organiser, reason="The presenter is ill.")
    url = reverse("sessions:calendar-personal", args=[calendar_token_for(user=person)])

    events = _events(client.get(url, {"alarm": alarm}).content)

    (reminder,) = events[_uid(held)].walk("VALARM")
    assert str(reminder["ACTION"]) == "DISPLAY"
    assert reminder.decoded("TRIGGER") == -before
    assert str(reminder["DESCRIPTION"]) == held.topic.title
    assert events[_uid(called_off)].walk("VALARM") == []
    # Off, as without the parameter: no alarm at all.
    for query in ({"alarm": "off"}, {}):
        assert b"BEGIN:VALARM" not in client.get(url, query).content


@pytest.mark.parametrize("alarm", ["2h", "", "1d;DROP", "x" * 500])
def test_personal_feed_refuses_an_unknown_alarm_clearly(client, audience, alarm):
    url = reverse("sessions:calendar-personal", args=[calendar_token_for(user=audience)])

    response = client.get(url, {"alarm": alarm})

    assert response.status_code == 400
    assert "15m" in response.content.decode() and len(response.content) < 300


def test_personal_feed_shows_my_answer_to_each_event(client, nlp, organiser):
    now = _now()
    person = UserFactory(role=Role.MEMBER, email="me@example.org", display_name="小李")
    presented = _schedule(
        track=nlp, by=organiser, now=now, week=0,
        topic=TopicFactory(status=TopicStatus.READY, track=nlp, proposer=person),
    )  # fmt: skip
    joined_topic = TopicFactory(status=TopicStatus.RECRUITING, track=nlp)
    group_join(topic=joined_topic, user=person)
    Topic.objects.filter(pk=joined_topic.pk).update(status=TopicStatus.READY)
    joined_topic.refresh_from_db()
    joined = _schedule(track=nlp, by=organiser, now=now, week=1, topic=joined_topic)
    rsvped = _schedule(track=nlp, by=organiser, now=now, week=2)
    rsvp_set(session=rsvped, user=person, going=True, now=now)
    url = reverse("sessions:calendar-personal", args=[calendar_token_for(user=person)])

    events = _events(client.get(url).content)

    def me(session):
        attendee = events[_uid(session)]["ATTENDEE"]
        assert str(attendee) == "mailto:me@example.org" and attendee.params["CN"] == "小李"
        return attendee.params["ROLE"], attendee.params["PARTSTAT"]

    assert me(presented) == ("CHAIR", "ACCEPTED")
    assert me(rsvped) == ("REQ-PARTICIPANT", "ACCEPTED")
    assert me(joined) == ("REQ-PARTICIPANT", "NEEDS-ACTION")
    # Nobody else's address is in my feed.
    assert content_has_one_attendee(client.get(url).content)


def content_has_one_attendee(content: bytes) -> bool:
    addresses = {str(event["ATTENDEE"]) for event in _parse(content).walk("VEVENT")}
    return addresses == {"mailto:me@example.org"}


@pytest.mark.parametrize("token", ["unknown-token", "x" * 65, "None"])
def test_personal_feed_with_an_unknown_token_is_404(client, audience, token):
    calendar_token_for(user=audience)

    response = client.get(reverse("sessions:calendar-personal", args=[token]))

    assert response.status_code == 404


def test_personal_feed_of_an_inactive_user_is_404(client, audience):
    token = calendar_token_for(user=audience)
    audience.is_active = False
    audience.save(update_fields=["is_active"])

    response = client.get(reverse("sessions:calendar-personal", args=[token]))

    assert response.status_code == 404


def test_regenerating_the_token_retires_the_old_address_at_once(client, audience):
    old = calendar_token_for(user=audience)

    new = calendar_token_regenerate(user=audience)

    assert new != old
    assert User.objects.get(pk=audience.pk).calendar_token == new
    assert client.get(reverse("sessions:calendar-personal", args=[old])).status_code == 404
    assert client.get(reverse("sessions:calendar-personal", args=[new])).status_code == 200


def test_tokens_are_long_and_differ_between_users(audience, member):
    first = calendar_token_for(user=audience)
    second = calendar_token_for(user=member)

    assert len(first) >= 40
    assert len(second) >= 40
    assert first != second


def test_token_for_returns_the_same_token_until_regenerated(audience):
    first = calendar_token_for(user=audience)

    again = calendar_token_for(user=User.objects.get(pk=audience.pk))

    assert again == first


def test_token_for_a_stale_user_object_returns_the_token_already_made(audience):
    stale = User.objects.get(pk=audience.pk)
    made = calendar_token_for(user=audience)

    assert calendar_token_for(user=stale) == made


def test_token_view_regenerates_and_goes_back_to_a_same_site_next(client, audience):
    old = calendar_token_for(user=audience)
    client.force_login(audience)

    response = client.post(
        reverse("sessions:calendar-token"),
        {"next": "/sessions/?week=2"},
        headers={"Accept-Language": "en"},
    )

    audience.refresh_from_db()
    assert response.status_code == 302
    assert response.url == "/sessions/?week=2"
    assert audience.calendar_token != old
    assert len(audience.calendar_token) >= 40
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Your calendar has a new address. The old one no longer works: subscribe again with "
        "the new one in your calendar app."
    ]


@pytest.mark.parametrize(
    "next_url", ["", "https://evil.example/", "//evil.example/x", "javascript:alert(1)"]
)
def test_token_view_goes_to_the_profile_for_another_next(client, audience, next_url):
    client.force_login(audience)

    response = client.post(reverse("sessions:calendar-token"), {"next": next_url})

    assert response.status_code == 302
    assert response.url == reverse("profile")


def test_token_view_refuses_get(client, audience):
    client.force_login(audience)

    response = client.get(reverse("sessions:calendar-token"))

    audience.refresh_from_db()
    assert response.status_code == 405
    assert audience.calendar_token is None


def test_token_view_needs_a_login(client):
    response = client.post(reverse("sessions:calendar-token"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


# --- Query counts --------------------------------------------------------------------------


def _schedule_slots(*, track, organiser, now, slots, person) -> None:
    """A session in each slot, each with a co-presenter and an RSVP of `person`."""
    for start in slots:
        topic = TopicFactory(status=TopicStatus.READY, track=track)
        topic.co_presenters.add(UserFactory())
        session = session_schedule(topic=topic, start=start, by=organiser, now=now)
        rsvp_set(session=session, user=person, going=True, now=now)


@pytest.mark.parametrize(
    "feed", ["sessions:calendar-all", "sessions:calendar-track", "sessions:calendar-personal"]
)
def test_feed_queries_do_not_grow_with_the_sessions(
    client, nlp, organiser, audience, django_assert_num_queries, feed
):
    now = _now()
    args = {
        "sessions:calendar-all": [],
        "sessions:calendar-track": ["nlp"],
        "sessions:calendar-personal": [calendar_token_for(user=audience)],
    }[feed]
    url = reverse(feed, args=args)
    slots = track_slots(track=nlp, after=now, weeks=30)
    _schedule_slots(track=nlp, organiser=organiser, now=now, slots=slots[:1], person=audience)
    with CaptureQueriesContext(connection) as one:
        response = client.get(url)
    assert len(_events(response.content)) == 1
    _schedule_slots(track=nlp, organiser=organiser, now=now, slots=slots[1:], person=audience)

    with django_assert_num_queries(len(one)):
        response = client.get(url)

    assert len(_events(response.content)) == 30


def test_editing_the_topic_moves_last_modified(nlp, organiser):
    session = _schedule(track=nlp, by=organiser)
    before = _events(_ics())[_uid(session)]["LAST-MODIFIED"].dt
    later = timezone.now() + datetime.timedelta(minutes=5)
    Topic.objects.filter(pk=session.topic_id).update(title="A better title", updated_at=later)

    event = _events(_ics())[_uid(session)]

    assert str(event["SUMMARY"]) == "A better title · NLP"
    assert event["LAST-MODIFIED"].dt == later.replace(microsecond=0)
    assert event["LAST-MODIFIED"].dt > before


def test_public_feed_is_cached_until_a_session_changes(client, organiser):
    topic = TopicFactory(status=TopicStatus.READY, track=TrackFactory(slug="cache"))
    start = track_slots(track=topic.track, after=timezone.now())[0]
    session = session_schedule(topic=topic, start=start, by=organiser)
    with CaptureQueriesContext(connection) as cold:
        first = client.get(reverse("sessions:calendar-all")).content
    cold_queries = len(cold)  # read now: the next request clears the query log
    with CaptureQueriesContext(connection) as warm:
        again = client.get(reverse("sessions:calendar-all")).content
    warm_queries = len(warm)
    session_update_meeting(session=session, by=organiser, meeting_id="987 654 321")
    changed = client.get(reverse("sessions:calendar-all")).content

    assert again == first
    assert warm_queries == 1  # only the fingerprint; the calendar came from the cache
    assert cold_queries == 3
    assert b"SEQUENCE:0" in first
    assert b"SEQUENCE:1" in changed


def test_the_profile_shows_the_feed_address_with_the_chosen_alarm(client, audience):
    client.force_login(audience)
    token = calendar_token_for(user=audience)

    feed = reverse("sessions:calendar-personal", args=[token])
    html = client.get(reverse("profile"), {"alarm": "1h"}).content.decode()
    assert f'value="http://testserver{feed}?alarm=1h"' in html or f"{feed}?alarm=1h" in html
    assert '<option value="1h" selected>' in html
    html = client.get(reverse("profile"), {"alarm": "evil"}).content.decode()
    assert f"{feed}?alarm" not in html and f"{feed}" in html
