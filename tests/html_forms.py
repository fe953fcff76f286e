"""Read a page's forms the way a browser submits them: for round trips (GET a form, POST back
what it shows) and for checking which action buttons a page offers."""

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class HtmlForm:
    action: str
    method: str
    # (name, value, type) of every successful control, in document order.
    controls: list[tuple[str, str, str]] = field(default_factory=list)
    # (name, value) of the submit buttons, and their data-* attributes.
    buttons: list[dict[str, str]] = field(default_factory=list)

    def data(self, button: dict[str, str] | None = None) -> dict[str, list[str]]:
        """What the browser sends when `button` (or no button) submits the form."""
        values: dict[str, list[str]] = {}
        for name, value, _type in self.controls:
            values.setdefault(name, []).append(value)
        if button and button.get("name"):
            values.setdefault(button["name"], []).append(button.get("value", ""))
        return values

    def inputs(self, input_type: str) -> dict[str, str]:
        return {name: value for name, value, kind in self.controls if kind == input_type}


class _FormParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[HtmlForm] = []
        self._form: HtmlForm | None = None
        self._textarea: tuple[str, list[str]] | None = None
        self._select: str | None = None
        self._select_options: list[tuple[str, bool]] = []
        self._select_multiple = False

    def handle_starttag(self, tag, attrs):
        values = {name: (value if value is not None else "") for name, value in attrs}
        if tag == "form":
            self._form = HtmlForm(action=values.get("action", ""), method=values.get("method", ""))
            self.forms.append(self._form)
            return
        if self._form is None:
            return
        name = values.get("name")
        if tag == "input":
            kind = values.get("type", "text").lower()
            if kind in {"submit", "image"}:
                self._form.buttons.append(values)
            elif kind in {"checkbox", "radio"}:
                if name and "checked" in values:
                    self._form.controls.append((name, values.get("value", "on"), kind))
            elif name and kind != "file":
                self._form.controls.append((name, values.get("value", ""), kind))
        elif tag == "button" and values.get("type", "submit").lower() == "submit":
            self._form.buttons.append(values)
        elif tag == "textarea" and name:
            self._textarea = (name, [])
        elif tag == "select" and name:
            self._select, self._select_options = name, []
            self._select_multiple = "multiple" in values
        elif tag == "option" and self._select is not None:
            self._select_options.append((values.get("value", ""), "selected" in values))

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1].append(data)

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "textarea" and self._textarea is not None and self._form is not None:
            text = "".join(self._textarea[1])
            # A browser drops the one newline that follows <textarea>.
            self._form.controls.append((self._textarea[0], text.removeprefix("\n"), "textarea"))
            self._textarea = None
        elif tag == "select" and self._select is not None and self._form is not None:
            chosen = [value for value, selected in self._select_options if selected]
            if not chosen and not self._select_multiple and self._select_options:
                chosen = [self._select_options[0][0]]
            self._form.controls += [(self._select, value, "select") for value in chosen]
            self._select = None


def html_forms(html: str | bytes) -> list[HtmlForm]:
    parser = _FormParser()
    parser.feed(html.decode() if isinstance(html, bytes) else html)
    return parser.forms
