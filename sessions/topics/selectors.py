import datetime
from dataclasses import dataclass

from django.db.models import (
    Case,
    Count,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    When,
)

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


# What waits for the organisers (the inbox): each kind's filter is said once, here; the
# inbox reads all three kinds with topics_waiting() in one query.
_TO_REVIEW = Q(status=TopicStatus.PROPOSED)
_READY = Q(status=TopicStatus.READY)
PROMOTION_LOOKAHEAD = datetime.timedelta(days=14)


def _inbox_topics() -> QuerySet[Topic]:
    return Topic.objects.select_related("track", "proposer").defer("summary_html")


def _ready_since():
    """When a topic became ready: its last transition to ready."""
    return Subquery(
        TopicTransition.objects.filter(topic=OuterRef("pk"), to_status=TopicStatus.READY)
        .order_by("-at")
        .values("at")[:1]
    )


def _promotion_candidates(now: datetime.datetime, within: datetime.timedelta) -> Q:
    horizon = now + within + RECRUITING_OPENS_BEFORE + datetime.timedelta(days=7)
    return Q(
        status=TopicStatus.ACCEPTED,
        preferred_week__isnull=False,
        preferred_week__lte=horizon.date(),
    )


def _promotion_opens(
    topic: Topic, now: datetime.datetime, within: datetime.timedelta
) -> datetime.datetime | None:
    slot = slot_of_week(track=topic.track, week=topic.preferred_week)
    if slot is not None and slot - RECRUITING_OPENS_BEFORE <= now + within:
        return slot - RECRUITING_OPENS_BEFORE
    return None


def _review_order(topic: Topic):
    return (topic.created_at, topic.pk)


_EARLIEST = datetime.datetime.min.replace(tzinfo=datetime.UTC)


def _ready_order(topic: Topic):
    # The ones whose moment is unknown (made ready before transitions were kept) first.
    since = topic.ready_since
    return (since is not None, since or _EARLIEST, topic.pk)


def topics_to_review() -> list[Topic]:
    """Proposed topics, oldest first: an organiser accepts or rejects each."""
    return sorted(_inbox_topics().filter(_TO_REVIEW), key=_review_order)


def topics_promotion_due(
    *, now: datetime.datetime, within: datetime.timedelta = PROMOTION_LOOKAHEAD
) -> list[tuple[Topic, datetime.datetime]]:
    """Accepted topics whose promotion window (two weeks before their preferred week's slot,
    when recruiting opens) opens within `within`, or has opened: (topic, opens at), soonest
    first. One query."""
    due = []
    for topic in _inbox_topics().filter(_promotion_candidates(now, within)):
        opens = _promotion_opens(topic, now, within)
        if opens is not None:
            due.append((topic, opens))
    return sorted(due, key=lambda row: (row[1], row[0].pk))


def topics_ready_unscheduled() -> list[Topic]:
    """Ready topics without a slot, the longest waiting first (`ready_since`: when they
    became ready)."""
    return sorted(
        _inbox_topics().filter(_READY).annotate(ready_since=_ready_since()), key=_ready_order
    )


@dataclass
class TopicsWaiting:
    to_review: list[Topic]
    promotion_due: list[tuple[Topic, datetime.datetime]]
    ready_unscheduled: list[Topic]


def topics_waiting(
    *, now: datetime.datetime, within: datetime.timedelta = PROMOTION_LOOKAHEAD
) -> TopicsWaiting:
    """The three selectors above in one query (the organisers' inbox), each in its order."""
    candidates = _promotion_candidates(now, within)
    waiting = TopicsWaiting(to_review=[], promotion_due=[], ready_unscheduled=[])
    rows = (
        _inbox_topics()
        .filter(_TO_REVIEW | candidates | _READY)
        .annotate(ready_since=Case(When(_READY, then=_ready_since()), default=None))
    )
    for topic in rows:
        if topic.status == TopicStatus.PROPOSED:
            waiting.to_review.append(topic)
        elif topic.status == TopicStatus.READY:
            waiting.ready_unscheduled.append(topic)
        else:
            opens = _promotion_opens(topic, now, within)
            if opens is not None:
                waiting.promotion_due.append((topic, opens))
    waiting.to_review.sort(key=_review_order)
    waiting.ready_unscheduled.sort(key=_ready_order)
    waiting.promotion_due.sort(key=lambda row: (row[1], row[0].pk))
    return waiting


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
