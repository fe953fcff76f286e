import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members.models import User
from sessions.models import CHECKLIST, MeetingProvider, Task, Topic
from sessions.selectors import group_member_ids
from sessions.services import clean_paper_links
from topicshare.limits import REASON_MAX_CHARS, LongTextFormField
from topicshare.validators import validate_plausible_date

# Up to 20 links of a few hundred characters each, one per line.
PAPER_LINKS_MAX_CHARS = 10_000


class DateInput(forms.DateInput):
    input_type = "date"


class TopicForm(forms.ModelForm):
    """Propose or edit a topic. Saving goes through the services, never form.save()."""

    paper_links = LongTextFormField(
        label=_("Paper links"),
        max_length=PAPER_LINKS_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "https://arxiv.org/abs/…"}),
        help_text=_("One or more http(s) links, one per line."),
    )
    co_presenters = forms.ModelMultipleChoiceField(
        label=_("Co-presenters"),
        queryset=User.objects.filter(is_active=True, is_placeholder=False).order_by("display_name"),
        required=False,
        help_text=_("Optional: people presenting with you."),
    )

    class Meta:
        model = Topic
        fields = [
            "title",
            "track",
            "sub_theme",
            "summary",
            "paper_links",
            "preferred_week",
            "capacity",
            "members_only",
            "co_presenters",
        ]
        widgets = {
            "summary": forms.Textarea(attrs={"rows": 10}),
            "preferred_week": DateInput(),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["title"].widget.attrs["maxlength"] = 200
        if self.instance.pk:
            self.initial["paper_links"] = "\n".join(self.instance.paper_links)
            self.initial["co_presenters"] = list(self.instance.co_presenters.all())

    def clean_title(self) -> str:
        title = " ".join(self.cleaned_data["title"].split())
        if not title:
            raise ValidationError(_("The title cannot be empty."))
        return title

    def clean_paper_links(self) -> list[str]:
        links = clean_paper_links(self.cleaned_data["paper_links"])
        if not links:
            raise ValidationError(_("Give at least one link to the paper."))
        return links

    def service_kwargs(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class TopicGroupForm(forms.ModelForm):
    """What the proposer (and organisers) set once the group exists."""

    group_chat_link = forms.URLField(
        label=_("Group chat link"),
        required=False,
        assume_scheme="https",
        max_length=200,
        help_text=_("WeChat group or Feishu link."),
    )

    class Meta:
        model = Topic
        fields = ["group_chat_link", "group_qr", *[name for name, _label in CHECKLIST]]

    def service_kwargs(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.changed_data}


class TransitionForm(forms.Form):
    to = forms.CharField(max_length=20)
    reason = LongTextFormField(required=False, max_length=REASON_MAX_CHARS)


class TaskForm(forms.ModelForm):
    class Meta:
        model = Task
        fields = ["title", "assignee", "due_date", "notes"]
        widgets = {"due_date": DateInput(), "notes": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, topic: Topic, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = User.objects.filter(pk__in=group_member_ids(topic))


class TaskMoveForm(forms.Form):
    status = forms.ChoiceField(choices=Task.Status.choices, required=False)
    assignee = forms.ModelChoiceField(queryset=User.objects.none(), required=False)

    def __init__(self, *args, topic: Topic, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = User.objects.filter(pk__in=group_member_ids(topic))


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


class ScheduleForm(MeetingForm):
    """Pick one of the track's free slots, or (with the override) any future time."""

    slot = forms.ChoiceField(label=_("Free slots"), required=False, widget=forms.RadioSelect)
    custom_start = forms.DateTimeField(
        label=_("Or another time"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
        help_text=_("In the forum's time zone (Asia/Shanghai)."),
        validators=[validate_plausible_date],
    )
    override_slot = forms.BooleanField(
        label=_("Use this time although it is not the track's weekly slot"), required=False
    )

    field_order = ["slot", "custom_start", "override_slot"]

    def __init__(self, *args, slots: list[tuple[datetime.datetime, list[str]]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slot"].choices = [
            (
                start.isoformat(),
                f"{timezone.localtime(start):%Y-%m-%d %a %H:%M}"
                + (f" — {' '.join(warnings)}" if warnings else ""),
            )
            for start, warnings in slots
        ]

    def clean(self):
        cleaned = super().clean()
        slot, custom = cleaned.get("slot"), cleaned.get("custom_start")
        if bool(slot) == bool(custom):
            raise ValidationError(_("Pick one free slot, or enter another time — not both."))
        cleaned["start"] = datetime.datetime.fromisoformat(slot) if slot else custom
        return cleaned


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
