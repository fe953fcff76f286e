import unicodedata

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


# --- Names and titles ----------------------------------------------------------------------
# A name or a title is shown as typed, beside other text: in lists, mails, chat posts, CSVs
# and calendars. It must not contain characters that are invisible or that reorder the text
# around it (a right-to-left override makes "abc\u202egnp.exe" read "abcexe.png"): format
# characters (bidi embeddings, overrides, isolates and marks, zero-width spaces, the BOM …),
# C0 and C1 control codes, line and paragraph separators, and letters that draw nothing.
# Zero-width joiners are kept between two visible characters, where emoji sequences (👩‍👩‍👧),
# Persian and Indic scripts need them; emoji tag sequences (the flags of Scotland, Wales)
# are kept too.

_DRAWS_NOTHING = {
    "\u034f",  # combining grapheme joiner
    "\u115f", "\u1160", "\u3164", "\uffa0",  # Hangul fillers
    "\u17b4", "\u17b5",  # Khmer inherent vowels
    "\u2800",  # braille pattern blank
}  # fmt: skip
_JOINERS = {"\u200c", "\u200d"}  # zero-width non-joiner, zero-width joiner
_TAGS = range(0xE0020, 0xE0080)  # emoji tag sequences: 🏴 + tag letters + cancel tag
_BLACK_FLAG = "\U0001f3f4"
# Accents stacked on one character; more is "Zalgo" text that spills over the lines around.
MAX_COMBINING_MARKS = 4


def _visible(char: str) -> bool:
    return unicodedata.category(char)[0] in "LNSPM" and char not in _DRAWS_NOTHING


def _refused(text: str, position: int) -> bool:
    char = text[position]
    if char in _JOINERS:
        return not (
            0 < position < len(text) - 1
            and _visible(text[position - 1])
            and _visible(text[position + 1])
        )
    if ord(char) in _TAGS:
        return not (
            position > 0 and (text[position - 1] == _BLACK_FLAG or ord(text[position - 1]) in _TAGS)
        )
    return unicodedata.category(char) in {"Cc", "Cf", "Cs", "Zl", "Zp"} or char in _DRAWS_NOTHING


def validate_name_characters(value: str) -> None:
    """Refuses invisible, direction-changing and control characters in a name or a title."""
    marks = 0
    for position, char in enumerate(value):
        if _refused(value, position):
            raise ValidationError(
                _("Remove the invisible or control character %(code)s.")
                % {"code": f"U+{ord(char):04X}"},
                code="invisible_character",
            )
        marks = marks + 1 if unicodedata.category(char) in {"Mn", "Me"} else 0
        if marks > MAX_COMBINING_MARKS:
            raise ValidationError(
                _("Too many marks stacked on one character (at most %(max)d).")
                % {"max": MAX_COMBINING_MARKS},
                code="stacked_marks",
            )
    if value and not any(_visible(char) and unicodedata.category(char)[0] != "M" for char in value):
        raise ValidationError(_("Write at least one visible character."), code="invisible")
