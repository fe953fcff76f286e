from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from library.importers.base import ImportFailed
from library.importers.detect import FORMATS, MAX_BYTES, import_library, too_big_message


class Command(BaseCommand):
    help = (
        "Import an archive into the library: the forum's Topic archive (markdown), a "
        "categorised reading list (markdown) or a Zhihu column export (JSON). Running it again "
        "on a corrected file updates the same items."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="The file (UTF-8 or GBK, at most 20 MB).")
        parser.add_argument(
            "--format",
            choices=FORMATS,
            default="auto",
            help="The file's format; by default told from its name and content.",
        )
        parser.add_argument(
            "--base-url",
            default="",
            metavar="URL",
            help="Relative links in the file are resolved against this address.",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Check the file and report; save nothing."
        )

    def handle(self, *args, path: str, format: str, base_url: str, dry_run: bool, **options):
        try:
            with Path(path).open("rb") as handle:
                # One byte more than allowed, so that a file that is too big can be told apart.
                data = handle.read(MAX_BYTES + 1)
        except OSError as exc:
            raise CommandError(
                _("Cannot read %(file)s: %(error)s") % {"file": path, "error": exc.strerror}
            ) from None
        if len(data) > MAX_BYTES:
            raise CommandError(too_big_message())

        try:
            report = import_library(
                data=data, name=path, fmt=format, base_url=base_url, dry_run=dry_run
            )
        except ImportFailed as exc:
            raise CommandError(_("Nothing was imported: %(reason)s") % {"reason": exc}) from None

        for problem in report.problems:
            self.stderr.write(str(problem))
        if dry_run:
            self.stdout.write(
                _("Dry run, nothing was saved: %(summary)s.") % {"summary": report.summary}
            )
        else:
            self.stdout.write(
                self.style.SUCCESS(_("Imported: %(summary)s.") % {"summary": report.summary})
            )
