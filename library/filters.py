import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext, pgettext_lazy

from library.models import LibraryItem
from library.search import search_plan, search_planned
from sessions.models import Season, Track

# A facet left open: 不限 / Any, never django's "---------" or "未知".
ANY = pgettext_lazy("a filter left open", "Any")


class YesNoAny(forms.NullBooleanSelect):
    """Django's NullBooleanSelect with "Any" for the open choice instead of "Unknown"."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [("unknown", ANY), ("true", _("Yes")), ("false", _("No"))]


class LibraryFilter(django_filters.FilterSet):
    """The library's facets; the same ones serve /library/, the feed and the JSON API."""

    q = django_filters.CharFilter(label=_("Search"), method="search")
    # `literal=1`: the words as typed, without the vocabulary's other names for them.
    literal = django_filters.ChoiceFilter(
        label=_("Only these words"), choices=[("1", _("Yes"))], method="filter_literal"
    )
    season = django_filters.ModelChoiceFilter(
        label=_("Season"), queryset=Season.objects.all(), empty_label=ANY
    )
    domain = django_filters.ModelChoiceFilter(
        label=_("Domain"), queryset=Track.objects.all(), to_field_name="slug", empty_label=ANY
    )
    kind = django_filters.ChoiceFilter(
        label=_("Kind"), choices=LibraryItem.Kind.choices, empty_label=ANY
    )
    # Text, not a list of choices: with thousands of items the choices would cost more than
    # the results. A number is a person's id; other text matches names.
    presenter = django_filters.CharFilter(label=_("Presenter"), method="filter_presenter")
    tag = django_filters.CharFilter(label=_("Tag"), field_name="tags__name")
    year = django_filters.NumberFilter(label=_("Year"), min_value=1990, max_value=2100)
    has_slides = django_filters.BooleanFilter(
        label=_("Has slides"), method="filter_has_slides", widget=YesNoAny
    )
    has_recording = django_filters.BooleanFilter(
        label=_("Has a recording"), method="filter_has_recording", widget=YesNoAny
    )
    top_level = django_filters.BooleanFilter(
        label=_("Top level only"), field_name="parent", lookup_expr="isnull", widget=YesNoAny
    )

    class Meta:
        model = LibraryItem
        fields = []

    # What the search also searched for (the vocabulary's other names), set by search();
    # `could_expand`: a literal search the vocabulary would have widened.
    also_searched: tuple[str, ...] = ()
    could_expand = False

    def search(self, queryset, name, value):
        literal = self.form.cleaned_data.get("literal") == "1"
        plan = search_plan(value[:200], literal=literal)
        self.also_searched, self.could_expand = tuple(plan.also_searched), plan.could_expand
        return search_planned(queryset, plan)

    def filter_literal(self, queryset, name, value):
        return queryset  # read by search()

    @property
    def also_searched_text(self) -> str:
        return pgettext("between the items of a list", ", ").join(self.also_searched)

    def filter_presenter(self, queryset, name, value):
        value = value.strip()[:60]
        if value.isascii() and value.isdigit() and len(value) <= 18:
            return queryset.filter(presenters__id=int(value))
        return queryset.filter(presenters__display_name__icontains=value).distinct()

    def filter_has_slides(self, queryset, name, value):
        condition = ~Q(slides_file="") | ~Q(slides_url="")
        return queryset.filter(condition) if value else queryset.exclude(condition)

    def filter_has_recording(self, queryset, name, value):
        return queryset.exclude(recording_url="") if value else queryset.filter(recording_url="")


class LibraryApiFilter(LibraryFilter):
    """/api/v1/library/items/: the library's facets, and the items under one parent."""

    parent = django_filters.NumberFilter(
        label=_("Part of"), field_name="parent", min_value=1, max_value=2**63 - 1
    )
