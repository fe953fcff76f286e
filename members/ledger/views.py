"""Organisers' pages for the end of a season: the review (ledger, removals, exemptions) and
its CSV export. Every view checks the permission on the server."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError
from django.db.models import F
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from members.ledger.models import ExemptionRequest, LedgerExemption
from members.ledger.services import (
    OVERRIDE_REASON_MAX_LENGTH,
    ExemptionRequestError,
    current_season,
    exemption_request,
    exemption_request_answer,
    ledger_exempt,
    ledger_exemption_revoke,
    ledger_table,
    member_standing,
    season_has_ended,
    season_ledger,
    season_removals_check,
    season_removals_confirm,
)
from members.models import User
from sessions.models import Season
from topicshare.core.confirm import Confirmation, confirmation_page, confirmed
from topicshare.core.fragments import personal_page
from topicshare.core.spreadsheet import spreadsheet_writer


def _require_reviewer(request) -> None:
    if not request.user.has_perm("members.review_season"):
        raise PermissionDenied


@login_required
@require_GET
def season_review_current(request):
    _require_reviewer(request)
    season = current_season()
    if season is None:
        raise Http404(_("No season yet."))
    return redirect("ledger:season-review", pk=season.pk)


@login_required
@require_http_methods(["GET", "POST"])
@personal_page
def season_review(request, pk: int):
    _require_reviewer(request)
    season = get_object_or_404(Season, pk=pk)
    if request.method == "POST":
        if ("remove_selected" in request.POST or "remove" in request.POST) and not confirmed(
            request
        ):
            return _removal_confirmation(request, season)
        _review_action(request, season)
        return redirect("ledger:season-review", pk=season.pk)
    return render(
        request,
        "members/season_review.html",
        {
            "ledger": season_ledger(season),
            "seasons": Season.objects.order_by("-order", "-id"),
            "season_ended": season_has_ended(season),
            "override_max_length": OVERRIDE_REASON_MAX_LENGTH,
        },
    )


def _removal_ids(data) -> list[int]:
    return _ids(data.getlist("user")) if "remove_selected" in data else _ids([data["remove"]])


def _removal_confirmation(request, season: Season):
    """Moving members back to the audience asks once: who (those the policy flags now), what
    changes for them, and that each is told."""
    try:
        season_removals_check(
            season=season, override_reason=request.POST.get("override_reason", "")
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("ledger:season-review", pk=season.pk)
    ledger = season_ledger(season)
    wanted = set(_removal_ids(request.POST))
    rows = [row for row in ledger.flagged if row.user.pk in wanted]
    if not rows:
        messages.error(request, _("Select at least one flagged member."))
        return redirect("ledger:season-review", pk=season.pk)
    names = "、".join(row.user.name for row in rows)
    confirmation = Confirmation(
        title=ngettext(
            "Move %(count)d member to the audience?",
            "Move %(count)d members to the audience?",
            len(rows),
        )
        % {"count": len(rows)},
        button=_("Yes, move to the audience"),
        happens=[
            _("%(names)s: back to the audience after %(season)s.")
            % {"names": names, "season": season.label},
            _(
                "What is for members only is no longer open to them; they can apply to join "
                "again. The change is in the audit trail."
            ),
        ],
        told=[_("Each of them: a polite notice explaining how to re-apply.")],
        back_url=reverse("ledger:season-review", args=[season.pk]),
    )
    return confirmation_page(
        request, confirmation, carry={"remove", "remove_selected", "user", "override_reason"}
    )


def _ids(values) -> list[int]:
    """Ids from a form; anything else (², a 30-digit number, text) is left out."""
    return [
        int(value)
        for value in map(str, values)
        if value.isascii() and value.isdigit() and len(value) <= 18
    ]


def _review_action(request, season: Season) -> None:
    data = request.POST
    if "remove_selected" in data or "remove" in data:
        ids = _removal_ids(data)
        if not ids:
            messages.error(request, _("Select at least one flagged member."))
            return
        try:
            report = season_removals_confirm(
                season=season,
                user_ids=ids,
                by=request.user,
                override_reason=data.get("override_reason", ""),
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            return
        if report.removed:
            messages.success(
                request,
                _("Moved to the audience and notified: %(names)s.")
                % {"names": "、".join(user.name for user in report.removed)},
            )
        for user, status in report.skipped:
            messages.warning(
                request,
                _("%(name)s was not moved: %(status)s.") % {"name": user.name, "status": status},
            )
    elif "exempt" in data:
        user = User.objects.filter(pk__in=_ids([data["exempt"]])).first()
        if user is None:
            messages.error(request, _("That member does not exist."))
            return
        # Bounded by the model (full_clean in ledger_exempt): too long is an error, not a cut.
        reason = data.get(f"reason-{user.pk}", "")
        try:
            ledger_exempt(user=user, season=season, reason=reason, by=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        except IntegrityError:
            messages.error(request, _("This member is already exempted for this season."))
        else:
            messages.success(
                request, _("%(name)s is exempt for this season.") % {"name": user.name}
            )
    elif "revoke" in data:
        exemption = LedgerExemption.objects.filter(pk__in=_ids([data["revoke"]])).first()
        if exemption is None:
            messages.error(request, _("That exemption no longer exists."))
            return
        ledger_exemption_revoke(exemption=exemption, by=request.user)
        messages.success(request, _("The exemption is removed."))
    else:
        messages.error(request, _("Nothing to do."))


@login_required
@require_GET
def season_review_csv(request, pk: int):
    _require_reviewer(request)
    season = get_object_or_404(Season, pk=pk)
    header, rows = ledger_table(season_ledger(season))
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="season-{season.pk}-ledger.csv"'
    response.write("\ufeff")  # so that spreadsheet programs read UTF-8 Chinese correctly
    writer = spreadsheet_writer(response)
    writer.writerow(header)
    writer.writerows(rows)
    return response


@login_required
@require_http_methods(["GET", "POST"])
@personal_page
def my_standing(request):
    """My season so far against the policy, what would keep me a member, and asking the
    organisers for an exemption."""
    reason_error = ""
    if request.method == "POST":
        try:
            exemption_request(user=request.user, reason=request.POST.get("reason", "")[:2000])
        except ValidationError as error:
            reason_error = " ".join(error.message_dict.get("reason", error.messages))
        except ExemptionRequestError as error:
            messages.error(request, str(error))
            return redirect("ledger:my-standing")
        else:
            messages.success(
                request, _("Your request is with the organisers. You will see their answer here.")
            )
            return redirect("ledger:my-standing")
    standing = member_standing(user=request.user)
    asked = (
        ExemptionRequest.objects.filter(user=request.user, season=standing.season)
        .order_by("-created_at")
        .first()
        if standing
        else None
    )
    return render(
        request,
        "members/my_standing.html",
        {"standing": standing, "asked": asked, "reason_error": reason_error},
    )


@login_required
@require_GET
def exemption_requests(request):
    """Organisers: the members' requests for an exemption, open ones first."""
    _require_reviewer(request)
    requests = ExemptionRequest.objects.select_related("user", "season", "answered_by").order_by(
        F("answered_at").desc(nulls_first=True), "created_at"
    )[:200]
    return render(request, "members/exemption_requests.html", {"requests": requests})


@login_required
@require_POST
def exemption_request_answer_view(request, pk: int):
    _require_reviewer(request)
    asked = get_object_or_404(ExemptionRequest, pk=pk)
    grant = request.POST.get("grant") == "1"
    try:
        exemption_request_answer(request=asked, grant=grant, by=request.user)
    except (ExemptionRequestError, ValidationError) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
    else:
        messages.success(
            request,
            (_("Exempt for %(season)s: %(name)s.") if grant else _("Declined: %(name)s."))
            % {"season": asked.season.label, "name": asked.user.name},
        )
    return redirect("ledger:exemption-requests")
