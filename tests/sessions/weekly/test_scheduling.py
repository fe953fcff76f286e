import datetime
import zoneinfo

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from sessions.models import (
    Attendance,
    SessionChange,
    SessionPresenter,
    SessionStatus,
    TopicStatus,
    WeeklySession,
)
from sessions.topics.slots import track_slots
from sessions.weekly.scheduling import (
    SchedulingError,
    attendance_check_in,
    attendance_record,
    free_slots,
    preferred_slot,
    rsvp_set,
    session_actions,
    session_cancel,
    session_move,
    session_postpone,
    session_schedule,
    session_slip,
    session_update_meeting,
    sessions_advance,
    slot_warnings,
    slots_with_warnings,
)
from tests.factories import TopicFactory, TrackFactory, UserFactory

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
# A Wednesday, so that the Saturday slot is three days away.
NOW = datetime.datetime(2026, 12, 23, 10, 0, tzinfo=SHANGHAI)
pytestmark = pytest.mark.django_db


def _saturday_track(**kwargs):
    return TrackFactory(weekday=5, local_time=datetime.time(20, 30), **kwargs)


def _ready_topic(track=None, **kwargs):
    return TopicFactory(status=TopicStatus.READY, track=track or _saturday_track(), **kwargs)


def test_track_slots_cross_month_and_year_ends():
    track = _saturday_track()

    slots = track_slots(track=track, after=NOW, weeks=4)

    assert [slot.isoformat() for slot in slots] == [
        "2026-12-26T20:30:00+08:00",
        "2027-01-02T20:30:00+08:00",
        "2027-01-09T20:30:00+08:00",
        "2027-01-16T20:30:00+08:00",
    ]


def test_track_slots_start_next_week_when_this_weeks_slot_has_passed():
    track = _saturday_track()
    saturday_late = datetime.datetime(2026, 12, 26, 21, 0, tzinfo=SHANGHAI)

    slots = track_slots(track=track, after=saturday_late, weeks=1)

    assert slots[0].isoformat() == "2027-01-02T20:30:00+08:00"


def test_track_slots_keep_wall_clock_time_across_daylight_saving():
    track = TrackFactory(weekday=6, local_time=datetime.time(20, 30), time_zone="Europe/Berlin")
    before_switch = datetime.datetime(2027, 3, 20, 12, 0, tzinfo=zoneinfo.ZoneInfo("UTC"))

    first, second = track_slots(track=track, after=before_switch, weeks=2)

    assert (first.hour, first.minute, second.hour, second.minute) == (20, 30, 20, 30)
    assert first.utcoffset() == datetime.timedelta(hours=1)
    assert second.utcoffset() == datetime.timedelta(hours=2)


def test_at_least_twelve_upcoming_slots_by_default():
    assert len(track_slots(track=_saturday_track(), after=NOW)) == 12


def test_schedule_ready_topic_in_a_slot(organiser):
    topic = _ready_topic(preferred_week=datetime.date(2027, 1, 4))
    start = preferred_slot(free_slots(track=topic.track, now=NOW), topic.preferred_week)

    session = session_schedule(
        topic=topic,
        start=start,
        by=organiser,
        now=NOW,
        meeting_url="https://meeting.tencent.com/dm/x",
    )

    topic.refresh_from_db()
    assert start.isoformat() == "2027-01-09T20:30:00+08:00"  # nearest to the preferred week
    assert topic.status == TopicStatus.SCHEDULED
    assert (session.status, session.sequence, session.duration_minutes) == ("scheduled", 0, 90)
    assert list(session.presenters.values_list("user", flat=True)) == [topic.proposer_id]
    assert list(session.changes.values_list("kind", flat=True)) == ["scheduled"]


def test_free_slots_skip_taken_ones(organiser):
    track = _saturday_track()
    first_slot = track_slots(track=track, after=NOW)[0]
    session_schedule(topic=_ready_topic(track), start=first_slot, by=organiser, now=NOW)

    free = free_slots(track=track, now=NOW)

    assert first_slot not in free
    assert len(free) == 11


def test_slot_warnings_when_promotion_would_be_short():
    soon = NOW + datetime.timedelta(days=3)
    later = NOW + datetime.timedelta(days=20)

    assert len(slot_warnings(start=soon, now=NOW)) == 1
    assert slot_warnings(start=later, now=NOW) == []


@pytest.mark.parametrize(
    ("status", "start_offset", "override", "message"),
    [
        (TopicStatus.PREPARING, 3, False, "ready"),
        (TopicStatus.READY, -4, False, "passed"),
        (TopicStatus.READY, 4, False, "weekly slots"),
    ],
    ids=["not-ready", "in-the-past", "off-slot"],
)
def test_schedule_refuses_bad_requests(organiser, status, start_offset, override, message):
    track = _saturday_track()
    topic = TopicFactory(status=status, track=track)
    start = track_slots(track=track, after=NOW)[0] + datetime.timedelta(days=start_offset)
    if start_offset == -4:
        start = track_slots(track=track, after=NOW - datetime.timedelta(days=7))[0]

    with pytest.raises(SchedulingError, match=message):
        session_schedule(topic=topic, start=start, by=organiser, override_slot=override, now=NOW)

    assert WeeklySession.objects.count() == 0
    topic.refresh_from_db()
    assert topic.status == status


def test_schedule_off_slot_with_override(organiser):
    topic = _ready_topic()
    friday = datetime.datetime(2027, 1, 8, 19, 0, tzinfo=SHANGHAI)

    session = session_schedule(topic=topic, start=friday, by=organiser, override_slot=True, now=NOW)

    assert session.start == friday


def test_schedule_refuses_taken_slot_and_non_organiser(organiser, member):
    track = _saturday_track()
    slot = track_slots(track=track, after=NOW)[0]
    session_schedule(topic=_ready_topic(track), start=slot, by=organiser, now=NOW)
    second = _ready_topic(track)

    with pytest.raises(SchedulingError, match="already has a session"):
        session_schedule(topic=second, start=slot, by=organiser, now=NOW)
    with pytest.raises(PermissionDenied):
        session_schedule(topic=second, start=slot + datetime.timedelta(days=7), by=member, now=NOW)


def test_schedule_refuses_malformed_meeting_url(organiser):
    topic = _ready_topic()
    slot = track_slots(track=topic.track, after=NOW)[0]

    with pytest.raises(SchedulingError, match="http"):
        session_schedule(topic=topic, start=slot, by=organiser, now=NOW, meeting_url="javascript:x")

    assert WeeklySession.objects.count() == 0


def test_person_cannot_present_in_two_overlapping_sessions(organiser):
    presenter = UserFactory()
    nlp = TrackFactory(slug="nlp", weekday=5, local_time=datetime.time(21, 0))
    recsys = _saturday_track(slug="recsys")
    session_schedule(
        topic=_ready_topic(recsys, proposer=presenter),
        start=track_slots(track=recsys, after=NOW)[0],
        by=organiser,
        now=NOW,
    )

    with pytest.raises(SchedulingError, match="already presents"):
        session_schedule(
            topic=_ready_topic(nlp, proposer=presenter),
            start=track_slots(track=nlp, after=NOW)[0],
            by=organiser,
            now=NOW,
        )


def test_database_refuses_same_presenter_at_same_start(organiser):
    from django.db import IntegrityError, transaction

    presenter = UserFactory()
    start = datetime.datetime(2027, 1, 2, 20, 30, tzinfo=SHANGHAI)
    session = session_schedule(
        topic=_ready_topic(proposer=presenter), start=start, by=organiser, now=NOW
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        SessionPresenter.objects.create(session=session, user=presenter, start=start)


def test_slip_moves_to_next_free_week_and_keeps_history(organiser):
    track = _saturday_track()
    slots = track_slots(track=track, after=NOW)
    session = session_schedule(topic=_ready_topic(track), start=slots[0], by=organiser, now=NOW)
    session_schedule(topic=_ready_topic(track), start=slots[1], by=organiser, now=NOW)

    session = session_slip(session=session, by=organiser, reason="论文没读完", now=NOW)

    assert session.start == slots[2]  # slots[1] is taken
    assert session.sequence == 1
    change = session.changes.get(kind=SessionChange.Kind.SLIPPED)
    assert (change.from_start, change.to_start, change.reason) == (slots[0], slots[2], "论文没读完")
    assert session.presenters.get().start == slots[2]


def test_cancel_needs_reason_and_cancels_topic(organiser):
    topic = _ready_topic()
    session = session_schedule(
        topic=topic, start=track_slots(track=topic.track, after=NOW)[0], by=organiser, now=NOW
    )

    with pytest.raises(SchedulingError, match="reason"):
        session_cancel(session=session, by=organiser, reason=" ")
    session = session_cancel(session=session, by=organiser, reason="Presenter is ill")

    topic.refresh_from_db()
    assert (session.status, session.sequence) == (SessionStatus.CANCELLED, 1)
    assert topic.status == TopicStatus.CANCELLED
    assert session.presenters.get().active is False


def test_postpone_frees_slot_and_topic_can_be_scheduled_again(organiser):
    topic = _ready_topic()
    slot = track_slots(track=topic.track, after=NOW)[0]
    session = session_schedule(topic=topic, start=slot, by=organiser, now=NOW)

    session_postpone(session=session, by=organiser, reason="Waiting for the code release")
    again = session_schedule(topic=topic, start=slot, by=organiser, now=NOW)

    assert again.pk != session.pk
    assert WeeklySession.objects.filter(status="scheduled").count() == 1


def test_update_meeting_bumps_sequence_only_on_change(organiser):
    topic = _ready_topic()
    session = session_schedule(
        topic=topic, start=track_slots(track=topic.track, after=NOW)[0], by=organiser, now=NOW
    )

    session = session_update_meeting(
        session=session, by=organiser, meeting_provider="tencent", meeting_id="123 456 789"
    )
    session = session_update_meeting(
        session=session, by=organiser, meeting_provider="tencent", meeting_id="123 456 789"
    )

    assert session.sequence == 1
    assert session.meeting_id == "123 456 789"


def _scheduled(organiser):
    topic = _ready_topic()
    start = track_slots(track=topic.track, after=NOW)[0]
    return session_schedule(topic=topic, start=start, by=organiser, now=NOW)


def test_rsvp_and_withdraw(organiser, audience):
    session = _scheduled(organiser)

    rsvp_set(session=session, user=audience, going=True, now=NOW)
    with pytest.raises(SchedulingError, match="already said you are coming"):
        rsvp_set(session=session, user=audience, going=True, now=NOW)
    assert session.rsvps.count() == 1
    rsvp_set(session=session, user=audience, going=False, now=NOW)
    with pytest.raises(SchedulingError, match="had not said"):
        rsvp_set(session=session, user=audience, going=False, now=NOW)
    assert session.rsvps.count() == 0
    with pytest.raises(SchedulingError):
        rsvp_set(session=session, user=audience, going=True, now=session.end)


def test_check_in_only_in_window_and_once(organiser, audience):
    session = _scheduled(organiser)

    with pytest.raises(SchedulingError, match="only while"):
        attendance_check_in(
            session=session, user=audience, now=session.start - datetime.timedelta(minutes=16)
        )
    with pytest.raises(SchedulingError, match="only while"):
        attendance_check_in(
            session=session, user=audience, now=session.end + datetime.timedelta(minutes=1)
        )
    attendance_check_in(
        session=session, user=audience, now=session.start - datetime.timedelta(minutes=15)
    )
    with pytest.raises(SchedulingError, match="already"):
        attendance_check_in(session=session, user=audience, now=session.start)

    assert Attendance.objects.filter(session=session).count() == 1


def test_organiser_records_attendance_once(organiser, audience, member):
    session = _scheduled(organiser)
    attendance_check_in(session=session, user=audience, now=session.start)

    added = attendance_record(
        session=session, users=[audience, member], by=organiser, now=session.start
    )

    assert added == 1
    assert set(session.attendances.values_list("how", flat=True)) == {"self", "organiser"}
    with pytest.raises(PermissionDenied):
        attendance_record(session=session, users=[member], by=member, now=session.start)


def test_attendance_cannot_be_recorded_before_the_session_starts(organiser, member):
    session = _scheduled(organiser)
    early = session.start - datetime.timedelta(minutes=1)

    with pytest.raises(SchedulingError, match="once the session has started"):
        attendance_record(session=session, users=[member], by=organiser, now=early)

    assert session.attendances.count() == 0
    assert "attendance" not in session_actions(session, now=early)
    assert "attendance" in session_actions(session, now=session.start)


def test_sessions_advance_live_then_done_and_topic_presented(organiser):
    session = _scheduled(organiser)

    assert sessions_advance(now=session.start + datetime.timedelta(minutes=1)) == {
        "live": 1,
        "done": 0,
    }
    assert sessions_advance(now=session.end) == {"live": 0, "done": 1}

    session.refresh_from_db()
    session.topic.refresh_from_db()
    assert session.status == SessionStatus.DONE
    assert session.topic.status == TopicStatus.PRESENTED
    assert session.topic.transitions.last().by is None


# --- Free slots in date order, the preferred week's preselected, overlaps, moving ------------


def test_free_slots_are_in_date_order_and_the_preferred_weeks_slot_is_preselected():
    track = _saturday_track()

    slots = free_slots(track=track, now=NOW)

    assert slots == sorted(slots)
    assert preferred_slot(slots, datetime.date(2027, 1, 13)).isoformat() == (
        "2027-01-16T20:30:00+08:00"
    )
    assert preferred_slot(slots, None) == slots[0]
    assert preferred_slot([], datetime.date(2027, 1, 13)) is None


def test_schedule_page_preselects_the_preferred_week(client, organiser):
    topic = _ready_topic(preferred_week=datetime.date(2027, 1, 13))
    client.force_login(organiser)

    response = client.get(f"/sessions/schedule/{topic.pk}/")

    slot = preferred_slot(free_slots(track=topic.track, now=timezone.now()), topic.preferred_week)
    html = response.content.decode()
    checked = html.split(f'value="{slot.isoformat()}"', 1)[1].split(">", 1)[0]
    assert "checked" in checked
    assert html.count("checked") == 1


def test_slot_overlapping_another_tracks_session_is_warned(organiser):
    nlp = _saturday_track(slug="nlp")
    recsys = TrackFactory(slug="recsys", weekday=5, local_time=datetime.time(21, 0))
    slots = track_slots(track=nlp, after=NOW)
    other = session_schedule(
        topic=_ready_topic(recsys, title="推荐系统"),
        start=track_slots(track=recsys, after=NOW)[2],
        by=organiser,
        now=NOW,
    )

    warned = dict(slots_with_warnings(track=nlp, now=NOW, duration_minutes=90))

    # 20:30–22:00 against 21:00: the same audience, two talks at once.
    assert len(warned[slots[2]]) == 1
    assert "推荐系统" in warned[slots[2]][0] and other.track.name in warned[slots[2]][0]
    overlapping = [start for start, warnings in warned.items() if "推荐系统" in " ".join(warnings)]
    assert overlapping == [slots[2]]


def test_move_to_a_chosen_free_slot(organiser):
    track = _saturday_track()
    slots = track_slots(track=track, after=NOW)
    session = session_schedule(topic=_ready_topic(track), start=slots[3], by=organiser, now=NOW)

    session = session_move(session=session, start=slots[1], by=organiser, reason="提前", now=NOW)

    assert (session.start, session.sequence) == (slots[1], 1)
    change = session.changes.get(kind=SessionChange.Kind.MOVED)
    assert (change.from_start, change.to_start, change.reason) == (slots[3], slots[1], "提前")
    assert session.presenters.get().start == slots[1]


def test_move_refusals(organiser, member):
    track = _saturday_track()
    slots = track_slots(track=track, after=NOW)
    session = session_schedule(topic=_ready_topic(track), start=slots[2], by=organiser, now=NOW)
    session_schedule(topic=_ready_topic(track), start=slots[4], by=organiser, now=NOW)

    with pytest.raises(PermissionDenied):
        session_move(session=session, start=slots[1], by=member, now=NOW)
    with pytest.raises(SchedulingError, match="taken|already has"):
        session_move(session=session, start=slots[4], by=organiser, now=NOW)
    with pytest.raises(SchedulingError, match="already at that time"):
        session_move(session=session, start=slots[2], by=organiser, now=NOW)
    with pytest.raises(SchedulingError, match="passed"):
        session_move(session=session, start=NOW - datetime.timedelta(days=1), by=organiser, now=NOW)
    with pytest.raises(SchedulingError, match="weekly slots"):
        session_move(
            session=session, start=slots[1] + datetime.timedelta(hours=1), by=organiser, now=NOW
        )
    session_cancel(session=session, by=organiser, reason="病了")
    with pytest.raises(SchedulingError, match="Only a scheduled session"):
        session_move(session=session, start=slots[1], by=organiser, now=NOW)
    assert WeeklySession.objects.get(pk=session.pk).start == slots[2]


def test_manage_page_moves_a_session_to_the_chosen_slot(client, organiser):
    track = _saturday_track()
    now = timezone.now()
    slots = free_slots(track=track, now=now)
    session = session_schedule(topic=_ready_topic(track), start=slots[4], by=organiser)
    client.force_login(organiser)

    page = client.get(f"/sessions/{session.pk}/manage/").content.decode()
    response = client.post(
        f"/sessions/{session.pk}/manage/", {"action": "move", "slot": slots[0].isoformat()}
    )

    assert 'value="move"' in page and slots[0].isoformat() in page
    assert response.status_code == 302
    assert WeeklySession.objects.get(pk=session.pk).start == slots[0]
