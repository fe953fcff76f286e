from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _


def validate_image_size(file) -> None:
    limit = settings.TOPICSHARE_MAX_IMAGE_BYTES
    if file.size > limit:
        raise ValidationError(
            _("The image is %(size)s; the limit is %(limit)s.")
            % {"size": filesizeformat(file.size), "limit": filesizeformat(limit)}
        )


# Dates people type (a preferred week, a session's start, a review talk, --now) must fall in
# this range: further out they are typing mistakes, and date arithmetic near year 1 or 9999
# overflows.
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100


def validate_plausible_date(value) -> None:
    if value is not None and not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValidationError(
            _("Enter a date between the years %(first)d and %(last)d.")
            % {"first": EARLIEST_YEAR, "last": LATEST_YEAR}
        )
