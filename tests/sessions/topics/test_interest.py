"""“想听”: one per person, taken back by a second tap, counted on the sheet and the topic page,
and those who want to hear a topic hear first when it recruits and when it is scheduled."""

import datetime
import threading
import zoneinfo

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from members.roles import Role
from sessions.models import Topic, TopicInterest, TopicStatus
from sessions.topics.services import TopicError, topic_interest_set, topic_transition
from sessions.topics.slots import track_slots
from sessions.weekly.reminders import reminders_materialise
from sessions.weekly.scheduling import session_schedule
from tests.factories import TopicFactory, TrackFactory, UserFactory
from topicshare.notifications.models import Notification

S = TopicStatus
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def _count(topic: Topic) -> int:
    topic.refresh_from_db()
    assert topic.interest_count == TopicInterest.objects.filter(topic=topic).count()
    return topic.interest_count


@pytest.mark.django_db
def test_want_is_one_per_person_and_a_second_tap_takes_it_back(audience, member):
    topic = TopicFactory(status=S.PROPOSED)

    assert topic_interest_set(topic=topic, user=audience, want=True) is True
    assert topic_interest_set(topic=topic, user=audience, want=True) is True  # double tap
    assert topic_interest_set(topic=topic, user=member, want=True) is True
    assert _count(topic) == 2
    assert topic_interest_set(topic=topic, user=audience, want=False) is False
    assert topic_interest_set(topic=topic, user=audience, want=False) is False
    assert _count(topic) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("status", [S.PROPOSED, S.ACCEPTED, S.RECRUITING])
def test_want_is_open_while_a_topic_looks_for_its_audience(audience, status):
    topic = TopicFactory(status=status)
    assert topic_interest_set(topic=topic, user=audience, want=True) is True


@pytest.mark.django_db
@pytest.mark.parametrize("status", [S.PREPARING, S.READY, S.SCHEDULED, S.PRESENTED, S.REJECTED])
def test_want_is_refused_once_the_group_is_complete_but_may_be_taken_back(audience, status):
    topic = TopicFactory(status=S.PROPOSED)
    topic_interest_set(topic=topic, user=audience, want=True)
    Topic.objects.filter(pk=topic.pk).update(status=status)
    topic.refresh_from_db()

    with pytest.raises(TopicError, match="RSVP"):
        topic_interest_set(topic=topic, user=UserFactory(role=Role.AUDIENCE), want=True)
    assert topic_interest_set(topic=topic, user=audience, want=False) is False
    assert _count(topic) == 0


@pytest.mark.django_db
def test_presenters_and_anonymous_visitors_cannot_want(client):
    from django.contrib.auth.models import AnonymousUser

    topic = TopicFactory(status=S.PROPOSED)
    with pytest.raises(TopicError, match="present"):
        topic_interest_set(topic=topic, user=topic.proposer, want=True)
    with pytest.raises(PermissionDenied):
        topic_interest_set(topic=topic, user=AnonymousUser(), want=True)
    response = client.post(reverse("topics:interest", args=[topic.pk]), {"want": "1"})
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert _count(topic) == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_taps_count_once():
    if connection.vendor != "postgresql":
        pytest.skip("one row under a race: run with DATABASE_URL=postgres://… (CI does)")
    topic = TopicFactory(status=S.PROPOSED)
    person, other = UserFactory(), UserFactory()
    taps = [person] * 4 + [other] * 4
    barrier = threading.Barrier(len(taps))
    errors: list[Exception] = []

    def tap(user):
        try:
            barrier.wait(timeout=10)
            topic_interest_set(topic=topic, user=user, want=True)
        except Exception as error:  # noqa: BLE001 — reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=tap, args=(user,)) for user in taps]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert _count(topic) == 2


@pytest.mark.django_db
def test_the_topic_page_counts_without_saying_who_except_to_organisers(client, member, organiser):
    topic = TopicFactory(status=S.PROPOSED)
    wanting = UserFactory(role=Role.AUDIENCE, display_name="想听的人")
    url = reverse("topics:detail", args=[topic.pk])

    client.force_login(wanting)
    response = client.post(
        reverse("topics:interest", args=[topic.pk]), {"want": "1", "next": url}, follow=True
    )
    html = response.content.decode()
    assert response.redirect_chain[-1][0] == url
    assert 'data-interest-count="1"' in html and 'data-action="unwant"' in html

    client.force_login(member)
    html = client.get(url).content.decode()
    assert 'data-interest-count="1"' in html and 'data-action="want"' in html
    assert "想听的人" not in html

    client.force_login(organiser)
    html = client.get(url).content.decode()
    assert 'data-role="who-wants"' in html and "想听的人" in html

    client.force_login(wanting)
    client.post(reverse("topics:interest", args=[topic.pk]), {"want": "0"})
    assert _count(topic) == 0


@pytest.mark.django_db
def test_a_foreign_next_is_not_followed(client, audience):
    topic = TopicFactory(status=S.PROPOSED)
    client.force_login(audience)
    response = client.post(
        reverse("topics:interest", args=[topic.pk]), {"want": "1", "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("topics:detail", args=[topic.pk])


@pytest.mark.django_db(transaction=True)
def test_the_sheet_counts_and_sorts_by_it_in_flat_queries(client):
    member = UserFactory(role=Role.MEMBER)
    quiet, wanted = TopicFactory(status=S.PROPOSED), TopicFactory(status=S.PROPOSED)

    def sheet_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("topics:sheet"), {"o": "-wanted"}).status_code == 200
        return len(queries)

    client.force_login(member)
    before = sheet_queries()
    # Committed (transaction=True), so each vote grows the version the cached sheet is under.
    for _ in range(5):
        topic_interest_set(topic=wanted, user=UserFactory(), want=True)
    topic_interest_set(topic=quiet, user=UserFactory(), want=True)
    assert sheet_queries() <= before

    html = client.get(reverse("topics:sheet"), {"o": "-wanted"}).content.decode()
    assert html.index(wanted.title) < html.index(quiet.title)
    assert 'data-interest-count="5"' in html
    html = client.get(reverse("topics:sheet"), {"o": "wanted"}).content.decode()
    assert html.index(quiet.title) < html.index(wanted.title)


@pytest.mark.django_db
def test_those_who_want_it_hear_first_when_it_recruits_and_when_it_is_scheduled(organiser):
    track = TrackFactory(slug="nlp", weekday=5, local_time=datetime.time(20, 30))
    topic = TopicFactory(status=S.ACCEPTED, track=track)
    first, second = UserFactory(role=Role.AUDIENCE), UserFactory(role=Role.AUDIENCE)
    topic_interest_set(topic=topic, user=first, want=True)
    topic_interest_set(topic=topic, user=second, want=True)
    topic_interest_set(topic=topic, user=second, want=False)

    topic_transition(topic=topic, to=S.RECRUITING, by=organiser)
    told = Notification.objects.filter(kind="wanted_topic_recruiting")
    assert list(told.values_list("recipient", flat=True)) == [first.pk]

    Topic.objects.filter(pk=topic.pk).update(status=S.READY)
    topic.refresh_from_db()
    now = datetime.datetime(2027, 1, 1, 12, tzinfo=SHANGHAI)
    start = track_slots(track=track, after=now + datetime.timedelta(days=13))[0]
    session = session_schedule(topic=topic, start=start, by=organiser, now=now)
    scheduled = Notification.objects.filter(kind="session_scheduled", subject_id=session.pk)
    assert first.pk in set(scheduled.values_list("recipient", flat=True))

    # The T-14 promotion: queued for them before anybody else.
    reminders_materialise(now=start - datetime.timedelta(days=14))
    promotion = Notification.objects.filter(kind="promotion", recipient__isnull=False)
    assert promotion.order_by("id").first().recipient == first


@pytest.mark.django_db
def test_the_organisers_inbox_counts_who_wants_to_hear_a_topic_to_review(client, organiser):
    topic = TopicFactory(status=S.PROPOSED, title="想听的提案")
    for _ in range(3):
        topic_interest_set(topic=topic, user=UserFactory(), want=True)
    client.force_login(organiser)

    html = client.get(reverse("inbox"), headers={"accept-language": "en"}).content.decode()

    assert "想听的提案" in html and "3 want to hear it" in html
