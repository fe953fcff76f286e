"""Admission by committee vote (流入): applications, review talks, a secret ballot, the
decision and the audit trail. Every function checks who may do it."""

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from members.models import AdmissionSettings, Application, AuditEvent, Conflict, User, Vote
from members.roles import Role, RoleChangeCause
from members.rules import require_perm
from members.selectors import users_with_role_at_least
from members.services import role_set
from members.signals import member_welcome
from topicshare.core.validators import validate_plausible_date
from topicshare.notifications.models import NotificationKind
from topicshare.notifications.outbox import Message, absolute_url, notification_enqueue


class AdmissionError(Exception):
    """A request that breaks an admission rule; the message is shown as is."""


# --- Who ---------------------------------------------------------------------------------------


def eligible_voters(application: Application):
    """Committee members (and organisers) who may vote: not the applicant, no conflict."""
    return (
        users_with_role_at_least(Role.COMMITTEE)
        .filter(is_placeholder=False)
        .exclude(pk=application.applicant_id)
        .exclude(admission_conflicts__application=application)
    )


def votes_needed(application: Application) -> int:
    return min(AdmissionSettings.load().quorum, eligible_voters(application).count())


def votes_needed_for(applications, *, settings=None, conflicts=None) -> dict[int, int]:
    """votes_needed of many applications in three queries (for lists): the same eligible
    voters — the committee's real accounts, less the applicant and those who stepped aside.
    A caller that has them passes the admission settings and the applications' conflicts
    (conflicts_of()), one query fewer each."""
    applications = list(applications)
    quorum = (settings or AdmissionSettings.load()).quorum
    committee = set(_committee().filter(is_placeholder=False).values_list("pk", flat=True))
    if conflicts is None:
        conflicts = conflicts_of(applications)
    stepped_aside: dict[int, set[int]] = {}
    for application_id, member_id in conflicts:
        stepped_aside.setdefault(application_id, set()).add(member_id)
    return {
        application.pk: min(
            quorum,
            len(committee - {application.applicant_id} - stepped_aside.get(application.pk, set())),
        )
        for application in applications
    }


def conflicts_of(applications) -> list[tuple[int, int]]:
    """(application id, member id) of everyone who stepped aside from these applications."""
    return list(
        Conflict.objects.filter(
            application__in=[application.pk for application in applications]
        ).values_list("application_id", "member_id")
    )


def _committee():
    return users_with_role_at_least(Role.COMMITTEE)


# --- Applicant ----------------------------------------------------------------------------


@transaction.atomic
def application_submit(
    *,
    applicant: User,
    motivation: str,
    paper_title: str,
    paper_url: str,
    preferred_dates: str = "",
    slides=None,
    now: datetime.datetime | None = None,
) -> Application:
    """Apply to join the study group. One open application per person; after a rejection,
    a cool-down. Side effects: an audit event; the committee is told (outbox)."""
    now = now or timezone.now()
    if not applicant.is_authenticated or applicant.is_placeholder:
        raise PermissionDenied(_("Log in to apply."))
    if applicant.has_role(Role.MEMBER):
        raise AdmissionError(_("You are already a member of the study group."))
    if Application.objects.filter(applicant=applicant, status__in=Application.OPEN).exists():
        raise AdmissionError(_("You already have an open application."))
    last_rejection = (
        Application.objects.filter(applicant=applicant, status=Application.Status.REJECTED)
        .order_by("-decided_at")
        .values_list("decided_at", flat=True)
        .first()
    )
    cooldown = datetime.timedelta(days=AdmissionSettings.load().cooldown_days)
    if last_rejection and last_rejection + cooldown > now:
        again = timezone.localtime(last_rejection + cooldown)
        raise AdmissionError(
            _("You can apply again from %(date)s.") % {"date": f"{again:%Y-%m-%d}"}
        )
    application = Application(
        applicant=applicant,
        motivation=motivation.strip(),
        paper_title=" ".join(paper_title.split()),
        paper_url=paper_url.strip(),
        preferred_dates=preferred_dates.strip(),
    )
    if slides:
        application.slides_name = slides.name[-200:]
        application.slides = slides
    application.full_clean()
    try:
        with transaction.atomic():
            application.save()
    except IntegrityError:
        raise AdmissionError(_("You already have an open application.")) from None
    AuditEvent.objects.create(
        actor=applicant, action=AuditEvent.Action.APPLICATION_SUBMITTED,
        application=application, subject_user=applicant,
    )  # fmt: skip
    url = absolute_url(reverse("members:committee-application", args=[application.pk]))
    notification_enqueue(
        kind=NotificationKind.APPLICATION_RECEIVED,
        subject=application,
        occasion="submitted",
        recipients=_committee(),
        render=lambda: Message(
            _("New application: %(name)s") % {"name": applicant.name},
            [
                _("%(name)s would like to present “%(paper)s” to the committee.")
                % {"name": applicant.name, "paper": application.paper_title}
            ],
            url,
        ),  # fmt: skip
        due_at=now,
    )
    return application


@transaction.atomic
def application_withdraw(*, application: Application, by: User) -> Application:
    application = Application.objects.select_for_update().get(pk=application.pk)
    require_perm(
        by,
        "members.withdraw_application",
        application,
        message=_("Only the applicant can withdraw an application."),
    )
    if not application.is_open:
        raise AdmissionError(_("This application is already closed."))
    talk_planned = application.status == Application.Status.REVIEW_SCHEDULED
    application.status = Application.Status.WITHDRAWN
    application.save(update_fields=["status", "updated_at"])
    AuditEvent.objects.create(
        actor=by, action=AuditEvent.Action.APPLICATION_WITHDRAWN, application=application,
        subject_user=by,
    )  # fmt: skip
    applicant = application.applicant
    when = timezone.localtime(application.review_at) if application.review_at else None
    notification_enqueue(
        kind=NotificationKind.APPLICATION_WITHDRAWN,
        subject=application,
        occasion="withdrawn",
        recipients=_committee().exclude(pk=applicant.pk),
        render=lambda: Message(
            _("Application withdrawn: %(name)s") % {"name": applicant.name},
            [
                _("%(name)s has withdrawn the application to present “%(paper)s”.")
                % {"name": applicant.name, "paper": application.paper_title},
                _("The review talk on %(when)s does not take place.")
                % {"when": f"{when:%Y-%m-%d %H:%M}"}
                if talk_planned and when
                else _("No vote is needed any more."),
            ],
            absolute_url(reverse("members:committee")),
        ),  # fmt: skip
        due_at=timezone.now(),
    )
    return application


def application_withdraw_consequences(application: Application) -> tuple[list[str], list[str]]:
    """What withdrawing this application does, and who is told: the confirmation's text,
    from the same rules as application_withdraw."""
    happens = [
        _(
            "Your application “%(paper)s” closes: the committee stops reviewing it and takes "
            "no vote."
        )
        % {"paper": application.paper_title},
        _("You can apply again whenever you like, with a new application."),
    ]
    if application.status == Application.Status.REVIEW_SCHEDULED and application.review_at:
        when = timezone.localtime(application.review_at)
        happens.insert(
            1,
            _("Your review talk on %(when)s is called off.") % {"when": f"{when:%Y-%m-%d %H:%M}"},
        )
    count = _committee().exclude(pk=application.applicant_id).count()
    told = [_("The review committee (%(count)s people): an e-mail.") % {"count": count}]
    return happens, told if count else []


# --- Committee -----------------------------------------------------------------------------


def _require_committee(user, application: Application | None = None) -> None:
    """The committee acts on applications — never on one's own (a member promoted to the
    committee while their own application is open)."""
    require_perm(
        user, "members.change_application", message=_("Only the review committee may do this.")
    )
    require_perm(
        user,
        "members.review_application",
        application,
        message=_("Nobody reviews their own application."),
    )


def review_check(
    *,
    application: Application,
    by: User,
    review_at: datetime.datetime,
    vote_deadline: datetime.datetime | None,
    now: datetime.datetime,
) -> None:
    """Whether `by` may set this review talk now; raises the reason (also for forms)."""
    _require_committee(by, application)
    try:
        validate_plausible_date(review_at)
    except ValidationError as error:
        raise AdmissionError(error.messages[0]) from error
    if not application.is_open:
        raise AdmissionError(_("This application is already decided."))
    if review_at <= now:
        raise AdmissionError(_("The review talk must be in the future."))
    if vote_deadline is not None and vote_deadline <= review_at:
        raise AdmissionError(_("The vote must close after the review talk."))


@transaction.atomic
def application_schedule_review(
    *,
    application: Application,
    by: User,
    review_at: datetime.datetime,
    meeting_url: str = "",
    notes: str = "",
    vote_deadline: datetime.datetime | None = None,
    now: datetime.datetime | None = None,
) -> Application:
    """Set the review talk (date, meeting link, notes). Side effect: the applicant is told."""
    now = now or timezone.now()
    application = Application.objects.select_for_update().get(pk=application.pk)
    review_check(
        application=application, by=by, review_at=review_at, vote_deadline=vote_deadline, now=now
    )
    application.review_at = review_at
    application.review_meeting_url = meeting_url.strip()
    application.review_notes = notes.strip()
    application.vote_deadline = vote_deadline
    application.status = Application.Status.REVIEW_SCHEDULED
    application.full_clean(exclude=["slides"])
    application.save(
        update_fields=["review_at", "review_meeting_url", "review_notes", "vote_deadline",
                       "status", "updated_at"]
    )  # fmt: skip
    AuditEvent.objects.create(
        actor=by, action=AuditEvent.Action.REVIEW_SCHEDULED, application=application,
        subject_user=application.applicant, details={"review_at": review_at.isoformat()},
    )  # fmt: skip
    when = timezone.localtime(review_at)
    notification_enqueue(
        kind=NotificationKind.REVIEW_SCHEDULED,
        subject=application,
        occasion=review_at.isoformat(),
        recipients=[application.applicant],
        render=lambda: Message(
            _("Your review talk: %(when)s") % {"when": f"{when:%Y-%m-%d %H:%M}"},
            [
                line
                for line in [
                    _("Present “%(paper)s” to the review committee on %(when)s.")
                    % {"paper": application.paper_title, "when": f"{when:%Y-%m-%d %H:%M}"},
                    _("Meeting link: %(url)s") % {"url": application.review_meeting_url}
                    if application.review_meeting_url
                    else "",
                    application.review_notes,
                ]
                if line
            ],
            absolute_url(reverse("join-status")),
        ),  # fmt: skip
        due_at=now,
    )
    return application


def feedback_clean(feedback: str) -> str:
    feedback = feedback.strip()
    if len(feedback) > Application.FEEDBACK_MAX_LENGTH:
        raise AdmissionError(
            _("The feedback is too long: at most %(max)d characters.")
            % {"max": Application.FEEDBACK_MAX_LENGTH}
        )
    return feedback


@transaction.atomic
def application_set_feedback(*, application: Application, by: User, feedback: str) -> Application:
    """The committee's written feedback, which the applicant gets with the decision."""
    _require_committee(by, application)
    feedback = feedback_clean(feedback)
    application = Application.objects.select_for_update().get(pk=application.pk)
    if not application.is_open:
        raise AdmissionError(_("This application is already decided."))
    application.feedback = feedback
    application.save(update_fields=["feedback", "updated_at"])
    return application


def _final_vote_exists(application: Application, voter) -> bool:
    return Vote.objects.filter(
        application=application, voter=voter, final_at__isnull=False
    ).exists()


def _final_vote_refused() -> AdmissionError:
    return AdmissionError(_("Your vote is final: it cannot change any more."))


def conflict_check(*, application: Application, member: User) -> None:
    """Whether `member` may step aside from this application now; raises the reason."""
    _require_committee(member, application)
    if not application.is_open:
        raise AdmissionError(_("This application is already decided."))
    if _final_vote_exists(application, member):
        # Stepping aside removes one's vote: after seeing the others', that is a change too.
        raise _final_vote_refused()


@transaction.atomic
def conflict_declare(*, application: Application, member: User, reason: str) -> Conflict:
    """A committee member steps aside from an application (their vote, if any, is removed;
    not a final one)."""
    reason = reason.strip()
    if not reason:
        raise AdmissionError(_("Please give a reason."))
    limit = Conflict._meta.get_field("reason").max_length
    if len(reason) > limit:
        # Refused, not cut: what was typed stays on the page to be shortened.
        raise AdmissionError(
            _("The reason is too long: at most %(max)d characters.") % {"max": limit}
        )
    application = Application.objects.select_for_update().get(pk=application.pk)
    conflict_check(application=application, member=member)
    conflict, _created = Conflict.objects.get_or_create(
        application=application, member=member, defaults={"reason": reason}
    )
    Vote.objects.filter(application=application, voter=member).delete()
    AuditEvent.objects.create(
        actor=member, action=AuditEvent.Action.CONFLICT_DECLARED, application=application,
        details={"reason": reason},
    )  # fmt: skip
    return conflict


def vote_check(*, application: Application, voter) -> None:
    """Whether `voter` may cast or change their vote on `application` now; raises the reason.
    The service (vote_cast) and the pages (the permission members.cast_vote) ask this."""
    _require_committee(voter)
    if not application.is_open:
        raise AdmissionError(_("The vote on this application is closed."))
    if voter.pk == application.applicant_id:
        raise PermissionDenied(_("Nobody votes on their own application."))
    if Conflict.objects.filter(application=application, member=voter).exists():
        raise PermissionDenied(_("You declared a conflict of interest for this application."))
    if _final_vote_exists(application, voter):
        raise _final_vote_refused()


def vote_input_clean(*, choice: str, comment: str) -> tuple[str, str]:
    if choice not in Vote.Choice.values:
        raise AdmissionError(_("Choose approve, reject or abstain."))
    comment = comment.strip()
    if len(comment) > Vote.COMMENT_MAX_LENGTH:
        raise AdmissionError(
            _("The comment is too long: at most %(max)d characters.")
            % {"max": Vote.COMMENT_MAX_LENGTH}
        )
    return choice, comment


@transaction.atomic
def vote_cast(
    *,
    application: Application,
    voter: User,
    choice: str,
    comment: str = "",
    final: bool = False,
    now: datetime.datetime | None = None,
) -> Vote:
    """Cast or change a vote while the vote is open and one's vote is not final. One vote per
    member (a second call updates it).

    `final=True` makes the vote final (Vote.final_at): from then on the voter is shown the
    others' votes — where the admission settings reveal them after one's own vote — and the
    vote can no longer change, nor be withdrawn by stepping aside (members/rules.py).
    Audit: every vote cast, changed or made final, with the choice; those events are shown
    only to whoever may see the votes."""
    _require_committee(voter)
    choice, comment = vote_input_clean(choice=choice, comment=comment)
    now = now or timezone.now()
    # The row lock orders votes against the close: no vote slips in after the decision.
    application = Application.objects.select_for_update().get(pk=application.pk)
    vote_check(application=application, voter=voter)
    vote = Vote.objects.filter(application=application, voter=voter).first()
    if vote is None:
        vote = Vote.objects.create(
            application=application, voter=voter, choice=choice, comment=comment,
            final_at=now if final else None,
        )  # fmt: skip
        action = AuditEvent.Action.VOTE_CAST
    elif (vote.choice, vote.comment) != (choice, comment):
        vote.choice, vote.comment = choice, comment
        vote.final_at = now if final else None
        vote.save(update_fields=["choice", "comment", "final_at", "updated_at"])
        action = AuditEvent.Action.VOTE_CHANGED
    elif final:
        vote.final_at = now
        vote.save(update_fields=["final_at", "updated_at"])
        action = AuditEvent.Action.VOTE_FINAL
    else:
        return vote  # the same vote again: nothing to record
    AuditEvent.objects.create(
        actor=voter,
        action=action,
        application=application,
        subject_user=application.applicant,
        details={"choice": choice, **({"final": True} if final else {})},
    )
    return vote


def tally(application: Application) -> dict[str, int]:
    counts = dict(
        Vote.objects.filter(application=application)
        .values_list("choice")
        .annotate(n=Count("id"))
        .values_list("choice", "n")
    )
    return {choice: counts.get(choice, 0) for choice in Vote.Choice.values}


def tallies(application_ids) -> dict[int, dict[str, int]]:
    """tally() of many applications in one query (for lists). Ask it only about applications
    whose votes the reader may see (members.rules.applications_with_visible_votes)."""
    result = {pk: dict.fromkeys(Vote.Choice.values, 0) for pk in application_ids}
    for application_id, choice, n in (
        Vote.objects.filter(application__in=list(result))
        .values_list("application_id", "choice")
        .annotate(n=Count("id"))
        .values_list("application_id", "choice", "n")
    ):
        result[application_id][choice] = n
    return result


def decide(*, approvals: int, rejections: int, abstentions: int, needed: int) -> str | None:
    """None without a quorum; else approved when approvals are more than half of the votes
    that are not abstentions (a tie, or only abstentions, is not approval)."""
    if approvals + rejections + abstentions < needed or needed == 0:
        return None
    if approvals * 2 > approvals + rejections:
        return Application.Status.APPROVED
    return Application.Status.REJECTED


OVERRIDE_REASON_MAX_LENGTH = 500


def close_check(
    *,
    application: Application,
    by: User | None,
    now: datetime.datetime,
    feedback: str | None = None,
    override_reason: str = "",
) -> tuple[str, dict[str, int], str, str]:
    """Whether the vote on `application` may close now; raises the reason. Returns the
    outcome, the tally, the feedback and the override reason that applies ("" if none).

    - Never before the review talk (nor without one), unless an organiser overrides it with
      a reason (audited with the decision); `by` None is the forum itself (the deadline).
    - Never without written feedback for the applicant (`feedback`, else the stored one).
    - Never without a quorum."""
    if by is not None:
        _require_committee(by, application)
    if not application.is_open:
        raise AdmissionError(_("This application is already decided."))
    feedback = feedback_clean(application.feedback if feedback is None else feedback)
    if not feedback:
        raise AdmissionError(
            _("Write the feedback for the applicant first: they get it with the decision.")
        )
    override_reason = " ".join(override_reason.split())
    if len(override_reason) > OVERRIDE_REASON_MAX_LENGTH:
        raise AdmissionError(
            _("The reason is too long: at most %(max)d characters.")
            % {"max": OVERRIDE_REASON_MAX_LENGTH}
        )
    if application.review_at is not None and application.review_at <= now:
        override_reason = ""  # after the talk there is nothing to override
    elif not override_reason:
        if application.review_at is None:
            raise AdmissionError(
                _("No review talk is scheduled: the vote closes after the applicant's talk.")
            )
        when = timezone.localtime(application.review_at)
        raise AdmissionError(
            _("The review talk is on %(when)s: the vote closes after it.")
            % {"when": f"{when:%Y-%m-%d %H:%M}"}
        )
    else:
        require_perm(
            by,
            "members.close_application_early",
            message=_("Only an organiser may decide before the review talk."),
        )
    counts = tally(application)
    needed = votes_needed(application)
    outcome = decide(
        approvals=counts["approve"], rejections=counts["reject"],
        abstentions=counts["abstain"], needed=needed,
    )  # fmt: skip
    if outcome is None:
        raise AdmissionError(
            _("The quorum is not reached: %(cast)d of %(needed)d votes.")
            % {"cast": sum(counts.values()), "needed": needed}
        )
    return outcome, counts, feedback, override_reason


@transaction.atomic
def application_close(
    *,
    application: Application,
    by: User | None,
    now: datetime.datetime | None = None,
    feedback: str | None = None,
    override_reason: str = "",
) -> Application:
    """Close the vote and decide — once, after the review talk, with written feedback (see
    close_check). A second close (also a concurrent one) changes nothing. Approval makes the
    applicant a Member. Side effects: audit events (decision — with an override's reason —
    and role change); the applicant is told the decision and the committee's feedback."""
    if by is not None:
        _require_committee(by, application)
    now = now or timezone.now()
    application = Application.objects.select_for_update().get(pk=application.pk)
    if not application.is_open:
        return application  # already decided: nothing changes
    outcome, counts, feedback, override_reason = close_check(
        application=application, by=by, now=now, feedback=feedback,
        override_reason=override_reason,
    )  # fmt: skip
    application.status = outcome
    application.decided_at = now
    application.feedback = feedback
    application.save(update_fields=["status", "decided_at", "feedback", "updated_at"])
    details = {"outcome": outcome, **counts}
    if application.review_at is not None:
        details["review_at"] = application.review_at.isoformat()
    if override_reason:
        details["override_reason"] = override_reason
    AuditEvent.objects.create(
        actor=by, action=AuditEvent.Action.DECISION, application=application,
        subject_user=application.applicant, details=details,
    )  # fmt: skip
    applicant = application.applicant
    if outcome == Application.Status.APPROVED and not applicant.has_role(Role.MEMBER):
        role_set(user=applicant, role=Role.MEMBER, by=by, cause=RoleChangeCause.ADMISSION)
    approved = outcome == Application.Status.APPROVED
    notification_enqueue(
        kind=NotificationKind.ADMISSION_DECIDED,
        subject=application,
        occasion="decision",
        recipients=[applicant],
        render=lambda: _decision_message(application, approved=approved),
        due_at=now,
    )
    return application


def _decision_message(application: Application, *, approved: bool) -> Message:
    """The decision for the applicant, in the active language. Admitted: with what the apps
    above add on `member_welcome` (how to join the study group's chat, a link to it)."""
    if not approved:
        lines = [
            _(
                "The committee decided not to admit you this time. You can apply again after "
                "the cool-down."
            ),
            application.feedback,
        ]
        return Message(
            _("About your application to the study group"),
            [line for line in lines if line],
            absolute_url(reverse("join-status")),
        )
    lines = [
        _("The committee voted to admit you. You can now join members-only groups and present."),
        application.feedback,
    ]
    url = ""
    for _receiver, (more, link) in member_welcome.send(sender=User, user=application.applicant):
        lines += more
        url = url or link
    return Message(
        _("Welcome to the study group!"),
        [line for line in lines if line],
        url or absolute_url(reverse("join-status")),
    )


def applications_close_due(*, now: datetime.datetime | None = None) -> int:
    """Beat: close applications whose deadline passed, where they may close (after the review
    talk, with feedback and a quorum: close_check). The others stay open; the admin's list
    says why."""
    now = now or timezone.now()
    closed = 0
    for application in Application.objects.filter(
        status__in=Application.OPEN, vote_deadline__lte=now
    ):
        try:
            application_close(application=application, by=None, now=now)
        except AdmissionError:
            continue
        closed += 1
    return closed
