"""Following tracks and tags: a week's news in one digest on Monday morning, sent once when the
sweep runs twice; news at once for those who want it; the follow page."""

import datetime
import zoneinfo

import pytest
from django.urls import reverse

from library.models import LibraryItem, Tag
from members.models import User
from members.roles import Role
from sessions.models import SessionChange, Topic, WeeklySession
from tests.factories import TopicFactory, TrackFactory, UserFactory
from topicshare.forum.digest import digest_sweep, weekly_digest
from topicshare.notifications.models import Notification

pytestmark = pytest.mark.django_db
SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
MONDAY = datetime.date(2027, 3, 8)
LAST_WEEK = datetime.datetime(2027, 3, 3, 12, 0, tzinfo=SHANGHAI)


def _at(obj, moment, field="created_at"):
    type(obj).objects.filter(pk=obj.pk).update(**{field: moment})


@pytest.fixture
def week():
    nlp, cv = TrackFactory(slug="nlp"), TrackFactory(slug="cv")
    distill = Tag.objects.create(name="蒸馏")
    topic = TopicFactory(track=nlp, title="知识蒸馏综述")
    _at(topic, LAST_WEEK)
    other = TopicFactory(track=cv, title="YOLO 系列")
    _at(other, LAST_WEEK)
    old = TopicFactory(track=nlp, title="两周前的提案")
    _at(old, LAST_WEEK - datetime.timedelta(days=9))
    session = WeeklySession.objects.create(
        topic=TopicFactory(track=nlp, title="BERT 精读"), track=nlp,
        start=LAST_WEEK + datetime.timedelta(days=10),
    )  # fmt: skip
    change = SessionChange.objects.create(session=session, kind=SessionChange.Kind.SCHEDULED)
    _at(change, LAST_WEEK, "at")
    item = LibraryItem.objects.create(title="TinyBERT 分享", domain=cv)
    item.tags.add(distill)
    _at(item, LAST_WEEK)
    _at(session.topic, LAST_WEEK - datetime.timedelta(days=30))
    return nlp, cv, distill


def _follower(tracks=(), tags=(), delivery="weekly", language="en"):
    person = UserFactory(role=Role.AUDIENCE, preferred_language=language)
    person.tracks_of_interest.set(tracks)
    person.followed_tags.set(tags)
    person.news_delivery = delivery
    person.followed_since = LAST_WEEK - datetime.timedelta(days=30)
    person.save()
    return person


def test_the_digest_groups_the_week_of_what_i_follow_and_goes_once(week):
    nlp, cv, distill = week
    reader = _follower(tracks=[nlp], tags=[distill])
    _follower(tracks=[TrackFactory(slug="recsys")])  # nothing happened there: no e-mail
    off = _follower(tracks=[nlp], delivery="off")

    nine = datetime.datetime.combine(MONDAY, datetime.time(9, 0), tzinfo=SHANGHAI)
    assert digest_sweep(now=nine - datetime.timedelta(hours=1)) == 0  # before nine
    assert digest_sweep(now=nine) == 1
    assert digest_sweep(now=nine + datetime.timedelta(minutes=1)) == 0  # the sweep again
    assert weekly_digest(monday=MONDAY, now=nine) == 0

    digest = Notification.objects.get(kind="weekly_digest")
    assert digest.recipient == reader and off.pk != digest.recipient_id
    text = digest.body_text
    assert "知识蒸馏综述" in text and "BERT 精读" in text and "TinyBERT 分享" in text
    assert "YOLO 系列" not in text and "两周前的提案" not in text
    assert digest.title == "Your week at the forum: 3 new"
    assert "/me/follow/" in text


def test_news_at_once_for_those_who_want_it_and_only_once(week):
    nlp, _cv, _distill = week
    eager = _follower(tracks=[nlp], delivery="instant")
    fresh = TopicFactory(track=nlp, title="刚提出的 Topic")
    # Followed before it was proposed (what happened before one followed is not news).
    User.objects.filter(pk=eager.pk).update(
        followed_since=fresh.created_at - datetime.timedelta(hours=1)
    )
    now = fresh.created_at + datetime.timedelta(minutes=1)

    queued = digest_sweep(now=now)
    again = digest_sweep(now=now + datetime.timedelta(minutes=1))

    assert queued == 1 and again == 0
    news = Notification.objects.get(kind="followed_news")
    assert news.recipient == eager and "刚提出的 Topic" in news.body_text
    assert news.title == "New topic: 刚提出的 Topic"


def test_the_follow_page_saves_tracks_tags_and_delivery(client, week):
    nlp, cv, distill = week
    person = UserFactory(role=Role.AUDIENCE)
    client.force_login(person)

    page = client.get(reverse("follow"))
    assert page.status_code == 200
    response = client.post(
        reverse("follow"), {"tracks": [cv.pk], "tags": [distill.pk], "delivery": "instant"}
    )
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.news_delivery == "instant" and person.followed_since is not None
    assert list(person.followed_tags.all()) == [distill]
    assert list(person.tracks_of_interest.all()) == [cv]
    bad = client.post(reverse("follow"), {"delivery": "hourly"})
    person.refresh_from_db()
    assert bad.status_code == 200 and person.news_delivery == "instant"
    assert Topic.objects.exists()


def test_the_follow_page_has_no_empty_tag_picker(client):
    client.force_login(UserFactory(role=Role.AUDIENCE))
    html = client.get(reverse("follow")).content.decode()
    assert 'name="tags"' not in html and 'name="delivery"' in html
    Tag.objects.create(name="蒸馏")
    assert 'name="tags"' in client.get(reverse("follow")).content.decode()
