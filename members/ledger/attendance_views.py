"""Organisers' pages of the attendance import: upload the meeting's participant list, map
its columns when the headers are not recognised, check who was matched, fix the rest,
confirm. Every view checks the permission on the server before it reads anything."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from members.ledger.attendance_files import LIMITS, column_letter, mapping_complete
from members.ledger.attendance_import import (
    PERMISSION,
    Standing,
    attendance_import_confirm,
    attendance_import_pick,
    attendance_import_set_columns,
    attendance_import_upload,
    import_preview,
    import_session_problem,
)
from members.ledger.forms import (
    ROLE_LABELS,
    AttendanceColumnsForm,
    AttendancePicksForm,
    AttendanceUploadForm,
)
from members.ledger.models import AttendanceImport
from members.rules import require_perm
from sessions.models import WeeklySession
from topicshare.core.imports import ImportFailed


def _require_organiser(request) -> None:
    require_perm(request.user, PERMISSION)


def _draft(pk: int, token: str) -> AttendanceImport:
    return get_object_or_404(
        AttendanceImport.objects.select_related("session__topic", "session__track", "uploaded_by"),
        session_id=pk,
        token=token,
    )


def _next_step(draft: AttendanceImport):
    if mapping_complete(draft.columns or {}):
        return redirect("ledger:attendance-import-preview", pk=draft.session_id, token=draft.token)
    return redirect("ledger:attendance-import-columns", pk=draft.session_id, token=draft.token)


@login_required
@require_http_methods(["GET", "POST"])
def attendance_import_start(request, pk: int):
    _require_organiser(request)
    session = get_object_or_404(WeeklySession.objects.select_related("topic", "track"), pk=pk)
    now = timezone.now()
    problem = import_session_problem(session, now=now)
    form = AttendanceUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and not problem and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            result = attendance_import_upload(
                session=session,
                by=request.user,
                name=upload.name,
                data=upload.read(LIMITS.max_bytes + 1),
                now=now,
            )
        except ImportFailed as failure:
            for issue in failure.issues:
                form.add_error("file", issue.message)
        else:
            if not result.created:
                messages.info(request, _("You uploaded this file before: nothing changed."))
            return _next_step(result.draft)
    return render(
        request,
        "members/attendance_import_upload.html",
        {
            "session": session,
            "form": form,
            "problem": problem,
            "max_mb": LIMITS.max_bytes // (1024 * 1024),
            "earlier": session.attendance_imports.select_related("uploaded_by")[:5],
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def attendance_import_columns(request, pk: int, token: str):
    _require_organiser(request)
    draft = _draft(pk, token)
    form = AttendanceColumnsForm(request.POST or None, draft=draft)
    if request.method == "POST" and form.is_valid():
        try:
            attendance_import_set_columns(
                draft=draft,
                by=request.user,
                header_row=form.cleaned_header_row(),
                mapping=form.cleaned_mapping(),
            )
        except ImportFailed as failure:
            for issue in failure.issues:
                form.add_error(None, issue.message)
        else:
            return _next_step(draft)
    rows, lines = draft.table["rows"], draft.table["lines"]
    width = max((len(cells) for cells in rows[:8]), default=0)
    return render(
        request,
        "members/attendance_import_columns.html",
        {
            "session": draft.session,
            "draft": draft,
            "form": form,
            "recognised": mapping_complete(draft.columns or {}),
            "sample": [
                (line, cells + [""] * (width - len(cells)))
                for line, cells in zip(lines[:8], rows[:8], strict=False)
            ],
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def attendance_import_preview(request, pk: int, token: str):
    _require_organiser(request)
    draft = _draft(pk, token)
    if not mapping_complete(draft.columns or {}):
        return _next_step(draft)
    preview = import_preview(draft)
    form = AttendancePicksForm(request.POST or None, preview=preview)
    if request.method == "POST" and form.is_valid():
        try:
            if "confirm" in request.POST:
                result = attendance_import_confirm(
                    draft=draft, by=request.user, picks=form.picks(), now=timezone.now()
                )
                messages.success(
                    request,
                    _(
                        "Attendance recorded: %(added)d added, %(already)d already recorded "
                        "(%(short)d too short, %(unmatched)d not matched)."
                    )
                    % vars(result),
                )
            else:
                attendance_import_pick(draft=draft, by=request.user, picks=form.picks())
                messages.success(request, _("Your choices are saved. Confirm when they are right."))
        except ImportFailed as failure:
            for issue in failure.issues:
                messages.error(request, issue.message)
        return redirect("ledger:attendance-import-preview", pk=pk, token=token)
    session = draft.session
    header = draft.table["rows"][draft.header_row] if draft.header_row is not None else []
    return render(
        request,
        "members/attendance_import_preview.html",
        {
            "session": session,
            "draft": draft,
            "preview": preview,
            "counts": preview.counts,
            "form": form,
            "problem": import_session_problem(session, now=timezone.now()),
            "columns": [
                (label, column_letter(index), header[index] if index < len(header) else "")
                for role, label in ROLE_LABELS.items()
                if (index := draft.columns.get(role)) is not None
            ],
            "standing": Standing,
            "confirmed_at": (
                date_format(timezone.localtime(draft.confirmed_at), "Y-m-d H:i")
                if draft.confirmed_at
                else ""
            ),
        },
    )
