"""What must hold after bench/mixed_load.py's run, asked of the database (Django set up).

Each check returns the violations it found, as lines to print (empty: it holds). The
database's own constraints should make several of them impossible; they are asked anyway,
so that a dropped constraint or a write that goes around it shows up here. The accounting
checks compare the database with what the simulated members were told (the locust report):
nothing a member was told happened may be missing, nothing may have happened twice.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Exists, F, OuterRef, Q

from members.models import Vote
from sessions.models import Participation, Topic
from sessions.topics.models import Task, TopicInterest, WaitlistEntry
from sessions.weekly.models import RSVP
from topicshare.notifications.models import Notification, NotificationKind

LIMIT = 10  # violations listed per check; the count says how many there are


def _listed(rows: list[str]) -> list[str]:
    return rows[:LIMIT] + ([f"… and {len(rows) - LIMIT} more"] if len(rows) > LIMIT else [])


def groups_within_capacity() -> list[str]:
    """No participant group has more participants than its capacity (the proposer is not
    counted: Topic.participant_count)."""
    over = (
        Topic.objects.annotate(
            taken=Count("participations", filter=Q(participations__role="participant"))
        )
        .filter(taken__gt=F("capacity"))
        .values_list("pk", "taken", "capacity")
    )
    return [f"topic {pk}: {taken} participants, capacity {cap}" for pk, taken, cap in over]


def _duplicates(model, fields: list[str], label: str) -> list[str]:
    rows = (
        model.objects.values(*fields)
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
        .values_list(*fields, "n")
    )
    return [f"{label} {' '.join(map(str, row[:-1]))}: {row[-1]} rows" for row in rows]


def one_rsvp_per_person() -> list[str]:
    return _duplicates(RSVP, ["session_id", "user_id"], "session/user")


def one_participation_per_person() -> list[str]:
    return _duplicates(Participation, ["topic_id", "user_id"], "topic/user")


def one_interest_per_person() -> list[str]:
    """One “想听” per person and topic, and each topic's counter says how many there are."""
    found = _duplicates(TopicInterest, ["topic_id", "user_id"], "topic/user")
    counts = Topic.objects.annotate(rows=Count("interests")).exclude(interest_count=F("rows"))
    found += [
        f"topic {pk}: interest_count {count}, {rows} rows"
        for pk, count, rows in counts.values_list("pk", "interest_count", "rows")
    ]
    return found


def one_vote_per_person() -> list[str]:
    """One ballot per committee member and application; none on one's own application."""
    found = _duplicates(Vote, ["application_id", "voter_id"], "application/voter")
    own = Vote.objects.filter(voter_id=F("application__applicant_id"))
    found += [
        f"vote {pk}: on the voter's own application" for pk in own.values_list("pk", flat=True)
    ]
    return found


def notices_queued_once() -> list[str]:
    """No notification twice for the same kind, subject, occasion and recipient (or chat)."""
    found = []
    for destination in ("recipient_id", "channel_id"):
        rows = (
            Notification.objects.filter(**{f"{destination}__isnull": False})
            .values("kind", "subject_type_id", "subject_id", "occasion", destination)
            .annotate(n=Count("pk"))
            .filter(n__gt=1)
            .values_list("kind", "subject_id", "occasion", destination, "n")
        )
        found += [
            f"{kind} subject {subject} occasion {occasion!r} → {destination[:-3]} {to}: {n}"
            for kind, subject, occasion, to, n in rows
        ]
    return found


def join_notices(*, since_participation: int, since_notification: int, joins_ok: int | None):
    """Every place taken in a group since the run began has its one notice: the presenters
    hear of a join (group_joined), the person moved in from the waitlist hears of it
    (waitlist_promoted). The joins the members were told about are as many as the
    group_joined notices (none lost, none twice)."""
    topic_type = ContentType.objects.get_for_model(Topic)
    notices = Notification.objects.filter(subject_type=topic_type, pk__gt=since_notification)
    joined = notices.filter(kind=NotificationKind.GROUP_JOINED)
    promoted = notices.filter(kind=NotificationKind.WAITLIST_PROMOTED)
    told = set(joined.values_list("occasion", "recipient_id"))
    moved = set(promoted.values_list("occasion", "recipient_id"))
    found = []
    for pk, proposer, user in Participation.objects.filter(
        pk__gt=since_participation, role=Participation.Role.PARTICIPANT
    ).values_list("pk", "topic__proposer_id", "user_id"):
        if (str(pk), proposer) not in told and (str(pk), user) not in moved:
            found.append(f"participation {pk}: neither group_joined nor waitlist_promoted")
    if joins_ok is not None:
        occasions = joined.values("occasion").distinct().count()
        if occasions != joins_ok:
            found.append(
                f"{joins_ok} joins were confirmed to members, {occasions} group_joined notices"
            )
    return found


def _in_group(topic: str, user: str) -> Exists:
    return Exists(Participation.objects.filter(topic_id=OuterRef(topic), user_id=OuterRef(user)))


def tasks_held_by_the_group() -> list[str]:
    """A task is assigned to someone in its group (leaving a group hands one's tasks back)."""
    stray = (
        Task.objects.filter(assignee__isnull=False)
        .exclude(_in_group("topic_id", "assignee_id"))
        .values_list("pk", "topic_id", "assignee_id")
    )
    return [f"task {pk} of topic {topic}: assigned to user {user}, not in the group"
            for pk, topic, user in stray]  # fmt: skip


def nobody_waits_for_their_own_group() -> list[str]:
    both = WaitlistEntry.objects.filter(_in_group("topic_id", "user_id"))
    return [
        f"topic {topic}: user {user} is in the group and on its waitlist"
        for topic, user in both.values_list("topic_id", "user_id")
    ]


def _people(keys) -> dict[str, int]:
    from members.models import User

    emails = {key.rsplit(" ", 1)[0] for key in keys}
    return dict(User.objects.filter(email__in=emails).values_list("email", "pk"))


def rsvps_as_told(rsvp_net: dict[str, int]) -> list[str]:
    """Each account has an RSVP exactly where the confirmations it got say so (+1 going,
    −1 withdrawn; nobody had one before the run)."""
    people = _people(rsvp_net)
    have = set(
        RSVP.objects.filter(user_id__in=people.values()).values_list("user_id", "session_id")
    )
    found = []
    for key, net in rsvp_net.items():
        email, session = key.rsplit(" ", 1)
        exists = (people.get(email), int(session)) in have
        if net != int(exists):
            found.append(f"{key}: told {net:+d} in all, RSVP {'there' if exists else 'missing'}")
    return found


def groups_as_told(
    group_net: dict[str, int], unknown: list[str], *, since_notification: int
) -> list[str]:
    """Each account is in a group exactly where its confirmed joins and leaves, and the places
    it got from the waitlist (its waitlist_promoted notices), say so. Nobody from the run was
    in a group before it; an answer that could not be read leaves that pair out."""
    people = _people([*group_net, *unknown])
    expected: dict[tuple[int, int], int] = {}
    for key, net in group_net.items():
        email, topic = key.rsplit(" ", 1)
        expected[(people[email], int(topic))] = net
    skipped = {(people[key.rsplit(" ", 1)[0]], int(key.rsplit(" ", 1)[1])) for key in unknown}
    topic_type = ContentType.objects.get_for_model(Topic)
    for pair in Notification.objects.filter(
        kind=NotificationKind.WAITLIST_PROMOTED,
        subject_type=topic_type,
        pk__gt=since_notification,
        recipient_id__in=people.values(),
    ).values_list("recipient_id", "subject_id"):
        expected[pair] = expected.get(pair, 0) + 1
    have = set(
        Participation.objects.filter(
            user_id__in=people.values(), role=Participation.Role.PARTICIPANT
        ).values_list("user_id", "topic_id")
    )
    return [
        f"user {user}, topic {topic}: joins − leaves + moved in = {n}, "
        f"{'in' if (user, topic) in have else 'not in'} the group"
        for (user, topic), n in sorted(expected.items())
        if (user, topic) not in skipped and n != int((user, topic) in have)
    ]


def interest_as_told(interest_last: dict[str, bool], shared: set[str]) -> list[str]:
    """The last “想听” or take-back an account was told about is what the database has
    (accounts used on two devices at once are left out: their order is not known)."""
    keys = {key: want for key, want in interest_last.items() if key.rsplit(" ", 1)[0] not in shared}
    people = _people(keys)
    have = set(
        TopicInterest.objects.filter(user_id__in=people.values()).values_list("user_id", "topic_id")
    )
    found = []
    for key, want in keys.items():
        email, topic = key.rsplit(" ", 1)
        exists = (people.get(email), int(topic)) in have
        if want != exists:
            found.append(f"{key}: last told {'want' if want else 'taken back'}, row {exists}")
    return found


def votes_as_told(votes_told: list[str]) -> list[str]:
    """Every vote a committee member was told is recorded is there."""
    people = _people(votes_told)
    have = set(Vote.objects.values_list("voter_id", "application_id"))
    return [
        f"{key}: told recorded, no vote"
        for key in votes_told
        if (people.get(key.rsplit(" ", 1)[0]), int(key.rsplit(" ", 1)[1])) not in have
    ]


def all_checks(report: dict, since: dict, shared: set[str]) -> list[tuple[str, Callable]]:
    """(label, check) of every invariant, with the run's report and starting points bound."""
    notification = since["notification"]
    return [
        ("no participant group over capacity", groups_within_capacity),
        ("one RSVP per person per session", one_rsvp_per_person),
        ("one place per person per group", one_participation_per_person),
        ("one 想听 per person per topic, counters right", one_interest_per_person),
        ("one vote per committee member per application", one_vote_per_person),
        ("every notice queued once", notices_queued_once),
        (
            "every join noticed once",
            lambda: join_notices(
                since_participation=since["participation"],
                since_notification=notification,
                joins_ok=report["joins_ok"],
            ),
        ),
        ("tasks held by members of the group", tasks_held_by_the_group),
        ("nobody waits for a group they are in", nobody_waits_for_their_own_group),
        ("RSVPs are what members were told", lambda: rsvps_as_told(report["rsvp_net"])),
        (
            "groups are what members were told",
            lambda: groups_as_told(
                report["group_net"], report["group_unknown"], since_notification=notification
            ),
        ),
        (
            "想听 is what members were told",
            lambda: interest_as_told(report["interest_last"], shared),
        ),
        ("votes members were told of are there", lambda: votes_as_told(report["votes_told"])),
    ]


def run_checks(report: dict, since: dict, shared: set[str]) -> list[tuple[str, list[str]]]:
    return [(label, _listed(check())) for label, check in all_checks(report, since, shared)]
