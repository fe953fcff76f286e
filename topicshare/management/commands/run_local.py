import signal
import subprocess
import sys
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Serve the site with a real Celery worker and beat beside it (the embedded broker "
        "needs no Redis). Stops all three on Ctrl-C."
    )

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, addrport: str, **options):
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
