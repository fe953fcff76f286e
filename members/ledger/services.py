"""The season ledger (流出): what each member did in a season, and who the policy flags.

Computed from the source rows every time (sessions, presenters, groups, tasks, attendance,
RSVPs, the audit trail) in a fixed number of queries, so it can never drift from them.
Writes — removals and exemptions — are services below; they check who may do them."""

import datetime
from dataclasses import dataclass, field

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, Subquery, Value
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from members.ledger.models import ExemptionRequest, LedgerExemption, LedgerPolicy
from members.models import AuditEvent, User
from members.roles import Role, RoleChangeCause
from members.rules import require_perm
from members.selectors import users_with_role_at_least
from members.services import role_set
from sessions.models import (
    Season,
)
from sessions.weekly.selectors import (
    SeasonActivity,
    season_activity,
    season_sessions_ahead,
    season_window,
)
from topicshare.core.singletons import kept_value
from topicshare.notifications.models import NotificationKind
from topicshare.notifications.outbox import Message, absolute_url, notification_enqueue

# Sessions that took place: they count towards attendance.
# Members and above are listed (users_with_role_at_least); organisers are never flagged:
# they run the forum.
FLAGGABLE_ROLES = {Role.MEMBER, Role.COMMITTEE}


class Status:
    """A row's standing, in the order the review page lists them."""

    FLAGGED = "flagged"
    REMOVED = "removed"
    EXEMPT = "exempt"
    GRACE = "grace"
    ACTIVE = "active"
    ORGANISER = "organiser"

    LABELS = {
        FLAGGED: gettext_lazy("Flagged"),
        REMOVED: gettext_lazy("Moved to the audience"),
        EXEMPT: gettext_lazy("Exempt"),
        GRACE: gettext_lazy("New this season (grace)"),
        ACTIVE: gettext_lazy("Active"),
        ORGANISER: gettext_lazy("Organiser"),
    }
    ORDER = [FLAGGED, REMOVED, EXEMPT, GRACE, ACTIVE, ORGANISER]


@dataclass
class LedgerRow:
    user: User
    role: Role
    presented: int = 0
    groups_joined: int = 0
    tasks_done: int = 0
    attended: int = 0
    rsvps_missed: int = 0
    admitted_this_season: bool = False
    exemption: LedgerExemption | None = None
    removed: bool = False
    attendance_percent: int | None = None  # None: no session was held
    status: str = Status.ACTIVE

    @property
    def flagged(self) -> bool:
        return self.status == Status.FLAGGED

    @property
    def status_label(self) -> str:
        return str(Status.LABELS[self.status])


@dataclass
class SeasonLedger:
    season: Season
    policy: LedgerPolicy
    sessions_held: int
    window: tuple[datetime.datetime, datetime.datetime] | None
    rows: list[LedgerRow] = field(default_factory=list)

    @property
    def flagged(self) -> list[LedgerRow]:
        return [row for row in self.rows if row.flagged]

    def row_for(self, user_id: int) -> LedgerRow | None:
        return next((row for row in self.rows if row.user.pk == user_id), None)


def season_ledger(season: Season) -> SeasonLedger:
    """Every member's numbers for the season and the policy's verdict: flagged ones first,
    then by name. Two queries (the activity, the people), whatever the number of members or
    sessions; the policy is kept (LedgerPolicy.kept)."""
    policy = LedgerPolicy.kept()
    window = season_window(season)
    activity = season_activity(season)
    rows = _ledger_rows(season, policy, window, activity)
    rows.sort(key=lambda row: (Status.ORDER.index(row.status), row.user.name.lower()))
    return SeasonLedger(
        season=season, policy=policy, sessions_held=activity.sessions_held, window=window,
        rows=rows,
    )  # fmt: skip


def _ledger_rows(
    season: Season,
    policy: LedgerPolicy,
    window: tuple[datetime.datetime, datetime.datetime] | None,
    activity: SeasonActivity,
    *,
    user_id: int | None = None,
) -> list[LedgerRow]:
    """The ledger's rows (one query: the people with their removal, admission and
    exemption), of everyone it follows or (`user_id`) of that one person only."""
    removals = AuditEvent.objects.filter(
        action=AuditEvent.Action.SEASON_REMOVAL, details__season_id=season.pk
    )
    admitted = Value(False)
    if window:
        admitted = Exists(
            AuditEvent.objects.filter(
                subject_user=OuterRef("pk"),
                action=AuditEvent.Action.ROLE_CHANGED,
                details__from=Role.AUDIENCE.value,
                at__gte=window[0],
                at__lt=window[1],
            )
        )
    # Each person's exemption for this season, a standing one (no season) first: it wins.
    exemption = LedgerExemption.objects.filter(
        Q(season=season) | Q(season__isnull=True), user=OuterRef("pk")
    ).order_by(F("season").asc(nulls_first=True))
    people = User.objects.with_role().filter(is_active=True, is_placeholder=False)
    if user_id is not None:
        people = people.filter(pk=user_id)
    people = people.filter(
        Q(pk__in=users_with_role_at_least(Role.MEMBER).values("pk"))
        | Q(pk__in=removals.values("subject_user"))
    ).annotate(
        was_removed=Exists(removals.filter(subject_user=OuterRef("pk"))),
        admitted=admitted,
        exemption_pk=Subquery(exemption.values("pk")[:1]),
        exemption_season=Subquery(exemption.values("season")[:1]),
        exemption_reason=Subquery(exemption.values("reason")[:1]),
    )
    sessions_held = activity.sessions_held
    rows = []
    for person in people:
        exemption_row = None
        if person.exemption_pk is not None:
            exemption_row = LedgerExemption(  # what the rows show of it, read with the person
                pk=person.exemption_pk, user=person, season_id=person.exemption_season,
                reason=person.exemption_reason,
            )  # fmt: skip
        row = LedgerRow(
            user=person,
            role=person.role,
            presented=activity.presented.get(person.pk, 0),
            groups_joined=activity.groups_joined.get(person.pk, 0),
            tasks_done=activity.tasks_done.get(person.pk, 0),
            attended=activity.attended.get(person.pk, 0),
            rsvps_missed=activity.rsvps_missed.get(person.pk, 0),
            admitted_this_season=person.admitted,
            exemption=exemption_row,
            removed=person.was_removed and person.role == Role.AUDIENCE,
        )
        if sessions_held:
            row.attendance_percent = round(100 * row.attended / sessions_held)
        row.status = _verdict(row, policy, sessions_held)
        rows.append(row)
    return rows


def _verdict(row: LedgerRow, policy: LedgerPolicy, sessions_held: int) -> str:
    if row.removed:
        return Status.REMOVED
    if row.role not in FLAGGABLE_ROLES:
        return Status.ORGANISER if row.role == Role.ORGANISER else Status.ACTIVE
    if row.exemption:
        return Status.EXEMPT
    if policy.grace_for_new_members and row.admitted_this_season:
        return Status.GRACE
    if not sessions_held:
        return Status.ACTIVE
    # Under the threshold, compared exactly: 2 of 5 sessions is 40 %, not under 40 %.
    under = row.attended * 100 < policy.min_attendance_percent * sessions_held
    protected = (policy.presenting_protects and row.presented) or (
        policy.task_protects and row.tasks_done
    )
    return Status.FLAGGED if under and not protected else Status.ACTIVE


@dataclass
class RemovalReport:
    removed: list[User] = field(default_factory=list)
    skipped: list[tuple[User, str]] = field(default_factory=list)


OVERRIDE_REASON_MAX_LENGTH = 500


def season_has_ended(season: Season, *, now: datetime.datetime | None = None) -> bool:
    """A season has ended after its end date (in the forum's time zone). One without an end
    date has ended only when it is no longer the current one."""
    if season.end_date is None:
        return not season.is_current
    return timezone.localdate(now or timezone.now()) > season.end_date


@transaction.atomic
def season_removals_check(
    *, season: Season, override_reason: str = "", now: datetime.datetime | None = None
) -> str:
    """Whether removals may happen now (ValidationError if not): after the season has ended,
    or before with an override reason. Returns the cleaned reason. The confirmation step
    asks it first, so that a refused removal is refused before it is confirmed."""
    override_reason = (override_reason or "").strip()
    if len(override_reason) > OVERRIDE_REASON_MAX_LENGTH:
        raise ValidationError(
            {"override_reason": _("Keep the reason under %(max)d characters.")
             % {"max": OVERRIDE_REASON_MAX_LENGTH}}
        )  # fmt: skip
    if not override_reason and not season_has_ended(season, now=now):
        raise ValidationError(
            {"override_reason": _(
                "%(season)s has not ended yet: its numbers may still change. Members are moved "
                "to the audience after the season ends, or now with a reason."
            ) % {"season": season.label}}
        )  # fmt: skip
    return override_reason


def season_removals_confirm(
    *,
    season: Season,
    user_ids,
    by: User,
    override_reason: str = "",
    now: datetime.datetime | None = None,
) -> RemovalReport:
    """An organiser confirms that these flagged members go back to the audience. Only rows
    the policy flags (now, not when the page was loaded) are removed; the others are
    reported with the reason. Each removal: role → Audience, an audit event, a polite
    notice on how to re-apply.

    Before the season has ended the numbers are not final: removals are refused unless the
    organiser gives `override_reason`, which each removal's audit event records."""
    require_perm(by, "members.change_ledger", message=_("Only organisers can do this."))
    override_reason = season_removals_check(season=season, override_reason=override_reason, now=now)
    early = not season_has_ended(season, now=now)
    ledger = season_ledger(season)
    report = RemovalReport()
    for user_id in dict.fromkeys(int(pk) for pk in user_ids):
        row = ledger.row_for(user_id)
        if row is None:
            continue
        if not row.flagged:
            report.skipped.append((row.user, row.status_label))
            continue
        _remove(row=row, ledger=ledger, by=by, override_reason=override_reason if early else "")
        report.removed.append(row.user)
    return report


def _remove(*, row: LedgerRow, ledger: SeasonLedger, by: User, override_reason: str) -> None:
    season, user = ledger.season, row.user
    role_set(user=user, role=Role.AUDIENCE, by=by, cause=RoleChangeCause.SEASON_REMOVAL)
    details = {
        "season_id": season.pk,
        "season": season.label,
        "from": row.role.value,
        "sessions_held": ledger.sessions_held,
        "attended": row.attended,
        "presented": row.presented,
        "tasks_done": row.tasks_done,
    }
    if override_reason:
        details |= {"before_season_end": True, "override_reason": override_reason}
    AuditEvent.objects.create(
        actor=by,
        action=AuditEvent.Action.SEASON_REMOVAL,
        subject_user=user,
        details=details,
    )
    held, attended = ledger.sessions_held, row.attended
    notification_enqueue(
        kind=NotificationKind.MEMBERSHIP_ENDED,
        subject=season,
        occasion=f"season-review:{user.pk}",
        recipients=[user],
        render=lambda: Message(
            _("Thank you for %(season)s — about your membership") % {"season": season.label},
            [
                _(
                    "Thank you for being part of the study group in %(season)s. You attended "
                    "%(attended)d of its %(held)d sessions; to keep the group active, members "
                    "who could not take part much go back to the open audience at the end of "
                    "a season."
                )
                % {"season": season.label, "attended": attended, "held": held},
                _(
                    "Nothing else changes: you can still attend every public session, RSVP "
                    "and use the library."
                ),
                _(
                    "Whenever you have more time, you are welcome back: apply again by "
                    "presenting a paper to the review committee."
                ),
            ],
            absolute_url(reverse("join-apply")),
        ),
        due_at=timezone.now(),
    )


@transaction.atomic
def ledger_exempt(*, user: User, season: Season | None, reason: str, by: User) -> LedgerExemption:
    """Lock a member against flags, for one season or (no season) for every season."""
    require_perm(by, "members.change_ledger", message=_("Only organisers can do this."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why this member is exempt.")})
    exemption = LedgerExemption(user=user, season=season, reason=reason, by=by)
    exemption.full_clean()
    exemption.save()
    AuditEvent.objects.create(
        actor=by,
        action=AuditEvent.Action.LEDGER_EXEMPTION,
        subject_user=user,
        details={"season": season.label if season else None, "reason": reason},
    )
    return exemption


@transaction.atomic
def ledger_exemption_revoke(*, exemption: LedgerExemption, by: User) -> None:
    require_perm(by, "members.change_ledger", message=_("Only organisers can do this."))
    AuditEvent.objects.create(
        actor=by,
        action=AuditEvent.Action.LEDGER_EXEMPTION_REVOKED,
        subject_user=exemption.user,
        details={
            "season": exemption.season.label if exemption.season else None,
            "reason": exemption.reason,
        },
    )
    exemption.delete()


def ledger_table(ledger: SeasonLedger) -> tuple[list[str], list[list]]:
    """Header and rows for the CSV export and the season_report command."""
    header = [
        _("Member"), _("E-mail"), _("Role"), _("Presented"), _("Groups joined"),
        _("Tasks done"), _("Attended"), _("Sessions held"), _("Attendance (%)"),
        _("RSVPs not attended"), _("Status"), _("Exemption reason"),
    ]  # fmt: skip
    rows = [
        [
            row.user.name, row.user.email, str(row.role.label), row.presented,
            row.groups_joined, row.tasks_done, row.attended, ledger.sessions_held,
            "" if row.attendance_percent is None else row.attendance_percent,
            row.rsvps_missed, row.status_label,
            row.exemption.reason if row.exemption else "",
        ]
        for row in ledger.rows
    ]  # fmt: skip
    return header, rows


def current_season() -> Season | None:
    """The season marked current, else the latest by order."""
    return Season.objects.order_by("-is_current", "-order", "-id").first()


# --- My standing, before it is too late ----------------------------------------------------


@dataclass
class Standing:
    """A member's season so far against the policy, and what would keep them above it."""

    season: Season
    row: LedgerRow
    policy: LedgerPolicy
    sessions_held: int
    sessions_ahead: int
    # Sessions to attend in all (held and ahead) to end the season at the threshold.
    needed: int
    ends: datetime.date | None

    @property
    def still_to_attend(self) -> int:
        return max(0, self.needed - self.row.attended)

    @property
    def protected_by(self) -> str:
        """What keeps the member in whatever the attendance: presenting or a task, or ""."""
        if self.policy.presenting_protects and self.row.presented:
            return "presented"
        if self.policy.task_protects and self.row.tasks_done:
            return "task"
        return ""

    @property
    def below(self) -> bool:
        """Under the threshold today, counted like the ledger (and not protected)."""
        return self.row.status == Status.FLAGGED

    @property
    def reachable(self) -> bool:
        return self.still_to_attend <= self.sessions_ahead


def member_standing(
    *, user: User, now: datetime.datetime | None = None, season: Season | None = None
) -> Standing | None:
    """The current season's (or `season`'s) figures of `user`, counted like the ledger
    (None: no season, or not a member the ledger follows), with the sessions still ahead:
    attend `still_to_attend` of the `sessions_ahead` remaining to end at the threshold.
    It reads only this person's rows: the season (unless given), one query for the counts
    and the sessions ahead, one for the person, whatever the number of members."""
    now = now or timezone.now()
    season = season or current_season()
    if season is None:
        return None
    policy = LedgerPolicy.kept()
    activity = season_activity(season, user_id=user.pk, now=now)
    rows = _ledger_rows(season, policy, season_window(season), activity, user_id=user.pk)
    if not rows:
        return None
    return _standing(season, policy, rows[0], activity.sessions_held, activity.sessions_ahead)


def _standing(
    season: Season, policy: LedgerPolicy, row: LedgerRow, sessions_held: int, ahead: int
) -> Standing | None:
    if row.removed:
        return None
    total = sessions_held + ahead
    # At the threshold: attended × 100 ≥ percent × total, the ledger's own comparison.
    needed = -(-policy.min_attendance_percent * total // 100)
    return Standing(
        season=season, row=row, policy=policy, sessions_held=sessions_held,
        sessions_ahead=ahead, needed=needed, ends=season.end_date,
    )  # fmt: skip


def at_risk_notices(*, now: datetime.datetime) -> int:
    """Once, `at_risk_notice_weeks` before the current season ends, every member below the
    threshold (flagged: not exempt, not in grace, not protected) gets one notice with their
    figures and what would keep them above it. Exactly once per season and person (the
    outbox's occasion); checked at most once a day per process. Returns how many queued."""
    today = timezone.localdate(now)
    policy = LedgerPolicy.kept()
    season = current_season()
    if season is None or not season.end_date or not policy.at_risk_notice_weeks:
        return 0
    warn_from = season.end_date - datetime.timedelta(weeks=policy.at_risk_notice_weeks)
    if not (warn_from <= today <= season.end_date):
        return 0
    if not cache.add(f"ledger-at-risk:{season.pk}:{today.isoformat()}", 1, 24 * 3600):
        return 0  # this process looked today already
    ledger = season_ledger(season)
    ahead = season_sessions_ahead(season, now=now).count()
    queued = 0
    for row in ledger.flagged:
        standing = _standing(season, ledger.policy, row, ledger.sessions_held, ahead)
        if standing is None:
            continue
        queued += notification_enqueue(
            kind=NotificationKind.AT_RISK,
            subject=season,
            occasion="at-risk",
            recipients=[row.user],
            render=lambda standing=standing: _at_risk_message(standing),
            due_at=now,
        )
    return queued


def _at_risk_message(standing: Standing) -> Message:
    row, season = standing.row, standing.season
    lines = [
        _("So far this season you attended %(attended)d of the %(held)d sessions held; the "
          "forum asks for %(percent)d %%.")
        % {"attended": row.attended, "held": standing.sessions_held,
           "percent": standing.policy.min_attendance_percent},
    ]  # fmt: skip
    if standing.reachable:
        lines.append(
            _("Attend %(count)d of the remaining %(ahead)d to stay a member after %(end)s.")
            % {"count": standing.still_to_attend, "ahead": standing.sessions_ahead,
               "end": season.end_date.isoformat()}
        )  # fmt: skip
    if standing.policy.presenting_protects:
        lines.append(_("Presenting a session this season keeps you a member as well."))
    if standing.policy.task_protects:
        lines.append(_("So does finishing a task of a study group."))
    lines.append(_("If something keeps you away, tell the organisers: they can exempt you."))
    return Message(
        _("Your standing in %(season)s") % {"season": season.label},
        lines,
        absolute_url(reverse("ledger:my-standing")),
    )


# --- Asking for an exemption -----------------------------------------------------------------


class ExemptionRequestError(Exception):
    pass


@transaction.atomic
def exemption_request(*, user: User, reason: str) -> ExemptionRequest:
    """A member asks the organisers not to count the current season. One open request per
    season (asking again replaces its reason); refused for those the ledger does not count
    (the audience, organisers) and for those already exempt."""
    reason = " ".join((reason or "").split())
    if not reason:
        raise ValidationError({"reason": _("Say why, so that the organisers can decide.")})
    season = current_season()
    if season is None or user.role not in FLAGGABLE_ROLES:
        raise ExemptionRequestError(_("Only members are counted by the season review."))
    if LedgerExemption.objects.filter(
        Q(season=season) | Q(season__isnull=True), user=user
    ).exists():
        raise ExemptionRequestError(_("You are exempt already."))
    request, created = ExemptionRequest.objects.select_for_update().get_or_create(
        user=user, season=season, answered_at__isnull=True, defaults={"reason": reason}
    )
    if not created:
        request.reason = reason
    request.full_clean()
    request.save()
    return request


@transaction.atomic
def exemption_request_answer(
    *, request: ExemptionRequest, grant: bool, by: User, now: datetime.datetime | None = None
) -> ExemptionRequest:
    """An organiser grants (an exemption for that season, with the member's reason) or
    declines a request; answering an answered request again is refused."""
    require_perm(by, "members.change_ledger", message=_("Only organisers can do this."))
    request = ExemptionRequest.objects.select_for_update().get(pk=request.pk)
    if request.answered_at is not None:
        raise ExemptionRequestError(_("This request has been answered already."))
    if grant:
        ledger_exempt(user=request.user, season=request.season, reason=request.reason, by=by)
    request.answered_at = now or timezone.now()
    request.answered_by = by
    request.granted = grant
    request.save(update_fields=["answered_at", "answered_by", "granted"])
    return request


@dataclass(frozen=True)
class RequestsWaiting:
    count: int
    since: datetime.datetime | None


def exemption_requests_waiting() -> RequestsWaiting:
    """How many requests wait for an answer, and since when (the organisers' inbox), kept in
    the shared cache until a request changes (topicshare.core.singletons.kept_value)."""

    def count() -> RequestsWaiting:
        waiting = ExemptionRequest.objects.filter(answered_at__isnull=True)
        oldest = waiting.order_by("created_at").values_list("created_at", flat=True).first()
        return RequestsWaiting(count=waiting.count(), since=oldest)

    return kept_value(ExemptionRequest, "waiting", count)
