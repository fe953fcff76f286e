import logging

from celery import shared_task

from members.admission import applications_close_due

logger = logging.getLogger(__name__)


@shared_task(name="admissions.close_due", ignore_result=True)
def close_due_applications() -> None:
    closed = applications_close_due()
    if closed:
        logger.info("closed %d application vote(s) at their deadline", closed)
