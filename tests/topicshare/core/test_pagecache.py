"""The anonymous page cache: hits, invalidation on change, never for signed-in people or
pages with a message, a fresh CSRF token per visitor, one entry per language, and entries
only for what the view reads (junk in the query string or the path adds none). Only what
public pages show invalidates (not a login, a language change or an RSVP), once per
transaction, after it commits, and outside the caller's transaction."""

import re
import secrets

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from members.roles import Role
from members.services import profile_update
from sessions.models import TopicStatus
from sessions.topics.slots import track_slots
from sessions.weekly.scheduling import session_schedule
from tests.factories import TopicFactory, TrackFactory, UserFactory
from tests.html_forms import html_forms
from topicshare.core.models import ContentVersion
from topicshare.core.pagecache import content_version, forget_content_version
from topicshare.forum.models import ForumSettings

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _page_cache_on(settings):
    settings.TOPICSHARE_PAGE_CACHE_SECONDS = 60
    ForumSettings.load()  # made on the first page view otherwise (a change: a new version)


def test_second_anonymous_visit_is_a_hit_and_a_change_invalidates_it(client):
    topic = TopicFactory(title="Attention is all you need")
    url = reverse("topics:sheet")
    first = client.get(url)
    second = client.get(url)

    assert "X-Page-Cache" not in first
    assert second["X-Page-Cache"] == "hit"
    csrf = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')
    assert csrf.sub(b"", second.content) == csrf.sub(b"", first.content)

    before = content_version()
    topic.title = "BERT 精读"
    topic.save()  # an organiser's edit, a proposal, an import: any save of a shown model
    assert content_version() > before
    fresh = client.get(url)
    assert "X-Page-Cache" not in fresh
    assert "BERT 精读" in fresh.content.decode()


def test_signed_in_people_are_never_served_from_the_cache(client):
    url = reverse("home")
    client.get(url)
    client.get(url)
    client.force_login(UserFactory(role=Role.MEMBER, display_name="王小明"))

    response = client.get(url)

    assert "X-Page-Cache" not in response
    assert "王小明" in response.content.decode()
    # …and what they saw is not kept for anonymous visitors.
    client.logout()
    assert "王小明" not in Client().get(url).content.decode()


def test_each_visitor_gets_their_own_csrf_token_from_a_cached_page():
    url = reverse("home")
    Client().get(url)  # fills the cache
    visitor = Client(enforce_csrf_checks=True)

    page = visitor.get(url)
    assert page["X-Page-Cache"] == "hit"
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]
    switched = visitor.post(
        reverse("set_language"), {"language": "en", "next": "/", "csrfmiddlewaretoken": token}
    )

    assert switched.status_code == 302
    english = visitor.get(url)
    assert english.content.decode().count('lang="en"') == 1
    assert "X-Page-Cache" not in english  # cached per language: English was not cached yet


def test_a_page_with_a_message_is_neither_served_from_nor_stored_in_the_cache(client):
    url = reverse("home")
    client.get(url)
    member = UserFactory(role=Role.MEMBER)
    client.force_login(member)
    client.post(reverse("account_logout"))  # leaves "You have signed out." for the next page

    response = client.get(url)

    assert "X-Page-Cache" not in response
    assert 'class="messages"' in response.content.decode()
    message_free = client.get(url)
    assert 'class="messages"' not in message_free.content.decode()
    # The first, message-free page: the one with the message did not take its place.
    assert message_free["X-Page-Cache"] == "hit"
    assert client.get(url)["X-Page-Cache"] == "hit"


def test_turned_off_with_zero_seconds(client, settings):
    settings.TOPICSHARE_PAGE_CACHE_SECONDS = 0
    url = reverse("sessions:upcoming")
    client.get(url)
    assert "X-Page-Cache" not in client.get(url)


def test_a_change_made_by_another_process_is_seen_within_a_second(monkeypatch):
    from types import SimpleNamespace

    from topicshare.core import pagecache
    from topicshare.core.models import ContentVersion

    clock = SimpleNamespace(monotonic=lambda: 1000.0)
    monkeypatch.setattr(pagecache, "time", clock)
    ContentVersion.objects.get_or_create(pk=1)
    before = content_version()  # read from the database, then kept for a second
    ContentVersion.objects.filter(pk=1).update(value=before + 7)  # another process's bump

    assert content_version() == before  # no query within the second: hits need no database
    clock.monotonic = lambda: 1000.0 + pagecache.VERSION_READ_SECONDS
    assert content_version() == before + 7


def _page_entries() -> list[str]:
    return [key for key in cache._cache if ":page:" in key]  # the suite's locmem cache


def test_a_thousand_junk_query_strings_add_at_most_one_entry(client):
    TopicFactory(title="Attention is all you need")
    url = reverse("topics:sheet")
    junk = [f"{secrets.token_hex(4)}={secrets.token_hex(8)}" for _ in range(999)]

    responses = [client.get(f"{url}?x={secrets.token_hex(8)}")]
    responses += [client.get(f"{url}?{query}") for query in junk]

    assert [r.status_code for r in responses] == [200] * 1000
    assert len(_page_entries()) == 1
    assert all(r["X-Page-Cache"] == "hit" for r in responses[1:])
    # The junk did not reach the page that was stored (the language switch's "next" field).
    assert 'name="next" value="/topics/"' in responses[0].content.decode()
    assert "Attention is all you need" in responses[-1].content.decode()


def test_a_real_filter_parameter_gets_its_own_entry_and_the_right_content(client):
    TopicFactory(title="BERT 精读", track=TrackFactory(slug="nlp"))
    TopicFactory(title="ResNet revisited", track=TrackFactory(slug="cv"))
    url = reverse("topics:sheet")

    everything = client.get(url).content.decode()
    nlp = client.get(f"{url}?track=nlp").content.decode()
    nlp_again = client.get(f"{url}?utm_source=feed&track=nlp")
    cv = client.get(f"{url}?track=cv").content.decode()

    assert "BERT 精读" in everything and "ResNet revisited" in everything
    assert "BERT 精读" in nlp and "ResNet revisited" not in nlp
    assert "ResNet revisited" in cv and "BERT 精读" not in cv
    assert nlp_again["X-Page-Cache"] == "hit"
    assert "BERT 精读" in nlp_again.content.decode()
    assert "utm_source" not in nlp_again.content.decode()
    assert len(_page_entries()) == 3


def test_the_order_of_parameters_and_values_makes_no_new_entry(client):
    url = reverse("topics:sheet")
    client.get(f"{url}?status=proposed&status=scheduled&o=title")

    again = client.get(f"{url}?o=title&status=scheduled&status=proposed")

    assert again["X-Page-Cache"] == "hit"
    assert len(_page_entries()) == 1


def test_over_long_values_and_non_canonical_paths_are_served_but_not_stored(client):
    topic = TopicFactory(title="Attention is all you need")
    long_search = client.get(reverse("topics:sheet") + "?q=" + "a" * 300)
    padded = client.get(f"/topics/{topic.pk:08d}/")  # the same page as /topics/<pk>/

    assert long_search.status_code == 200
    assert padded.status_code == 200
    assert "Attention is all you need" in padded.content.decode()
    assert _page_entries() == []
    assert "X-Page-Cache" not in client.get(f"/topics/{topic.pk:08d}/")


def _stored_version() -> int:
    """The version in the database (content_version() keeps what it read for a second)."""
    return ContentVersion.objects.filter(pk=1).values_list("value", flat=True).first() or 0


def _cached_anonymously(url: str) -> Client:
    visitor = Client()
    visitor.get(url)
    assert visitor.get(url)["X-Page-Cache"] == "hit"
    return visitor


def test_a_login_and_a_language_change_do_not_invalidate(client):
    user = UserFactory(role=Role.MEMBER, display_name="王小明")
    url = reverse("topics:sheet")
    visitor = _cached_anonymously(url)
    before = _stored_version()

    client.force_login(user)  # Django's login saves last_login
    profile_update(user=user, language="en")

    user.refresh_from_db()
    assert user.last_login is not None and user.preferred_language == "en"
    assert _stored_version() == before
    assert visitor.get(url)["X-Page-Cache"] == "hit"


def test_a_public_name_change_invalidates(client):
    TopicFactory(title="Attention is all you need", proposer=UserFactory(display_name="王小明"))
    url = reverse("topics:sheet")
    visitor = _cached_anonymously(url)
    proposer = UserFactory._meta.model.objects.get(display_name="王小明")
    before = _stored_version()
    proposer.set_password("a new passphrase")
    proposer.save()  # a full save that changes nothing shown
    assert _stored_version() == before
    assert visitor.get(url)["X-Page-Cache"] == "hit"

    proposer.display_name = "李雷"
    proposer.save()

    fresh = visitor.get(url)
    assert "X-Page-Cache" not in fresh
    assert "李雷" in fresh.content.decode()


def test_an_rsvp_does_not_invalidate(client, organiser):
    now = timezone.now()
    topic = TopicFactory(status=TopicStatus.READY)
    session = session_schedule(
        topic=topic, start=track_slots(track=topic.track, after=now)[0], by=organiser, now=now
    )
    url = reverse("sessions:upcoming")
    visitor = _cached_anonymously(url)
    before = _stored_version()
    client.force_login(UserFactory(role=Role.AUDIENCE))

    response = client.post(reverse("sessions:rsvp", args=[session.pk]), {"going": "1"})

    assert response.status_code == 302
    assert session.rsvps.count() == 1
    assert _stored_version() == before
    assert visitor.get(url)["X-Page-Cache"] == "hit"  # the count catches up within the lifetime


@pytest.mark.django_db(transaction=True)  # the edit's transaction commits, as in production
def test_a_topic_edit_through_its_page_invalidates(client):
    proposer = UserFactory(role=Role.MEMBER)
    topic = TopicFactory(title="Attention is all you need", proposer=proposer)
    url = reverse("topics:detail", args=[topic.pk])
    visitor = _cached_anonymously(url)
    client.force_login(proposer)
    edit = reverse("topics:edit", args=[topic.pk])
    (form,) = [f for f in html_forms(client.get(edit).content) if "title" in f.data()]
    data = form.data()
    data["title"] = ["BERT 精读"]

    response = client.post(edit, data)

    assert response.status_code == 302
    fresh = visitor.get(url)
    assert "X-Page-Cache" not in fresh
    assert "BERT 精读" in fresh.content.decode()


@pytest.mark.django_db(transaction=True)
def test_adding_a_co_presenter_invalidates():
    topic = TopicFactory(title="Attention is all you need")
    presenter = UserFactory(display_name="韩梅梅")
    url = reverse("topics:detail", args=[topic.pk])
    visitor = _cached_anonymously(url)
    before = _stored_version()

    topic.co_presenters.add(presenter)  # in a transaction of its own: bumps on its commit

    assert _stored_version() == before + 1
    fresh = visitor.get(url)
    assert "X-Page-Cache" not in fresh
    assert "韩梅梅" in fresh.content.decode()


@pytest.mark.django_db(transaction=True)
def test_three_saves_in_one_transaction_bump_once_after_it_commits():
    topic = TopicFactory()
    track = topic.track
    before = _stored_version()

    with transaction.atomic():
        topic.title = "BERT 精读"
        topic.save()
        track.name_en = "NLP"
        track.save()
        TopicFactory(track=track)
        assert _stored_version() == before  # nothing before the commit
    assert _stored_version() == before + 1


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_does_not_bump_and_the_next_one_does():
    topic = TopicFactory()
    before = _stored_version()

    with pytest.raises(RuntimeError), transaction.atomic():
        topic.title = "never committed"
        topic.save()
        raise RuntimeError
    assert _stored_version() == before

    with transaction.atomic():  # the rolled back one left no "already scheduled" behind
        topic.title = "BERT 精读"
        topic.save()
    assert _stored_version() == before + 1


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_savepoint_leaves_the_rest_of_the_transaction_bumping():
    topic = TopicFactory()
    before = _stored_version()

    with transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            topic.title = "never committed"
            topic.save()  # schedules the bump inside the savepoint…
            raise RuntimeError  # …which takes it away again
        topic.title = "BERT 精读"
        topic.save()  # so this change schedules it anew
    assert _stored_version() == before + 1


@pytest.mark.django_db(transaction=True)
def test_a_save_inside_a_transaction_does_not_touch_the_version_row():
    topic = TopicFactory()
    ContentVersion.objects.get_or_create(pk=1)
    before = _stored_version()

    with transaction.atomic(), CaptureQueriesContext(connection) as inside:
        topic.title = "BERT 精读"
        topic.save()
    assert _stored_version() == before + 1

    statements = [query["sql"] for query in inside.captured_queries]
    assert len(statements) == 1, statements  # the topic's UPDATE only
    assert not any(ContentVersion._meta.db_table in sql for sql in statements)


@pytest.mark.django_db(transaction=True)
def test_the_first_bump_on_an_empty_database_changes_the_version():
    track = TrackFactory()
    ContentVersion.objects.all().delete()
    forget_content_version()
    before = content_version()

    track.name_en = "NLP"
    track.save()  # the first change ever: makes the row, and counts

    assert content_version() > before


def _data_version() -> int:
    return ContentVersion.objects.filter(pk=1).values_list("data_value", flat=True).first() or 0


def test_any_change_grows_the_data_version_what_no_page_shows_does_not():
    from sessions.models import RSVP
    from topicshare.core.models import Heartbeat

    member = UserFactory(role=Role.MEMBER)
    topic = TopicFactory(status=TopicStatus.READY)
    start = track_slots(track=topic.track, after=timezone.now())[0]
    session = session_schedule(
        topic=topic, start=start, by=UserFactory(role=Role.ORGANISER), now=timezone.now()
    )
    content, data = _stored_version(), _data_version()

    RSVP.objects.create(session=session, user=member)  # no public page shows an RSVP

    assert _stored_version() == content
    assert _data_version() > data
    data = _data_version()
    Heartbeat.objects.update_or_create(component="worker", defaults={"seen_at": timezone.now()})
    assert _data_version() == data  # a quiet model
    TopicFactory()  # public: both grow
    assert _stored_version() > content and _data_version() > data


@pytest.mark.parametrize(
    ("method", "status", "signed_in", "grows"),
    [
        ("post", 302, True, True),
        ("delete", 200, True, True),
        ("get", 200, True, False),
        ("post", 400, True, False),
        ("post", 302, False, False),
    ],
)
def test_a_signed_in_write_that_bypasses_signals_still_grows_the_data_version(
    rf, method, status, signed_in, grows
):
    """DataVersionMiddleware: a view may write with queryset.update(), which no signal sees."""
    from django.contrib.auth.models import AnonymousUser
    from django.http import HttpResponse

    from topicshare.core.pagecache import DataVersionMiddleware

    request = getattr(rf, method)("/anything/")
    request.user = UserFactory(role=Role.MEMBER) if signed_in else AnonymousUser()
    data = _data_version()

    DataVersionMiddleware(lambda request: HttpResponse(status=status))(request)

    assert (_data_version() > data) is grows
