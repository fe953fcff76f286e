"""`make run` is what a visitor would see: its settings (topicshare.settings.local, the
manage.py default) run with DEBUG off unless DJANGO_DEBUG=1, answer a mistyped URL with the
site's own 404 page, still serve static files, and link mails to where they serve."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from topicshare.core.management.commands.run_local import site_url_for

ROOT = Path(__file__).resolve().parents[3]

# Run in a fresh interpreter with the local settings against a migrated SQLite file of its own.
PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.core.management import call_command
from django.test import Client
call_command("migrate", verbosity=0)
client = Client(HTTP_HOST="127.0.0.1:8000")
missing = client.get("/no-such-page/", HTTP_ACCEPT_LANGUAGE="zh-hans")
static = client.get("/static/css/site.css")
print(json.dumps({
    "debug": settings.DEBUG,
    "missing_status": missing.status_code,
    "missing_body": missing.content.decode(),
    "static_status": static.status_code,
}))
"""


def _probe(tmp_path, **env_extra) -> dict:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))},
        "DJANGO_SETTINGS_MODULE": "topicshare.settings.local",
        "TOPICSHARE_VAR_DIR": str(tmp_path),
        **env_extra,
    }
    env.pop("REDIS_URL", None)
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_make_run_answers_an_unknown_url_with_the_sites_own_404(tmp_path):
    answer = _probe(tmp_path)

    assert answer["debug"] is False
    assert answer["missing_status"] == 404
    body = answer["missing_body"]
    assert "页面不存在" in body or "这个页面不存在" in body, body[:500]
    assert 'href="/"' in body  # the way back home, in the site's own layout
    assert "URLconf" not in body and "Using the URLconf" not in body
    assert answer["static_status"] == 200


def test_django_debug_1_turns_debugging_on(tmp_path):
    answer = _probe(tmp_path, DJANGO_DEBUG="1")

    assert answer["debug"] is True
    assert answer["missing_status"] == 404
    assert "URLconf" in answer["missing_body"]  # Django's technical page, as asked for


@pytest.mark.parametrize(
    ("addrport", "url"),
    [
        ("127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("8001", "http://127.0.0.1:8001"),
        ("0.0.0.0:9000", "http://127.0.0.1:9000"),
        ("localhost:8000", "http://localhost:8000"),
        ("[::1]:8000", "http://[::1]:8000"),
    ],
)
def test_links_in_mails_point_where_make_run_serves(addrport, url):
    assert site_url_for(addrport) == url
