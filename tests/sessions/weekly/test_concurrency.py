import threading

import pytest
from django.db import connection, connections
from django.utils import translation

from sessions.models import Participation, TopicStatus
from sessions.topics.services import TopicError, group_join
from tests.factories import TopicFactory, UserFactory


@pytest.mark.django_db(transaction=True)
def test_concurrent_joins_for_the_last_place_let_exactly_one_in():
    if connection.vendor != "postgresql":
        pytest.skip(
            "row locks are what is under test: run with DATABASE_URL=postgres://… (CI does)"
        )
    topic = TopicFactory(status=TopicStatus.RECRUITING, capacity=2)
    group_join(topic=topic, user=UserFactory())
    joiners = [UserFactory(), UserFactory()]
    barrier = threading.Barrier(len(joiners))
    outcomes: list[str] = []

    def join(user):
        try:
            barrier.wait(timeout=10)
            with translation.override("en"):  # each thread has its own active language
                group_join(topic=topic, user=user)
            outcomes.append("joined")
        except TopicError as error:
            outcomes.append(str(error))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=join, args=(user,)) for user in joiners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["The group is full.", "joined"]
    assert Participation.objects.filter(topic=topic, role="participant").count() == 2
    topic.refresh_from_db()
    assert topic.status == TopicStatus.PREPARING


@pytest.mark.django_db(transaction=True)
def test_two_organisers_scheduling_the_same_slot_one_wins():
    import datetime
    import zoneinfo

    from members.roles import Role
    from sessions.models import WeeklySession
    from sessions.topics.slots import track_slots
    from sessions.weekly.scheduling import SchedulingError, session_schedule

    if connection.vendor != "postgresql":
        pytest.skip(
            "the slot constraint under a race: run with DATABASE_URL=postgres://… (CI does)"
        )
    now = datetime.datetime(2026, 12, 23, 10, 0, tzinfo=zoneinfo.ZoneInfo("Asia/Shanghai"))
    first = TopicFactory(status=TopicStatus.READY)
    second = TopicFactory(status=TopicStatus.READY, track=first.track)
    slot = track_slots(track=first.track, after=now)[0]
    organisers = [UserFactory(role=Role.ORGANISER), UserFactory(role=Role.ORGANISER)]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def schedule(topic, organiser):
        try:
            barrier.wait(timeout=10)
            with translation.override("en"):
                session_schedule(topic=topic, start=slot, by=organiser, now=now)
            outcomes.append("scheduled")
        except SchedulingError as error:
            outcomes.append(str(error))
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=schedule, args=pair)
        for pair in zip([first, second], organisers, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) in (
        ["That slot was just taken by another session. Pick another one.", "scheduled"],
        ["This slot already has a session.", "scheduled"],
    )
    assert WeeklySession.objects.filter(start=slot).count() == 1
