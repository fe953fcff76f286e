import os
from pathlib import Path

import pytest

from tests.conftest import chromium_path, skip_or_fail
from tests.factories import PASSWORD

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-results" / "screenshots"
# With TOPICSHARE_DOCS_SCREENSHOTS=1 these screenshots are also written, viewport-sized, to
# docs/screenshots/ for the README; normal runs leave the docs alone.
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"
DOCS_WANTED = {
    "home-zh",
    "topic-sheet-zh",
    "topic-detail-zh",
    "topic-group-zh",
    "sessions-zh",
    "session-detail-zh",
    "library-search-zh",
    "join-apply-zh",
    "admission-admin-zh",
    "season-review-zh",
    "dashboard-zh",
    "topic-sheet-en",
    "session-detail-en",
    "dashboard-en",
}
VIEWPORT = {"width": 1280, "height": 800}

# Every journey runs once per language: the browser asks for it (Accept-Language) and the
# pages must answer in it.
LOCALES = [pytest.param("zh-CN", id="zh"), pytest.param("en-US", id="en")]
HTML_LANG = {"zh-CN": "zh-hans", "en-US": "en"}

# A phone in WeChat: the design width and the user agent members open links with.
PHONE = {"width": 390, "height": 844}
WECHAT = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
    "Gecko) Mobile/15E148 MicroMessenger/8.0.47(0x18002f2c) NetType/WIFI Language/zh_CN"
)


def lang(locale: str) -> str:
    """The language part of a locale, zh or en: the suffix of screenshot names and the key of
    expected texts."""
    return locale.split("-")[0]


@pytest.fixture(autouse=True)
def _links_point_at_the_live_server(request, settings):
    """Mails and calendars link to TOPICSHARE_SITE_URL: in a journey, the live server."""
    if "live_server" in request.fixturenames:
        settings.TOPICSHARE_SITE_URL = request.getfixturevalue("live_server").url


@pytest.fixture(scope="session")
def chromium():
    executable = chromium_path()
    if executable is None:
        skip_or_fail("no Chromium at /usr/bin/chromium (apt-get install -y chromium)")
    # Playwright's sync API runs an event loop in this thread; the ORM calls made by the
    # tests themselves are ordinary synchronous code.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=executable, headless=True, args=CHROMIUM_ARGS
            )
            yield browser
            browser.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


# Every frame of every page reports what the Content-Security-Policy blocked; Chromium also
# writes it (and any Permissions-Policy it cannot parse) to the console.
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI ||
    "inline"} in ${event.sourceFile || document.URL}:${event.lineNumber}`);
});
"""
POLICY_MESSAGES = ("CSP violation", "Content Security Policy", "Permissions-Policy")


@pytest.fixture
def page_for(chromium):
    """page_for("zh-CN") opens a page whose browser asks for that language. The test fails if
    any page it opened broke the site's Content-Security-Policy or Permissions-Policy."""
    contexts, violations = [], []

    def record(message) -> None:
        if any(marker in message.text for marker in POLICY_MESSAGES):
            violations.append(f"{message.page.url if message.page else '?'}: {message.text}")

    def open_page(locale: str = "zh-CN", **options):
        context = chromium.new_context(
            locale=locale,
            timezone_id="Asia/Shanghai",
            viewport=options.pop("viewport", VIEWPORT),
            **options,
        )
        context.set_default_timeout(15_000)
        context.add_init_script(REPORT_VIOLATIONS)
        context.on("console", record)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()
    if violations:
        pytest.fail("The pages broke their policies:\n" + "\n".join(dict.fromkeys(violations)))


def log_in(page, base_url: str, email: str, password: str = PASSWORD) -> None:
    page.goto(base_url + "/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(base_url + "/")


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    if name in DOCS_WANTED and os.environ.get("TOPICSHARE_DOCS_SCREENSHOTS") == "1":
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS_SCREENSHOTS / f"{name}.png"), full_page=False)


def docs_shot(page, name: str, *, full_page: bool = True) -> None:
    """A screenshot of the new pages: kept under test-results/ every run and, with
    TOPICSHARE_DOCS_SCREENSHOTS=1, written to docs/screenshots/ for the README."""
    screenshot(page, name)
    if os.environ.get("TOPICSHARE_DOCS_SCREENSHOTS") == "1":
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS_SCREENSHOTS / f"{name}.png"), full_page=full_page)


def assert_no_sideways_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"{page.url}: {width}px wide"


def nav(page, label: str):
    """A link of the site's main navigation, by its visible label."""
    return page.locator(".site-nav .nav-main").get_by_role("link", name=label, exact=True)


def scroll_to(locator) -> None:
    """Bring an element to the top of the viewport, so that a viewport screenshot shows it."""
    locator.evaluate("el => { el.scrollIntoView({block: 'start'}); window.scrollBy(0, -16); }")


# The demo forum's people (topicshare.forum.demo), by the role each journey signs in with.
DEMO_ROLES = {
    "anonymous": None,
    "member": "member@demo.topicshare.local",
    "organiser": "organiser@demo.topicshare.local",
}


def log_in_demo(page, base_url: str, email: str) -> None:
    """log_in with the demo forum's password (topicshare.forum.demo)."""
    from topicshare.forum.demo import DEMO_PASSWORD

    log_in(page, base_url, email, DEMO_PASSWORD)


def demo_pages() -> dict[str, str]:
    """The main pages of the demo forum (after demo_seed()), by name: what a member and an
    organiser open in a week, forms included. A page its viewer may not see answers with the
    login page or a refusal, which must fit and be accessible too."""
    from library.models import LibraryItem
    from members.ledger.services import current_season
    from members.models import Application
    from sessions.weekly.models import WeeklySession

    session = WeeklySession.objects.order_by("-start").first()
    topic = session.topic
    item = LibraryItem.objects.order_by("pk").first()
    season = current_season()
    application = Application.objects.order_by("pk").first()
    return {
        "home": "/",
        "me": "/me/",
        "sheet": "/topics/",
        "sheet-filtered": "/topics/?status=proposed&status=accepted&q=BERT",
        "topic": f"/topics/{topic.pk}/",
        "group": f"/topics/{topic.pk}/group/",
        "propose": "/topics/new/",
        "sessions": "/sessions/",
        "past-sessions": "/sessions/past/",
        "session": f"/sessions/{session.pk}/",
        "manage": f"/sessions/{session.pk}/manage/",
        "schedule": "/sessions/schedule/",
        "library": "/library/",
        "library-filtered": "/library/?kind=talk&has_slides=true",
        "item": f"/library/{item.pk}/",
        "join": "/join/",
        "apply": "/join/apply/",
        "profile": "/profile/",
        "committee": "/committee/",
        "application": f"/committee/{application.pk}/",
        "inbox": "/staff/inbox/",
        "dashboard": "/staff/dashboard/",
        "season-review": f"/staff/seasons/{season.pk}/review/",
        "login": "/accounts/login/",
        "signup": "/accounts/signup/",
    }
