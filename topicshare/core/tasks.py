import logging
from datetime import datetime

from celery import shared_task
from celery.app.task import Task

from topicshare.core.services import heartbeat_record

logger = logging.getLogger(__name__)


class _HeartbeatTask(Task):
    def apply_async(self, args=None, kwargs=None, **options):
        # Beat calls apply_async with no arguments: stamp the moment it sent the task, so the
        # worker can record when beat last ran as well as when it ran itself.
        kwargs = dict(kwargs or {})
        kwargs.setdefault("beat_sent_at", datetime.now().astimezone().isoformat())
        return super().apply_async(args=args, kwargs=kwargs, **options)


@shared_task(name="topicshare.heartbeat", base=_HeartbeatTask, ignore_result=True)
def heartbeat(*, beat_sent_at: str | None = None) -> None:
    heartbeat_record(beat_sent_at=datetime.fromisoformat(beat_sent_at) if beat_sent_at else None)
