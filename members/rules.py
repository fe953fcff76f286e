"""The one place that says who may do what in the members app, and the one way to ask.

Every check is a permission registered here or in another app's rules.py
(`rules.add_perm("<app_label>.<verb>_<thing>", predicate)`), asked alike everywhere:
`user.has_perm(name, obj)` in views and the admin, `{% has_perm name user obj as … %}` in
templates ({% load rules %}), `require_perm(user, name, obj, message=…)` in services. The
predicates below are the building blocks of those rules, not something to ask directly.
tests/members/test_permissions_registered.py fails on a name that is asked but not
registered."""

import rules
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet

from members.models import AdmissionSettings, Application, AuditEvent, Conflict, Vote
from members.roles import Role


@rules.predicate
def is_audience(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def _role_at_least(role: Role):
    @rules.predicate(name=f"is_{role.value.lower()}")
    def predicate(user) -> bool:
        return is_audience(user) and user.has_role(role)

    return predicate


is_member = _role_at_least(Role.MEMBER)
is_committee = _role_at_least(Role.COMMITTEE)
is_organiser = _role_at_least(Role.ORGANISER)


@rules.predicate
def is_self(user, other) -> bool:
    return other is not None and is_audience(user) and user.pk == other.pk


def require_perm(user, perm: str, obj=None, *, message=None) -> None:
    """The services' guard: raise PermissionDenied (with `message`, shown as is) unless `user`
    has the registered permission `perm` (on `obj`). `user` may be None (nobody)."""
    if not rules.perm_exists(perm):
        raise ValueError(f"{perm!r} is not a registered permission")
    if user is None or not user.has_perm(perm, obj):
        raise PermissionDenied(*([] if message is None else [message]))


@rules.predicate
def is_applicant(user, application) -> bool:
    return application is not None and user is not None and application.applicant_id == user.pk


@rules.predicate
def application_is_open(user, application) -> bool:
    """Asked without an application: yes (the committee's section as a whole)."""
    return application is None or application.is_open


# Permission names follow Django's "<app_label>.<action>_<thing>".
rules.add_perm("members.view_profile", is_audience)
rules.add_perm("members.view_wechat_id", is_self | is_organiser)
rules.add_perm("members.change_role", is_organiser)
# Only a superuser can make another superuser.
rules.add_perm("members.grant_superuser", rules.is_superuser)
rules.add_perm("topicshare.access_admin", is_committee)

# Admission: the audience applies (the button; members.admission.application_submit says why
# not to anyone else).
rules.add_perm("members.apply_for_membership", is_audience & ~is_member)
# Admission: the committee (and organisers) review applications in the admin.
rules.add_perm("members.view_application", is_committee)
# A decided application is a record; one's own application is read-only to oneself.
rules.add_perm("members.change_application", is_committee & ~is_applicant & application_is_open)
# Acting on one application as the committee: never on one's own (a member promoted to the
# committee while their own application is open).
rules.add_perm("members.review_application", is_committee & ~is_applicant)
# The applicant's own: withdrawing it; its slides are for the applicant and the committee.
rules.add_perm("members.withdraw_application", is_applicant)
rules.add_perm("members.view_application_slides", is_applicant | is_committee)
# Closing a vote before the review talk (with a reason), and reading the audit trail.
rules.add_perm("members.close_application_early", is_organiser)
rules.add_perm("members.view_audit_trail", is_organiser)
# People: merging placeholder accounts into real ones.
rules.add_perm("members.merge_placeholders", is_organiser)


@rules.predicate
def is_token_owner(user, token) -> bool:
    return token is not None and is_audience(user) and token.user_id == user.pk


# Personal API tokens (members.api_tokens): revoked by their owner, or by an organiser.
rules.add_perm("members.revoke_api_token", is_token_owner | is_organiser)
# Everyone's tokens (name, scope, prefix, dates; never a hash): in the admin, organisers only.
rules.add_perm("members.view_api_tokens", is_organiser)


# --- The secret ballot --------------------------------------------------------------------


def applications_with_visible_votes(user, *, settings=None) -> QuerySet[Application]:
    """The ballot's one rule, as a query: the applications whose votes `user` may see.

    - Nobody sees the votes on their own application, nor on one they stepped aside from
      (a declared conflict of interest) — organisers and superusers included.
    - Only the committee (organisers included) sees votes at all.
    - A closed application (decided or withdrawn): its votes are visible.
    - An open one: only where the admission settings reveal votes after one's own vote, and
      only once one's own vote is final (Vote.final_at: the voter made it final and was shown
      the others' votes; from then on it cannot change — see vote_check). An abstention counts
      like any vote: only once it is final.

    Lists filter by this query; `may_see_votes` asks it about one application. Both are the
    same rule, so every place that shows votes, tallies or vote events agrees. (`settings`:
    the admission settings, where the caller has them loaded.)"""
    if not is_committee(user):
        return Application.objects.none()
    shown = ~Q(status__in=Application.OPEN)
    if (
        settings or AdmissionSettings.load()
    ).reveal_votes == AdmissionSettings.Reveal.AFTER_OWN_VOTE:
        own_final = Vote.objects.filter(
            application=OuterRef("pk"), voter=user, final_at__isnull=False
        )
        shown |= Exists(own_final)
    stepped_aside = Conflict.objects.filter(application=OuterRef("pk"), member=user)
    return Application.objects.exclude(applicant=user).filter(~Exists(stepped_aside), shown)


def audit_events_visible_to(user, events: QuerySet[AuditEvent] | None = None):
    """The audit trail as `user` may read it, by the same rule: vote events only on
    applications whose votes they may see. Each event is annotated with `votes_shown`, which
    AuditEvent.details_shown reads (a decision's tally only where the votes are visible)."""
    events = AuditEvent.objects.all() if events is None else events
    visible = applications_with_visible_votes(user).filter(pk=OuterRef("application_id"))
    return events.annotate(votes_shown=Exists(visible)).filter(
        ~Q(action__in=AuditEvent.BALLOT_ACTIONS) | Q(votes_shown=True)
    )


@rules.predicate
def may_see_votes(user, application) -> bool:
    if application is None or not is_committee(user):
        return False
    return applications_with_visible_votes(user).filter(pk=application.pk).exists()


@rules.predicate
def may_cast_vote(user, application) -> bool:
    """The service's own guard (members.admission.vote_check), as a yes or no."""
    from django.core.exceptions import PermissionDenied

    from members.admission import AdmissionError, vote_check

    if application is None:
        return False
    try:
        vote_check(application=application, voter=user)
    except (AdmissionError, PermissionDenied):
        return False
    return True


# Asked as user.has_perm(...): like every registered rule, only the rule decides (User.has_perm),
# so neither a role, a group grant nor the superuser flag grants these.
rules.add_perm("members.view_votes", may_see_votes)
rules.add_perm("members.cast_vote", may_cast_vote)

# The end-of-season review and the dashboard: organisers only; so are its decisions (removals
# back to the audience, exemptions).
rules.add_perm("members.review_season", is_organiser)
rules.add_perm("members.change_ledger", is_organiser)
