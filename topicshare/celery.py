"""The Celery app. Broker and schedule come from Django settings (CELERY_* names)."""

import os

from celery import Celery
from celery.signals import beat_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "topicshare.settings.local")

app = Celery("topicshare")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _make_filesystem_queue_folders(sender, **kwargs):
    """kombu's filesystem transport expects its folders to exist."""
    options = sender.conf.broker_transport_options or {}
    if str(sender.conf.broker_url).startswith("filesystem"):
        for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
            if options.get(key):
                os.makedirs(options[key], exist_ok=True)


@beat_init.connect
def _first_heartbeat_now(sender, **kwargs):
    """Send one heartbeat as beat starts, so /healthz is green within seconds of a start."""
    from topicshare.core.tasks import heartbeat

    heartbeat.apply_async()
