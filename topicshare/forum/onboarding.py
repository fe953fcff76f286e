"""Onboarding into the WeChat groups (流入/流出 by hand): the study group's chat is run by hand
in WeChat, so the forum makes that hand work a checklist. When a role crosses the member line
(admitted, moved back to the audience, changed by an organiser) the person gets a row for the
organisers, "add" or "remove", ticked off when done (/staff/onboarding/). Members see the
study group's QR code and steps on /me/ and in the admission e-mail.

Services and selectors of that checklist; the views are in onboarding_views.py."""

import datetime
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Exists, Min, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from members.models import User
from members.roles import Role, RoleChangeCause
from members.rules import require_perm
from topicshare.core.links import absolute_url
from topicshare.core.singletons import kept_value
from topicshare.forum.models import ForumSettings, GroupChange

# How far back the "show done" list of the checklist goes.
DONE_SHOWN_DAYS = 90


class GroupChangeError(Exception):
    """A tick or undo that cannot be done; the message is shown as is."""


def _in_study_group(role: Role, user: User) -> bool:
    return user.is_superuser or Role(role).rank >= Role.MEMBER.rank


@transaction.atomic
def group_change_record(
    *,
    user: User,
    previous: Role,
    role: Role,
    cause: RoleChangeCause | str | None,
    now: datetime.datetime | None = None,
) -> GroupChange | None:
    """The role of `user` went from `previous` to `role`: if it crossed the member line, the
    organisers have to add them to the study group's chat, or remove them. Returns the new
    row, or None when there is nothing to do.

    - Changes the forum made by itself without a cause (seeding, scripts: `cause` None) and
      placeholders (no account to add) make no row.
    - A change closes the person's open change of the other kind instead of making a row
      (`closed_automatically`): admitted, then removed before anyone added them, there is
      nobody to remove; removed, then admitted again before anyone removed them, there is
      nobody to add."""
    if cause is None or user.is_placeholder:
        return None
    was_in, is_in = _in_study_group(previous, user), _in_study_group(role, user)
    if was_in == is_in:
        return None
    change = GroupChange.Change.ADD if is_in else GroupChange.Change.REMOVE
    now = now or timezone.now()
    waiting = GroupChange.objects.select_for_update().filter(user=user, done_at=None).first()
    if waiting is not None:
        if waiting.change == change:
            return None  # already on the list
        waiting.done_at = now
        waiting.closed_automatically = True
        waiting.save(update_fields=["done_at", "closed_automatically"])
        return None
    return GroupChange.objects.create(
        user=user, change=change, reason=RoleChangeCause(cause), created_at=now
    )


@transaction.atomic
def group_change_tick(
    *, change: GroupChange, by: User, done: bool, now: datetime.datetime | None = None
) -> GroupChange:
    """An organiser ticks a row off (`done`: added to, or removed from, the WeChat group) or
    undoes their tick. Ticking a row that is done already (another organiser was quicker)
    changes nothing. Only the person's latest row can be undone, and not one the forum closed
    by itself (GroupChangeError)."""
    require_perm(by, "forum.manage_group_changes", message=_("Only organisers can do this."))
    change = GroupChange.objects.select_for_update().get(pk=change.pk)
    if done:
        if change.is_open:
            change.done_at = now or timezone.now()
            change.done_by = by
            change.save(update_fields=["done_at", "done_by"])
        return change
    if change.is_open:
        return change
    if change.closed_automatically:
        raise GroupChangeError(
            _("The forum closed this one by itself, as it was no longer needed: nothing to undo.")
        )
    if GroupChange.objects.filter(user_id=change.user_id, pk__gt=change.pk).exists():
        raise GroupChangeError(
            _("This person has a later change on the list: only the latest one can be undone.")
        )
    change.done_at = None
    change.done_by = None
    change.save(update_fields=["done_at", "done_by"])
    return change


# --- Reads ---------------------------------------------------------------------------------


@dataclass
class Checklist:
    to_add: list[GroupChange]
    to_remove: list[GroupChange]
    show_done: bool

    @property
    def waiting_to_add(self) -> int:
        return sum(1 for row in self.to_add if row.is_open)

    @property
    def waiting_to_remove(self) -> int:
        return sum(1 for row in self.to_remove if row.is_open)


def group_changes_checklist(*, show_done: bool, now: datetime.datetime) -> Checklist:
    """The open rows, oldest first, and with `show_done` the rows done in the last
    DONE_SHOWN_DAYS after them (the latest first): one query, with each row's person and who
    ticked it, and whether it is the person's latest (`is_latest`: only that one may be
    undone)."""
    rows = GroupChange.objects.select_related("user", "done_by").annotate(
        is_latest=~Exists(GroupChange.objects.filter(user=OuterRef("user"), pk__gt=OuterRef("pk")))
    )
    if show_done:
        since = now - datetime.timedelta(days=DONE_SHOWN_DAYS)
        rows = rows.filter(Q(done_at=None) | Q(done_at__gte=since))
    else:
        rows = rows.filter(done_at=None)
    rows = list(rows.order_by("created_at", "pk"))
    open_rows = [row for row in rows if row.is_open]
    done_rows = sorted((row for row in rows if not row.is_open), key=lambda row: row.done_at)
    ordered = open_rows + done_rows[::-1]
    return Checklist(
        to_add=[row for row in ordered if row.change == GroupChange.Change.ADD],
        to_remove=[row for row in ordered if row.change == GroupChange.Change.REMOVE],
        show_done=show_done,
    )


@dataclass(frozen=True)
class Waiting:
    to_add: int
    to_remove: int
    since: datetime.datetime | None

    def __bool__(self) -> bool:
        return bool(self.to_add or self.to_remove)


def _count_waiting() -> Waiting:
    figures = GroupChange.objects.filter(done_at=None).aggregate(
        to_add=Count("pk", filter=Q(change=GroupChange.Change.ADD)),
        to_remove=Count("pk", filter=Q(change=GroupChange.Change.REMOVE)),
        since=Min("created_at"),
    )
    return Waiting(**figures)


def group_changes_waiting() -> Waiting:
    """How many people wait to be added and removed, and since when (the organisers' inbox).
    Kept in the shared cache until a row changes: the inbox's query budget has no room for
    it (topicshare.core.singletons.kept_value)."""
    return kept_value(GroupChange, "waiting", _count_waiting)


@dataclass(frozen=True)
class StudyGroupCard:
    """What /me/ shows a member about the study group's chat."""

    waiting: bool  # on the organisers' list to be added, not ticked off yet
    added_at: datetime.datetime | None  # when the organisers ticked them off as added


def study_group_card(*, user: User) -> StudyGroupCard | None:
    """None for those who do not see the study group (the audience): one query otherwise."""
    if not user.has_perm("forum.view_study_group"):
        return None
    latest = user.group_changes.order_by("-pk").first()
    if latest is None or latest.change != GroupChange.Change.ADD:
        return StudyGroupCard(waiting=False, added_at=None)
    return StudyGroupCard(
        waiting=latest.is_open,
        added_at=None if latest.closed_automatically else latest.done_at,
    )


def study_group_welcome(*, user: User) -> tuple[list[str], str]:
    """For the admission e-mail (members' `member_welcome`): how to join the study group's
    chat, and a link to /me/, which shows the QR code (never the image itself: it is
    members-only)."""
    forum = ForumSettings.cached()
    steps = forum.study_group_steps.strip()
    lines = []
    if steps:
        lines.append(_("How to join the study group's WeChat group:") + "\n" + steps)
    if forum.study_group_qr:
        lines.append(_("Your page shows the study group's QR code: open the link below."))
    elif steps:
        lines.append(_("Your page shows these steps too: open the link below."))
    else:
        lines.append(
            _("The organisers will add you to the study group's WeChat group: see your page.")
        )
    if not user.wechat_id:
        lines.append(
            _("Add your WeChat ID to your profile, so that the organisers can find you in WeChat.")
        )
    return lines, absolute_url(reverse("me"))
