import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from members.models import User
from members.selectors import public_label, verified_members
from sessions.topics.models import CHECKLIST, CoPresenterInvitation, Task, Topic
from sessions.topics.selectors import group_member_ids
from sessions.topics.services import clean_paper_links
from topicshare.core.limits import REASON_MAX_CHARS, LongTextFormField
from topicshare.core.widgets import DateInput

# "王小明 (#12)" as the search and the edit form write people, or just "#12".
_ACCOUNT_NUMBER = re.compile(r"(?:^#|\(#)(\d{1,12})\)?$")

# Up to 20 links of a few hundred characters each, one per line.
PAPER_LINKS_MAX_CHARS = 10_000


class CoPresentersField(forms.CharField):
    """People, one per line, as a person types them without help: an e-mail address, or a
    display name; or as the search (members:search) and the edit form write them, the name
    with the account number: "王小明 (#12)". Only verified members are found; an edit form
    also finds the topic's current co-presenters and invitees (`known`)."""

    widget = forms.Textarea(attrs={"rows": 3, "data-co-presenters": ""})
    MAX_LINES = 10

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 1000)
        super().__init__(*args, **kwargs)
        self.known: dict[int, User] = {}

    def to_python(self, value) -> list[User]:
        lines = [" ".join(line.split()) for line in super().to_python(value).splitlines()]
        lines = list(dict.fromkeys(line for line in lines if line))
        if len(lines) > self.MAX_LINES:
            raise ValidationError(_("At most %(count)d lines.") % {"count": self.MAX_LINES})
        people, errors = [], []
        for line in lines:
            try:
                people.append(self._person(line))
            except ValidationError as error:
                errors.extend(error.messages)
        if errors:
            raise ValidationError(errors)
        return list({person.pk: person for person in people}.values())

    def _person(self, line: str) -> User:
        members = verified_members()
        number = _ACCOUNT_NUMBER.search(line)
        if number:
            pk = int(number.group(1))
            person = self.known.get(pk) or members.filter(pk=pk).first()
        elif "@" in line:
            person = members.filter(email__iexact=line).first()
        else:
            found = [p for p in self.known.values() if p.display_name == line] or list(
                members.filter(display_name=line)[:2]
            )
            if len(found) > 1:
                raise ValidationError(
                    _("Several members are called “%(name)s”: pick one from the search, or "
                      "give their e-mail address.") % {"name": line[:60]}
                )  # fmt: skip
            person = found[0] if found else None
        if person is None:
            raise ValidationError(
                _("No member of the study group is “%(line)s”.") % {"line": line[:60]}
            )
        return person

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return "\n".join(public_label(person) for person in value)
        return value


class TopicForm(forms.ModelForm):
    """Propose or edit a topic. Saving goes through the services, never form.save()."""

    paper_links = LongTextFormField(
        label=_("Paper links"),
        max_length=PAPER_LINKS_MAX_CHARS,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "https://arxiv.org/abs/…"}),
        help_text=_("One or more http(s) links, one per line."),
    )
    co_presenters = CoPresentersField(
        label=_("Co-presenters"),
        required=False,
        help_text=_(
            "Optional: members presenting with you, one per line: their display name or "
            "e-mail address. They are invited and listed once they accept."
        ),
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
            self.invitations = list(
                self.instance.invitations.select_related("invitee").order_by("created_at")
            )
            invited = [
                invitation.invitee
                for invitation in self.invitations
                if invitation.status == CoPresenterInvitation.Status.PENDING
            ]
            people = [*self.instance.co_presenters.all(), *invited]
            self.fields["co_presenters"].known = {person.pk: person for person in people}
            self.initial["co_presenters"] = people
        else:
            self.invitations = []

    def clean_title(self) -> str:
        title = " ".join(self.cleaned_data["title"].split())
        if not title:
            raise ValidationError(_("The title cannot be empty."))
        return title

    def clean_co_presenters(self) -> list[User]:
        people = self.cleaned_data["co_presenters"]
        declined = {
            invitation.invitee_id
            for invitation in self.invitations
            if invitation.status == CoPresenterInvitation.Status.DECLINED
        }
        refused = [person.name for person in people if person.pk in declined]
        if refused:
            raise ValidationError(
                _("%(names)s declined to present this topic.") % {"names": "、".join(refused)}
            )
        return people

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
        fields = ["title", "assignee", "due_before_session", "due_date", "notes"]
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
