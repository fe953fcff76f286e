import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="notifications.dispatch", ignore_result=True, acks_late=True)
def dispatch_notifications() -> None:
    """Beat runs this every minute; services also nudge it after queueing something."""
    from topicshare.notifications.outbox import notifications_dispatch

    report = notifications_dispatch()
    if report.sent or report.failed or report.materialised:
        logger.info(
            "notifications: %d queued, %d sent, %d failed, %d to retry",
            report.materialised, report.sent, report.failed, report.retrying,
        )  # fmt: skip
