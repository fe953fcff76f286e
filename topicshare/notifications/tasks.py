import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="notifications.dispatch", ignore_result=True, acks_late=True)
def dispatch_notifications() -> None:
    """Beat runs this every minute; services also nudge it after queueing something. It
    queues what has come due and gives each lane with something to send (e-mail, every chat
    bot) a task of its own, so that a mail server that hangs never holds a chat message back,
    nor one chat service another's."""
    from topicshare.notifications.outbox import notifications_sweep

    report, lanes = notifications_sweep()
    for lane in lanes:
        dispatch_lane.delay(lane=lane)
    send_outgoing_webhooks.delay()
    if report.materialised:
        logger.info("notifications: %d queued, lanes to send: %s", report.materialised, lanes)


@shared_task(name="notifications.dispatch_lane", ignore_result=True, acks_late=True)
def dispatch_lane(*, lane: str) -> None:
    from topicshare.notifications.outbox import notifications_lane_dispatch

    report = notifications_lane_dispatch(lane=lane)
    if report.sent or report.failed or report.retrying or report.paused:
        logger.info(
            "notifications %s: %d sent, %d failed, %d to retry, %d deferred%s",
            lane, report.sent, report.failed, report.retrying, report.deferred,
            ", paused" if report.paused else "",
        )  # fmt: skip


@shared_task(name="notifications.send_outgoing_webhooks", ignore_result=True, acks_late=True)
def send_outgoing_webhooks() -> None:
    """The integrations' webhooks (outgoing.py), apart from the chat and e-mail lanes."""
    from topicshare.notifications.outgoing import webhook_deliveries_send

    sent, failed = webhook_deliveries_send()
    if sent or failed:
        logger.info("outgoing webhooks: %d sent, %d failed", sent, failed)
