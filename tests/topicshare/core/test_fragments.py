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


def _scheduled_session(title: str, *, by):
    now = timezone.now()
    topic = TopicFactory(status=TopicStatus.READY, title=title)
    return session_schedule(
        topic=topic, start=track_slots(track=topic.track, after=now)[0], by=by, now=now
    )


def _queries(client, url) -> tuple[str, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return response.content.decode(), [query["sql"] for query in queries.captured_queries]


def test_the_second_member_gets_the_fragment_but_not_the_first_members_parts():
    organiser = UserFactory(role=Role.ORGANISER)
    session = _scheduled_session("Attention is all you need", by=organiser)
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


# Pages stored whole for people signed in (@public_page(signed_in=True), member_page): a hit
# runs neither the view nor its template, and every per-person part is a hole.


def test_a_session_page_served_whole_shows_each_member_their_own_rsvp():
    organiser = UserFactory(role=Role.ORGANISER)
    session = _scheduled_session("Attention is all you need", by=organiser)
    alice = UserFactory(role=Role.MEMBER, display_name="Alice Wang")
    bob = UserFactory(role=Role.MEMBER, display_name="Bob Li")
    rsvp_set(session=session, user=alice, going=True)
    url = reverse("sessions:detail", args=[session.pk])

    alices = _client(alice).get(url)
    bobs = _client(bob).get(url)

    assert "X-Page-Cache" not in alices and bobs["X-Page-Cache"] == "member-hit"
    alice_page, bob_page = alices.content.decode(), bobs.content.decode()
    assert "Attention is all you need" in alice_page and "Attention is all you need" in bob_page
    assert 'data-action="unrsvp"' in alice_page and 'data-action="rsvp"' not in alice_page
    assert 'data-action="rsvp"' in bob_page and 'data-action="unrsvp"' not in bob_page
    assert "Alice Wang" not in bob_page and "Bob Li" in bob_page
    assert "\x00" not in bob_page  # every hole filled
    assert set(CSRF.findall(alice_page)).isdisjoint(CSRF.findall(bob_page))
    # The organiser (another role) gets a page of their own, with "Manage this session".
    organisers = _client(organiser).get(url)
    assert "X-Page-Cache" not in organisers
    assert 'data-action="manage"' in organisers.content.decode()
    assert 'data-action="manage"' not in bob_page

    # Bob's RSVP shows to him at once, though the page is served whole (RSVPs do not change
    # the content version: the card is a hole).
    response = _client(bob).post(reverse("sessions:rsvp", args=[session.pk]), {"going": "1"})
    assert response.status_code == 302
    again = _client(bob).get(url)
    assert again["X-Page-Cache"] == "member-hit"
    assert 'data-action="unrsvp"' in again.content.decode()
    assert "2 people are coming" in again.content.decode()


def test_a_topic_page_stored_per_person_keeps_the_presenters_actions_theirs():
    presenter = UserFactory(role=Role.MEMBER, display_name="Carol Presenter")
    other = UserFactory(role=Role.MEMBER)
    topic = TopicFactory(proposer=presenter, status=TopicStatus.PROPOSED)
    url = reverse("topics:detail", args=[topic.pk])
    presenter_client, others_client = _client(presenter), _client(other)
    presenter_client.get(url)  # stored, for the presenter

    presenters = presenter_client.get(url)
    others = others_client.get(url)
    others_again = others_client.get(url)

    assert presenters["X-Page-Cache"] == "personal-hit"
    assert "X-Page-Cache" not in others  # never the presenter's page
    assert others_again["X-Page-Cache"] == "personal-hit"
    for action in ('data-action="edit"', 'data-transition="withdrawn"'):
        assert action in presenters.content.decode()
        assert action not in others.content.decode()
        assert action not in others_again.content.decode()


# --- Pages stored per person (fragments.personal_page) ------------------------------------


def test_my_page_is_stored_for_me_alone():
    ana = UserFactory(role=Role.MEMBER, display_name="Ana Lin")
    ben = UserFactory(role=Role.MEMBER, display_name="Ben Wu")
    TopicFactory(proposer=ana, title="Ana's proposal on retrieval")
    TopicFactory(proposer=ben, title="Ben's proposal on pruning")
    anas, bens = _client(ana), _client(ben)
    anas.get(reverse("me"))  # stored, for Ana

    again = anas.get(reverse("me"))
    first_of_ben = bens.get(reverse("me"))

    assert again["X-Page-Cache"] == "personal-hit"
    assert "Ana&#x27;s proposal on retrieval" in again.content.decode()
    assert "X-Page-Cache" not in first_of_ben
    assert "Ana&#x27;s proposal" not in first_of_ben.content.decode()
    assert "Ben&#x27;s proposal on pruning" in first_of_ben.content.decode()
    # The CSRF token is the viewer's own on every hit, not the one the page was stored with.
    token = CSRF.search(again.content.decode())
    assert token is None or token.group(1) != CSRF.search(first_of_ben.content.decode()).group(1)


def test_a_stored_page_costs_the_user_and_the_versions_only():
    member = UserFactory(role=Role.MEMBER)
    client = _client(member)
    client.get(reverse("me"))

    _page, queries = _queries(client, reverse("me"))

    assert len(queries) == 2, queries  # the user (the session is in the cache), the versions
    assert "data_value" in queries[1]


@pytest.mark.django_db(transaction=True)
def test_a_change_i_make_shows_at_once_on_my_stored_page():
    organiser = UserFactory(role=Role.ORGANISER)
    member = UserFactory(role=Role.MEMBER)
    session = _scheduled_session("Mixture of experts, explained", by=organiser)
    client = _client(member)
    assert "Mixture of experts, explained" not in client.get(reverse("me")).content.decode()

    client.post(reverse("sessions:rsvp", args=[session.pk]), {"going": "1"}, follow=True)
    after = client.get(reverse("me"))  # (the message was shown on the session's page)

    assert "X-Page-Cache" not in after
    assert "Mixture of experts, explained" in after.content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_lost_role_is_not_answered_with_the_stored_organiser_page():
    from members.services import role_set

    organiser = UserFactory(role=Role.ORGANISER)
    client = _client(organiser)
    assert client.get(reverse("inbox")).status_code == 200
    assert client.get(reverse("inbox"))["X-Page-Cache"] == "personal-hit"

    role_set(user=organiser, role=Role.MEMBER)

    assert client.get(reverse("inbox")).status_code == 403


def test_a_query_the_view_does_not_read_is_neither_stored_nor_served():
    member = UserFactory(role=Role.MEMBER)
    client = _client(member)
    client.get(reverse("me"))

    assert "X-Page-Cache" not in client.get(reverse("me"), {"x": "junk"})
    assert "X-Page-Cache" not in client.get(reverse("me"), {"x": "junk"})
    assert client.get(reverse("me"))["X-Page-Cache"] == "personal-hit"


def test_a_page_with_a_message_is_neither_served_whole_nor_stored():
    member = UserFactory(role=Role.MEMBER)
    topic = TopicFactory(status=TopicStatus.RECRUITING, capacity=5)
    client = _client(member)
    url = reverse("topics:detail", args=[topic.pk])
    _client(UserFactory(role=Role.MEMBER)).get(url)  # stored whole, for members

    response = client.post(reverse("topics:join", args=[topic.pk]))
    assert response.status_code == 302
    with_message = client.get(url)
    after = client.get(url)

    assert "You joined the group." in with_message.content.decode()
    assert "X-Page-Cache" not in with_message
    assert "You joined the group." not in after.content.decode()
    assert 'data-action="leave"' in after.content.decode()


@pytest.mark.django_db(transaction=True)
def test_a_new_role_shows_at_once_on_a_page_served_whole():
    from members.services import role_set

    person = UserFactory(role=Role.AUDIENCE)
    LibraryItem.objects.create(
        title="Members-only reading of RLHF", kind="talk", visibility="members"
    )
    client = _client(person)
    url = reverse("library:index")
    assert "Members-only reading of RLHF" not in client.get(url).content.decode()

    role_set(user=person, role=Role.MEMBER)

    assert "Members-only reading of RLHF" in client.get(url).content.decode()
