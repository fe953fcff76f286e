"""The active filters of a list page as removable chips: {% filter_chips form %} lists each
submitted value of a (bound) filter form with a link to the same page without it."""

from django import forms, template

register = template.Library()

MAX_CHIP_CHARS = 40
# Values a select means as "no filter".
_INACTIVE = {"", "unknown"}


def _label_of(field, name: str, raw: str, cleaned) -> str:
    if isinstance(field, forms.ModelMultipleChoiceField):
        key = field.to_field_name or "pk"
        for obj in cleaned or ():
            if str(getattr(obj, key)) == raw:
                return field.label_from_instance(obj)
    elif isinstance(field, forms.ModelChoiceField):
        if cleaned is not None:
            return field.label_from_instance(cleaned)
    else:
        choices = getattr(field, "choices", None) or getattr(field.widget, "choices", None)
        for value, label in choices or ():
            if str(value) == raw:
                return str(label)
    return raw


@register.inclusion_tag("_filter_chips.html", takes_context=True)
def filter_chips(context, form):
    """Chips for the filters in the request's query string. No queries: model choices come
    from the form's cleaned data (the list already validated the form)."""
    query = context["request"].GET
    cleaned = form.cleaned_data if form.is_bound and form.is_valid() else {}
    chips = []
    for name, field in form.fields.items():
        raws = [raw for raw in query.getlist(name) if raw.strip() not in _INACTIVE]
        for raw in raws:
            rest = query.copy()
            rest.pop("page", None)
            rest.setlist(name, [value for value in query.getlist(name) if value != raw])
            value = _label_of(field, name, raw, cleaned.get(name))
            if len(value) > MAX_CHIP_CHARS:
                value = value[: MAX_CHIP_CHARS - 1] + "…"
            chips.append({"label": field.label, "value": value, "url": "?" + rest.urlencode()})
    return {"chips": chips}
