"""The sessions app's part of a member's own data (members/personal_data.py): proposals,
groups, 想听, tasks, presenting, RSVPs and attendance — what the archive holds, and what an
account's deletion does with them.

On deletion what is still to come is given up, freeing its place: a place in a group of a
topic not yet presented (the waitlist moves up), a place on a waitlist, 想听 for such a topic,
the claim on its tasks, RSVPs to sessions that have not started. What happened stays, under
the neutral name: topics (the sheet and the library need their proposer; organisers decide
about those not yet presented), presenting, attendance, past RSVPs and groups, the history."""

from django.db.models import F, Q

from members.personal_data import Erasure, local, personal_data_register
from sessions.models import (
    RSVP,
    Attendance,
    CoPresenterInvitation,
    Participation,
    SessionPresenter,
    Task,
    Topic,
    TopicInterest,
    WaitlistEntry,
)
from sessions.topics.rules import CLOSED
from sessions.topics.services import waitlist_promote


def _topic(topic: Topic) -> dict:
    return {"topic": topic.pk, "title": topic.title, "topic_status": topic.status}


def _proposals(user) -> list[dict]:
    topics = (
        Topic.objects.filter(Q(proposer=user) | Q(co_presenters=user))
        .distinct()
        .select_related("track")
        .order_by("created_at", "pk")
    )
    return [
        {
            **_topic(topic),
            "my_role": "proposer" if topic.proposer_id == user.pk else "co-presenter",
            "track": topic.track.name,
            "summary": topic.summary,
            "paper_links": topic.paper_links,
            "preferred_week": local(topic.preferred_week),
            "proposed": local(topic.created_at),
        }
        for topic in topics
    ]


def _proposals_erase(erasure: Erasure) -> None:
    """The topics stay (the sheet and the library need them), without the person's name,
    addresses or WeChat ID in their title, summary or sub-theme."""
    erasure.scrub_rows(
        Topic.objects.filter(Q(proposer=erasure.user) | Q(co_presenters=erasure.user))
    )


def _invitations(user) -> list[dict]:
    """Invitations to co-present that I got (who I invited is the others' data)."""
    invitations = CoPresenterInvitation.objects.filter(invitee=user).select_related("topic")
    return [
        {**_topic(invitation.topic), "status": invitation.status}
        for invitation in invitations.order_by("pk")
    ]


def _invitations_erase(erasure: Erasure) -> None:
    CoPresenterInvitation.objects.filter(
        invitee=erasure.user, status=CoPresenterInvitation.Status.PENDING
    ).delete()


def _history(user) -> list[dict]:
    from sessions.models import SessionChange, TopicTransition

    rows = [
        {**_topic(step.topic), "changed_status": f"{step.from_status} → {step.to_status}",
         "reason": step.reason, "at": local(step.at)}
        for step in TopicTransition.objects.filter(by=user).select_related("topic").order_by("pk")
    ]  # fmt: skip
    rows += [
        {"session": change.session_id, "change": change.kind, "reason": change.reason,
         "at": local(change.at)}
        for change in SessionChange.objects.filter(by=user).order_by("pk")
    ]  # fmt: skip
    return rows


def _history_erase(erasure: Erasure) -> None:
    from sessions.models import SessionChange, TopicTransition

    erasure.scrub_rows(TopicTransition.objects.filter(by=erasure.user), ["reason"])
    erasure.scrub_rows(SessionChange.objects.filter(by=erasure.user), ["reason"])


def _groups(user) -> list[dict]:
    rows = [
        {**_topic(p.topic), "role": p.role, "joined": local(p.joined_at)}
        for p in Participation.objects.filter(user=user).select_related("topic").order_by("pk")
    ]
    rows += [
        {**_topic(entry.topic), "role": "waitlist", "joined": local(entry.created_at)}
        for entry in WaitlistEntry.objects.filter(user=user).select_related("topic").order_by("pk")
    ]
    return rows


def _groups_erase(erasure: Erasure) -> None:
    """Leave the groups of topics not yet presented (the first waiting moves in) and every
    waitlist."""
    WaitlistEntry.objects.filter(user=erasure.user).delete()
    places = Participation.objects.filter(
        user=erasure.user, role=Participation.Role.PARTICIPANT
    ).exclude(topic__status__in=CLOSED)
    topics = list(Topic.objects.filter(pk__in=places.values("topic_id")).order_by("pk"))
    places.delete()
    for topic in topics:
        waitlist_promote(topic=topic)


def _wants(user) -> list[dict]:
    interests = TopicInterest.objects.filter(user=user).select_related("topic").order_by("pk")
    return [{**_topic(i.topic), "since": local(i.created_at)} for i in interests]


def _wants_erase(erasure: Erasure) -> None:
    """想听 for topics still to come goes, and with it one from each topic's count."""
    interests = TopicInterest.objects.filter(user=erasure.user).exclude(topic__status__in=CLOSED)
    topic_ids = list(interests.values_list("topic_id", flat=True))
    interests.delete()
    Topic.objects.filter(pk__in=topic_ids, interest_count__gt=0).update(
        interest_count=F("interest_count") - 1
    )


def _tasks(user) -> list[dict]:
    tasks = Task.objects.filter(assignee=user).select_related("topic").order_by("pk")
    return [
        {**_topic(task.topic), "task": task.title, "notes": task.notes, "status": task.status,
         "due": local(task.due_date), "updated": local(task.updated_at)}
        for task in tasks
    ]  # fmt: skip


def _tasks_erase(erasure: Erasure) -> None:
    """Open tasks of topics still to come are free for someone else to claim; done ones, and
    those of past topics, stay (the ledger counts them)."""
    erasure.scrub_rows(Task.objects.filter(assignee=erasure.user), ["title", "notes"])
    open_ones = Task.objects.filter(assignee=erasure.user).exclude(topic__status__in=CLOSED)
    open_ones.filter(status=Task.Status.DOING).update(status=Task.Status.TODO)
    open_ones.exclude(status=Task.Status.DONE).update(assignee=None, updated_at=erasure.now)


def _presenting(user) -> list[dict]:
    rows = SessionPresenter.objects.filter(user=user).select_related("session__topic")
    return [
        {**_topic(row.session.topic), "session": row.session_id, "start": local(row.start),
         "active": row.active}
        for row in rows.order_by("start", "pk")
    ]  # fmt: skip


def _rsvps(user) -> list[dict]:
    rsvps = RSVP.objects.filter(user=user).select_related("session__topic").order_by("pk")
    return [
        {**_topic(rsvp.session.topic), "session": rsvp.session_id,
         "start": local(rsvp.session.start), "rsvped": local(rsvp.created_at)}
        for rsvp in rsvps
    ]  # fmt: skip


def _rsvps_erase(erasure: Erasure) -> None:
    RSVP.objects.filter(user=erasure.user, session__start__gt=erasure.now).delete()


def _attendance(user) -> list[dict]:
    """My attendance (whom I recorded as present is theirs)."""
    rows = Attendance.objects.filter(user=user).select_related("session__topic").order_by("pk")
    return [
        {**_topic(row.session.topic), "session": row.session_id,
         "start": local(row.session.start), "how": row.how, "at": local(row.at)}
        for row in rows
    ]  # fmt: skip


personal_data_register(
    section="proposals",
    covers=("topic_sessions.Topic.proposer", "topic_sessions.Topic_co_presenters.user"),
    export=_proposals,
    erase=_proposals_erase,
)
personal_data_register(
    section="co_presenter_invitations",
    covers=(
        "topic_sessions.CoPresenterInvitation.invitee",
        "topic_sessions.CoPresenterInvitation.invited_by",
    ),
    export=_invitations,
    erase=_invitations_erase,
)
personal_data_register(
    section="my_changes_to_topics_and_sessions",
    covers=("topic_sessions.TopicTransition.by", "topic_sessions.SessionChange.by"),
    export=_history,
    erase=_history_erase,
)
personal_data_register(
    section="groups",
    covers=("topic_sessions.Participation.user", "topic_sessions.WaitlistEntry.user"),
    export=_groups,
    erase=_groups_erase,
)
personal_data_register(
    section="want_to_hear",
    covers=("topic_sessions.TopicInterest.user",),
    export=_wants,
    erase=_wants_erase,
)
personal_data_register(
    section="tasks", covers=("topic_sessions.Task.assignee",), export=_tasks, erase=_tasks_erase
)
personal_data_register(
    section="presenting", covers=("topic_sessions.SessionPresenter.user",), export=_presenting
)
personal_data_register(
    section="rsvps", covers=("topic_sessions.RSVP.user",), export=_rsvps, erase=_rsvps_erase
)
personal_data_register(
    section="attendance",
    covers=("topic_sessions.Attendance.user", "topic_sessions.Attendance.recorded_by"),
    export=_attendance,
)
