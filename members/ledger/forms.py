"""Forms of the attendance import: the upload, the column mapping, the picks by hand."""

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from members.ledger.attendance_files import (
    DURATION,
    EMAIL,
    HEADER_SEARCH_ROWS,
    JOIN,
    LEAVE,
    LIMITS,
    NAME,
    ROLES,
    WECHAT,
    column_letter,
    name_key,
)
from members.ledger.attendance_import import Member, Preview, draft_columns, table_width
from members.ledger.models import AttendanceImport

ROLE_LABELS = {
    NAME: gettext_lazy("Name in the meeting"),
    EMAIL: gettext_lazy("E-mail"),
    WECHAT: gettext_lazy("WeChat ID"),
    DURATION: gettext_lazy("Time in the meeting"),
    JOIN: gettext_lazy("Join time"),
    LEAVE: gettext_lazy("Leave time"),
}
NO_HEADER = "none"
LABEL_CHARS = 40


class AttendanceUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("Participant list (CSV or XLSX)"),
        help_text=gettext_lazy(
            "The list Tencent Meeting or Feishu exports after the meeting (参会者列表 / "
            "participant list), as it is: title lines above the table are fine."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.xlsx,.txt,.tsv"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > LIMITS.max_bytes:
            raise forms.ValidationError(LIMITS.too_big_message(), code="too_big")
        return upload


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


class AttendanceColumnsForm(forms.Form):
    """Which row holds the column names and which column holds what, for a file whose
    headers were not recognised (or to correct what was)."""

    def __init__(self, *args, draft: AttendanceImport, **kwargs):
        super().__init__(*args, **kwargs)
        self.draft = draft
        rows = draft.table["rows"]
        columns = draft_columns(draft)
        header = rows[columns.header_row] if columns.header_row is not None else []
        start = 0 if columns.header_row is None else columns.header_row + 1
        sample = rows[start] if start < len(rows) else []
        column_choices = [("", _("— not in the file —"))]
        for index in range(table_width(draft)):
            named = header[index] if index < len(header) else ""
            example = sample[index] if index < len(sample) else ""
            label = column_letter(index)
            if named:
                label += f" · {_short(named)}"
            if example:
                label += " · " + _("e.g. %(value)s") % {"value": _short(example)}
            column_choices.append((str(index), label))
        header_choices = [(NO_HEADER, _("None: the list starts in the first row"))]
        for index, cells in enumerate(rows[:HEADER_SEARCH_ROWS]):
            header_choices.append(
                (
                    str(index),
                    _("Row %(number)d: %(cells)s")
                    % {"number": draft.table["lines"][index], "cells": _short(" | ".join(cells))},
                )
            )
        self.fields["header_row"] = forms.ChoiceField(
            label=_("Row with the column names"),
            choices=header_choices,
            initial=NO_HEADER if columns.header_row is None else str(columns.header_row),
        )
        for role in ROLES:
            index = columns.mapping.get(role)
            self.fields[role] = forms.ChoiceField(
                label=ROLE_LABELS[role],
                choices=column_choices,
                required=False,
                initial="" if index is None else str(index),
            )
        self.fields[DURATION].help_text = _(
            "“45分钟”, “1小时5分钟”, “01:05:10”, “1h 5m” or a number of minutes. Without it, "
            "the time between joining and leaving counts."
        )

    def cleaned_header_row(self) -> int | None:
        value = self.cleaned_data["header_row"]
        return None if value == NO_HEADER else int(value)

    def cleaned_mapping(self) -> dict[str, int]:
        return {role: int(self.cleaned_data[role]) for role in ROLES if self.cleaned_data[role]}


# The one list of members every row's input suggests from (a <datalist>: no script, and the
# page stays small however many rows and members there are).
MEMBERS_LIST_ID = "attendance-members"


class MemberField(forms.CharField):
    """A member typed or picked from the list: their label ("name · e-mail"), their e-mail,
    or a name only one member has. Empty: left out (0)."""

    def __init__(self, *, members: list[Member], **kwargs):
        super().__init__(
            required=False,
            max_length=300,
            widget=forms.TextInput(
                attrs={
                    "list": MEMBERS_LIST_ID,
                    "autocomplete": "off",
                    "placeholder": gettext_lazy("Name or e-mail"),
                }
            ),
            **kwargs,
        )
        self.members = members

    def clean(self, value):
        text = " ".join((super().clean(value) or "").split())
        if not text:
            return 0
        for member in self.members:
            if text in (member.label, member.email) or text.casefold() == member.email.casefold():
                return member.pk
        named = [member for member in self.members if name_key(member.name) == name_key(text)]
        if len(named) == 1:
            return named[0].pk
        if named:
            raise forms.ValidationError(
                _("%(count)d members are called “%(name)s”: pick one of them from the list.")
                % {"count": len(named), "name": text},
                code="ambiguous",
            )
        raise forms.ValidationError(
            _("No member “%(name)s”: pick one from the list, or leave it empty.") % {"name": text},
            code="unknown",
        )


class AttendancePicksForm(forms.Form):
    """A member for each row the organiser decides: those not matched, those two members
    fit, those matched by a shortened name, and those picked by hand before."""

    def __init__(self, *args, preview: Preview, **kwargs):
        super().__init__(*args, **kwargs)
        self.preview = preview
        self.rows = preview.pickable_rows
        for row in self.rows:
            self.fields[row.field_name] = MemberField(
                members=preview.members,
                label=_("Member for “%(name)s”") % {"name": row.person.label},
                initial=row.member.label if row.member else "",
            )

    def table_rows(self):
        """(row, its field or None) of every row of the preview, for the template."""
        return [
            (row, self[row.field_name] if row.field_name in self.fields else None)
            for row in self.preview.rows
        ]

    def picks(self) -> dict[str, int]:
        """person key -> member pk (0: left out), for the rows the request chose for (a row
        it says nothing about keeps what it had)."""
        return {
            row.person.key: self.cleaned_data[row.field_name]
            for row in self.rows
            if row.field_name in self.data and row.field_name in self.cleaned_data
        }
