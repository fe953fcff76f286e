from django.core.management.base import BaseCommand, CommandError

from library.vocabulary import VOCABULARY_FILE, vocabulary_reload


class Command(BaseCommand):
    help = (
        "Read the search vocabulary (library/vocabulary.json) into the database again: new "
        "concepts are added and shipped ones updated; concepts organisers edited in the admin, "
        "and ones they added, are kept unless --replace."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--replace",
            action="store_true",
            help="Make the database's vocabulary exactly the file's, dropping admin edits.",
        )
        parser.add_argument("--file", default=str(VOCABULARY_FILE), help="Another file.")

    def handle(self, *args, replace=False, file=None, **options):
        from pathlib import Path

        try:
            counts = vocabulary_reload(replace=replace, path=Path(file))
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise CommandError(f"{file}: {error}") from error
        self.stdout.write(
            "Vocabulary: {created} concepts added, {updated} updated, {kept} kept as edited, "
            "{deleted} removed first.".format(**counts)
        )
