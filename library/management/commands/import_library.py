from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from library.importers.base import ImportFailed
from library.importers.detect import FORMATS, LIMITS, import_library
from topicshare.core.imports import ImportCommand


class Command(ImportCommand):
    help = (
        "Import an archive into the library: the forum's Topic archive (markdown), a "
        "categorised reading list (markdown) or a Zhihu column export (JSON). Running it again "
        "on a corrected file updates the same items."
    )
    limits = LIMITS

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
        self.add_dry_run_argument(parser)

    def handle(self, *args, path: str, format: str, base_url: str, dry_run: bool, **options):
        data = self.read_file(path)
        if len(data) > self.limits.max_bytes:
            raise CommandError(self.limits.too_big_message())
        try:
            report = import_library(
                data=data, name=path, fmt=format, base_url=base_url, dry_run=dry_run
            )
        except ImportFailed as exc:
            raise CommandError(_("Nothing was imported: %(reason)s") % {"reason": exc}) from None
        self.write_report(report)
