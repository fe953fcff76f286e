from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from members.models import User
from sessions.topics.csv_io import LIMITS, topics_import_csv
from topicshare.core.imports import ImportCommand


class Command(ImportCommand):
    help = (
        "Import a topic sheet (CSV, UTF-8 or GBK). All or nothing: a file with any error "
        "saves nothing. Rows with an id update that topic; rows without one create a topic."
    )
    limits = LIMITS

    def add_arguments(self, parser):
        parser.add_argument("file", help="The CSV file.")
        self.add_dry_run_argument(parser)
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
        data = self.read_file(file)
        self.write_report(topics_import_csv(data=data, by=user, dry_run=dry_run))
