import datetime

from django.core.management.base import BaseCommand, CommandError

from topicshare.core.validators import EARLIEST_YEAR, LATEST_YEAR
from topicshare.notifications.outbox import notifications_dispatch


class Command(BaseCommand):
    help = (
        "Queue the reminders that are due and send the pending notifications — what Celery beat "
        "does every minute. --now sets the clock (ISO 8601 with a time zone), for catching up "
        "or trying rules out."
    )

    def add_arguments(self, parser):
        parser.add_argument("--now", help="e.g. 2026-12-05T20:15:00+08:00")
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, now=None, batch_size: int, **options):
        moment = None
        if now:
            try:
                moment = datetime.datetime.fromisoformat(now)
            except ValueError:
                raise CommandError(f"--now {now!r} is not an ISO 8601 date and time.") from None
            if moment.tzinfo is None:
                raise CommandError("--now needs a time zone, e.g. 2026-12-05T20:15:00+08:00.")
            if not EARLIEST_YEAR <= moment.year <= LATEST_YEAR:
                raise CommandError(
                    f"--now must fall between the years {EARLIEST_YEAR} and {LATEST_YEAR}."
                )
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        report = notifications_dispatch(now=moment, batch_size=batch_size)
        self.stdout.write(
            f"queued {report.materialised}, sent {report.sent}, failed {report.failed}, "
            f"retrying {report.retrying}, batches {report.batches}"
        )
        for error in report.errors[:20]:
            self.stderr.write(f"  {error}")
