"""/me/ — one person's page: what they present, take part in and RSVP'd to, their groups and
tasks, their proposals and where each stands, their application, how to join the study
group's chat (members), their calendar. It reads each app through its selectors; the
queries do not grow with the rows."""

import datetime
from dataclasses import dataclass

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from members.ledger.services import FLAGGABLE_ROLES, member_standing
from members.models import Application, User
from sessions.models import Task, Topic, TopicStatus, WeeklySession
from sessions.topics.selectors import groups_of, invitations_open_for, proposals_of
from sessions.weekly.calendar import calendar_token_for
from sessions.weekly.selectors import sessions_of
from topicshare.core.links import absolute_url
from topicshare.forum.onboarding import study_group_card

S = TopicStatus

# What happens next to a proposal, by its status: who acts and what they do.
NEXT_STEP = {
    S.PROPOSED: _("An organiser reviews it. You can still edit it."),
    S.ACCEPTED: _("Recruiting for its group opens two weeks before your preferred week."),
    S.RECRUITING: _("Its group is recruiting: share the topic page."),
    S.PREPARING: _(
        "Prepare with your group: tick the five checklist items, then say 准备 OK on the "
        "topic page."
    ),
    S.READY: _("An organiser picks a slot for it."),
    S.SCHEDULED: _("Present it in its session: see below."),
    S.PRESENTED: _("Presented. Its slides and recording go into the library."),
    S.REJECTED: _("Not taken. You can propose another topic."),
    S.WITHDRAWN: _("You withdrew it."),
    S.CANCELLED: _("Cancelled."),
}
NO_WEEK_YET = _("Pick a preferred week (edit the topic): recruiting opens two weeks before it.")

APPLICATION_NEXT_STEP = {
    Application.Status.SUBMITTED: _("The committee will schedule your review talk."),
    Application.Status.REVIEW_SCHEDULED: _(
        "Present your paper at the review talk; the committee votes after it."
    ),
    Application.Status.APPROVED: _("Welcome to the study group!"),
    Application.Status.REJECTED: _("Read the committee's feedback; you may apply again later."),
    Application.Status.WITHDRAWN: _("You withdrew it. You may apply again."),
}


@dataclass
class Group:
    topic: Topic
    my_tasks: list[Task]
    unclaimed: int


@dataclass
class Proposal:
    topic: Topic
    next_step: str
    session: WeeklySession | None


def _webcal(url: str) -> str:
    return "webcal://" + url.split("://", 1)[1]


def me_context(*, user: User, now: datetime.datetime) -> dict:
    sessions = sessions_of(user=user, now=now)
    session_of_topic = {session.topic_id: session for session in sessions}
    groups = []
    for topic in groups_of(user=user):
        tasks = list(topic.tasks.all())
        groups.append(
            Group(
                topic=topic,
                my_tasks=[t for t in tasks if t.assignee_id == user.pk and t.status != "done"],
                unclaimed=sum(1 for t in tasks if t.assignee_id is None and t.status != "done"),
            )
        )
    proposals = [
        Proposal(
            topic=topic,
            next_step=NO_WEEK_YET
            if topic.status == S.ACCEPTED and not topic.preferred_week
            else NEXT_STEP[topic.status],
            session=session_of_topic.get(topic.pk),
        )
        for topic in proposals_of(user=user)
    ]
    application = user.applications.order_by("-created_at", "-id").first()
    feed = absolute_url(reverse("sessions:calendar-personal", args=[calendar_token_for(user=user)]))
    return {
        "sessions": sessions,
        "show_meeting": user.has_perm("topic_sessions.view_meeting"),
        "groups": groups,
        "open_tasks": sum(len(group.my_tasks) for group in groups),
        "proposals": proposals,
        "invitations": invitations_open_for(user=user),
        "application": application,
        "application_next_step": APPLICATION_NEXT_STEP.get(application.status)
        if application
        else "",
        "can_apply": user.has_perm("members.apply_for_membership"),
        # Members and the committee are counted by the season review (members.ledger):
        # their season so far, against the threshold, and what would keep them above it.
        "standing": member_standing(user=user, now=now) if user.role in FLAGGABLE_ROLES else None,
        # Members: the study group's chat (QR code, steps), up front until they are added.
        "study_group": study_group_card(user=user),
        "calendar_url": feed,
        "webcal_url": _webcal(feed),
        "now": now,
    }
