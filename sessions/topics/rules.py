"""Who may do what with topics, groups and tasks. Used by services, views, templates and admin."""

import rules

from members.rules import is_audience, is_member, is_organiser
from sessions.topics.models import CoPresenterInvitation, Participation, Task, TopicStatus

EDITABLE_BY_PROPOSER = {
    TopicStatus.PROPOSED,
    TopicStatus.ACCEPTED,
    TopicStatus.RECRUITING,
    TopicStatus.PREPARING,
    TopicStatus.READY,
}
JOINABLE = {TopicStatus.RECRUITING, TopicStatus.PREPARING}
# A topic is promoted (its promotion pack and poster) from acceptance until it is ready.
PROMOTED = (TopicStatus.ACCEPTED, TopicStatus.RECRUITING, TopicStatus.PREPARING)
# A topic people may say they want to hear (“想听”): until its group is complete.
WANTED = {TopicStatus.PROPOSED, TopicStatus.ACCEPTED, TopicStatus.RECRUITING}
# Nothing more happens in the group of such a topic: nobody leaves it, its tasks stay as they are.
CLOSED = {TopicStatus.PRESENTED, TopicStatus.CANCELLED, TopicStatus.REJECTED, TopicStatus.WITHDRAWN}


@rules.predicate
def is_proposer(user, topic) -> bool:
    return topic is not None and is_audience(user) and topic.proposer_id == user.pk


@rules.predicate
def is_presenter(user, topic) -> bool:
    if topic is None or not is_audience(user):
        return False
    return topic.proposer_id == user.pk or any(p.pk == user.pk for p in topic.co_presenters.all())


@rules.predicate
def is_participant(user, topic) -> bool:
    if topic is None or not is_audience(user):
        return False
    return any(p.user_id == user.pk for p in topic.participations.all())


is_group_member = is_presenter | is_participant


@rules.predicate
def topic_is_editable_by_proposer(user, topic) -> bool:
    return topic is not None and topic.status in EDITABLE_BY_PROPOSER


@rules.predicate
def topic_is_open(user, topic) -> bool:
    return topic is not None and topic.status not in CLOSED


@rules.predicate
def may_join_group(user, topic) -> bool:
    """Everything group_join checks: the person, the status and a free place."""
    if topic is None or not is_audience(user) or is_group_member(user, topic):
        return False
    if topic.members_only and not is_member(user):
        return False
    return topic.status in JOINABLE and topic.places_left > 0


@rules.predicate
def may_wait_for_group(user, topic) -> bool:
    """Everything waitlist_join checks: one who could join but for a free place."""
    if topic is None or not is_audience(user) or is_group_member(user, topic):
        return False
    if topic.members_only and not is_member(user):
        return False
    return topic.status in JOINABLE and topic.places_left <= 0


@rules.predicate
def is_group_participant(user, topic) -> bool:
    """In the group as a participant (the proposer cannot leave their own topic)."""
    if topic is None or not is_audience(user):
        return False
    return any(
        p.user_id == user.pk and p.role == Participation.Role.PARTICIPANT
        for p in topic.participations.all()
    )


may_leave_group = is_group_participant & topic_is_open


@rules.predicate
def may_answer_invitation(user, invitation) -> bool:
    """The invited person, while the invitation is open and the topic still in the proposer's
    hands (a scheduled session has copied its presenters)."""
    return (
        invitation is not None
        and is_audience(user)
        and invitation.invitee_id == user.pk
        and invitation.status == CoPresenterInvitation.Status.PENDING
        and invitation.topic.status in EDITABLE_BY_PROPOSER
    )


@rules.predicate
def task_is_open(user, task) -> bool:
    """Not done yet, in a group that still works."""
    return task is not None and task.status != Task.Status.DONE and task.topic.status not in CLOSED


@rules.predicate
def task_is_unassigned(user, task) -> bool:
    return task is not None and task.assignee_id is None


@rules.predicate
def is_task_assignee(user, task) -> bool:
    return task is not None and is_audience(user) and task.assignee_id == user.pk


@rules.predicate
def in_task_group(user, task) -> bool:
    return task is not None and is_group_member(user, task.topic)


@rules.predicate
def presents_task_topic(user, task) -> bool:
    return task is not None and is_presenter(user, task.topic)


@rules.predicate
def may_want_to_hear(user, topic) -> bool:
    """“想听”: anyone signed in, on a topic still looking for its audience, but not its own
    presenters (they want to be heard)."""
    return (
        topic is not None
        and is_audience(user)
        and topic.status in WANTED
        and not is_presenter(user, topic)
    )


rules.add_perm("topic_sessions.propose_topic", is_audience)
rules.add_perm("topic_sessions.want_to_hear", may_want_to_hear)
rules.add_perm("topic_sessions.answer_invitation", may_answer_invitation)
rules.add_perm(
    "topic_sessions.change_topic", is_organiser | (is_proposer & topic_is_editable_by_proposer)
)
# The steps of a topic's life (sessions.topics.services.TRANSITIONS): the organisers' steps, the
# proposer's own (withdraw, preparation done), and cancelling, which either may do.
rules.add_perm("topic_sessions.moderate_topic", is_organiser)
rules.add_perm("topic_sessions.advance_own_topic", is_proposer)
rules.add_perm("topic_sessions.cancel_topic", is_organiser | is_proposer)
# A withdrawn topic: its proposer may propose it again (WITHDRAWN → PROPOSED).
rules.add_perm("topic_sessions.reopen_topic", is_proposer)
rules.add_perm("topic_sessions.view_group", is_organiser | is_group_member)
rules.add_perm("topic_sessions.join_group", may_join_group)
rules.add_perm("topic_sessions.wait_for_group", may_wait_for_group)
rules.add_perm("topic_sessions.leave_group", may_leave_group)
rules.add_perm("topic_sessions.manage_tasks", (is_organiser | is_group_member) & topic_is_open)
# The task board in one tap: "我来" takes a task nobody has (for oneself, in one's own group);
# "完成" finishes one's own task, a task nobody has, or any task of a topic one presents or
# (organisers) runs.
rules.add_perm("topic_sessions.claim_task", task_is_open & task_is_unassigned & in_task_group)
rules.add_perm(
    "topic_sessions.finish_task",
    task_is_open
    & (
        is_task_assignee | (task_is_unassigned & in_task_group) | presents_task_topic | is_organiser
    ),
)
rules.add_perm("topic_sessions.export_topics", is_organiser)
rules.add_perm("topic_sessions.import_topics", is_organiser)
