from django.db import models
from django.utils.translation import gettext_lazy as _


class Heartbeat(models.Model):
    """When a background component last proved it is alive (one row per component)."""

    component = models.CharField(_("component"), max_length=20, primary_key=True)
    seen_at = models.DateTimeField(_("last seen"))

    class Meta:
        verbose_name = _("heartbeat")
        verbose_name_plural = _("heartbeats")

    def __str__(self) -> str:
        return f"{self.component} @ {self.seen_at.isoformat()}"


class ContentVersion(models.Model):
    """One number that grows whenever something shown on public pages changes; the cache of
    anonymous pages (topicshare/core/pagecache.py) keys on it. In the database, so that every web
    worker and the Celery worker see the same number. `data_value` grows with any change of
    the data at all (pages stored per person key on it: fragments.personal_page)."""

    value = models.PositiveBigIntegerField(default=0)
    data_value = models.PositiveBigIntegerField(default=0)
    # When data_value last grew: the API's Last-Modified (None: not since this column came).
    data_changed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="content_version_singleton")
        ]

    def __str__(self) -> str:
        return str(self.value)


class BackupRun(models.Model):
    """One run of `manage.py backup` or the nightly task, good or failed. In the database, not
    on the disk that holds the archives, so that /healthz and the dashboard on every node can
    tell how old the last good backup is (`host` says which node's disk holds it). A run is
    recorded when it ends: the archive it writes holds the runs before it, never itself."""

    started_at = models.DateTimeField(_("started"))
    finished_at = models.DateTimeField(_("finished"))
    ok = models.BooleanField(_("succeeded"), default=False)
    host = models.CharField(_("host"), max_length=255, blank=True)
    file_name = models.CharField(_("file name"), max_length=255, blank=True)
    size_bytes = models.PositiveBigIntegerField(_("size in bytes"), null=True, blank=True)
    file_count = models.PositiveIntegerField(_("files"), default=0)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("backup run")
        verbose_name_plural = _("backup runs")
        indexes = [models.Index(fields=["ok", "-finished_at"], name="backup_run_ok_finished")]

    def __str__(self) -> str:
        return f"{self.file_name or '-'} ({'ok' if self.ok else 'failed'})"
