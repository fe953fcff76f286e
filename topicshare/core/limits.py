"""How long user-written text may be, in one place.

Every text field people write into has a limit here. A model field carries it three ways:
its validators (model validation: forms, the admin, services and imports that call
`full_clean`), its form field (the textarea's `maxlength` and the same check, after line
endings are normalised the way the browser counts them) and `refuse_overlong_text`, which
refuses a save of any overlong value however it was set (a service that writes without
`full_clean`). SQLite does not enforce a column's length, so without this last check a
write that skipped validation would store anything.

The renderer of markdown (topicshare/core/markup.py) parses at most MARKDOWN_MAX_CHARS characters.
"""

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import models
from django.utils.translation import ngettext_lazy

# Markdown summaries of topics and library items: a long abstract with a table or two.
MARKDOWN_MAX_CHARS = 20_000
# Letters to the committee, its feedback and votes, notes, descriptions, instructions.
LONG_TEXT_MAX_CHARS = 5_000
# Reasons (rejecting, cancelling, postponing, exempting) and an organiser's note.
REASON_MAX_CHARS = 2_000
# Imported articles (sanitised HTML from a Zhihu export): long, but not without end.
ARTICLE_HTML_MAX_CHARS = 300_000

# The apps whose models refuse_overlong_text checks.
CHECKED_APPS = {"topicshare", "members", "topic_sessions", "library"}


# The message Django's own length check shows in every form. It is repeated here so that our
# catalogue translates it: Django's Chinese (“确保该变量包含不超过…”) speaks of a "variable".
TOO_LONG = ngettext_lazy(
    "Ensure this value has at most %(limit_value)d character (it has %(show_value)d).",
    "Ensure this value has at most %(limit_value)d characters (it has %(show_value)d).",
    "limit_value",
)


def normalise_newlines(value):
    """Line endings as the browser counts them for `maxlength` (it submits CRLF)."""
    if isinstance(value, str):
        return value.replace("\r\n", "\n").replace("\r", "\n")
    return value


class LongTextFormField(forms.CharField):
    """A form field for long text: line endings normalised before the length is checked, so
    that text the textarea's `maxlength` let through is never refused for its CRLFs."""

    def __init__(self, *, max_length: int, widget=None, **kwargs):
        super().__init__(max_length=max_length, widget=widget or forms.Textarea, **kwargs)

    def to_python(self, value):
        return super().to_python(normalise_newlines(value))


class LimitedTextField(models.TextField):
    """A TextField whose max_length is enforced (Django's TextField only hands it to forms)."""

    def __init__(self, *args, max_length: int, **kwargs):
        super().__init__(*args, max_length=max_length, **kwargs)
        self.validators.append(MaxLengthValidator(max_length))

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": LongTextFormField, **kwargs})


def _too_long(field: models.Field, value) -> str | None:
    if (
        field.max_length is not None
        and isinstance(value, str)
        and len(value) > field.max_length
        and not isinstance(field, models.FileField)
    ):
        return TOO_LONG % {"limit_value": field.max_length, "show_value": len(value)}
    return None


def refuse_overlong_text(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    """pre_save receiver: no overlong text reaches the database, whatever path wrote it.

    Forms and services refuse it first with a message at the field; this is the backstop for
    a write that skipped validation. Only the saved fields are checked, so that an old row
    that is already too long can still have its other fields changed."""
    if sender._meta.app_label not in CHECKED_APPS:
        return
    errors = {}
    for field in sender._meta.concrete_fields:
        if update_fields is not None and field.name not in update_fields:
            continue
        message = _too_long(field, getattr(instance, field.attname, None))
        if message:
            errors[field.name] = [message]
    if errors:
        raise ValidationError(errors)
