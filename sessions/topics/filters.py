import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from members.models import User
from sessions.topics.models import Season, Topic, TopicStatus, Track

# A filter left open: 不限 / Any, never django's "---------".
ANY = pgettext_lazy("a filter left open", "Any")


class TopicFilter(django_filters.FilterSet):
    """The sheet's filters; the same ones serve /topics/, the CSV export and /api/topics/."""

    q = django_filters.CharFilter(label=_("Search"), method="search")
    track = django_filters.ModelChoiceFilter(
        label=_("Track"),
        queryset=Track.objects.all(),
        to_field_name="slug",
        empty_label=ANY,
    )
    season = django_filters.ModelChoiceFilter(
        label=_("Season"), queryset=Season.objects.all(), empty_label=ANY
    )
    status = django_filters.MultipleChoiceFilter(label=_("Status"), choices=TopicStatus.choices)
    proposer = django_filters.ModelChoiceFilter(
        label=_("Proposer"),
        queryset=User.objects.filter(proposed_topics__isnull=False).distinct(),
        empty_label=ANY,
    )
    o = django_filters.OrderingFilter(
        label=_("Sort by"),
        empty_label=pgettext_lazy("sort the topic sheet by", "Default order"),
        fields=[
            ("created_at", "created"),
            ("title", "title"),
            ("preferred_week", "week"),
            ("status", "status"),
            ("track__order", "track"),
            ("interest_count", "wanted"),
        ],
        field_labels={
            "created": pgettext_lazy("sort the topic sheet by", "Proposed"),
            "title": _("Title"),
            "week": _("Preferred week"),
            "status": _("Status"),
            "track": _("Track"),
            "wanted": pgettext_lazy("sort the topic sheet by", "Wanted least first"),
            # Our own words for the other direction: django-filter's "%s (descending)" has no
            # Chinese and is formatted once, in the language of the first request.
            "-created": pgettext_lazy("sort the topic sheet by", "Proposed, newest first"),
            "-title": pgettext_lazy("sort the topic sheet by", "Title, Z to A"),
            "-week": pgettext_lazy("sort the topic sheet by", "Preferred week, latest first"),
            "-status": pgettext_lazy("sort the topic sheet by", "Status, reversed"),
            "-track": pgettext_lazy("sort the topic sheet by", "Track, reversed"),
            "-wanted": pgettext_lazy("sort the topic sheet by", "Most wanted first"),
        },
    )

    class Meta:
        model = Topic
        fields = ["q", "track", "season", "status", "proposer"]

    def search(self, queryset, name, value):
        value = value.strip()[:100]
        if not value:
            return queryset
        return queryset.filter(
            Q(title__icontains=value)
            | Q(sub_theme__icontains=value)
            | Q(summary__icontains=value)
            | Q(proposer__display_name__icontains=value)
        )
