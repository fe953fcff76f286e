import logging
from datetime import datetime

from celery import shared_task
from celery.app.task import Task
from django.conf import settings

from topicshare.core.backups import BackupError, backup_create
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


@shared_task(name="topicshare.backup", ignore_result=True)
def backup() -> str | None:
    """The nightly backup into TOPICSHARE_BACKUP_DIR, keeping the newest
    TOPICSHARE_BACKUP_KEEP. A failure is recorded (BackupRun) and logged; beat tries again the
    next night, and /healthz and the dashboard show the last good one growing old."""
    try:
        result = backup_create(
            output_dir=settings.TOPICSHARE_BACKUP_DIR, keep=settings.TOPICSHARE_BACKUP_KEEP
        )
    except BackupError:
        return None  # recorded and logged by backup_create
    return result.path.name
