import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from members.roles import Role
from sessions.models import CHECKLIST, Participation, Task, TopicStatus, TopicTransition
from sessions.topics.services import (
    TopicError,
    group_join,
    group_leave,
    task_create,
    task_update,
    topic_propose,
    topic_transition,
    topic_update,
)
from tests.factories import TopicFactory, TrackFactory, UserFactory

S = TopicStatus
pytestmark = pytest.mark.django_db


def _tick_all(topic):
    for field, _label in CHECKLIST:
        setattr(topic, field, True)
    topic.save()


def test_propose_creates_row_group_and_first_transition(audience):
    track = TrackFactory(slug="nlp")

    topic = topic_propose(
        proposer=audience,
        track=track,
        title="  BERT   预训练 ",
        paper_links=["https://arxiv.org/abs/1810.04805", "https://arxiv.org/abs/1810.04805"],
    )

    assert topic.title == "BERT 预训练"
    assert topic.status == S.PROPOSED
    assert topic.paper_links == ["https://arxiv.org/abs/1810.04805"]
    assert list(topic.participations.values_list("user", "role")) == [
        (audience.pk, Participation.Role.PROPOSER)
    ]
    assert list(topic.transitions.values_list("from_status", "to_status", "by")) == [
        ("", S.PROPOSED, audience.pk)
    ]


@pytest.mark.parametrize(
    ("title", "links"),
    [
        ("   ", ["https://a.org/x"]),
        ("x" * 201, ["https://a.org/x"]),
        ("ok", ["javascript:alert(1)"]),
        ("ok", ["ftp://a.org/paper.pdf"]),
    ],
    ids=["blank-title", "long-title", "javascript-link", "ftp-link"],
)
def test_propose_refuses_bad_input(audience, title, links):
    with pytest.raises(ValidationError):
        topic_propose(proposer=audience, track=TrackFactory(), title=title, paper_links=links)


# (from, to, who may, who may not)
CASES = [
    (S.PROPOSED, S.ACCEPTED, "organiser", ["proposer", "member", "committee"]),
    (S.PROPOSED, S.REJECTED, "organiser", ["proposer", "member"]),
    (S.PROPOSED, S.WITHDRAWN, "proposer", ["organiser", "member"]),
    (S.ACCEPTED, S.RECRUITING, "organiser", ["proposer", "committee"]),
    (S.RECRUITING, S.PREPARING, "organiser", ["proposer", "member"]),
    (S.PREPARING, S.READY, "proposer", ["organiser", "member"]),
    (S.SCHEDULED, S.PRESENTED, "organiser", ["proposer"]),
    (S.ACCEPTED, S.CANCELLED, "proposer", ["member", "committee"]),
    (S.SCHEDULED, S.CANCELLED, "organiser", ["member"]),
]


def _people():
    return {
        "proposer": UserFactory(role=Role.AUDIENCE),
        "member": UserFactory(role=Role.MEMBER),
        "committee": UserFactory(role=Role.COMMITTEE),
        "organiser": UserFactory(role=Role.ORGANISER),
    }


@pytest.mark.parametrize(("frm", "to", "allowed", "refused"), CASES)
def test_transition_allowed_and_refused_by_role(frm, to, allowed, refused):
    people = _people()
    topic = TopicFactory(proposer=people["proposer"], status=frm)
    _tick_all(topic)

    for name in refused:
        with pytest.raises(PermissionDenied):
            topic_transition(topic=topic, to=to, by=people[name], reason="because")
    topic.refresh_from_db()
    assert topic.status == frm

    topic_transition(topic=topic, to=to, by=people[allowed], reason="because")

    topic.refresh_from_db()
    assert topic.status == to
    step = TopicTransition.objects.get(topic=topic)
    assert (step.from_status, step.to_status, step.by) == (frm, to, people[allowed])


@pytest.mark.parametrize(
    ("frm", "to"),
    [
        (S.PROPOSED, S.READY),
        (S.REJECTED, S.ACCEPTED),
        (S.PRESENTED, S.CANCELLED),
        (S.READY, S.SCHEDULED),
        (S.PROPOSED, "nonsense"),
    ],
)
def test_invalid_transition_is_refused_with_message(organiser, frm, to):
    topic = TopicFactory(status=frm)

    with pytest.raises(TopicError):
        topic_transition(topic=topic, to=to, by=organiser, reason="x")

    topic.refresh_from_db()
    assert topic.status == frm
    assert TopicTransition.objects.filter(topic=topic).count() == 0


def test_reject_and_cancel_need_a_reason(organiser):
    topic = TopicFactory(status=S.PROPOSED)

    with pytest.raises(TopicError, match="reason"):
        topic_transition(topic=topic, to=S.REJECTED, by=organiser, reason="   ")

    topic_transition(topic=topic, to=S.REJECTED, by=organiser, reason="Out of scope")
    topic.refresh_from_db()
    assert topic.reason == "Out of scope"


def test_ready_needs_the_whole_checklist():
    topic = TopicFactory(status=S.PREPARING, check_intro=True, check_methods=True)

    with pytest.raises(TopicError, match="checklist"):
        topic_transition(topic=topic, to=S.READY, by=topic.proposer)

    _tick_all(topic)
    topic_transition(topic=topic, to=S.READY, by=topic.proposer)
    topic.refresh_from_db()
    assert topic.status == S.READY


def test_join_respects_capacity_and_fills_group_into_preparing(member):
    topic = TopicFactory(status=S.RECRUITING, capacity=2)
    group_join(topic=topic, user=UserFactory())

    group_join(topic=topic, user=member)

    topic.refresh_from_db()
    assert topic.status == S.PREPARING
    assert topic.participant_count == 2
    auto = TopicTransition.objects.get(topic=topic, to_status=S.PREPARING)
    assert auto.by is None
    topic.status = S.RECRUITING
    topic.save()
    with pytest.raises(TopicError, match="full"):
        group_join(topic=topic, user=UserFactory())


def test_join_refused_when_not_recruiting_members_only_or_twice(audience, member):
    closed = TopicFactory(status=S.PROPOSED)
    members_only = TopicFactory(status=S.RECRUITING, members_only=True)
    open_topic = TopicFactory(status=S.RECRUITING)

    with pytest.raises(TopicError, match="not recruiting"):
        group_join(topic=closed, user=audience)
    with pytest.raises(PermissionDenied):
        group_join(topic=members_only, user=audience)
    group_join(topic=members_only, user=member)
    group_join(topic=open_topic, user=audience)
    with pytest.raises(TopicError, match="already"):
        group_join(topic=open_topic, user=audience)
    with pytest.raises(TopicError, match="already"):
        group_join(topic=open_topic, user=open_topic.proposer)


def test_leave_unassigns_tasks_and_proposer_cannot_leave(audience):
    topic = TopicFactory(status=S.RECRUITING)
    group_join(topic=topic, user=audience)
    task = task_create(topic=topic, by=topic.proposer, title="Read the paper", assignee=audience)

    group_leave(topic=topic, user=audience)

    task.refresh_from_db()
    assert task.assignee is None
    assert not Participation.objects.filter(topic=topic, user=audience).exists()
    with pytest.raises(TopicError):
        group_leave(topic=topic, user=topic.proposer)


def test_tasks_only_for_group_and_assignable_to_group_members(audience, organiser):
    topic = TopicFactory(status=S.PREPARING)
    outsider = UserFactory()

    with pytest.raises(PermissionDenied):
        task_create(topic=topic, by=outsider, title="Sneaky")
    with pytest.raises(TopicError, match="members of the group"):
        task_create(topic=topic, by=topic.proposer, title="Code", assignee=outsider)

    task = task_create(topic=topic, by=organiser, title="Survey", assignee=topic.proposer)
    task_update(task=task, by=topic.proposer, status=Task.Status.DOING)
    task.refresh_from_db()
    assert task.status == Task.Status.DOING


def test_edit_by_proposer_until_scheduled_organiser_always(organiser):
    topic = TopicFactory(status=S.READY)
    stranger = UserFactory()

    topic_update(topic=topic, by=topic.proposer, title="Better title")
    with pytest.raises(PermissionDenied):
        topic_update(topic=topic, by=stranger, title="Hijacked")
    topic.status = S.SCHEDULED
    topic.save()
    with pytest.raises(PermissionDenied):
        topic_update(topic=topic, by=topic.proposer, title="Too late")
    topic_update(topic=topic, by=organiser, title="Organiser fix")

    topic.refresh_from_db()
    assert topic.title == "Organiser fix"


def test_capacity_cannot_drop_below_group_size(organiser):
    topic = TopicFactory(status=S.RECRUITING, capacity=3)
    group_join(topic=topic, user=UserFactory())
    group_join(topic=topic, user=UserFactory())

    with pytest.raises(TopicError):
        topic_update(topic=topic, by=organiser, capacity=1)
