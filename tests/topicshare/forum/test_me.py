"""/me/: each section with rows and empty, the home page's link, a flat query count."""

import pytest
from django.urls import reverse
from django.utils import timezone

from members.models import Application
from members.roles import Role
from sessions.models import (
    RSVP,
    Attendance,
    Participation,
    Season,
    SessionStatus,
    Task,
    TopicStatus,
    WeeklySession,
)
from sessions.weekly.scheduling import free_slots, session_schedule
from tests.factories import TopicFactory, TrackFactory, UserFactory
from topicshare.core.pagecache import bump_data_version

pytestmark = pytest.mark.django_db
S = TopicStatus


def _session(track, organiser, index, **meeting):
    topic = TopicFactory(track=track, status=S.READY, proposer=UserFactory(role=Role.MEMBER))
    start = free_slots(track=track, now=timezone.now())[index]
    return session_schedule(topic=topic, start=start, by=organiser, **meeting)


def _world(user, rows: int):
    """`rows` of each: sessions RSVP'd to, groups with a task of mine, proposals."""
    track, organiser = TrackFactory(), UserFactory(role=Role.ORGANISER)
    for index in range(rows):
        session = _session(track, organiser, index, meeting_url=f"https://meet.example.org/{index}")
        RSVP.objects.create(session=session, user=user)
        group = TopicFactory(status=S.PREPARING)
        Participation.objects.create(topic=group, user=user, role=Participation.Role.PARTICIPANT)
        Task.objects.create(topic=group, title=f"复现 {index}", assignee=user)
        Task.objects.create(topic=group, title=f"调研 {index}")
        TopicFactory(proposer=user, status=S.PROPOSED, title=f"我的提案 {index}")


def test_me_needs_a_login(client):
    response = client.get(reverse("me"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_me_empty_says_what_to_do_next(client):
    user = UserFactory(role=Role.AUDIENCE)
    client.force_login(user)
    page = client.get(reverse("me"), headers={"accept-language": "en"}).content.decode()
    for section in ("sessions", "groups", "proposals", "application"):
        assert f'data-empty="{section}"' in page
    assert reverse("topics:sheet") in page and reverse("join-apply") in page
    assert 'href="webcal://' in page and "/sessions/calendar/me/" in page


def test_me_shows_my_sessions_with_the_meeting_groups_tasks_and_proposals(client):
    user = UserFactory(role=Role.AUDIENCE)
    _world(user, 1)
    mine = TopicFactory(proposer=user, status=S.ACCEPTED, preferred_week=None)
    client.force_login(user)
    response = client.get(reverse("me"), headers={"accept-language": "en"})
    page = response.content.decode()
    assert 'data-role="meeting-link">https://meet.example.org/0<' in page
    assert 'data-why="rsvped"' in page
    [group] = response.context["groups"]
    assert [task.title for task in group.my_tasks] == ["复现 0"] and group.unclaimed == 1
    assert 'data-action="finish"' in page
    next_steps = {p.topic.pk: str(p.next_step) for p in response.context["proposals"]}
    assert next_steps[mine.pk].startswith("Pick a preferred week")
    assert "data-empty" not in page.split('data-section="application"')[0]


def test_me_shows_the_application_and_its_stage(client):
    user = UserFactory(role=Role.AUDIENCE)
    Application.objects.create(
        applicant=user, motivation="想学习", paper_title="BERT", paper_url="https://arxiv.org/abs/1",
        status=Application.Status.REVIEW_SCHEDULED, review_at=timezone.now(),
    )  # fmt: skip
    client.force_login(user)
    page = client.get(reverse("me"), headers={"accept-language": "en"}).content.decode()
    assert 'data-role="application-status">Review talk scheduled<' in page
    assert "Present your paper at the review talk" in page


def test_a_member_needs_no_application(client):
    client.force_login(UserFactory(role=Role.MEMBER))
    page = client.get(reverse("me"), headers={"accept-language": "en"}).content.decode()
    assert "You are in the study group" in page
    assert reverse("join-apply") not in page


def test_home_and_nav_link_to_me_for_the_signed_in(client):
    assert reverse("me") not in client.get(reverse("home")).content.decode()
    client.force_login(UserFactory())
    page = client.get(reverse("home")).content.decode()
    assert 'data-action="me"' in page and 'data-nav="me"' in page


@pytest.mark.parametrize("rows", [1, 6])
@pytest.mark.parametrize("role", [Role.AUDIENCE, Role.MEMBER])
def test_me_query_count_is_flat(client, django_assert_num_queries, rows, role):
    """Also for a member, whose page shows the season's standing: read for them alone, not
    by working out the whole ledger."""
    user = UserFactory(role=role)
    _world(user, rows)
    season = Season.objects.create(label="Topic 8", order=8, is_current=True)
    for index in range(rows):  # other members with their attendance: not read
        other = UserFactory(role=Role.MEMBER)
        session = _session(TrackFactory(), UserFactory(role=Role.ORGANISER), index)
        session.topic.season = season
        session.topic.save()
        WeeklySession.objects.filter(pk=session.pk).update(status=SessionStatus.DONE)
        Attendance.objects.create(session=session, user=other, how=Attendance.How.SELF)
    client.force_login(user)
    client.get(reverse("me"))  # makes the calendar token
    bump_data_version()  # so that the page is rendered, not served as stored for this person
    with django_assert_num_queries(QUERIES[role]):
        response = client.get(reverse("me"))
    assert len(response.context["sessions"]) == rows
    assert len(response.context["groups"]) == rows
    assert len(response.context["proposals"]) == rows
    standing = response.context["standing"]
    if role == Role.MEMBER:
        assert (standing.sessions_held, standing.row.attended) == (rows, 0)
    else:
        assert standing is None


# A member: also the study group card (1) and the standing: the season, their counts, their
# exemption and admission (3).
QUERIES = {Role.AUDIENCE: 9, Role.MEMBER: 13}


def test_me_shows_a_members_standing_and_what_keeps_them_above(client):
    """The season's figures on /me/ itself, with the threshold and what to do: below it, a
    member sees how many of the remaining sessions to attend and where to ask for an
    exemption."""
    track, organiser = TrackFactory(), UserFactory(role=Role.ORGANISER)
    season = Season.objects.create(label="Topic 8", order=8, is_current=True)
    held = _session(track, organiser, 0)
    ahead = [_session(track, organiser, index) for index in (1, 2, 3)]
    for session in [held, *ahead]:
        session.topic.season = season
        session.topic.save()
    WeeklySession.objects.filter(pk=held.pk).update(status=SessionStatus.DONE)
    me = UserFactory(role=Role.MEMBER)
    client.force_login(me)
    page = client.get(reverse("me"), headers={"accept-language": "en"}).content.decode()
    card = page.split('data-section="standing"')[1].split("</section>")[0]
    assert 'data-status="flagged"' in page and "Topic 8" in card
    assert "0 of 1 held" in card and 'data-figure="ahead">3<' in card
    # 40 % of 4 sessions: 2 to attend, of the 3 ahead.
    assert "Attend 2 of the remaining 3 sessions" in card
    assert 'href="/me/standing/"' in card and "Ask for an exemption" in card

    Attendance.objects.create(session=held, user=me, how=Attendance.How.SELF)
    bump_data_version()
    page = client.get(reverse("me"), headers={"accept-language": "zh-hans"}).content.decode()
    card = page.split('data-section="standing"')[1].split("</section>")[0]
    assert 'data-status="active"' in page
    assert "已举行 1 场，出席 1 场" in card
    assert "在剩下的 3 场里出席 1 场，就能保持达标。" in card
