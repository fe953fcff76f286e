import logging

from celery import shared_task

from sessions.weekly.scheduling import sessions_advance

logger = logging.getLogger(__name__)


@shared_task(name="sessions.advance", ignore_result=True)
def advance_sessions() -> None:
    counts = sessions_advance()
    if any(counts.values()):
        logger.info("sessions advanced: %s", counts)
