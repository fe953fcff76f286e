from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from members.models import User
from sessions.csv_io import MAX_BYTES, topics_import_csv


class Command(BaseCommand):
    help = (
        "Import a topic sheet (CSV, UTF-8 or GBK). All or nothing: a file with any error "
        "saves nothing. Rows with an id update that topic; rows without one create a topic."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The CSV file.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Check the file and report; save nothing."
        )
        parser.add_argument(
            "--by",
            required=True,
            metavar="EMAIL",
            help="The organiser account the import is recorded under.",
        )

    def handle(self, *args, file: str, dry_run: bool, by: str, **options):
        # A NUL byte can be in an argument but never in an address (PostgreSQL refuses it).
        user = (
            None
            if "\x00" in by
            else User.objects.filter(email__iexact=by.strip(), is_placeholder=False).first()
        )
        if user is None:
            raise CommandError(_("No account has the e-mail address “%(email)s”.") % {"email": by})
        if not user.has_perm("topic_sessions.import_topics"):
            raise CommandError(_("%(email)s is not an organiser.") % {"email": user.email})
        try:
            with Path(file).open("rb") as handle:
                # One byte more than allowed, so that the import can say the file is too big.
                data = handle.read(MAX_BYTES + 1)
        except OSError as exc:
            raise CommandError(
                _("Cannot read %(file)s: %(error)s") % {"file": file, "error": exc.strerror}
            ) from None

        report = topics_import_csv(data=data, by=user, dry_run=dry_run)

        for change in report.changes:
            self.stdout.write(change)
        if report.errors:
            for message in report.error_messages():
                self.stderr.write(message)
            raise CommandError(
                ngettext(
                    "%(count)d error; nothing was saved.",
                    "%(count)d errors; nothing was saved.",
                    len(report.errors),
                )
                % {"count": len(report.errors)}
            )
        if dry_run:
            self.stdout.write(
                _("Dry run, nothing was saved: %(counts)s.") % {"counts": report.counts}
            )
        else:
            self.stdout.write(
                self.style.SUCCESS(_("Imported: %(counts)s.") % {"counts": report.counts})
            )
