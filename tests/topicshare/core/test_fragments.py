"""Cached fragments for signed-in people (topicshare/core/fragments.py): a second member's
page reuses the first one's fragment without its per-person parts, members-only content
never reaches a viewer of a lower role, a member's own change shows to them at once, and a
query string the view did not declare stores nothing."""

import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from library.models import LibraryItem
from members.roles import Role
from sessions.models import TopicStatus
from sessions.topics.slots import track_slots
from sessions.weekly.scheduling import rsvp_set, session_schedule
from tests.factories import TopicFactory, UserFactory
from topicshare.forum.models import ForumSettings

pytestmark = pytest.mark.django_db
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
GOING = "You are going"


@pytest.fixture(autouse=True)
def _fragments_on(settings):
    settings.TOPICSHARE_FRAGMENT_CACHE_SECONDS = 60
    ForumSettings.load()


def _client(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def _fragments() -> list[str]:
    return [key for key in cache._cache if ":fragment:" in key]  # LocMemCache's own keys


def _queries(client, url) -> tuple[str, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return response.content.decode(), [query["sql"] for query in queries.captured_queries]


def test_the_second_member_gets_the_fragment_but_not_the_first_members_parts():
    organiser = UserFactory(role=Role.ORGANISER)
    now = timezone.now()
    topic = TopicFactory(status=TopicStatus.READY, title="Attention is all you need")
    session = session_schedule(
        topic=topic, start=track_slots(track=topic.track, after=now)[0], by=organiser, now=now
    )
    alice = UserFactory(role=Role.MEMBER, display_name="Alice Wang")
    bob = UserFactory(role=Role.MEMBER, display_name="Bob Li")
    rsvp_set(session=session, user=alice, going=True)
    url = reverse("sessions:upcoming")

    alices, _ = _queries(_client(alice), url)
    stored = len(_fragments())
    bobs, bobs_queries = _queries(_client(bob), url)

    assert stored >= 2 and len(_fragments()) == stored  # the header and the list, reused
    assert not any("topic_sessions_weeklysession" in sql for sql in bobs_queries)
    assert "Attention is all you need" in alices and "Attention is all you need" in bobs
    assert GOING in alices and GOING not in bobs
    assert "Alice Wang" in alices and "Alice Wang" not in bobs and "Bob Li" in bobs
    assert CSRF.findall(alices) and set(CSRF.findall(alices)).isdisjoint(CSRF.findall(bobs))

    # Bob's own RSVP shows to him on his next page, from the same fragment.
    rsvp_set(session=session, user=bob, going=True)
    assert GOING in _client(bob).get(url).content.decode()


def test_members_only_content_never_reaches_a_lower_role():
    LibraryItem.objects.create(
        title="Members-only reading of RLHF", kind="talk", visibility="members"
    )
    member = UserFactory(role=Role.MEMBER)
    audience = UserFactory(role=Role.AUDIENCE)
    url = reverse("library:index")

    shown_to_member = _client(member).get(url).content.decode()
    shown_to_audience = _client(audience).get(url).content.decode()
    shown_to_anonymous = Client(HTTP_ACCEPT_LANGUAGE="en").get(url).content.decode()

    assert "Members-only reading of RLHF" in shown_to_member
    assert "Members-only reading of RLHF" not in shown_to_audience
    assert "Members-only reading of RLHF" not in shown_to_anonymous


@pytest.mark.django_db(transaction=True)  # real commits: the version grows after each
def test_a_members_own_change_shows_to_them_at_once():
    member = UserFactory(role=Role.MEMBER)
    topic = TopicFactory(proposer=member, title="Old title", status=TopicStatus.PROPOSED)
    client = _client(member)
    url = reverse("topics:sheet")
    assert "Old title" in client.get(url).content.decode()

    response = client.post(
        reverse("topics:edit", args=[topic.pk]),
        {
            "title": "New title",
            "track": topic.track.pk,
            "summary": topic.summary,
            "paper_links": "https://arxiv.org/abs/1706.03762",
            "capacity": topic.capacity,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    topic.refresh_from_db()
    assert topic.title == "New title", response["Location"]

    page = client.get(url).content.decode()
    assert "New title" in page and "Old title" not in page


def test_an_undeclared_query_parameter_stores_no_fragment():
    member = UserFactory(role=Role.MEMBER)
    client = _client(member)
    client.get(reverse("topics:sheet"))
    stored = len(_fragments())

    for n in range(20):
        assert client.get(reverse("topics:sheet"), {"junk": n}).status_code == 200

    assert len(_fragments()) == stored


def test_turned_off_with_zero_seconds(settings):
    settings.TOPICSHARE_FRAGMENT_CACHE_SECONDS = 0
    _client(UserFactory(role=Role.MEMBER)).get(reverse("topics:sheet"))
    assert _fragments() == []


def test_addresses_that_do_not_exist_store_no_fragments():
    client = _client(UserFactory(role=Role.MEMBER))
    client.get(reverse("topics:sheet"))
    stored = len(_fragments())

    for n in range(20):
        assert client.get(f"/topics/{900000 + n}/").status_code == 404
        assert client.get(f"/no-such-page-{n}/").status_code == 404

    assert len(_fragments()) == stored
