"""A real confirmation step for destructive actions (CONVENTIONS: "A destructive action says
what will happen and who will be told, and asks once").

The action's form posts as usual. Without `confirm=1` the view does nothing and answers with
`confirmation_page`: what will happen, who will be told, and the same request again with
`confirm=1` (a second page without JavaScript; static/js/confirm.js shows the same text in a
<dialog> and, when confirmed, posts the form with `confirm=1`). Cancelling changes nothing."""

from dataclasses import dataclass, field

from django.template.response import TemplateResponse

CONFIRM_FIELD = "confirm"
# Never carried into the confirming form: the token comes fresh, the flag is added.
_NOT_CARRIED = {"csrfmiddlewaretoken", CONFIRM_FIELD}


def confirmed(request) -> bool:
    return request.method == "POST" and request.POST.get(CONFIRM_FIELD) == "1"


@dataclass
class Confirmation:
    title: str
    button: str  # the confirming button's label, e.g. "Yes, cancel the session"
    happens: list[str] = field(default_factory=list)
    told: list[str] = field(default_factory=list)  # who will be told; empty: nobody
    back_url: str = ""
    danger: bool = True


def confirmation_page(request, confirmation: Confirmation, *, carry=None) -> TemplateResponse:
    """The confirmation, as a page: the posted fields (`carry`: only these names) go back
    hidden, with confirm=1, to the same URL. Status 200: nothing was done, nothing failed."""
    names = [name for name in request.POST if name not in _NOT_CARRIED]
    if carry is not None:
        names = [name for name in names if name in carry]
    hidden = [(name, value) for name in names for value in request.POST.getlist(name)]
    return TemplateResponse(
        request,
        "confirm.html",
        {
            "confirmation": confirmation,
            "hidden": hidden,
            "action_url": request.get_full_path(),
            "back_url": confirmation.back_url or request.get_full_path(),
        },
    )
