"""What the {% personal %} holes of a topic's page need, per person: the invitation I may
answer, the checklist's links to the group's tasks, joining and leaving, and what I may do
with the topic (topicshare/core/fragments.py: a page served whole from the cache has no
view context). One reading of the topic serves every hole of a page."""

from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from sessions.topics.models import Topic, TopicInterest
from sessions.topics.notices import interested_in
from sessions.topics.rules import JOINABLE, WANTED
from sessions.topics.selectors import invitations_open_for, topic_for_holes
from sessions.topics.services import transitions_for
from topicshare.core.fragments import per_request, personal_hole


def topic_for_viewer(request, pk: str) -> dict | None:
    """Everything the holes of topic `pk`'s page show to this viewer (None: no such topic)."""

    def compute():
        try:
            topic = topic_for_holes(pk=int(pk))
        except (ValueError, Topic.DoesNotExist):
            return None
        return viewer_context(request, topic)

    return per_request(request, f"topic:{pk}", compute)


def viewer_context(request, topic: Topic) -> dict:
    user = request.user
    can_view_group = user.has_perm("topic_sessions.view_group", topic)
    return {
        "topic": topic,
        "transitions": transitions_for(topic=topic, user=user, now=timezone.now()),
        "can_edit": user.has_perm("topic_sessions.change_topic", topic),
        "can_view_group": can_view_group,
        # Part of its readiness: the group's late tasks (other than the checklist's own).
        "late_tasks": [
            task for task in topic.tasks.all() if task.overdue and not task.checklist_item
        ]
        if can_view_group
        else [],
        "can_join": user.has_perm("topic_sessions.join_group", topic),
        "can_leave": user.has_perm("topic_sessions.leave_group", topic),
        "recruiting": topic.status in JOINABLE and topic.places_left > 0,
        "can_wait": user.has_perm("topic_sessions.wait_for_group", topic),
        # My place in line for a full group (one query, only when it is full).
        "waitlist_position": _waitlist_position(topic, user),
        "invitation": invitations_open_for(user=user).filter(topic=topic).first()
        if user.is_authenticated
        else None,
        # “想听”: the count for everyone; mine; who, for organisers only.
        "wanted": topic.status in WANTED,
        "can_want": user.has_perm("topic_sessions.want_to_hear", topic),
        "i_want": user.is_authenticated
        and TopicInterest.objects.filter(topic=topic, user=user).exists(),
        "who_wants": SimpleLazyObject(lambda: list(interested_in(topic)))
        if user.has_perm("topic_sessions.moderate_topic", topic)
        else None,
    }


def _waitlist_position(topic: Topic, user) -> int | None:
    if not user.is_authenticated or topic.status not in JOINABLE or topic.places_left > 0:
        return None
    waiting = list(topic.waitlist.values_list("user_id", flat=True))
    return waiting.index(user.pk) + 1 if user.pk in waiting else None


@personal_hole("sessions/_topic_invitation.html")
def invitation(request, arg: str) -> dict | None:
    context = topic_for_viewer(request, arg)
    return context if context and context["invitation"] else None


@personal_hole("sessions/_topic_checklist.html")
def checklist(request, arg: str) -> dict | None:
    return topic_for_viewer(request, arg)


@personal_hole("sessions/_topic_group_actions.html")
def group_actions(request, arg: str) -> dict | None:
    return topic_for_viewer(request, arg)


@personal_hole("sessions/_topic_actions.html")
def actions(request, arg: str) -> dict | None:
    context = topic_for_viewer(request, arg)
    return context if context and (context["can_edit"] or context["transitions"]) else None


@personal_hole("sessions/_topic_interest.html")
def interest(request, arg: str) -> dict | None:
    context = topic_for_viewer(request, arg)
    if context is None or not (context["wanted"] or context["topic"].interest_count):
        return None
    return context
