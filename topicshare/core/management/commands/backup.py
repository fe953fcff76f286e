"""`manage.py backup [--output DIR]`: one archive with the database and every uploaded file
(topicshare/core/backups.py). Into TOPICSHARE_BACKUP_DIR by default, keeping the newest
TOPICSHARE_BACKUP_KEEP there; into --output DIR without deleting anything."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS
from django.template.defaultfilters import filesizeformat

from topicshare.core.backups import BackupError, backup_create


class Command(BaseCommand):
    help = "Back up the database and every uploaded file into one checked archive."

    def add_arguments(self, parser):
        parser.add_argument(
            "--output",
            metavar="DIR",
            help="Directory for the archive (default: TOPICSHARE_BACKUP_DIR, where old "
            "archives beyond TOPICSHARE_BACKUP_KEEP are deleted; none are deleted in DIR).",
        )
        parser.add_argument(
            "--database", default=DEFAULT_DB_ALIAS, help="The database alias to back up."
        )

    def handle(self, *args, **options):
        if options["output"]:
            output, keep = Path(options["output"]), None
        else:
            output, keep = Path(settings.TOPICSHARE_BACKUP_DIR), settings.TOPICSHARE_BACKUP_KEEP
        try:
            result = backup_create(output_dir=output, using=options["database"], keep=keep)
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Backup written and checked: {result.path}\n"
            f"  {filesizeformat(result.size)} ({result.size} bytes); database "
            f"{result.database_bytes} bytes; {result.files} files, {result.file_bytes} bytes; "
            f"{result.seconds:.1f} s"
        )
        for path in result.deleted:
            self.stdout.write(f"  deleted (beyond TOPICSHARE_BACKUP_KEEP={keep}): {path.name}")
