"""Form input formats for every language (settings.FORMAT_MODULE_PATH).

Widgets render a value with the first of a language's *_INPUT_FORMATS. Django's Chinese
formats start with "%Y/%m/%d", which an <input type="date"> rejects (it takes only ISO
2027-01-04): the field showed empty and saving the form erased the date. So every language
here renders ISO first and still reads its own ways of writing a date after that. Display
formats (the `date` filter, DATE_FORMAT …) stay the language's own.

Each language of settings.LANGUAGES has a module <locale>/formats.py that calls
`iso_first_input_formats` (tests/topicshare/core/test_date_inputs.py checks every language)."""

from types import ModuleType

ISO_DATE = "%Y-%m-%d"
# A space, not "T": valid for text inputs and for <input type="datetime-local"> alike.
ISO_DATETIME = "%Y-%m-%d %H:%M"
ISO_TIME = "%H:%M"


def _first(iso: str, formats: list[str]) -> list[str]:
    return [iso, *(fmt for fmt in formats if fmt != iso)]


def iso_first_input_formats(locale_formats: ModuleType) -> tuple[list[str], ...]:
    """The locale's DATE, TIME and DATETIME_INPUT_FORMATS, each with ISO put first."""
    return (
        _first(ISO_DATE, locale_formats.DATE_INPUT_FORMATS),
        _first(ISO_TIME, locale_formats.TIME_INPUT_FORMATS),
        _first(ISO_DATETIME, locale_formats.DATETIME_INPUT_FORMATS),
    )
