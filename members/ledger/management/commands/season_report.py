"""`python manage.py season_report "Topic 7" [--csv]`: the season ledger, printed as a table
or exported as CSV (to stdout, or to a file with --output)."""

import unicodedata

from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

from members.ledger.services import ledger_table, season_ledger
from sessions.models import Season
from topicshare.core.spreadsheet import spreadsheet_writer


def _width(text: str) -> int:
    """Columns a string takes in a terminal: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


class Command(BaseCommand):
    help = "Print or export the season ledger: each member's participation and flags."

    def add_arguments(self, parser):
        parser.add_argument("season", help='The season\'s label, e.g. "Topic 7" or "初期".')
        parser.add_argument(
            "--csv", dest="as_csv", action="store_true", help="CSV instead of a table."
        )
        parser.add_argument("--output", help="Write to this file instead of the screen.")
        parser.add_argument(
            "--language", default=None, help="zh-hans or en (default: the forum's language)."
        )

    def handle(self, *args, season: str, as_csv: bool, output: str | None, language, **options):
        # A NUL byte can be in an argument but never in a label (PostgreSQL refuses it).
        found = None if "\x00" in season else Season.objects.filter(label=season.strip()).first()
        if found is None:
            labels = ", ".join(Season.objects.order_by("order").values_list("label", flat=True))
            raise CommandError(f'No season "{season}". Seasons: {labels or "none yet"}.')
        with translation.override(language or translation.get_language()):
            ledger = season_ledger(found)
            header, rows = ledger_table(ledger)
        text_rows = [[str(value) for value in row] for row in rows]
        try:
            stream = open(output, "w", encoding="utf-8", newline="") if output else None  # noqa: SIM115
        except OSError as error:
            raise CommandError(f"Cannot write {output}: {error.strerror}") from error
        out = stream or self.stdout
        try:
            if as_csv:
                writer = _csv_writer(out)
                writer.writerow(header)
                writer.writerows(text_rows)
            else:
                self._table(out, ledger, header, text_rows)
        finally:
            if stream:
                stream.close()

    def _table(self, out, ledger, header, rows):
        columns = [0, 2, 3, 4, 5, 6, 8, 9, 10]  # name, role, the numbers, status
        widths = [max([_width(header[c])] + [_width(row[c]) for row in rows]) for c in columns]

        def line(values):
            cells = [_pad(values[c], w) for c, w in zip(columns, widths, strict=True)]
            return "  ".join(cells).rstrip() + "\n"

        out.write(
            f"{ledger.season.label} — sessions held: {ledger.sessions_held}, "
            f"members: {len(rows)}, flagged: {len(ledger.flagged)}\n"
        )
        out.write(line(header))
        for row in rows:
            out.write(line(row))


class _Lines:
    """A CSV writer over a command's stdout wrapper (which adds its own line endings)."""

    def __init__(self, out):
        self.out = out

    def write(self, text):
        self.out.write(text, ending="")


def _csv_writer(out):
    return spreadsheet_writer(_Lines(out) if hasattr(out, "style_func") else out)
