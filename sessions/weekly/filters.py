import datetime
import zoneinfo

import django_filters
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from sessions.models import Season, SessionStatus, Track, WeeklySession

# Far enough apart for any real query, near enough that midnight in any zone is a datetime.
_DAY_RANGE = [
    MinValueValidator(datetime.date(1900, 1, 1)),
    MaxValueValidator(datetime.date(2999, 12, 31)),
]


def _local_midnight(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(
        day, datetime.time.min, tzinfo=zoneinfo.ZoneInfo(settings.TIME_ZONE)
    )


class WeeklySessionFilter(django_filters.FilterSet):
    """/api/sessions/: by track, season, status and dates. `from` and `to` are inclusive and
    compare with the day a session starts on in the forum's time zone."""

    track = django_filters.ModelChoiceFilter(
        label=_("Track"), queryset=Track.objects.all(), to_field_name="slug"
    )
    season = django_filters.ModelChoiceFilter(
        label=_("Season"), field_name="topic__season", queryset=Season.objects.all()
    )
    # "from" is a Python keyword: it can only be declared through the class namespace.
    locals()["from"] = django_filters.DateFilter(
        label=_("From"), method="starts_from", validators=_DAY_RANGE
    )
    to = django_filters.DateFilter(label=_("To"), method="starts_until", validators=_DAY_RANGE)
    status = django_filters.MultipleChoiceFilter(label=_("Status"), choices=SessionStatus.choices)

    class Meta:
        model = WeeklySession
        fields = ["track", "season", "from", "to", "status"]

    def starts_from(self, queryset, name, value):
        return queryset.filter(start__gte=_local_midnight(value))

    def starts_until(self, queryset, name, value):
        return queryset.filter(start__lt=_local_midnight(value + datetime.timedelta(days=1)))
