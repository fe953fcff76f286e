import datetime
import zoneinfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from members.roles import Role
from sessions.models import Season, TopicStatus, WeeklySession
from sessions.topics.slots import track_slots
from sessions.weekly.scheduling import rsvp_set, session_cancel, session_schedule
from tests.factories import TopicFactory, TrackFactory, UserFactory

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
NOW = datetime.datetime(2025, 1, 6, 9, 0, tzinfo=SHANGHAI)  # a Monday
URL = "/api/sessions/"
MEETING = {
    "meeting_provider": "tencent",
    "meeting_url": "https://meeting.tencent.com/dm/Zq81kTopicShare",
    "meeting_id": "MTG-987654321",
    "meeting_passcode": "pq7731",
}


@pytest.fixture
def nlp(db):
    return TrackFactory(slug="nlp", name_en="NLP")


@pytest.fixture
def cv(db):
    return TrackFactory(slug="cv", name_en="Computer vision")


def _schedule(*, track, by, week=0, topic=None, **meeting) -> WeeklySession:
    topic = topic or TopicFactory(status=TopicStatus.READY, track=track)
    start = track_slots(track=track, after=NOW, weeks=week + 1)[week]
    return session_schedule(topic=topic, start=start, by=by, now=NOW, **meeting)


def _get(client, **params) -> dict:
    response = client.get(URL, params)
    assert response.status_code == 200, response.content
    return response.json()


def _ids(client, **params) -> list[int]:
    return [row["id"] for row in _get(client, **params)["results"]]


def test_sessions_api_returns_the_public_fields(client, nlp, organiser, audience, member):
    co_presenter = UserFactory(display_name="韩梅梅")
    topic = TopicFactory(status=TopicStatus.READY, track=nlp, title="Sentence-BERT 文本匹配")
    topic.co_presenters.add(co_presenter)
    session = _schedule(track=nlp, by=organiser, topic=topic, **MEETING)
    rsvp_set(session=session, user=audience, going=True, now=NOW)
    rsvp_set(session=session, user=member, going=True, now=NOW)

    response = client.get(URL)

    assert response.status_code == 200
    assert "韩梅梅" in response.content.decode()  # ensure_ascii=False
    assert response.json() == {
        "count": 1,
        "next": None,
        "previous": None,
        "results": [
            {
                "id": session.pk,
                "url": f"/sessions/{session.pk}/",
                "topic": {"id": topic.pk, "title": "Sentence-BERT 文本匹配"},
                "track": "nlp",
                "start": "2025-01-11T20:30:00+08:00",
                "end": "2025-01-11T22:00:00+08:00",
                "duration_minutes": 90,
                "status": "scheduled",
                "sequence": 0,
                "presenters": [topic.proposer.name, "韩梅梅"],
                "rsvp_count": 2,
            }
        ],
    }


def test_sessions_api_never_shows_the_meeting_details(client, nlp, organiser):
    _schedule(track=nlp, by=organiser, **MEETING)

    content = client.get(URL).content

    assert b"meeting.tencent.com" not in content
    assert b"MTG-987654321" not in content
    assert b"pq7731" not in content
    assert b"meeting" not in content.lower()


def test_sessions_api_shows_start_and_end_in_the_track_time_zone(client, organiser):
    berlin = TrackFactory(slug="berlin", time_zone="Europe/Berlin")
    session = _schedule(track=berlin, by=organiser)

    row = _get(client)["results"][0]

    assert row["start"] == "2025-01-11T20:30:00+01:00"
    assert datetime.datetime.fromisoformat(row["start"]) == session.start
    assert datetime.datetime.fromisoformat(row["end"]) == session.end


def test_sessions_api_filters_by_track(client, nlp, cv, organiser):
    in_nlp = _schedule(track=nlp, by=organiser)
    _schedule(track=cv, by=organiser)

    assert _ids(client, track="nlp") == [in_nlp.pk]


def test_sessions_api_filters_by_season_through_the_topic(client, nlp, organiser):
    topic_6 = Season.objects.create(label="Topic 6", order=6)
    topic_7 = Season.objects.create(label="Topic 7", order=7)
    in_6 = _schedule(
        track=nlp,
        by=organiser,
        week=0,
        topic=TopicFactory(status=TopicStatus.READY, track=nlp, season=topic_6),
    )
    _schedule(
        track=nlp,
        by=organiser,
        week=1,
        topic=TopicFactory(status=TopicStatus.READY, track=nlp, season=topic_7),
    )
    _schedule(track=nlp, by=organiser, week=2)  # no season

    assert _ids(client, season=topic_6.pk) == [in_6.pk]


def test_sessions_api_from_and_to_are_inclusive_across_a_month_end(client, nlp, organiser):
    jan_25, feb_1, feb_8 = (_schedule(track=nlp, by=organiser, week=week) for week in (2, 3, 4))
    assert [s.start.date() for s in (jan_25, feb_1, feb_8)] == [
        datetime.date(2025, 1, 25),
        datetime.date(2025, 2, 1),
        datetime.date(2025, 2, 8),
    ]

    assert _ids(client, **{"from": "2025-01-25", "to": "2025-02-01"}) == [jan_25.pk, feb_1.pk]
    assert _ids(client, **{"from": "2025-01-26", "to": "2025-02-07"}) == [feb_1.pk]
    assert _ids(client, **{"from": "2025-02-01", "to": "2025-02-01"}) == [feb_1.pk]
    assert _ids(client, **{"from": "2025-02-02"}) == [feb_8.pk]
    assert _ids(client, to="2025-01-31") == [jan_25.pk]


def test_sessions_api_dates_are_local_dates_in_shanghai(client, organiser):
    # 00:30 on Saturday 1 February in Shanghai is still 31 January in UTC.
    late = TrackFactory(slug="late", weekday=5, local_time=datetime.time(0, 30))
    session = _schedule(track=late, by=organiser, week=3)
    assert session.start == datetime.datetime(2025, 2, 1, 0, 30, tzinfo=SHANGHAI)
    assert session.start.astimezone(datetime.UTC).date() == datetime.date(2025, 1, 31)

    assert _ids(client, **{"from": "2025-02-01", "to": "2025-02-01"}) == [session.pk]
    assert _ids(client, to="2025-01-31") == []
    assert _ids(client, **{"from": "2025-01-31", "to": "2025-01-31"}) == []


def test_sessions_api_filters_by_several_statuses(client, nlp, organiser):
    scheduled = _schedule(track=nlp, by=organiser, week=0)
    cancelled = _schedule(track=nlp, by=organiser, week=1)
    session_cancel(session=cancelled, by=organiser, reason="The presenter is ill.")

    assert _ids(client, status="scheduled") == [scheduled.pk]
    assert _ids(client, status="cancelled") == [cancelled.pk]
    assert _ids(client, status=["scheduled", "cancelled"]) == [scheduled.pk, cancelled.pk]
    cancelled_row = _get(client, status="cancelled")["results"][0]
    assert cancelled_row["status"] == "cancelled"
    assert cancelled_row["sequence"] == 1


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"track": "no-such-track"}, "track"),
        ({"season": "abc"}, "season"),
        ({"season": "999999"}, "season"),
        ({"season": "99999999999999999999999"}, "season"),
        ({"from": "2025-13-01"}, "from"),
        ({"from": "2025-02-30"}, "from"),
        ({"from": "yesterday"}, "from"),
        ({"from": "0001-01-01"}, "from"),
        ({"to": "9999-12-31"}, "to"),
        ({"status": "bogus"}, "status"),
    ],
)
def test_sessions_api_bad_filter_is_400_with_the_errors(client, nlp, organiser, params, field):
    _schedule(track=nlp, by=organiser)

    response = client.get(URL, params)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]


def test_sessions_api_bad_page_gives_the_first_page(client, nlp, organiser):
    session = _schedule(track=nlp, by=organiser)

    assert _ids(client, page="abc") == [session.pk]


def test_sessions_api_pages_by_50(client, nlp, organiser):
    # Two tracks of the same slot rule give 60 sessions in 30 weeks.
    other = TrackFactory(slug="other")
    for track in (nlp, other):
        for start in track_slots(track=track, after=NOW, weeks=30):
            topic = TopicFactory(status=TopicStatus.READY, track=track)
            session_schedule(topic=topic, start=start, by=organiser, now=NOW)

    first = _get(client)
    second = _get(client, page=2)

    assert first["count"] == 60
    assert len(first["results"]) == 50
    assert first["next"] == f"{URL}?page=2"
    assert first["previous"] is None
    assert len(second["results"]) == 10
    assert second["previous"] == f"{URL}?page=1"
    assert second["next"] is None


def test_sessions_api_is_read_only(client, organiser):
    client.force_login(organiser)

    assert client.post(URL, {}).status_code == 405


def test_sessions_api_queries_do_not_grow_with_the_sessions(
    client, nlp, organiser, django_assert_num_queries
):
    audience = UserFactory(role=Role.AUDIENCE)
    season = Season.objects.create(label="Topic 7", order=7)
    slots = track_slots(track=nlp, after=NOW, weeks=30)
    params = {"track": "nlp", "season": season.pk, "from": "2025-01-01", "status": "scheduled"}

    def schedule(starts):
        for start in starts:
            topic = TopicFactory(status=TopicStatus.READY, track=nlp, season=season)
            topic.co_presenters.add(UserFactory())
            session = session_schedule(topic=topic, start=start, by=organiser, now=NOW)
            rsvp_set(session=session, user=audience, going=True, now=NOW)

    schedule(slots[:1])
    with CaptureQueriesContext(connection) as one:
        assert len(_get(client, **params)["results"]) == 1
    schedule(slots[1:])

    with django_assert_num_queries(len(one)):
        results = _get(client, **params)["results"]

    assert len(results) == 30
    assert {row["rsvp_count"] for row in results} == {1}
    assert {len(row["presenters"]) for row in results} == {2}
