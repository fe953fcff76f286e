"""`manage.py restore ARCHIVE [--force]`: the database and every file of a backup
(topicshare/core/backups.py), into an empty database and empty storage. Every checksum is
checked before anything is touched."""

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS

from topicshare.core.backups import (
    BackupError,
    archive_verify,
    backup_restore,
    migrations_to_apply,
)


class Command(BaseCommand):
    help = "Restore a backup archive into an empty database and empty storage."

    def add_arguments(self, parser):
        parser.add_argument("archive", help="A topicshare-backup-*.tar.gz file.")
        parser.add_argument(
            "--force",
            action="store_true",
            help="Restore even though the database holds rows or the storage holds files: "
            "the database's tables are replaced by the archive's, files of the same name "
            "are overwritten.",
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="Only check the archive's checksums; restore nothing.",
        )
        parser.add_argument(
            "--database", default=DEFAULT_DB_ALIAS, help="The database alias to restore into."
        )

    def handle(self, *args, **options):
        try:
            if options["check"]:
                manifest = archive_verify(options["archive"])
                self.stdout.write(
                    f"The archive is whole: {manifest['database']['vendor']} database, "
                    f"{len(manifest['files'])} files, made {manifest['created_at']}."
                )
                return
            result = backup_restore(
                archive=options["archive"], using=options["database"], force=options["force"]
            )
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        manifest = result.manifest
        self.stdout.write(
            f"Restored the backup made {manifest['created_at']} on {manifest.get('host', '?')}:\n"
            f"  {manifest['database']['vendor']} database ({result.database_bytes} bytes), "
            f"{result.files} files ({result.file_bytes} bytes); {result.seconds:.1f} s"
        )
        if result.replaced_files:
            self.stdout.write(f"  {result.replaced_files} existing files were replaced.")
        pending = migrations_to_apply(manifest)
        if pending:
            self.stdout.write(
                f"  This code has {pending} migrations the backup's database did not: "
                "run `manage.py migrate` next."
            )
