"""/committee/: the review committee votes outside the admin, on a phone. The same services
(members.admission) and registered permissions (members.rules) as the admin's pages; the
secret ballot's rule decides every vote, tally and comment shown here."""

from dataclasses import dataclass, field

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from members.admission import (
    AdmissionError,
    application_close,
    application_set_feedback,
    close_check,
    conflict_check,
    conflict_declare,
    conflicts_of,
    tallies,
    vote_cast,
    vote_check,
    votes_needed_for,
)
from members.forms import CommitteeCloseForm, ConflictForm, FeedbackForm, VoteForm
from members.models import AdmissionSettings, Application, Vote
from members.rules import applications_with_visible_votes
from topicshare.core.confirm import Confirmation, confirmation_page, confirmed
from topicshare.core.fragments import personal_page

RECENTLY_DECIDED = 10


@dataclass
class Card:
    application: Application
    needed: int
    own_vote: Vote | None = None
    stepped_aside: bool = False
    tally: dict | None = None  # only where the reader may see the votes
    votes: list = field(default_factory=list)


def _require_committee(user) -> None:
    if not user.has_perm("members.view_application"):
        raise PermissionDenied(_("Only the review committee may see this page."))


def _cards(user, applications) -> list[Card]:
    """Cards for a list, in a fixed number of queries whatever its length."""
    applications = list(applications)
    pks = [application.pk for application in applications]
    own = {
        vote.application_id: vote for vote in Vote.objects.filter(voter=user, application__in=pks)
    }
    conflicts = conflicts_of(applications)
    aside = {application_id for application_id, member_id in conflicts if member_id == user.pk}
    settings = AdmissionSettings.load()
    visible = set(
        applications_with_visible_votes(user, settings=settings)
        .filter(pk__in=pks)
        .values_list("pk", flat=True)
    )
    counts = tallies(visible)
    needed = votes_needed_for(applications, settings=settings, conflicts=conflicts)
    return [
        Card(
            application=application,
            needed=needed[application.pk],
            own_vote=own.get(application.pk),
            stepped_aside=application.pk in aside,
            tally=counts.get(application.pk),
        )
        for application in applications
    ]


@login_required
@personal_page
def committee_index(request):
    """The applications before me: those waiting for my vote first, then those I voted on or
    stepped aside from, then the recently decided. Never my own."""
    user = request.user
    _require_committee(user)
    mine = Application.objects.exclude(applicant=user).select_related("applicant")
    mine = mine.annotate(vote_count=Count("votes"))
    still_open = list(mine.filter(status__in=Application.OPEN).order_by("review_at", "id"))
    recent = mine.exclude(status__in=Application.OPEN).order_by("-decided_at", "-id")
    cards = _cards(user, still_open + list(recent[:RECENTLY_DECIDED]))  # one set of queries
    open_cards, decided = cards[: len(still_open)], cards[len(still_open) :]
    return render(
        request,
        "members/committee_index.html",
        {
            "to_vote": [c for c in open_cards if c.own_vote is None and not c.stepped_aside],
            "voted": [c for c in open_cards if c.own_vote is not None or c.stepped_aside],
            "decided": decided,
        },
    )


def _application_for(request, pk: int) -> Application:
    _require_committee(request.user)
    application = get_object_or_404(Application.objects.select_related("applicant"), pk=pk)
    if not request.user.has_perm("members.review_application", application):
        raise PermissionDenied(_("Nobody reviews their own application."))
    return application


def _close_refusal(application: Application, user, now) -> tuple[str, bool]:
    """(why the vote cannot close now, or "", whether only an early close with a reason is
    possible). Asked with a stand-in feedback: the feedback is typed in the close form."""
    try:
        close_check(application=application, by=user, now=now, feedback="-")
    except (AdmissionError, PermissionDenied) as error:
        refusal = str(error)
    else:
        return "", False
    early = application.review_at is None or application.review_at > now
    if early and user.has_perm("members.close_application_early"):
        try:
            close_check(
                application=application, by=user, now=now, feedback="-", override_reason="-"
            )
        except (AdmissionError, PermissionDenied):
            return refusal, False
        return "", True
    return refusal, False


def _page(request, application: Application, **forms):
    user = request.user
    now = timezone.now()
    card = _cards(user, [application])[0]
    votes_visible = card.tally is not None
    settings = AdmissionSettings.load()
    with_final = settings.reveal_votes == AdmissionSettings.Reveal.AFTER_OWN_VOTE
    may_vote = user.has_perm("members.cast_vote", application)
    vote_refusal = ""
    if not may_vote:
        try:
            vote_check(application=application, voter=user)
        except (AdmissionError, PermissionDenied) as error:
            vote_refusal = str(error)
    vote_form = forms.get("vote_form")
    if vote_form is None and may_vote:
        initial = {}
        if card.own_vote is not None:
            initial = {"choice": card.own_vote.choice, "comment": card.own_vote.comment}
        vote_form = VoteForm(initial=initial, with_final=with_final)
    try:
        conflict_check(application=application, member=user)
        may_step_aside = True
    except (AdmissionError, PermissionDenied):
        may_step_aside = False
    close_refusal, early_only = ("", False)
    close_form = feedback_form = None
    if application.is_open and user.has_perm("members.change_application", application):
        close_refusal, early_only = _close_refusal(application, user, now)
        if close_refusal:
            feedback_form = forms.get("feedback_form") or FeedbackForm(
                initial={"feedback": application.feedback}
            )
        else:
            close_form = forms.get("close_form") or CommitteeCloseForm(
                initial={"feedback": application.feedback}, may_override=early_only
            )
    return render(
        request,
        "members/committee_application.html",
        {
            "application": application,
            "card": card,
            "votes_visible": votes_visible,
            "votes": application.votes.select_related("voter") if votes_visible else None,
            "votes_cast": application.votes.count(),
            "vote_form": vote_form,
            "vote_refusal": vote_refusal,
            "reveal_after_close": not with_final,
            "conflict_form": (forms.get("conflict_form") or ConflictForm())
            if may_step_aside
            else None,
            "close_form": close_form,
            "close_refusal": close_refusal,
            "early_only": early_only,
            "feedback_form": feedback_form,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def committee_application(request, pk: int):
    """One application: the review talk, my vote (POST), the tally where the rules allow."""
    application = _application_for(request, pk)
    if request.method == "GET":
        return _page(request, application)
    with_final = AdmissionSettings.load().reveal_votes == AdmissionSettings.Reveal.AFTER_OWN_VOTE
    form = VoteForm(request.POST, with_final=with_final)
    if form.is_valid():
        try:
            vote = vote_cast(
                application=application,
                voter=request.user,
                choice=form.cleaned_data["choice"],
                comment=form.cleaned_data["comment"],
                final=form.cleaned_data.get("final", False),
            )
        except (AdmissionError, PermissionDenied) as error:
            form.add_error(None, str(error))
        else:
            if vote.final_at is None:
                text = _("Your vote is recorded. You can change it until you make it final.")
            elif request.user.has_perm("members.view_votes", application):
                text = _("Your vote is recorded and final: the others' votes are shown now.")
            else:
                text = _("Your vote is recorded and final.")
            messages.success(request, text)
            return redirect("members:committee-application", pk=pk)
    return _page(request, application, vote_form=form)


def _form_action(request, application, form, *, page_key: str, act, done: str):
    """Bind `form`, call the service (`act(cleaned_data)`); a refusal becomes the form's error
    on the page, success a message and back to the application."""
    if form.is_valid():
        try:
            act(form.cleaned_data)
        except (AdmissionError, PermissionDenied) as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, done)
            return redirect("members:committee-application", pk=application.pk)
    return _page(request, application, **{page_key: form})


@login_required
@require_POST
def committee_step_aside(request, pk: int):
    application = _application_for(request, pk)
    return _form_action(
        request,
        application,
        ConflictForm(request.POST),
        page_key="conflict_form",
        act=lambda data: conflict_declare(
            application=application, member=request.user, reason=data["reason"]
        ),
        done=_("You stepped aside from this application."),
    )


@login_required
@require_POST
def committee_feedback(request, pk: int):
    application = _application_for(request, pk)
    return _form_action(
        request,
        application,
        FeedbackForm(request.POST),
        page_key="feedback_form",
        act=lambda data: application_set_feedback(
            application=application, by=request.user, feedback=data["feedback"]
        ),
        done=_("The feedback is saved."),
    )


@login_required
@require_POST
def committee_close(request, pk: int):
    """Close the vote and decide, with feedback for the applicant: asked once (confirm=1)."""
    application = _application_for(request, pk)
    now = timezone.now()
    early = application.review_at is None or application.review_at > now
    form = CommitteeCloseForm(
        request.POST,
        may_override=early and request.user.has_perm("members.close_application_early"),
    )
    if not form.is_valid():
        return _page(request, application, close_form=form)
    feedback = form.cleaned_data["feedback"]
    override = form.cleaned_data.get("override_reason", "")
    if not confirmed(request):
        try:
            outcome, counts, _feedback, _override = close_check(
                application=application, by=request.user, now=now, feedback=feedback,
                override_reason=override,
            )  # fmt: skip
        except (AdmissionError, PermissionDenied) as error:
            form.add_error(None, str(error))
            return _page(request, application, close_form=form)
        return confirmation_page(
            request, _close_confirmation(request.user, application, outcome, counts, override)
        )
    try:
        application = application_close(
            application=application, by=request.user, now=now, feedback=feedback,
            override_reason=override,
        )  # fmt: skip
    except (AdmissionError, PermissionDenied) as error:
        form.add_error(None, str(error))
        return _page(request, application, close_form=form)
    messages.success(
        request,
        _("The vote is closed: %(outcome)s.") % {"outcome": application.get_status_display()},
    )
    return redirect("members:committee-application", pk=pk)


def _close_confirmation(user, application, outcome, counts, override) -> Confirmation:
    happens = [_("The vote closes now: nobody can vote or change a vote afterwards.")]
    if user.has_perm("members.view_votes", application):
        happens.append(
            _(
                "The decision: %(outcome)s (%(approve)d approve, %(reject)d reject, "
                "%(abstain)d abstain)."
            )
            % {"outcome": Application.Status(outcome).label, **counts}
        )
    else:
        happens.append(_("The decision follows the votes; you see it once the vote is closed."))
    if outcome == Application.Status.APPROVED:
        happens.append(
            _("%(name)s becomes a member of the study group.")
            % {"name": application.applicant.name}
        )
    if override:
        happens.append(
            _("Decided before the review talk; your reason goes into the audit trail: %(reason)s")
            % {"reason": " ".join(override.split())}
        )
    return Confirmation(
        title=_("Close the vote on %(name)s's application?") % {"name": application.applicant.name},
        button=_("Yes, close the vote and decide"),
        happens=happens,
        told=[
            _("%(name)s: an e-mail with the decision and your feedback (never who voted what).")
            % {"name": application.applicant.name}
        ],
        back_url=reverse("members:committee-application", args=[application.pk]),
        danger=False,
    )
