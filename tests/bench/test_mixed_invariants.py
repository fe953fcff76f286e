"""The checks bench/mixed_load.py runs after its load (bench/mixed_invariants.py): each one
finds a violation seeded on purpose, and is quiet where everything holds."""

import datetime

import pytest
from django.utils import timezone

from bench import mixed_invariants as checks
from members.models import Application, Vote
from members.roles import Role
from sessions.models import Participation, TopicStatus
from sessions.topics.models import Task, TopicInterest, WaitlistEntry
from sessions.topics.services import group_join, topic_interest_set
from sessions.weekly.models import RSVP, WeeklySession
from tests.factories import TopicFactory, UserFactory

pytestmark = pytest.mark.django_db

NONE = {"notification": 0, "participation": 0}


def _participant(topic, user):
    return Participation.objects.create(topic=topic, user=user, role=Participation.Role.PARTICIPANT)


def test_a_full_group_holds_and_one_over_capacity_is_found():
    topic = TopicFactory(status=TopicStatus.RECRUITING, capacity=1)
    _participant(topic, UserFactory())
    assert checks.groups_within_capacity() == []
    _participant(topic, UserFactory())  # written around group_join's row lock
    assert checks.groups_within_capacity() == [f"topic {topic.pk}: 2 participants, capacity 1"]


def test_duplicates_are_found_where_no_constraint_keeps_them_out():
    topic = TopicFactory()
    Task.objects.create(topic=topic, title="Slides")
    assert checks._duplicates(Task, ["topic_id", "title"], "topic/title") == []
    Task.objects.create(topic=topic, title="Slides")
    assert checks._duplicates(Task, ["topic_id", "title"], "topic/title") == [
        f"topic/title {topic.pk} Slides: 2 rows"
    ]
    # The real tables have their unique constraints: nothing twice.
    assert checks.one_rsvp_per_person() == []
    assert checks.one_participation_per_person() == []
    assert checks.notices_queued_once() == []


def test_an_interest_counter_that_drifted_is_found():
    topic = TopicFactory(status=TopicStatus.ACCEPTED)
    topic_interest_set(topic=topic, user=UserFactory(), want=True)
    assert checks.one_interest_per_person() == []
    TopicInterest.objects.create(topic=topic, user=UserFactory())  # the counter not moved
    assert checks.one_interest_per_person() == [f"topic {topic.pk}: interest_count 1, 2 rows"]


def test_a_vote_on_ones_own_application_is_found():
    applicant = UserFactory(role=Role.COMMITTEE)
    application = Application.objects.create(
        applicant=applicant, motivation="m", paper_title="BERT",
        paper_url="https://arxiv.org/abs/1810.04805",
    )  # fmt: skip
    Vote.objects.create(application=application, voter=UserFactory(role=Role.COMMITTEE))
    assert checks.one_vote_per_person() == []
    own = Vote.objects.create(application=application, voter=applicant)
    assert checks.one_vote_per_person() == [f"vote {own.pk}: on the voter's own application"]


def test_a_join_without_its_notice_and_a_count_that_differs_are_found():
    topic = TopicFactory(status=TopicStatus.RECRUITING, capacity=3)
    group_join(topic=topic, user=UserFactory(role=Role.MEMBER))  # notifies the proposer
    assert checks.join_notices(since_participation=0, since_notification=0, joins_ok=1) == []
    silent = _participant(topic, UserFactory())
    assert checks.join_notices(since_participation=0, since_notification=0, joins_ok=1) == [
        f"participation {silent.pk}: neither group_joined nor waitlist_promoted"
    ]
    assert checks.join_notices(since_participation=silent.pk, since_notification=0, joins_ok=2) == [
        "2 joins were confirmed to members, 1 group_joined notices"
    ]


def test_a_task_held_outside_the_group_and_a_member_on_the_waitlist_are_found():
    topic = TopicFactory(status=TopicStatus.RECRUITING, capacity=2)
    inside, outside = UserFactory(), UserFactory()
    _participant(topic, inside)
    Task.objects.create(topic=topic, title="Code", assignee=inside)
    assert checks.tasks_held_by_the_group() == []
    stray = Task.objects.create(topic=topic, title="Survey", assignee=outside)
    assert checks.tasks_held_by_the_group() == [
        f"task {stray.pk} of topic {topic.pk}: assigned to user {outside.pk}, not in the group"
    ]
    WaitlistEntry.objects.create(topic=topic, user=outside)
    assert checks.nobody_waits_for_their_own_group() == []
    WaitlistEntry.objects.create(topic=topic, user=inside)
    assert checks.nobody_waits_for_their_own_group() == [
        f"topic {topic.pk}: user {inside.pk} is in the group and on its waitlist"
    ]


def test_what_members_were_told_is_compared_with_the_database():
    topic = TopicFactory(status=TopicStatus.SCHEDULED)
    session = WeeklySession.objects.create(
        topic=topic, track=topic.track, start=timezone.now() + datetime.timedelta(days=3)
    )
    going, gone = UserFactory(), UserFactory()
    RSVP.objects.create(session=session, user=going)
    told = {f"{going.email} {session.pk}": 1, f"{gone.email} {session.pk}": 0}
    assert checks.rsvps_as_told(told) == []
    told[f"{gone.email} {session.pk}"] = 1  # told "see you there", no RSVP kept
    assert checks.rsvps_as_told(told) == [
        f"{gone.email} {session.pk}: told +1 in all, RSVP missing"
    ]

    group = TopicFactory(status=TopicStatus.RECRUITING, capacity=3)
    _participant(group, going)
    net = {f"{going.email} {group.pk}": 1, f"{gone.email} {group.pk}": 1}
    assert checks.groups_as_told(net, [f"{gone.email} {group.pk}"], since_notification=0) == []
    assert checks.groups_as_told(net, [], since_notification=0) == [
        f"user {gone.pk}, topic {group.pk}: joins − leaves + moved in = 1, not in the group"
    ]

    wanted = TopicFactory(status=TopicStatus.ACCEPTED)
    topic_interest_set(topic=wanted, user=going, want=True)
    last = {f"{going.email} {wanted.pk}": True, f"{gone.email} {wanted.pk}": True}
    assert checks.interest_as_told(last, shared={gone.email}) == []
    assert checks.interest_as_told(last, shared=set()) == [
        f"{gone.email} {wanted.pk}: last told want, row False"
    ]

    application = Application.objects.create(
        applicant=UserFactory(), motivation="m", paper_title="BERT",
        paper_url="https://arxiv.org/abs/1810.04805",
    )  # fmt: skip
    Vote.objects.create(application=application, voter=going)
    assert checks.votes_as_told([f"{going.email} {application.pk}"]) == []
    assert checks.votes_as_told([f"{gone.email} {application.pk}"]) == [
        f"{gone.email} {application.pk}: told recorded, no vote"
    ]


def test_every_check_runs_on_a_report():
    report = {"joins_ok": 0, "rsvp_net": {}, "group_net": {}, "group_unknown": [],
              "interest_last": {}, "votes_told": []}  # fmt: skip
    results = checks.run_checks(report, NONE, shared=set())
    assert len(results) == len(checks.all_checks(report, NONE, set()))
    assert all(violations == [] for _label, violations in results)
