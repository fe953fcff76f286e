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
