import logging

from celery import shared_task
from django.utils import timezone

from sessions.topics.services import topics_open_recruiting
from sessions.weekly.scheduling import sessions_advance

logger = logging.getLogger(__name__)


@shared_task(name="sessions.advance", ignore_result=True)
def advance_sessions() -> None:
    counts = sessions_advance()
    if any(counts.values()):
        logger.info("sessions advanced: %s", counts)


@shared_task(name="topics.open_recruiting", ignore_result=True)
def open_recruiting() -> None:
    """Accepted topics whose week is two weeks away start recruiting (the topic lifecycle)."""
    opened = topics_open_recruiting(now=timezone.now())
    if opened:
        logger.info("recruiting opened: %s", [topic.pk for topic in opened])
