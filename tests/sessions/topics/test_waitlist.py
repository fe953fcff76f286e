"""A full group's waitlist: first come first, moved in and told when a place frees (a leave
or a larger capacity), in order also under concurrent leaves."""

import threading

import pytest
from django.db import connection, connections
from django.urls import reverse

from members.roles import Role
from sessions.models import Participation, Topic, TopicStatus, WaitlistEntry
from sessions.topics.services import (
    TopicError,
    group_join,
    group_leave,
    topic_update,
    waitlist_join,
    waitlist_leave,
    waitlist_promote,
)
from tests.factories import TopicFactory, UserFactory
from topicshare.notifications.models import Notification

S = TopicStatus


def _full(capacity: int = 2) -> tuple[Topic, list]:
    topic = TopicFactory(status=S.RECRUITING, capacity=capacity)
    people = [UserFactory(role=Role.MEMBER) for _ in range(capacity)]
    for person in people:
        group_join(topic=topic, user=person)
    topic.refresh_from_db()
    assert topic.status == S.PREPARING  # full
    return topic, people


def _participants(topic: Topic) -> set[int]:
    return set(
        Participation.objects.filter(topic=topic, role="participant").values_list(
            "user_id", flat=True
        )
    )


@pytest.mark.django_db
def test_a_full_group_queues_people_in_order_and_a_second_tap_keeps_the_place():
    topic, _people = _full()
    first, second = UserFactory(role=Role.MEMBER), UserFactory(role=Role.MEMBER)

    assert waitlist_join(topic=topic, user=first) == 1
    assert waitlist_join(topic=topic, user=second) == 2
    assert waitlist_join(topic=topic, user=first) == 1
    with pytest.raises(TopicError, match="full"):
        group_join(topic=topic, user=UserFactory(role=Role.MEMBER))


@pytest.mark.django_db
def test_a_leave_moves_the_first_in_line_in_and_tells_them():
    topic, people = _full()
    first, second = UserFactory(role=Role.MEMBER), UserFactory(role=Role.MEMBER)
    waitlist_join(topic=topic, user=first)
    waitlist_join(topic=topic, user=second)

    group_leave(topic=topic, user=people[0])

    assert _participants(topic) == {people[1].pk, first.pk}
    assert list(WaitlistEntry.objects.values_list("user_id", flat=True)) == [second.pk]
    told = Notification.objects.get(kind="waitlist_promoted")
    assert told.recipient == first and f"/topics/{topic.pk}/group/" in told.url


@pytest.mark.django_db
def test_a_larger_capacity_moves_as_many_in_as_it_has_places(organiser):
    topic, _people = _full()
    waiting = [UserFactory(role=Role.MEMBER) for _ in range(3)]
    for person in waiting:
        waitlist_join(topic=topic, user=person)

    topic_update(topic=topic, by=organiser, capacity=4)

    assert {waiting[0].pk, waiting[1].pk} <= _participants(topic)
    assert list(WaitlistEntry.objects.values_list("user_id", flat=True)) == [waiting[2].pk]


@pytest.mark.django_db
def test_who_can_no_longer_join_loses_the_place_in_line():
    topic, people = _full()
    Topic.objects.filter(pk=topic.pk).update(members_only=True)
    gone, member = UserFactory(role=Role.MEMBER), UserFactory(role=Role.MEMBER)
    audience = UserFactory(role=Role.AUDIENCE)
    for person in (gone, member):
        waitlist_join(topic=topic, user=person)
    WaitlistEntry.objects.create(topic=topic, user=audience)  # before it became members-only
    gone.is_active = False
    gone.save()

    group_leave(topic=topic, user=people[0])

    assert member.pk in _participants(topic) and gone.pk not in _participants(topic)
    assert not WaitlistEntry.objects.filter(user=gone).exists()


@pytest.mark.django_db
def test_the_waitlist_is_for_full_groups_only_and_can_be_left(member):
    open_topic = TopicFactory(status=S.RECRUITING, capacity=5)
    with pytest.raises(TopicError, match="free place"):
        waitlist_join(topic=open_topic, user=member)
    topic, people = _full()
    with pytest.raises(TopicError, match="already"):
        waitlist_join(topic=topic, user=people[0])
    waitlist_join(topic=topic, user=member)
    waitlist_leave(topic=topic, user=member)
    with pytest.raises(TopicError):
        waitlist_leave(topic=topic, user=member)
    Topic.objects.filter(pk=topic.pk).update(status=S.READY)
    assert waitlist_promote(topic=topic) == []


@pytest.mark.django_db
def test_the_topic_page_offers_the_waitlist_and_shows_my_place(client):
    topic, _people = _full()
    person = UserFactory(role=Role.MEMBER)
    client.force_login(person)
    url = reverse("topics:detail", args=[topic.pk])

    assert 'data-action="waitlist-join"' in client.get(url).content.decode()
    client.post(reverse("topics:waitlist-join", args=[topic.pk]))
    html = client.get(url).content.decode()
    assert 'data-role="waitlist-position"' in html and 'data-action="waitlist-leave"' in html


@pytest.mark.django_db(transaction=True)
def test_concurrent_leaves_promote_in_order():
    if connection.vendor != "postgresql":
        pytest.skip("row locks under a race: run with DATABASE_URL=postgres://… (CI does)")
    topic, people = _full(capacity=3)
    waiting = [UserFactory(role=Role.MEMBER) for _ in range(4)]
    for person in waiting:
        waitlist_join(topic=topic, user=person)
    barrier = threading.Barrier(len(people))
    errors: list[Exception] = []

    def leave(user):
        try:
            barrier.wait(timeout=10)
            group_leave(topic=topic, user=user)
        except Exception as error:  # noqa: BLE001 — reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=leave, args=(person,)) for person in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert _participants(topic) == {person.pk for person in waiting[:3]}
    assert list(WaitlistEntry.objects.values_list("user_id", flat=True)) == [waiting[3].pk]
    assert Notification.objects.filter(kind="waitlist_promoted").count() == 3
