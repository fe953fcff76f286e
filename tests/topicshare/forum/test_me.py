"""/me/: each section with rows and empty, the home page's link, a flat query count."""

import pytest
from django.urls import reverse
from django.utils import timezone

from members.models import Application
from members.roles import Role
from sessions.models import RSVP, Participation, Task, TopicStatus
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
def test_me_query_count_is_flat(client, django_assert_num_queries, rows):
    user = UserFactory(role=Role.AUDIENCE)
    _world(user, rows)
    client.force_login(user)
    client.get(reverse("me"))  # makes the calendar token
    bump_data_version()  # so that the page is rendered, not served as stored for this person
    with django_assert_num_queries(QUERIES):
        response = client.get(reverse("me"))
    assert len(response.context["sessions"]) == rows
    assert len(response.context["groups"]) == rows
    assert len(response.context["proposals"]) == rows


QUERIES = 9
