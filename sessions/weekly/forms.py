import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from members.models import User
from sessions.models import MeetingProvider
from topicshare.core.limits import REASON_MAX_CHARS, LongTextFormField
from topicshare.core.validators import validate_plausible_date
from topicshare.core.widgets import DateTimeInput


# "王小明 (#12)" as the search and the edit form write people, or just "#12".
class MeetingForm(forms.Form):
    meeting_provider = forms.ChoiceField(
        label=_("Meeting provider"), choices=[("", "—"), *MeetingProvider.choices], required=False
    )
    meeting_url = forms.URLField(
        label=_("Meeting link"), required=False, assume_scheme="https", max_length=200
    )
    meeting_id = forms.CharField(label=_("Meeting ID"), required=False, max_length=40)
    meeting_passcode = forms.CharField(label=_("Passcode"), required=False, max_length=20)
    organiser_note = LongTextFormField(
        label=_("Organiser's note"),
        required=False,
        max_length=REASON_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


def slot_choices(slots: list[tuple[datetime.datetime, list[str]]]) -> list[tuple[str, str]]:
    """Free slots as radio choices: the local date and time, then any warning."""
    return [
        (
            start.isoformat(),
            formats.date_format(timezone.localtime(start), "Y-m-d D H:i")
            + (f" — {' '.join(warnings)}" if warnings else ""),
        )
        for start, warnings in slots
    ]


class ScheduleForm(MeetingForm):
    """Pick one of the track's free slots, or (with the override) any future time."""

    slot = forms.ChoiceField(label=_("Free slots"), required=False, widget=forms.RadioSelect)
    custom_start = forms.DateTimeField(
        label=_("Or another time"),
        required=False,
        widget=DateTimeInput(),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        help_text=_("In the forum's time zone (Asia/Shanghai)."),
        validators=[validate_plausible_date],
    )
    override_slot = forms.BooleanField(
        label=_("Use this time although it is not the track's weekly slot"), required=False
    )

    field_order = ["slot", "custom_start", "override_slot"]

    def __init__(
        self,
        *args,
        slots: list[tuple[datetime.datetime, list[str]]],
        preselect: datetime.datetime | None = None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.fields["slot"].choices = slot_choices(slots)
        if preselect is not None:
            self.fields["slot"].initial = preselect.isoformat()

    def clean(self):
        cleaned = super().clean()
        slot, custom = cleaned.get("slot"), cleaned.get("custom_start")
        if bool(slot) == bool(custom):
            raise ValidationError(_("Pick one free slot, or enter another time — not both."))
        cleaned["start"] = datetime.datetime.fromisoformat(slot) if slot else custom
        return cleaned


class MoveForm(forms.Form):
    """Move a scheduled session to one of its track's free slots."""

    slot = forms.ChoiceField(label=_("Free slots"), widget=forms.RadioSelect)
    reason = LongTextFormField(
        label=_("Reason (optional)"),
        required=False,
        max_length=REASON_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, slots: list[tuple[datetime.datetime, list[str]]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slot"].choices = slot_choices(slots)

    def clean_slot(self):
        return datetime.datetime.fromisoformat(self.cleaned_data["slot"])


class ReasonForm(forms.Form):
    reason = LongTextFormField(
        label=_("Reason"), max_length=REASON_MAX_CHARS, widget=forms.Textarea(attrs={"rows": 2})
    )


class AttendanceForm(forms.Form):
    people = forms.ModelMultipleChoiceField(
        label=_("Who attended"),
        queryset=User.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, candidates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["people"].queryset = candidates
