"""Who may do what with topics, groups and tasks. Used by services, views, templates and admin."""

import rules

from members.rules import is_audience, is_member, is_organiser
from sessions.models import Participation, TopicStatus

EDITABLE_BY_PROPOSER = {
    TopicStatus.PROPOSED,
    TopicStatus.ACCEPTED,
    TopicStatus.RECRUITING,
    TopicStatus.PREPARING,
    TopicStatus.READY,
}
JOINABLE = {TopicStatus.RECRUITING, TopicStatus.PREPARING}


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
def may_join_group(user, topic) -> bool:
    """Membership rules only; capacity and the status are checked by the join service."""
    if topic is None or not is_audience(user) or is_group_member(user, topic):
        return False
    return not topic.members_only or is_member(user)


@rules.predicate
def may_leave_group(user, topic) -> bool:
    return (
        any(
            p.user_id == user.pk and p.role == Participation.Role.PARTICIPANT
            for p in topic.participations.all()
        )
        if topic is not None and is_audience(user)
        else False
    )


rules.add_perm("topic_sessions.propose_topic", is_audience)
rules.add_perm(
    "topic_sessions.change_topic", is_organiser | (is_proposer & topic_is_editable_by_proposer)
)
rules.add_perm("topic_sessions.view_group", is_organiser | is_group_member)
rules.add_perm("topic_sessions.join_group", may_join_group)
rules.add_perm("topic_sessions.leave_group", may_leave_group)
rules.add_perm("topic_sessions.manage_tasks", is_organiser | is_group_member)
rules.add_perm("topic_sessions.export_topics", is_organiser)
rules.add_perm("topic_sessions.import_topics", is_organiser)

rules.add_perm("topic_sessions.schedule_sessions", is_organiser)
rules.add_perm("topic_sessions.view_meeting", is_audience)
rules.add_perm("topic_sessions.rsvp", is_audience)
