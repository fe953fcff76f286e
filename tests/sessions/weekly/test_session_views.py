import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from members.roles import Role
from sessions.models import RSVP, SessionStatus, TopicStatus, WeeklySession
from sessions.topics.slots import track_slots
from sessions.weekly.scheduling import free_slots, session_schedule
from tests.factories import TopicFactory, TrackFactory, UserFactory
from topicshare.forum.models import ForumSettings

pytestmark = pytest.mark.django_db


def _schedule(organiser, track=None, index=0, **meeting):
    track = track or TrackFactory(weekday=5, local_time=datetime.time(20, 30))
    topic = TopicFactory(status=TopicStatus.READY, track=track)
    start = track_slots(track=track, after=timezone.now())[index]
    return session_schedule(topic=topic, start=start, by=organiser, **meeting)


def test_upcoming_sessions_grouped_by_week_with_colours(client, organiser):
    track = TrackFactory(weekday=5, local_time=datetime.time(20, 30), colour="#123456")
    first = _schedule(organiser, track, 0)
    second = _schedule(organiser, track, 1)

    response = client.get(reverse("sessions:upcoming"))

    weeks = response.context["weeks"]
    assert [[s.pk for s in sessions] for _monday, sessions in weeks] == [[first.pk], [second.pk]]
    assert "#123456" in response.content.decode()


@pytest.mark.parametrize("count", [1, 50])
def test_upcoming_sessions_query_count_is_flat(client, organiser, django_assert_num_queries, count):
    tracks = [TrackFactory(weekday=day % 7, local_time=datetime.time(20, 30)) for day in range(5)]
    for index in range(count):
        _schedule(organiser, tracks[index % 5], index // 5)
    ForumSettings.load()

    # the page cache's version (a miss), sessions (+ co-presenters prefetch), forum settings,
    # the tracks (their calendar feeds)
    with django_assert_num_queries(5):
        response = client.get(reverse("sessions:upcoming"))

    assert sum(len(sessions) for _monday, sessions in response.context["weeks"]) == count


def test_meeting_details_only_for_signed_in_users(client, organiser, audience):
    session = _schedule(organiser, meeting_url="https://meeting.tencent.com/dm/secret")

    anonymous = client.get(reverse("sessions:detail", args=[session.pk])).content.decode()
    client.force_login(audience)
    signed_in = client.get(reverse("sessions:detail", args=[session.pk])).content.decode()

    assert "meeting.tencent.com/dm/secret" not in anonymous
    assert "meeting.tencent.com/dm/secret" in signed_in


def test_rsvp_toggle_from_the_page(client, organiser, audience):
    session = _schedule(organiser)
    client.force_login(audience)

    client.post(reverse("sessions:rsvp", args=[session.pk]), {"going": "1"})
    assert session.rsvps.filter(user=audience).exists()
    page = client.get(reverse("sessions:detail", args=[session.pk])).content.decode()
    assert 'data-action="unrsvp"' in page
    client.post(reverse("sessions:rsvp", args=[session.pk]), {"going": "0"})
    assert not session.rsvps.exists()


def test_check_in_before_the_window_shows_a_message(client, organiser, audience):
    session = _schedule(organiser, index=1)
    client.force_login(audience)

    response = client.post(reverse("sessions:check-in", args=[session.pk]), follow=True)

    assert len(list(response.context["messages"])) == 1
    assert not session.attendances.exists()
    assert 'data-action="check-in"' not in response.content.decode()


def test_rsvp_requires_login(client, organiser):
    session = _schedule(organiser)

    response = client.post(reverse("sessions:rsvp", args=[session.pk]), {"going": "1"})

    assert response.status_code == 302
    assert not session.rsvps.exists()


def test_staff_schedule_page_offers_free_slots_and_schedules(client, organiser):
    track = TrackFactory(weekday=5, local_time=datetime.time(20, 30))
    topic = TopicFactory(status=TopicStatus.READY, track=track)
    client.force_login(organiser)
    url = reverse("sessions:schedule", args=[topic.pk])

    page = client.get(url)
    slots = [value for value, _label in page.context["form"].fields["slot"].choices]
    response = client.post(url, {"slot": slots[2], "meeting_provider": "tencent"})

    session = WeeklySession.objects.get()
    assert len(slots) == 12
    assert response.status_code == 302
    assert session.start == datetime.datetime.fromisoformat(slots[2])
    assert session.meeting_provider == "tencent"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Pick one free slot"),
        ({"custom_start": "2030-01-01T09:00"}, "not one of the track"),
        ({"custom_start": "2001-01-01T09:00", "override_slot": "on"}, "already passed"),
        ({"custom_start": "2030-13-45T09:00"}, "Enter a valid date/time."),
    ],
    ids=["nothing-picked", "off-slot", "past", "impossible-date"],
)
def test_staff_schedule_page_bad_input(client, organiser, data, message):
    topic = TopicFactory(status=TopicStatus.READY, track=TrackFactory())
    client.force_login(organiser)

    response = client.post(
        reverse("sessions:schedule", args=[topic.pk]), data, headers={"Accept-Language": "en"}
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    assert WeeklySession.objects.count() == 0


def test_staff_schedule_page_rejects_bad_meeting_url(client, organiser):
    topic = TopicFactory(status=TopicStatus.READY, track=TrackFactory())
    client.force_login(organiser)
    url = reverse("sessions:schedule", args=[topic.pk])
    slot = client.get(url).context["form"].fields["slot"].choices[0][0]

    response = client.post(url, {"slot": slot, "meeting_url": "not a url"})

    assert "meeting_url" in response.context["form"].errors
    assert WeeklySession.objects.count() == 0


def test_staff_pages_are_for_organisers_only(client, organiser):
    session = _schedule(organiser)
    topic = TopicFactory(status=TopicStatus.READY)
    client.force_login(UserFactory(role=Role.COMMITTEE))

    assert client.get(reverse("sessions:schedule-index")).status_code == 403
    assert client.get(reverse("sessions:schedule", args=[topic.pk])).status_code == 403
    assert (
        client.post(reverse("sessions:manage", args=[session.pk]), {"action": "slip"}).status_code
        == 403
    )


def test_manage_slip_and_cancel(client, organiser):
    session = _schedule(organiser)
    client.force_login(organiser)
    url = reverse("sessions:manage", args=[session.pk])

    client.post(url, {"action": "slip", "confirm": "1"})
    no_reason = client.post(url, {"action": "cancel", "cancel-reason": "", "confirm": "1"})
    client.post(
        url, {"action": "cancel", "cancel-reason": "Presenter is travelling", "confirm": "1"}
    )

    session.refresh_from_db()
    assert no_reason.status_code == 200
    assert [form.errors for action, _label, form in no_reason.context["move_forms"]] == [
        {},
        {},
        {"reason": ["这个字段是必填项。"]},
    ]
    assert session.sequence == 2
    assert session.status == SessionStatus.CANCELLED
    assert list(session.changes.values_list("kind", flat=True)) == [
        "scheduled",
        "slipped",
        "cancelled",
    ]


def test_home_shows_next_sessions(client, organiser):
    session = _schedule(organiser)

    content = client.get(reverse("home")).content.decode()

    assert session.topic.title in content


def test_admin_schedules_nearest_slot_with_the_same_service(client, organiser):
    track = TrackFactory(weekday=5, local_time=datetime.time(20, 30))
    topic = TopicFactory(status=TopicStatus.READY, track=track)
    expected = free_slots(track=track, now=timezone.now())[0]
    client.force_login(organiser)

    client.post(
        reverse("admin:topic_sessions_topic_changelist"),
        {"action": "schedule_nearest", "_selected_action": [topic.pk]},
    )

    assert WeeklySession.objects.get(topic=topic).start == expected


def test_manage_page_offers_attendance_only_once_the_session_started(client, organiser, member):
    session = _schedule(organiser)
    RSVP.objects.create(session=session, user=member)
    url = reverse("sessions:manage", args=[session.pk])
    client.force_login(organiser)

    before = client.get(url).content.decode()
    refused = client.post(
        url, {"action": "attendance", "people": [member.pk]}, follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )
    WeeklySession.objects.filter(pk=session.pk).update(
        start=timezone.now() - datetime.timedelta(minutes=5)
    )
    after = client.get(url).content.decode()

    assert 'data-action="attendance"' not in before
    assert "once the session has started" in refused.content.decode()
    assert not session.attendances.exists()
    assert 'data-action="attendance"' in after
