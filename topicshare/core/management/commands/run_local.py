import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


def site_url_for(addrport: str) -> str:
    """The address runserver answers on, as links in mails and calendars should name it."""
    host, _, port = addrport.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if host in ("0.0.0.0", "::"):  # noqa: S104 — listening everywhere; link to this machine
        host = "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port or '8000'}"


class Command(BaseCommand):
    help = (
        "Serve the site with a real Celery worker and beat beside it (the embedded broker "
        "needs no Redis). Stops all three on Ctrl-C."
    )

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, addrport: str, **options):
        # Mails, chat messages and .ics files sent by this server, its worker and beat link to
        # where it serves, unless TOPICSHARE_SITE_URL says otherwise.
        if not os.environ.get("TOPICSHARE_SITE_URL"):
            os.environ["TOPICSHARE_SITE_URL"] = site_url_for(addrport)
            settings.TOPICSHARE_SITE_URL = os.environ["TOPICSHARE_SITE_URL"]
        self.stdout.write(f"links in mails and calendars: {settings.TOPICSHARE_SITE_URL}")
        celery = [sys.executable, "-m", "celery", "-A", "topicshare"]
        children = [
            subprocess.Popen([*celery, "worker", "--loglevel=INFO", "--concurrency=2"]),
            subprocess.Popen([*celery, "beat", "--loglevel=INFO"]),
        ]
        self.stdout.write(f"worker pid {children[0].pid}, beat pid {children[1].pid}")
        # A plain `kill` should stop the worker and beat too, as Ctrl-C does.
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            # No autoreloader: it would restart only the web server, not the worker.
            call_command("runserver", addrport, use_reloader=False)
        finally:
            for child in children:
                if child.poll() is None:
                    child.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 10
            for child in children:
                try:
                    child.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.kill()
