"""Submit a page's forms as a browser would: only the fields inside the <form> whose button
is pressed, with the values the page shows (checked boxes, selected options, textareas)."""

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Form:
    id: str
    action: str
    fields: dict[str, str] = field(default_factory=dict)  # what a submit would send now
    choices: dict[str, list[str]] = field(default_factory=dict)  # radios / checkboxes / selects
    buttons: dict[str, str] = field(default_factory=dict)  # submit buttons: name → value

    def data(self, button: str, **typed) -> dict[str, str]:
        """The POST of pressing `button` after typing `typed` (only into fields of this form:
        whatever was typed elsewhere on the page is not sent)."""
        if button not in self.buttons:
            raise AssertionError(f"no button {button!r} in form {self.id!r}: {self.buttons}")
        sent = dict(self.fields)
        for name, value in typed.items():
            if name in self.fields or name in self.choices:
                sent[name] = value
        sent[button] = self.buttons[button]
        return sent

    def has_field(self, name: str) -> bool:
        return name in self.fields or name in self.choices


class _FormParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._textarea: str | None = None
        self._select: str | None = None
        self._select_first: bool = False

    def handle_starttag(self, tag, attrs):
        attr = {name: value or "" for name, value in attrs}
        if tag == "form":
            self._form = Form(id=attr.get("id", ""), action=attr.get("action", ""))
            self.forms.append(self._form)
            return
        form = self._form
        if form is None or "disabled" in attr:
            return
        name = attr.get("name", "")
        if tag == "input" and name:
            kind = attr.get("type", "text").lower()
            if kind in {"submit", "image"}:
                form.buttons[name] = attr.get("value", "")
            elif kind in {"radio", "checkbox"}:
                form.choices.setdefault(name, []).append(attr.get("value", "on"))
                if "checked" in attr:
                    form.fields[name] = attr.get("value", "on")
            elif kind != "file":
                form.fields[name] = attr.get("value", "")
        elif tag == "button" and name and attr.get("type", "submit") == "submit":
            form.buttons[name] = attr.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            form.fields[name] = ""
        elif tag == "select" and name:
            self._select, self._select_first = name, True
        elif tag == "option" and self._select:
            value = attr.get("value", "")
            form.choices.setdefault(self._select, []).append(value)
            if "selected" in attr or self._select_first:
                form.fields[self._select] = value
            self._select_first = False

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data):
        if self._form is not None and self._textarea:
            self._form.fields[self._textarea] += data.removeprefix("\n")


def page_forms(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


def form_with_button(html: str, button: str) -> Form:
    """The form that the button named `button` submits."""
    matches = [form for form in page_forms(html) if button in form.buttons]
    assert len(matches) == 1, [(form.id, form.buttons) for form in page_forms(html)]
    return matches[0]


def forms_with_field(html: str, name: str) -> list[Form]:
    return [form for form in page_forms(html) if form.has_field(name)]
