import datetime

from django.db.models import Count, F, Max, Prefetch, Q, QuerySet

from sessions.topics.filters import TopicFilter
from sessions.topics.models import (
    CoPresenterInvitation,
    Participation,
    Task,
    Topic,
    TopicStatus,
    TopicTransition,
)
from sessions.topics.rules import EDITABLE_BY_PROPOSER, JOINABLE
from sessions.topics.slots import RECRUITING_OPENS_BEFORE, slot_of_week

# No session runs longer than this; used to bound queries on start times.
# Topics that are over without a talk: the sheet shows them only when asked (a status filter).
CLOSED_STATUSES = (TopicStatus.REJECTED, TopicStatus.WITHDRAWN, TopicStatus.CANCELLED)


def topic_list(
    *, filters: dict | None = None, hide_closed: bool = False
) -> tuple[TopicFilter, QuerySet[Topic]]:
    """The sheet: topics with what a row shows, filtered and sorted. A fixed number of
    queries whatever the number of rows. `hide_closed` leaves out rejected, withdrawn and
    cancelled topics unless the filters choose statuses."""
    queryset = (
        Topic.objects.select_related("track", "season", "proposer")
        .defer("summary_html")  # a row never shows it
        .annotate(
            participant_total=Count(
                "participations", filter=Q(participations__role=Participation.Role.PARTICIPANT)
            )
        )
        .order_by("-created_at", "-id")  # Meta.ordering does not apply to grouped queries
    )
    filters = filters or {}
    if hide_closed and not filters.get("status"):
        queryset = queryset.exclude(status__in=CLOSED_STATUSES)
    topic_filter = TopicFilter(filters, queryset=queryset)
    return topic_filter, topic_filter.qs


def _participant_total() -> Count:
    return Count(
        "participations",
        filter=Q(participations__role=Participation.Role.PARTICIPANT),
        distinct=True,
    )


def topic_for_holes(*, pk: int) -> Topic:
    """A topic as the per-person parts of its page need it (sessions/topics/holes.py): its
    people and tasks, not its history, track or season (Topic.DoesNotExist if none)."""
    return (
        Topic.objects.select_related("proposer")
        .prefetch_related(
            "co_presenters",
            "participations",
            Prefetch("tasks", queryset=Task.objects.select_related("assignee")),
        )
        .annotate(participant_total=_participant_total())
        .get(pk=pk)
    )


def topic_detail(*, pk: int) -> Topic:
    """A topic with its group, co-presenters and tasks prefetched (Topic.DoesNotExist if none)."""
    return (
        Topic.objects.select_related("track", "season", "proposer")
        .prefetch_related(
            "co_presenters",
            Prefetch(
                "participations",
                queryset=Participation.objects.select_related("user").order_by(
                    "-role", "joined_at"
                ),
            ),
            Prefetch("tasks", queryset=Task.objects.select_related("assignee")),
            Prefetch("transitions", queryset=TopicTransition.objects.select_related("by")),
        )
        .annotate(participant_total=_participant_total())
        .get(pk=pk)
    )


def invitations_open_for(*, user) -> QuerySet[CoPresenterInvitation]:
    """The co-presenter invitations `user` can still answer, with their topic."""
    if not user.is_authenticated:
        return CoPresenterInvitation.objects.none()
    return (
        CoPresenterInvitation.objects.filter(
            invitee=user,
            status=CoPresenterInvitation.Status.PENDING,
            topic__status__in=EDITABLE_BY_PROPOSER,
        )
        .select_related("topic", "topic__proposer", "topic__track")
        .order_by("created_at", "id")
    )


def group_member_ids(topic: Topic) -> set[int]:
    """Proposer, co-presenters and participants (uses prefetched relations when present)."""
    ids = {p.user_id for p in topic.participations.all()}
    ids |= {user.pk for user in topic.co_presenters.all()}
    ids.add(topic.proposer_id)
    return ids


# --- What waits for the organisers (the inbox, topicshare/forum/inbox.py) -----------------


def topics_to_review() -> QuerySet[Topic]:
    """Proposed topics, oldest first: an organiser accepts or rejects each."""
    return (
        Topic.objects.filter(status=TopicStatus.PROPOSED)
        .select_related("track", "proposer")
        .defer("summary_html")
        .order_by("created_at", "id")
    )


def topics_promotion_due(
    *, now: datetime.datetime, within: datetime.timedelta = datetime.timedelta(days=14)
) -> list[tuple[Topic, datetime.datetime]]:
    """Accepted topics whose promotion window (two weeks before their preferred week's slot,
    when recruiting opens) opens within `within`, or has opened: (topic, opens at), soonest
    first. One query."""
    horizon = now + within + RECRUITING_OPENS_BEFORE + datetime.timedelta(days=7)
    candidates = (
        Topic.objects.filter(
            status=TopicStatus.ACCEPTED,
            preferred_week__isnull=False,
            preferred_week__lte=horizon.date(),
        )
        .select_related("track", "proposer")
        .defer("summary_html")
    )
    due = []
    for topic in candidates:
        slot = slot_of_week(track=topic.track, week=topic.preferred_week)
        if slot is not None and slot - RECRUITING_OPENS_BEFORE <= now + within:
            due.append((topic, slot - RECRUITING_OPENS_BEFORE))
    return sorted(due, key=lambda row: (row[1], row[0].pk))


def topics_ready_unscheduled() -> QuerySet[Topic]:
    """Ready topics without a slot, the longest waiting first (`ready_since`: when they
    became ready)."""
    return (
        Topic.objects.filter(status=TopicStatus.READY)
        .select_related("track", "proposer")
        .defer("summary_html")
        .annotate(
            ready_since=Max("transitions__at", filter=Q(transitions__to_status=TopicStatus.READY))
        )
        .order_by(F("ready_since").asc(nulls_first=True), "id")
    )


# A group starts when its topic recruits and works until the session.
GROUP_AT_WORK = [*JOINABLE, TopicStatus.READY, TopicStatus.SCHEDULED]


def groups_of(*, user) -> list[Topic]:
    """The groups `user` works in (as proposer, co-presenter or participant) from the moment
    they recruit until the session, with their tasks and participant count. Two queries
    whatever the number."""
    return list(
        Topic.objects.filter(Q(participations__user=user) | Q(co_presenters=user))
        .filter(status__in=GROUP_AT_WORK)
        .distinct()
        .select_related("track", "proposer")
        .prefetch_related(Prefetch("tasks", queryset=Task.objects.select_related("assignee")))
        .annotate(participant_total=_participant_total())
        .order_by("preferred_week", "id")
    )


def proposals_of(*, user) -> QuerySet[Topic]:
    """The topics `user` proposed, newest first, with what a row shows."""
    return (
        Topic.objects.filter(proposer=user)
        .select_related("track")
        .defer("summary_html")
        .annotate(
            participant_total=Count(
                "participations", filter=Q(participations__role=Participation.Role.PARTICIPANT)
            )
        )
        .order_by("-created_at", "-id")
    )
