"""Writes on the topic sheet: proposing, the status lifecycle, the participant group, tasks."""

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from members.models import User
from members.selectors import verified_members
from sessions.topics.deadlines import due_date_before, session_start_of
from sessions.topics.models import (
    CHECKLIST,
    MAX_PAPER_LINKS,
    CoPresenterInvitation,
    Participation,
    Season,
    Task,
    Topic,
    TopicInterest,
    TopicStatus,
    TopicTransition,
    Track,
    WaitlistEntry,
    monday_of,
)
from sessions.topics.notices import (
    notify_co_presenter_invited,
    notify_group_joined,
    notify_topic_transition,
    notify_waitlist_promoted,
)
from sessions.topics.rules import CLOSED, JOINABLE, is_group_member, is_group_participant
from sessions.topics.signals import recruiting_opened, scheduled_topic_moving
from sessions.topics.slots import RECRUITING_OPENS_BEFORE, slot_of_week

S = TopicStatus


class TopicError(Exception):
    """A request that breaks a rule of the sheet. The message is shown to the user as is."""


def _never_blocked(topic: Topic, now: datetime.datetime) -> str:
    return ""


@dataclass(frozen=True)
class Transition:
    label: str
    # The registered permission (sessions/topics/rules.py) that says who may take this step.
    permission: str
    needs_reason: bool = False
    # Offered as a button on the topic page (scheduling happens on the sessions pages).
    manual: bool = True
    # Why the topic cannot take this step now (a rule of the step, not of the role), or "".
    # The button and the service ask the same function.
    blocked: Callable[[Topic, datetime.datetime], str] = _never_blocked
    # Asked for once before it is taken (a confirmation that says what will happen and who
    # will be told: topicshare.core.confirm).
    confirm: bool = False

    def allowed(self, user, topic: Topic) -> bool:
        return user is not None and user.has_perm(self.permission, topic)


def _checklist_open(topic: Topic, now: datetime.datetime) -> str:
    if topic.checklist_done:
        return ""
    return _("Tick all five items of the checklist before saying the preparation is done.")


# Who may take a step: a permission of sessions/topics/rules.py, asked on the topic.
_ORGANISER = "topic_sessions.moderate_topic"
_PROPOSER = "topic_sessions.advance_own_topic"
_ORGANISER_OR_PROPOSER = "topic_sessions.cancel_topic"
_REOPEN = "topic_sessions.reopen_topic"

_BEFORE_PRESENTED = [S.PROPOSED, S.ACCEPTED, S.RECRUITING, S.PREPARING, S.READY, S.SCHEDULED]

TRANSITIONS: dict[tuple[str, str], Transition] = {
    (S.PROPOSED, S.ACCEPTED): Transition(gettext_lazy("Accept"), _ORGANISER),
    (S.PROPOSED, S.REJECTED): Transition(
        gettext_lazy("Reject"), _ORGANISER, needs_reason=True, confirm=True
    ),
    (S.PROPOSED, S.WITHDRAWN): Transition(gettext_lazy("Withdraw"), _PROPOSER, confirm=True),
    # The proposer changes their mind: a withdrawn topic is proposed again, for review.
    (S.WITHDRAWN, S.PROPOSED): Transition(gettext_lazy("Reopen"), _REOPEN),
    (S.ACCEPTED, S.RECRUITING): Transition(gettext_lazy("Start recruiting"), _ORGANISER),
    (S.RECRUITING, S.PREPARING): Transition(
        gettext_lazy("Close the group, start preparing"), _ORGANISER
    ),
    (S.PREPARING, S.READY): Transition(
        gettext_lazy("Preparation done (准备 OK)"), _PROPOSER, blocked=_checklist_open
    ),
    (S.READY, S.SCHEDULED): Transition(gettext_lazy("Schedule"), _ORGANISER, manual=False),
    # Blocked while the session has not started: a rule the weekly sessions add
    # (transition_guard in sessions/weekly/scheduling.py).
    (S.SCHEDULED, S.PRESENTED): Transition(gettext_lazy("Mark as presented"), _ORGANISER),
    (S.SCHEDULED, S.READY): Transition(gettext_lazy("Postpone"), _ORGANISER, manual=False),
    **{
        (status, S.CANCELLED): Transition(
            gettext_lazy("Cancel"), _ORGANISER_OR_PROPOSER, needs_reason=True, confirm=True
        )
        for status in _BEFORE_PRESENTED
    },
}


def transition_guard(frm: str, to: str):
    """Decorator: a higher layer adds the rule that blocks one step, e.g. the weekly sessions'
    "not presented before the session has started". The button and the service ask it."""

    def register(blocked: Callable[[Topic, datetime.datetime], str]):
        TRANSITIONS[(frm, to)] = replace(TRANSITIONS[(frm, to)], blocked=blocked)
        return blocked

    return register


def transitions_for(
    *, topic: Topic, user, now: datetime.datetime
) -> list[tuple[str, Transition, str]]:
    """(to, transition, why it is blocked or "") of the steps `user` may start from the
    topic's current status: a button where nothing blocks it, the reason otherwise."""
    return [
        (to, transition, transition.blocked(topic, now))
        for (frm, to), transition in TRANSITIONS.items()
        if frm == topic.status and transition.manual and transition.allowed(user, topic)
    ]


def transition_check(
    *,
    topic: Topic,
    to: str,
    by: User | None,
    reason: str = "",
    internal: bool = False,
    now: datetime.datetime,
) -> Transition:
    """Whether `by` may move `topic` to `to` now; raises what topic_transition would (the
    confirmation page asks this before it asks the person)."""
    transition = TRANSITIONS.get((topic.status, to))
    if transition is None:
        raise TopicError(
            _("A topic that is “%(current)s” cannot become “%(target)s”.")
            % {"current": S(topic.status).label, "target": S(to).label if to in S.values else to}
        )
    if not transition.manual and not internal:
        # e.g. "scheduled": only scheduling a session (which picks the slot) may do it.
        raise TopicError(_("This step happens elsewhere: topics are scheduled with a session."))
    system = internal and by is None  # the forum itself, e.g. a session that has ended
    if not system and not transition.allowed(by, topic):
        raise PermissionDenied(_("You may not do this with this topic."))
    if transition.needs_reason and not (reason or "").strip():
        raise TopicError(_("Please give a reason."))
    blocked = transition.blocked(topic, now)
    if blocked:
        raise TopicError(blocked)
    return transition


def _record(*, topic: Topic, to: str, by: User | None, reason: str = "") -> TopicTransition:
    """Change the status, keep the history and tell the people concerned (outbox)."""
    transition = TopicTransition.objects.create(
        topic=topic, from_status=topic.status, to_status=to, by=by, reason=reason
    )
    topic.status = to
    fields = ["status", "updated_at"]
    if reason:
        topic.reason = reason
        fields.append("reason")
    topic.save(update_fields=fields)
    if to == S.RECRUITING:
        checklist_tasks_create(topic=topic)
    notify_topic_transition(topic=topic, transition=transition)
    return transition


@transaction.atomic
def topic_transition(
    *,
    topic: Topic,
    to: str,
    by: User | None,
    reason: str = "",
    internal: bool = False,
    now: datetime.datetime | None = None,
) -> Topic:
    """Move a topic to status `to`, if `by` may. Records the transition (who, when, from, to).

    A scheduled topic takes its upcoming session along, in the same transaction (the
    scheduled_topic_moving signal, received by sessions.weekly.scheduling.session_follow_topic):
    cancelled → the session is cancelled (the slot is free, calendars say CANCELLED, its
    reminders are cancelled, everyone concerned is told), presented → the session is done.
    Whichever side starts, both change together.

    Raises PermissionDenied when the role does not allow it, TopicError when the move is not
    possible from the current status or a rule of the target status is not met. `internal`
    lets other services (scheduling) make the transitions that have no button."""
    now = now or timezone.now()
    topic = Topic.objects.select_for_update().get(pk=topic.pk)
    transition_check(topic=topic, to=to, by=by, reason=reason, internal=internal, now=now)
    reason = (reason or "").strip()
    if topic.status == S.SCHEDULED:
        scheduled_topic_moving.send(sender=Topic, topic=topic, to=to, by=by, reason=reason, now=now)
    _record(topic=topic, to=to, by=by, reason=reason)
    return topic


def _current_season() -> Season | None:
    return Season.objects.filter(is_current=True).first()


def _validate(topic: Topic, exclude: Iterable[str] = ()) -> None:
    topic.full_clean(exclude=[*exclude, "proposer", "group_qr"])


def clean_paper_links(raw: str | Iterable[str]) -> list[str]:
    """One or more http(s) URLs, one per line or separated by spaces."""
    from django.core.validators import URLValidator

    items = raw.split() if isinstance(raw, str) else [str(item).strip() for item in raw]
    links, validate = [], URLValidator(schemes=["http", "https"])
    for item in items:
        if not item:
            continue
        try:
            validate(item)
        except ValidationError:
            raise ValidationError(
                _("“%(link)s” is not an http(s) link.") % {"link": item[:200]}
            ) from None
        if item not in links:
            links.append(item)
        if len(links) > MAX_PAPER_LINKS:
            raise ValidationError(_("Give at most %(max)d paper links.") % {"max": MAX_PAPER_LINKS})
    return links


@transaction.atomic
def topic_propose(
    *,
    proposer: User,
    track: Track,
    title: str,
    summary: str = "",
    paper_links: list[str] | None = None,
    sub_theme: str = "",
    preferred_week: datetime.date | None = None,
    capacity: int = 6,
    members_only: bool = False,
    co_presenters: Iterable[User] = (),
    season: Season | None = None,
) -> Topic:
    """Add a row to the sheet. The proposer becomes the first member of the topic's group;
    `co_presenters` are invited (co_presenters_want) and listed once they accept."""
    if not proposer.has_perm("topic_sessions.propose_topic"):
        raise PermissionDenied(_("Log in to propose a topic."))
    topic = Topic(
        proposer=proposer,
        track=track,
        title=" ".join(title.split()),
        summary=summary,
        paper_links=clean_paper_links(paper_links or []),
        sub_theme=sub_theme.strip(),
        preferred_week=monday_of(preferred_week),
        capacity=capacity,
        members_only=members_only,
        season=season or _current_season(),
    )
    _validate(topic)
    topic.save()
    co_presenters_want(topic=topic, by=proposer, people=co_presenters)
    Participation.objects.create(topic=topic, user=proposer, role=Participation.Role.PROPOSER)
    TopicTransition.objects.create(topic=topic, from_status="", to_status=S.PROPOSED, by=proposer)
    return topic


EDITABLE_FIELDS = {
    "title", "track", "sub_theme", "summary", "paper_links", "preferred_week", "capacity",
    "members_only", "group_chat_link", "group_qr", "season",
    "check_intro", "check_methods", "check_code", "check_survey", "check_opinion",
}  # fmt: skip


@transaction.atomic
def topic_update(*, topic: Topic, by: User, co_presenters=None, **changes) -> Topic:
    """Edit a topic: its proposer until it is scheduled, organisers always. `co_presenters`,
    when given, is who should present with the proposer (co_presenters_want)."""
    if not by.has_perm("topic_sessions.change_topic", topic):
        raise PermissionDenied(_("You may not edit this topic."))
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise TopicError(_("These fields cannot be edited here: %s") % ", ".join(sorted(unknown)))
    if "paper_links" in changes:
        changes["paper_links"] = clean_paper_links(changes["paper_links"])
    if "preferred_week" in changes:
        changes["preferred_week"] = monday_of(changes["preferred_week"])
    if "title" in changes:
        changes["title"] = " ".join(changes["title"].split())
    for field, value in changes.items():
        # save_form_data, as ModelForms do: it understands "clear this file" (False).
        Topic._meta.get_field(field).save_form_data(topic, value)
    if "capacity" in changes and topic.capacity < topic.participant_count:
        raise TopicError(
            _("The group already has %(count)d participants; capacity cannot be lower.")
            % {"count": topic.participant_count}
        )
    _validate(topic)
    topic.save(update_fields=[*changes, "updated_at"])
    if "capacity" in changes:
        waitlist_promote(topic=topic)  # more places: the waitlist moves in
    _checklist_to_tasks(topic, {field for field in changes if field in dict(CHECKLIST)})
    if co_presenters is not None:
        co_presenters_want(topic=topic, by=by, people=co_presenters)
    return topic


MAX_CO_PRESENTERS = 5


def co_presenters_want(*, topic: Topic, by: User, people: Iterable[User]) -> None:
    """Who should present the topic with its proposer. Nobody is listed without saying yes:
    a new person gets an invitation (CoPresenterInvitation) and becomes a co-presenter when
    they accept it; co-presenters and invitations no longer wanted go. Only verified members
    may be invited (TopicError otherwise), and not someone who declined."""
    wanted = {user.pk: user for user in people if user.pk != topic.proposer_id}
    if len(wanted) > MAX_CO_PRESENTERS:
        raise TopicError(_("At most %(count)d co-presenters.") % {"count": MAX_CO_PRESENTERS})
    current = set(topic.co_presenters.values_list("pk", flat=True))
    topic.co_presenters.remove(*(current - wanted.keys()))
    CoPresenterInvitation.objects.filter(topic=topic).exclude(invitee_id__in=wanted).exclude(
        status=CoPresenterInvitation.Status.DECLINED
    ).delete()
    invitations = {invitation.invitee_id: invitation for invitation in topic.invitations.all()}
    new = [pk for pk in wanted if pk not in current and pk not in invitations]
    eligible = set(verified_members().filter(pk__in=new).values_list("pk", flat=True))
    for pk in wanted:
        invitation = invitations.get(pk)
        if invitation is not None and invitation.status == CoPresenterInvitation.Status.DECLINED:
            raise TopicError(
                _("%(name)s declined to present this topic.") % {"name": wanted[pk].name}
            )
        if pk in new and pk not in eligible:
            raise TopicError(
                _("%(name)s cannot be invited: only members of the study group present.")
                % {"name": wanted[pk].name}
            )
    for pk in new:
        invitation = CoPresenterInvitation.objects.create(
            topic=topic, invitee=wanted[pk], invited_by=by
        )
        notify_co_presenter_invited(invitation=invitation)


@transaction.atomic
def invitation_answer(
    *,
    invitation: CoPresenterInvitation,
    by: User,
    accept: bool,
    now: datetime.datetime | None = None,
) -> CoPresenterInvitation:
    """The invited person accepts (and is listed as a co-presenter from now on) or declines.
    Refused (TopicError) once answered, or once the topic is out of the proposer's hands
    (scheduled, presented, closed); only the invited person answers (PermissionDenied)."""
    invitation = (
        CoPresenterInvitation.objects.select_for_update()
        .select_related("topic")
        .get(pk=invitation.pk)
    )
    if not by.has_perm("topic_sessions.answer_invitation", invitation):
        if invitation.invitee_id != by.pk:
            raise PermissionDenied(_("This invitation is for someone else."))
        if invitation.status != CoPresenterInvitation.Status.PENDING:
            raise TopicError(_("You have answered this invitation already."))
        raise TopicError(_("This topic can no longer change its presenters."))
    invitation.status = (
        CoPresenterInvitation.Status.ACCEPTED if accept else CoPresenterInvitation.Status.DECLINED
    )
    invitation.responded_at = now or timezone.now()
    invitation.save(update_fields=["status", "responded_at"])
    if accept:
        invitation.topic.co_presenters.add(by)
    return invitation


@transaction.atomic
def group_join(*, topic: Topic, user: User) -> Participation:
    """Join a topic's participant group. The row lock makes the capacity hold under
    concurrent joins; a join that fills the last place moves the topic to preparing."""
    topic = Topic.objects.select_for_update().get(pk=topic.pk)
    # The same rule as the page's button (sessions.topics.rules.may_join_group); then why not.
    if not user.has_perm("topic_sessions.join_group", topic):
        if is_group_member(user, topic):
            raise TopicError(_("You are already in this group."))
        if topic.status not in JOINABLE:
            raise TopicError(_("This group is not recruiting."))
        if topic.places_left <= 0:
            raise TopicError(_("The group is full."))
        raise PermissionDenied(_("Only members of the study group may join this group."))
    try:
        with transaction.atomic():
            participation = Participation.objects.create(
                topic=topic, user=user, role=Participation.Role.PARTICIPANT
            )
    except IntegrityError:
        raise TopicError(_("You are already in this group.")) from None
    notify_group_joined(participation=participation)
    if topic.status == S.RECRUITING and topic.places_left == 0:
        _record(topic=topic, to=S.PREPARING, by=None, reason=_("The group is full."))
    return participation


def topic_interest_set(*, topic: Topic, user: User, want: bool) -> bool:
    """Say (want=True) or take back (want=False) that `user` wants to hear `topic` (“想听”).
    Idempotent: a second tap that says the same changes nothing (double taps, two tabs), so
    the count holds under concurrent taps (one row per person, by a unique constraint; the
    count moves only with a row that was really added or removed). Returns whether the
    person now wants to hear it. Taking it back is allowed in any state."""
    if want and not user.has_perm("topic_sessions.want_to_hear", topic):
        if not user.is_authenticated:
            raise PermissionDenied(_("Log in to say you want to hear a topic."))
        if topic.proposer_id == user.pk or topic.co_presenters.filter(pk=user.pk).exists():
            raise TopicError(_("You present this topic."))
        raise TopicError(_("This topic has found its group: RSVP to its session instead."))
    with transaction.atomic():
        if want:
            try:
                with transaction.atomic():
                    TopicInterest.objects.create(topic=topic, user=user)
            except IntegrityError:
                return True  # already there
            Topic.objects.filter(pk=topic.pk).update(interest_count=F("interest_count") + 1)
            return True
        removed, _rows = TopicInterest.objects.filter(topic=topic, user=user).delete()
        if removed:
            Topic.objects.filter(pk=topic.pk, interest_count__gt=0).update(
                interest_count=F("interest_count") - 1
            )
        return False


@transaction.atomic
def group_leave(*, topic: Topic, user: User) -> None:
    """Leave a group. The proposer cannot leave their own topic (they withdraw or cancel it);
    tasks assigned to the leaver become unassigned."""
    topic = Topic.objects.select_for_update().get(pk=topic.pk)
    if not user.has_perm("topic_sessions.leave_group", topic):
        if is_group_participant(user, topic):
            raise TopicError(_("This topic is closed."))
        raise TopicError(_("You are not a participant of this group."))
    left, _rows = Participation.objects.filter(
        topic=topic, user=user, role=Participation.Role.PARTICIPANT
    ).delete()
    if not left:
        raise TopicError(_("You are not a participant of this group."))
    Task.objects.filter(topic=topic, assignee=user).update(assignee=None)
    waitlist_promote(topic=topic)


def waitlist_position(*, topic: Topic, user: User) -> int | None:
    """1 for the first in line; None when `user` is not waiting for this group."""
    mine = WaitlistEntry.objects.filter(topic=topic, user=user).first()
    if mine is None:
        return None
    ahead = WaitlistEntry.objects.filter(topic=topic).filter(
        Q(created_at__lt=mine.created_at) | Q(created_at=mine.created_at, pk__lt=mine.pk)
    )
    return ahead.count() + 1


@transaction.atomic
def waitlist_join(*, topic: Topic, user: User) -> int:
    """Wait for a place in a full group. Returns the place in line (1: next to move in).
    Idempotent: waiting already keeps the place one has."""
    topic = Topic.objects.select_for_update().get(pk=topic.pk)
    if not user.has_perm("topic_sessions.wait_for_group", topic):
        if is_group_member(user, topic):
            raise TopicError(_("You are already in this group."))
        if topic.status not in JOINABLE:
            raise TopicError(_("This group is not recruiting."))
        if topic.places_left > 0:
            raise TopicError(_("The group has a free place: join it."))
        raise PermissionDenied(_("Only members of the study group may join this group."))
    WaitlistEntry.objects.get_or_create(topic=topic, user=user)
    return waitlist_position(topic=topic, user=user)


def waitlist_leave(*, topic: Topic, user: User) -> None:
    if not WaitlistEntry.objects.filter(topic=topic, user=user).delete()[0]:
        raise TopicError(_("You are not on this group's waitlist."))


def waitlist_promote(*, topic: Topic) -> list[Participation]:
    """Move people from the waitlist into the group, first come first, while it has free
    places (after a leave, or a larger capacity); each is told. Who can no longer join (left
    the forum, not a member of a members-only group) loses the place in line. The caller holds
    the topic's row lock, or this takes it."""
    topic = Topic.objects.select_for_update().get(pk=topic.pk)
    if topic.status not in JOINABLE:
        return []
    taken = Participation.objects.filter(topic=topic, role=Participation.Role.PARTICIPANT)
    free = topic.capacity - taken.count()
    moved: list[Participation] = []
    for entry in WaitlistEntry.objects.filter(topic=topic).select_related("user"):
        if free <= 0:
            break
        person = entry.user
        entry.delete()
        # The same rule as joining (members only, not in the group yet), with a free place.
        if not (person.is_active and person.has_perm("topic_sessions.join_group", topic)):
            continue
        participation = Participation.objects.create(
            topic=topic, user=person, role=Participation.Role.PARTICIPANT
        )
        notify_waitlist_promoted(participation=participation)
        moved.append(participation)
        free -= 1
    if moved and topic.status == S.RECRUITING and free <= 0:
        _record(topic=topic, to=S.PREPARING, by=None, reason=_("The group is full."))
    return moved


def _check_assignee(topic: Topic, assignee: User | None) -> None:
    """Call with the topic's row lock held (_lock_group): group_leave takes it too, so a member
    leaving at the same moment either has left already (refused here) or leaves afterwards
    (and hands the task back)."""
    if assignee is not None and not is_group_member(assignee, topic):
        raise TopicError(_("Tasks can only be assigned to members of the group."))


def _lock_group(topic: Topic) -> Topic:
    """The topic, re-read under its row lock: who is in the group now, not as the page read
    it (no prefetched participants)."""
    return Topic.objects.select_for_update().get(pk=topic.pk)


def _check_task_permission(topic: Topic, by: User) -> None:
    if not by.has_perm("topic_sessions.manage_tasks", topic):
        if not by.has_perm("topic_sessions.view_group", topic):
            raise PermissionDenied(_("Only the group works on its tasks."))
        raise TopicError(_("This topic is closed."))


@transaction.atomic
def task_create(
    *,
    topic: Topic,
    by: User,
    title: str,
    notes: str = "",
    assignee: User | None = None,
    due_date: datetime.date | None = None,
    due_before_session: int | None = None,
) -> Task:
    """A new task. Due before the session (`due_before_session` days), its date comes from
    the session once the topic is scheduled, and follows it (sessions/topics/deadlines.py)."""
    _check_task_permission(topic, by)
    if assignee is not None:
        _check_assignee(_lock_group(topic), assignee)
    task = Task(topic=topic, title=" ".join(title.split()), notes=notes, assignee=assignee,
                due_date=due_date, due_before_session=due_before_session)  # fmt: skip
    _due_from_session(task)
    task.full_clean(exclude=["topic", "assignee"])
    task.save()
    return task


@transaction.atomic
def task_update(*, task: Task, by: User, **changes) -> Task:
    """Assign, move (todo / doing / done) or rename a task."""
    _check_task_permission(task.topic, by)
    allowed = {"title", "notes", "assignee", "status", "due_date", "due_before_session"}
    if set(changes) - allowed:
        raise TopicError(
            _("These fields cannot be edited here: %s") % ", ".join(set(changes) - allowed)
        )
    # The group first, then the task: the order group_leave takes them in (it hands the
    # leaver's tasks back), so the two wait for each other instead of deadlocking.
    group = _lock_group(task.topic)
    if changes.get("assignee") is not None:
        _check_assignee(group, changes["assignee"])
    changes = {field: value for field, value in changes.items() if getattr(task, field) != value}
    if not changes:
        raise TopicError(_("Nothing to change: the task is like that already."))
    for field, value in changes.items():
        setattr(task, field, value)
    if "due_before_session" in changes and _due_from_session(task):
        changes["due_date"] = task.due_date
    task.full_clean(exclude=["topic", "assignee"])
    task.save(update_fields=[*changes, "updated_at"])
    if "status" in changes:
        _task_to_checklist(task)
    return task


def _due_from_session(task: Task) -> bool:
    """A task due before the session of a scheduled topic takes its date from it."""
    if task.due_before_session is None:
        return False
    start = session_start_of(task.topic)
    if start is None:
        return False
    task.due_date = due_date_before(
        start, days=task.due_before_session, time_zone=task.topic.track.time_zone
    )
    return True


def checklist_tasks_create(*, topic: Topic) -> list[Task]:
    """A group starts with the five things every share covers (CHECKLIST) as its first tasks,
    done where the topic's checklist is ticked already. Idempotent: an item that has its task
    gets no second one. Called when recruiting opens (the group starts)."""
    have = set(
        Task.objects.filter(topic=topic)
        .exclude(checklist_item="")
        .values_list("checklist_item", flat=True)
    )
    # Stored in the forum's language; pages show the label in the reader's (Task.label).
    with translation.override(settings.LANGUAGE_CODE):
        tasks = [
            Task(
                topic=topic,
                title=str(label),
                checklist_item=field,
                status=Task.Status.DONE if getattr(topic, field) else Task.Status.TODO,
            )
            for field, label in CHECKLIST
            if field not in have
        ]
    return Task.objects.bulk_create(tasks, ignore_conflicts=True)


def _task_to_checklist(task: Task) -> None:
    """A checklist task done (or reopened) ticks (or unticks) its item of the checklist."""
    if not task.checklist_item:
        return
    done = task.status == Task.Status.DONE
    topic = task.topic
    if getattr(topic, task.checklist_item) != done:
        setattr(topic, task.checklist_item, done)
        topic.save(update_fields=[task.checklist_item, "updated_at"])


def _checklist_to_tasks(topic: Topic, fields: set[str]) -> None:
    """Items ticked (or unticked) on the topic finish (or reopen) their tasks."""
    for field in fields:
        tasks = Task.objects.filter(topic=topic, checklist_item=field)
        if getattr(topic, field):
            tasks.exclude(status=Task.Status.DONE).update(
                status=Task.Status.DONE, updated_at=timezone.now()
            )
        else:
            tasks.filter(status=Task.Status.DONE).update(
                status=Task.Status.TODO, updated_at=timezone.now()
            )


def _locked_task(task: Task) -> Task:
    """The task and its topic under their row locks, the topic's first: group_leave's order
    (it locks the topic, then hands the leaver's tasks back), so no deadlock between them."""
    _lock_group(Topic(pk=task.topic_id))
    return Task.objects.select_for_update().select_related("topic").get(pk=task.pk)


def _task_refusal(task: Task, by: User) -> Exception:
    """Why `by` may not claim or finish `task`, as the error to raise."""
    if not by.has_perm("topic_sessions.view_group", task.topic):
        return PermissionDenied(_("Only the group works on its tasks."))
    if task.topic.status in CLOSED:
        return TopicError(_("This topic is closed."))
    if task.status == Task.Status.DONE:
        return TopicError(_("This task is done already."))
    if task.assignee_id == by.pk:
        return TopicError(_("You are on this task already."))
    if task.assignee_id is not None:
        return TopicError(_("%(name)s is on this task already.") % {"name": task.assignee.name})
    return PermissionDenied(_("Only the group works on its tasks."))


@transaction.atomic
def task_claim(*, task: Task, by: User) -> Task:
    """我来: `by` takes a task nobody has, in their own group; a task not started is now
    under way (doing)."""
    task = _locked_task(task)
    if not by.has_perm("topic_sessions.claim_task", task):
        raise _task_refusal(task, by)
    task.assignee = by
    fields = ["assignee", "updated_at"]
    if task.status == Task.Status.TODO:
        task.status = Task.Status.DOING
        fields.append("status")
    task.save(update_fields=fields)
    return task


@transaction.atomic
def task_finish(*, task: Task, by: User) -> Task:
    """完成: the task is done. One nobody had becomes the finisher's when they are in the
    group; a checklist task ticks its item of the topic's checklist."""
    task = _locked_task(task)
    if not by.has_perm("topic_sessions.finish_task", task):
        raise _task_refusal(task, by)
    task.status = Task.Status.DONE
    fields = ["status", "updated_at"]
    if task.assignee_id is None and is_group_member(by, task.topic):
        task.assignee = by
        fields.append("assignee")
    task.save(update_fields=fields)
    _task_to_checklist(task)
    return task


def topics_open_recruiting(*, now: datetime.datetime) -> list[Topic]:
    """The lifecycle's timed step: an accepted topic whose preferred week's slot is two weeks
    away starts recruiting. Celery beat runs it every minute (task topics.open_recruiting).

    Side effects: topic_transition for each (history, notices); then `recruiting_opened` is
    sent with the topic and its slot (the weekly sessions queue the promotion)."""
    opened = []
    accepted = Topic.objects.filter(
        status=S.ACCEPTED,
        preferred_week__isnull=False,
        preferred_week__lte=(now + RECRUITING_OPENS_BEFORE).date(),
    ).select_related("track", "proposer")
    for topic in accepted:
        slot = slot_of_week(track=topic.track, week=topic.preferred_week)
        if slot is None or slot - RECRUITING_OPENS_BEFORE > now:
            continue  # not yet (or a date the forms refuse, from older data)
        with transaction.atomic():
            topic_transition(topic=topic, to=S.RECRUITING, by=None, internal=True, now=now)
            recruiting_opened.send(sender=Topic, topic=topic, slot=slot, now=now)
        opened.append(topic)
    return opened


# --- Tracks and seasons named by an import (the library's archives) --------------------------


def track_for_name(*, name: str) -> Track:
    """The track an archive calls `name` (its Chinese name, English name or slug), created
    at the end of the order if there is none."""
    track = (
        Track.objects.filter(name_zh=name).first()
        or Track.objects.filter(name_en__iexact=name).first()
        or Track.objects.filter(slug=name.lower()).first()
    )
    if track is not None:
        return track
    base = (slugify(name) or f"domain-{Track.objects.count() + 1}")[:40]
    slug, number = base, 1
    while Track.objects.filter(slug=slug).exists():  # "RecSys!" next to "recsys"
        number += 1
        slug = f"{base[: 39 - len(str(number))]}-{number}"
    return Track.objects.create(name_zh=name, name_en=name, slug=slug, order=Track.objects.count())


def season_for_label(*, label: str) -> Season:
    """The season called `label` ("Season 3"), created (ordered by its number) if need be."""
    order = int(label.split()[-1]) if label.split()[-1].isdigit() else 0
    season, _created = Season.objects.get_or_create(label=label, defaults={"order": order})
    return season
