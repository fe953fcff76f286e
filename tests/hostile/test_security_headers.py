"""Content-Security-Policy and Permissions-Policy: on every page of the site and the admin,
for every visitor, and no page carries what the policy would block (inline script, style=""
attributes, <style> blocks, event handler attributes, javascript: links). The browser
journeys (tests/browser/conftest.py) check the same in Chromium."""

import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse

from library.importers.zhihu import sanitise_html
from library.models import LibraryItem
from members.roles import Role
from tests.factories import UserFactory
from tests.hostile.helpers import png_bytes
from tests.topicshare.test_permission_matrix import (
    _quiet_refusals,  # noqa: F401 — an autouse fixture: no log line per expected refusal
    build_world,
    client_for,
    get_cases,
    url_for,
)
from tests.topicshare.test_settings import DUMMY_SECRET, _run_production

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
# Mail, not pages: mail programs need inline styles, and no CSP applies there.
MAIL_TEMPLATES = {"notifications/email.html"}

STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
FRAMED_BY_US = STRICT_CSP.replace("frame-ancestors 'none'", "frame-ancestors 'self'")
SANDBOXED = "sandbox"  # uploads served as files of their own (tests/hostile/test_uploads.py)
OFF_FEATURES = ("camera=()", "microphone=()", "geolocation=()", "payment=()", "usb=()")

# Not executed, so not blocked: data for scripts (json_script, allauth's onload data).
_DATA_SCRIPT_TYPES = {"application/json", "application/ld+json"}
_URL_ATTRIBUTES = {"href", "src", "action", "formaction"}


class _InlineFinder(HTMLParser):
    """What a strict policy blocks: it must not be on our pages in the first place."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._script: str | None = None

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        for name, value in attrs:
            if name == "style" or name.startswith("on"):
                self.found.append(f"<{tag} {name}={value!r}>")
            if name in _URL_ATTRIBUTES and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}={value!r}>")
        if tag == "style":
            self.found.append("<style>")
        if tag == "script" and "src" not in values and values.get("type") not in _DATA_SCRIPT_TYPES:
            self._script = ""

    def handle_data(self, data):
        if self._script is not None:
            self._script += data

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self.found.append(f"<script>{self._script.strip()[:60]}</script>")
            self._script = None


@pytest.fixture
def world(audience, member, committee, organiser):
    """The permission matrix's data: a page of every kind, with something on it."""
    return build_world(audience, member, committee, organiser)


def inline_code(html: str) -> list[str]:
    finder = _InlineFinder()
    finder.feed(html)
    return finder.found


def _expected_csp(name: str | None, status: int) -> str:
    return FRAMED_BY_US if (name, status) == ("library:slides", 200) else STRICT_CSP


def test_no_page_template_has_inline_script_or_style():
    """Also the templates (and branches) that the pages above did not render."""
    found = {
        str(path.relative_to(TEMPLATES)): inline_code(path.read_text(encoding="utf-8"))
        for path in sorted(TEMPLATES.rglob("*.html"))
        if str(path.relative_to(TEMPLATES)) not in MAIL_TEMPLATES
    }

    assert {name: items for name, items in found.items() if items} == {}
    assert len(found) > 30


@pytest.mark.parametrize("visitor", ["anonymous", "audience", "committee", "organiser"])
def test_every_page_has_the_policies_and_nothing_they_would_block(world, visitor):
    """Every GET of the permission matrix (site, allauth and admin), as this visitor."""
    client = client_for(getattr(world, visitor))
    problems, pages = [], 0
    for label, name, args, _row in get_cases():
        url = args if name is None else url_for(world, name, args)
        response = client.get(url)
        csp = response.get("Content-Security-Policy")
        if csp != SANDBOXED and csp != _expected_csp(name, response.status_code):
            problems.append(f"{label} ({url}): Content-Security-Policy {csp!r}")
        permissions = response.get("Permissions-Policy", "")
        if not all(feature in permissions.split(", ") for feature in OFF_FEATURES):
            problems.append(f"{label} ({url}): Permissions-Policy {permissions!r}")
        html = response.get("Content-Type", "").startswith("text/html")
        if response.status_code == 200 and html and not response.streaming:
            pages += 1
            problems += [f"{label} ({url}): {found}" for found in inline_code(response.text)]
    assert problems == [], "\n".join(problems)
    assert pages > 20  # the scan reached real pages, not only refusals


def test_a_cached_page_has_the_policies_too():
    Client().get(reverse("topics:sheet"))

    hit = Client().get(reverse("topics:sheet"))

    assert hit["X-Page-Cache"] == "hit"
    assert hit["Content-Security-Policy"] == STRICT_CSP
    assert "clipboard-write=(self)" in hit["Permissions-Policy"].split(", ")


def test_error_pages_have_the_policies():
    missing = Client().get("/no-such-page/")
    refused = Client(enforce_csrf_checks=True).post(reverse("account_login"), {})

    assert (missing.status_code, refused.status_code) == (404, 403)
    assert missing["Content-Security-Policy"] == refused["Content-Security-Policy"] == STRICT_CSP
    assert inline_code(missing.text) == inline_code(refused.text) == []


def test_only_the_library_slides_may_be_framed_and_only_by_our_pages(world):
    organiser = client_for(world.organiser)

    slides = organiser.get(reverse("library:slides", args=[world.item.pk]))
    application = organiser.get(reverse("application-slides", args=[world.application.pk]))

    assert slides.status_code == application.status_code == 200
    assert slides["Content-Type"] == application["Content-Type"] == "application/pdf"
    assert slides["Content-Security-Policy"] == FRAMED_BY_US
    assert application["Content-Security-Policy"] == STRICT_CSP


def test_an_image_upload_keeps_its_own_sandbox_policy(world):
    member = client_for(world.participant)
    world.topic.group_qr.save("qr.png", ContentFile(png_bytes()), save=True)

    qr = member.get(reverse("topics:group-qr", args=[world.topic.pk]))

    assert qr.status_code == 200
    assert qr["Content-Security-Policy"] == SANDBOXED


def _settings_in_production(env: dict[str, str]) -> dict:
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.MIDDLEWARE, s.SECURE_CSP, s.TOPICSHARE_PERMISSIONS_POLICY]))"
    )
    result = _run_production(["-c", code], secret=DUMMY_SECRET, extra=env)
    assert result.returncode == 0, result.stderr
    middleware, csp, permissions = json.loads(result.stdout)
    return {"middleware": middleware, "csp": csp, "permissions": permissions}


def test_production_sends_the_same_policies():
    production = _settings_in_production({})

    assert "topicshare.core.headers.SecurityHeadersMiddleware" in production["middleware"]
    assert "; ".join(f"{k} {' '.join(v)}" for k, v in production["csp"].items()) == STRICT_CSP
    assert production["permissions"]["camera"] == []
    assert production["permissions"]["clipboard-write"] == ["self"]


def test_social_login_providers_that_are_on_may_receive_the_login_form():
    production = _settings_in_production(
        {"GITHUB_CLIENT_ID": "gh-id", "GITHUB_CLIENT_SECRET": "gh-secret"}
    )

    assert production["csp"]["form-action"] == ["'self'", "https://github.com"]


def test_the_admin_has_the_policies(client):
    client.force_login(UserFactory(role=Role.ORGANISER))

    index = client.get(reverse("admin:index"))

    assert index.status_code == 200
    assert index["Content-Security-Policy"] == STRICT_CSP
    assert inline_code(index.text) == []


def test_an_imported_articles_pictures_are_links_not_loads_from_zhihu(client):
    body = sanitise_html(
        '<p>模型结构</p><figure><img src="data:image/svg+xml;utf8,&lt;svg&gt;&lt;/svg&gt;" '
        'data-actualsrc="https://pic3.zhimg.com/v2-4_b.jpg" alt="图 1"></figure>'
        '<p><img src="https://pic1.zhimg.com/a.jpg"></p>'
    )
    assert body.count("<img ") == 2  # stored as imported
    item = LibraryItem.objects.create(title="知乎专栏：蒸馏", content_html=body)

    page = client.get(reverse("library:detail", args=[item.pk]))

    html = page.content.decode()
    assert page["Content-Security-Policy"] == STRICT_CSP
    assert "<img" not in html
    assert '<a href="https://pic3.zhimg.com/v2-4_b.jpg" class="picture-link"' in html
    assert "[图 1]</a>" in html
    assert '<a href="https://pic1.zhimg.com/a.jpg"' in html
