"""The organisers' inbox: each kind of item from its owner's selector (one row each, and
nothing when it is not due), the page (organisers only, oldest first, query count flat) and
its count in the navigation."""

import datetime
import zoneinfo

import pytest
from django.core.cache import cache
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from library.models import LibraryItem
from library.selectors import talks_missing_materials
from members.ledger.models import LedgerExemption
from members.ledger.selectors import flagged_at_season_end
from members.models import Application
from members.roles import Role
from members.selectors import applications_waiting
from sessions.models import (
    Participation,
    ReminderRule,
    Season,
    SessionStatus,
    TopicStatus,
    TopicTransition,
    WeeklySession,
)
from sessions.topics.selectors import (
    topics_promotion_due,
    topics_ready_unscheduled,
    topics_to_review,
)
from sessions.weekly.selectors import groups_below_minimum, sessions_without_meeting_link
from tests.factories import TopicFactory, TrackFactory, UserFactory
from topicshare.core.pagecache import bump_content_version
from topicshare.forum.inbox import COUNT_KEY, inbox_count_refresh, inbox_items
from topicshare.forum.models import AccountDeletion
from topicshare.notifications.models import NotificationKind

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
# A Wednesday; the Saturday 20:30 slot of this week is 2026-12-26.
NOW = datetime.datetime(2026, 12, 23, 10, 0, tzinfo=SHANGHAI)
pytestmark = pytest.mark.django_db


def _track():
    return TrackFactory(weekday=5, local_time=datetime.time(20, 30))


def _session(*, start, status=SessionStatus.SCHEDULED, **kwargs):
    topic = TopicFactory(status=TopicStatus.SCHEDULED, track=_track())
    return WeeklySession.objects.create(
        topic=topic, track=topic.track, start=start, status=status, **kwargs
    )


# --- Selectors: one row each, nothing when not due ------------------------------------------


def test_topics_to_review_lists_proposed_oldest_first():
    older, newer = TopicFactory(), TopicFactory()
    TopicFactory(status=TopicStatus.ACCEPTED)
    type(older).objects.filter(pk=older.pk).update(
        created_at=F("created_at") - datetime.timedelta(days=3)
    )

    assert list(topics_to_review()) == [older, newer]


def test_promotion_due_within_fourteen_days_only():
    track = _track()
    # Week of 2027-01-18: slot 2027-01-23 20:30, recruiting opens 2027-01-09 20:30 (in 17 days).
    later = TopicFactory(
        status=TopicStatus.ACCEPTED, track=track, preferred_week=datetime.date(2027, 1, 18)
    )
    # Week of 2027-01-11: slot 2027-01-16, opens 2027-01-02 (in 10 days).
    soon = TopicFactory(
        status=TopicStatus.ACCEPTED, track=track, preferred_week=datetime.date(2027, 1, 11)
    )
    TopicFactory(status=TopicStatus.ACCEPTED, track=track)  # no preferred week

    due = topics_promotion_due(now=NOW)

    assert due == [(soon, datetime.datetime(2027, 1, 2, 20, 30, tzinfo=SHANGHAI))]
    assert later not in [topic for topic, _opens in due]


def test_groups_below_minimum_at_t_minus_seven():
    track = _track()
    ReminderRule.objects.update_or_create(
        kind=NotificationKind.RECRUITMENT_CHECK,
        defaults={"offset": datetime.timedelta(days=-7), "stale_after": datetime.timedelta(days=1),
                  "minimum_group": 2},
    )  # fmt: skip
    small = TopicFactory(
        status=TopicStatus.RECRUITING, track=track, preferred_week=datetime.date(2026, 12, 21)
    )
    full = TopicFactory(
        status=TopicStatus.RECRUITING, track=track, preferred_week=datetime.date(2026, 12, 21)
    )
    for user in UserFactory.create_batch(2):
        Participation.objects.create(topic=full, user=user, role=Participation.Role.PARTICIPANT)
    # Two weeks away: not yet due.
    TopicFactory(
        status=TopicStatus.RECRUITING, track=track, preferred_week=datetime.date(2027, 1, 4)
    )

    assert groups_below_minimum(now=NOW) == [
        (small, datetime.datetime(2026, 12, 26, 20, 30, tzinfo=SHANGHAI))
    ]


def test_ready_topics_without_a_slot_longest_waiting_first():
    first, second = TopicFactory(status=TopicStatus.READY), TopicFactory(status=TopicStatus.READY)
    TopicTransition.objects.create(topic=second, from_status="preparing", to_status="ready")
    TopicTransition.objects.create(topic=first, from_status="preparing", to_status="ready")
    TopicTransition.objects.filter(topic=second).update(
        at=timezone.now() - datetime.timedelta(days=5)
    )
    TopicFactory(status=TopicStatus.SCHEDULED)

    assert list(topics_ready_unscheduled()) == [second, first]


def test_sessions_without_meeting_link_at_t_minus_one():
    due = _session(start=NOW + datetime.timedelta(hours=20))
    _session(
        start=NOW + datetime.timedelta(hours=20, minutes=5),
        meeting_url="https://meeting.tencent.com/dm/x",
    )
    _session(start=NOW + datetime.timedelta(days=3))  # not yet T-1
    _session(start=NOW + datetime.timedelta(hours=10), status=SessionStatus.CANCELLED)

    assert list(sessions_without_meeting_link(now=NOW)) == [due]


def test_talks_missing_materials_at_t_plus_two():
    presented = _session(start=NOW - datetime.timedelta(days=3), status=SessionStatus.DONE)
    recent = _session(start=NOW - datetime.timedelta(days=1), status=SessionStatus.DONE)
    complete = _session(start=NOW - datetime.timedelta(days=4), status=SessionStatus.DONE)
    missing = LibraryItem.objects.create(title="BERT", session=presented)
    LibraryItem.objects.create(title="Too early", session=recent)
    LibraryItem.objects.create(
        title="Done", session=complete, slides_url="https://example.org/s.pdf",
        recording_url="https://pan.baidu.com/s/1x",
    )  # fmt: skip

    assert list(talks_missing_materials(now=NOW)) == [missing]


def test_applications_waiting_for_a_review_talk_or_a_decision():
    submitted = Application.objects.create(
        applicant=UserFactory(),
        motivation="想学习",
        paper_title="BERT",
        paper_url="https://arxiv.org/abs/1810.04805",
    )
    talked = Application.objects.create(
        applicant=UserFactory(), motivation="想学习", paper_title="GPT", paper_url="https://arxiv.org/abs/2005.14165",
        status=Application.Status.REVIEW_SCHEDULED, review_at=NOW - datetime.timedelta(days=400),
    )  # fmt: skip
    Application.objects.create(
        applicant=UserFactory(), motivation="想学习", paper_title="T5", paper_url="https://arxiv.org/abs/1910.10683",
        status=Application.Status.REVIEW_SCHEDULED, review_at=NOW + datetime.timedelta(days=400),
    )  # fmt: skip

    assert applications_waiting(now=NOW) == [
        (talked, "decision", talked.review_at),
        (submitted, "review_talk", submitted.created_at),
    ]


def test_flagged_members_only_after_the_season_ended():
    season = Season.objects.create(
        label="Topic 6",
        order=6,
        start_date=datetime.date(2025, 8, 1),
        end_date=datetime.date(2025, 10, 31),
    )
    track = _track()
    WeeklySession.objects.create(
        topic=TopicFactory(track=track, season=season), track=track,
        start=datetime.datetime(2025, 8, 1, 20, 30, tzinfo=SHANGHAI), status=SessionStatus.DONE,
    )  # fmt: skip
    idle = UserFactory(role=Role.MEMBER)

    assert flagged_at_season_end(today=datetime.date(2025, 10, 30)) == (None, [])
    ended, rows = flagged_at_season_end(today=datetime.date(2025, 11, 1))
    assert (ended, [row.user for row in rows]) == (season, [idle])


# --- The page -------------------------------------------------------------------------------


def test_inbox_items_oldest_first_with_their_actions():
    now = timezone.now()
    topic = TopicFactory()
    session = _session(start=now + datetime.timedelta(hours=5))
    type(topic).objects.filter(pk=topic.pk).update(created_at=now - datetime.timedelta(days=10))

    items = inbox_items(now=now)

    assert [(item.kind, item.action_url) for item in items] == [
        ("review", reverse("topics:detail", args=[topic.pk]) + "#actions"),
        ("meeting_link", reverse("sessions:manage", args=[session.pk])),
    ]
    assert cache.get(COUNT_KEY) == 2


@pytest.mark.parametrize("role", [None, Role.AUDIENCE, Role.MEMBER, Role.COMMITTEE])
def test_inbox_is_for_organisers_only(client, role):
    if role is not None:
        client.force_login(UserFactory(role=role))

    response = client.get("/staff/inbox/")

    assert response.status_code == (302 if role is None else 403)


def test_inbox_page_lists_items_and_nav_shows_the_count(client, organiser):
    TopicFactory(title="Attention 注意力")
    TopicFactory(status=TopicStatus.READY, title="Ready one")
    client.force_login(organiser)

    page = client.get("/staff/inbox/").content.decode()
    home = client.get("/").content.decode()

    assert "Attention 注意力" in page and "Ready one" in page
    assert "data-inbox-count>2</span>" in home
    assert (
        reverse(
            "sessions:schedule", args=[TopicFactory._meta.model.objects.get(title="Ready one").pk]
        )
        in page
    )


def test_nav_count_is_hidden_from_others_and_never_computed_on_a_page(client, committee, organiser):
    TopicFactory()
    client.force_login(committee)
    assert 'data-nav="inbox"' not in client.get("/").content.decode()

    client.force_login(organiser)
    home = client.get("/").content.decode()  # nothing cached yet: the link without a count
    assert 'data-nav="inbox"' in home and "data-inbox-count" not in home
    assert inbox_count_refresh(now=timezone.now()) == 1
    assert "data-inbox-count>1</span>" in client.get("/").content.decode()


def _many_items(count: int) -> None:
    now = timezone.now()
    for n in range(count):
        TopicFactory()
        TopicFactory(status=TopicStatus.READY)
        TopicFactory(
            status=TopicStatus.ACCEPTED, preferred_week=(now + datetime.timedelta(days=20)).date()
        )
        _session(start=now + datetime.timedelta(hours=2 + n))
        done = _session(start=now - datetime.timedelta(days=3, hours=n), status=SessionStatus.DONE)
        LibraryItem.objects.create(title=f"Talk {n}", session=done)
        Application.objects.create(
            applicant=UserFactory(), motivation="想学习", paper_title=f"Paper {n}",
            paper_url="https://arxiv.org/abs/1810.04805",
        )  # fmt: skip


def _ended_season_with_flagged(count: int) -> None:
    """A season that ended yesterday, with `count` sessions held and `count` idle members
    (flagged), one exempt and one who presented."""
    today = timezone.localdate()
    season = Season.objects.create(
        label="Topic 5", order=5, start_date=today - datetime.timedelta(days=90),
        end_date=today - datetime.timedelta(days=1),
    )  # fmt: skip
    track = _track()
    for n in range(count):
        start = timezone.now() - datetime.timedelta(days=30 + n)
        WeeklySession.objects.create(
            topic=TopicFactory(track=track, season=season, status=TopicStatus.PRESENTED),
            track=track, start=start, status=SessionStatus.DONE,
        )  # fmt: skip
        UserFactory(role=Role.MEMBER)
    LedgerExemption.objects.create(user=UserFactory(role=Role.MEMBER), season=season, reason="出差")


@pytest.mark.parametrize("ended_season", [False, True])
@pytest.mark.parametrize("count", [1, 6])
def test_inbox_query_count_is_flat(
    client, organiser, django_assert_num_queries, count, ended_season
):
    _many_items(count)
    for _n in range(count):  # account deletions: one asked for, one done
        AccountDeletion.objects.create(user=UserFactory())
        AccountDeletion.objects.create(user=UserFactory(), done_at=timezone.now())
    if ended_season:
        _ended_season_with_flagged(count)
    client.force_login(organiser)
    client.get("/staff/inbox/")  # sessions, forum settings and the like are loaded
    # A change of public content (it grows the data version too): the page is rendered, not
    # served as stored for this person, and the forum's settings and the season review
    # policy, kept under those versions, come from the shared cache.
    bump_content_version()

    # user (the session is in the cache, the role comes with the user), the versions, then
    # the selectors: topics (to review, to promote, ready), small groups (with the
    # recruitment rule's minimum), meeting links, materials, applications, the last ended
    # season; when there is one, its activity and its people (with roles and exemptions);
    # account deletions.
    with django_assert_num_queries(11 if ended_season else 9):
        response = client.get("/staff/inbox/")

    assert response.status_code == 200
    assert response.content.decode().count('class="card inbox-item') == (
        9 * count if ended_season else 8 * count
    )
