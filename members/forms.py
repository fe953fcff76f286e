from django import forms
from django.utils.translation import gettext_lazy as _

from members.models import ApiToken, User
from topicshare.core.limits import LONG_TEXT_MAX_CHARS, LongTextFormField
from topicshare.core.uploads import validate_slides_file
from topicshare.notifications.models import NotificationKind


class LanguageSelect(forms.Select):
    """Each language named in itself and marked so (lang="..."), as the language switch does."""

    def create_option(self, *args, **kwargs):
        option = super().create_option(*args, **kwargs)
        if option["value"]:
            option["attrs"]["lang"] = option["value"]
        return option


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["display_name", "wechat_id", "tracks_of_interest", "preferred_language"]
        # The tracks come from the relation the User model declares (no import of sessions).
        labels = {"tracks_of_interest": _("Tracks of interest")}
        widgets = {
            "tracks_of_interest": forms.CheckboxSelectMultiple,
            "preferred_language": LanguageSelect,
        }

    def clean_display_name(self) -> str:
        # Invisible and control characters are refused by the model field's validator.
        return " ".join(self.cleaned_data["display_name"].split())

    def clean_wechat_id(self) -> str:
        value = self.cleaned_data["wechat_id"].strip()
        # WeChat IDs: 6–20 letters, digits, "_" or "-", starting with a letter.
        if value and not (
            6 <= len(value) <= 20
            and value[0].isascii()
            and value[0].isalpha()
            and all(c.isascii() and (c.isalnum() or c in "_-") for c in value)
        ):
            raise forms.ValidationError(
                _("A WeChat ID has 6–20 letters, digits, “_” or “-” and starts with a letter.")
            )
        return value


class NotificationPreferencesForm(forms.Form):
    wanted = forms.MultipleChoiceField(
        label=_("E-mails I want"),
        choices=NotificationKind.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )


class ApiTokenForm(forms.Form):
    """A new personal API token (members.api_tokens.api_token_create checks again)."""

    name = forms.CharField(
        label=_("Token name"),
        max_length=ApiToken._meta.get_field("name").max_length,
        help_text=_("What it is for, e.g. “my reading list script”."),
    )
    scope = forms.ChoiceField(
        label=_("Scope"), choices=ApiToken.Scope.choices, initial=ApiToken.Scope.READ
    )


class ApplicationForm(forms.Form):
    motivation = LongTextFormField(
        label=_("Why do you want to join?"),
        max_length=LONG_TEXT_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    paper_title = forms.CharField(label=_("The paper you will present"), max_length=300)
    paper_url = forms.URLField(label=_("Link to the paper"), max_length=500, assume_scheme="https")
    preferred_dates = forms.CharField(
        label=_("Preferred dates for the review talk"),
        max_length=300,
        required=False,
        help_text=_("For example: weekday evenings after 20:00, or 12-05 / 12-12."),
    )
    slides = forms.FileField(
        label=_("Slides (optional)"),
        required=False,
        validators=[validate_slides_file],
        help_text=_("PDF or PowerPoint (.pptx)."),
    )

    def clean_motivation(self) -> str:
        text = self.cleaned_data["motivation"].strip()
        if len(text) < 20:
            raise forms.ValidationError(
                _("Tell the committee a little more (20 characters at least).")
            )
        return text

    def clean_paper_url(self) -> str:
        url = self.cleaned_data["paper_url"]
        if not url.lower().startswith(("http://", "https://")):
            raise forms.ValidationError(_("Give an http(s) link."))
        return url


class VoteForm(forms.Form):
    """One's own vote on /committee/ (members.admission.vote_cast)."""

    choice = forms.ChoiceField(label=_("Your vote"), widget=forms.RadioSelect, choices=())
    comment = forms.CharField(
        label=_("Questions asked and your assessment"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    final = forms.BooleanField(
        label=_("Make my vote final and show me the others' votes"),
        required=False,
        help_text=_("Until then your vote stays yours to change; a final vote cannot change."),
    )

    def __init__(self, *args, with_final: bool, **kwargs):
        from members.models import Vote

        super().__init__(*args, **kwargs)
        self.fields["choice"].choices = Vote.Choice.choices
        if not with_final:
            del self.fields["final"]


class ConflictForm(forms.Form):
    reason = forms.CharField(label=_("I step aside because"), max_length=200)


class CommitteeCloseForm(forms.Form):
    feedback = forms.CharField(
        label=_("Feedback for the applicant"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_(
            "Sent with the decision and shown on their status page (never who voted what)."
        ),
    )
    override_reason = forms.CharField(
        label=_("Decide before the review talk, because"),
        required=False,
        max_length=500,
        help_text=_("Organisers only. Recorded with the decision in the audit trail."),
    )

    def __init__(self, *args, may_override: bool, **kwargs):
        super().__init__(*args, **kwargs)
        if not may_override:
            del self.fields["override_reason"]


class FeedbackForm(forms.Form):
    feedback = forms.CharField(
        label=_("Feedback for the applicant"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Write it now; the applicant gets it with the decision."),
    )
