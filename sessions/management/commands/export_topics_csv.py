import io
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from sessions.models import Topic
from sessions.topics.csv_io import topics_export_csv


class Command(BaseCommand):
    help = "Export the topic sheet as CSV, to FILE (UTF-8 with a BOM, for Excel) or to stdout."

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", help="Where to write; stdout if omitted.")

    def handle(self, *args, file: str | None, **options):
        topics = Topic.objects.all()
        if file is None:
            buffer = io.StringIO()
            count = topics_export_csv(topics=topics, out=buffer)
            self.stdout.write(buffer.getvalue(), ending="")
            self.stderr.write(
                ngettext("%(count)d topic exported.", "%(count)d topics exported.", count)
                % {"count": count}
            )
            return
        try:
            with Path(file).open("w", encoding="utf-8-sig", newline="") as out:
                count = topics_export_csv(topics=topics, out=out)
        except OSError as exc:
            raise CommandError(
                _("Cannot write %(file)s: %(error)s") % {"file": file, "error": exc.strerror}
            ) from None
        self.stdout.write(
            ngettext(
                "%(count)d topic exported to %(file)s.",
                "%(count)d topics exported to %(file)s.",
                count,
            )
            % {"count": count, "file": file}
        )
