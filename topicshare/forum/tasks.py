from celery import shared_task
from django.utils import timezone

from topicshare.forum.inbox import inbox_count_refresh


@shared_task(name="forum.refresh_inbox_count", ignore_result=True)
def refresh_inbox_count() -> int:
    return inbox_count_refresh(now=timezone.now())
