"""Accessibility of the served pages: axe-core (tests/browser/package-lock.json, installed by
`make test`) runs inside Chromium on every main page, in both languages, at 390 px in WeChat's
browser and at 1280 px, for a visitor, a member and an organiser; no serious or critical
violation of WCAG 2.2 A/AA may remain. Then the keyboard: the skip link, a visible focus ring,
the phone menu and a confirmation dialog, without a mouse."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from sessions.topics.models import Topic, TopicStatus
from tests.browser.conftest import (
    DEMO_ROLES,
    LOCALES,
    PHONE,
    VIEWPORT,
    WECHAT,
    demo_pages,
    lang,
    log_in_demo,
)
from tests.conftest import skip_or_fail
from topicshare.forum.demo import demo_seed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
# The violations that fail the test, with the elements (at most five) and axe's advice.
RUN_AXE = """
async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags},
                                          resultTypes: ['violations']});
  return result.violations
    .filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => `${v.impact} ${v.id} (${v.help}): ` + v.nodes.slice(0, 5).map(
      n => `${n.target.join(' ')} — ${(n.failureSummary || '').replace(/\\s+/g, ' ')}`).join('; '));
}
"""
# Which pages each role is checked on: the visitor on what is public, the member on the pages
# of a member's week, the organiser on every page (the staff ones only exist for them). A page
# that sends its viewer elsewhere (the login page) is checked once.
MEMBER_PAGES = {"home", "me", "sheet", "topic", "group", "propose", "session", "item", "profile"}
WIDTHS = [pytest.param(PHONE, id="390"), pytest.param(VIEWPORT, id="1280")]


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE.exists():
        skip_or_fail(f"axe-core is not installed at {AXE} (make test runs npm ci in tests/browser)")
    return AXE.read_text()


def axe_violations(page, axe_source: str) -> list[str]:
    # Evaluated through the DevTools protocol, so the site's Content-Security-Policy (no inline
    # scripts) stays as it is for the page itself.
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe_source)
    return page.evaluate(RUN_AXE, WCAG)


@pytest.mark.parametrize("viewport", WIDTHS)
@pytest.mark.parametrize("locale", LOCALES)
def test_main_pages_have_no_serious_accessibility_violations(
    live_server, page_for, axe_source, locale, viewport
):
    demo_seed()
    base, pages = live_server.url, demo_pages()
    agent = {"user_agent": WECHAT} if viewport is PHONE else {}
    problems, seen = [], set()
    for role, email in DEMO_ROLES.items():
        page = page_for(locale, viewport=viewport, **agent)
        if email:
            log_in_demo(page, base, email)
        for name, path in pages.items():
            if role == "member" and name not in MEMBER_PAGES:
                continue
            page.goto(base + path)
            if (role, page.url) in seen or (role != "anonymous" and "/accounts/login/" in page.url):
                continue
            seen.add((role, page.url))
            problems += [f"{role} {name} {path}: {v}" for v in axe_violations(page, axe_source)]
        if role == "organiser" and viewport is PHONE:  # the phone menu, open
            page.goto(base + "/")
            page.locator("[data-nav-toggle]").click()
            problems += [f"{role} open menu: {v}" for v in axe_violations(page, axe_source)]
    assert not problems, "\n".join(problems)


def focused(page) -> dict:
    return page.evaluate(
        """() => { const el = document.activeElement; const style = getComputedStyle(el);
          return {tag: el.tagName.toLowerCase(), cls: el.className || '',
                  role: el.getAttribute('data-role') || '',
                  inDialog: !!el.closest('dialog'), inNav: !!el.closest('#site-nav'),
                  outline: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth),
                  top: el.getBoundingClientRect().top}; }"""
    )


@pytest.mark.parametrize("locale", LOCALES)
def test_keyboard_alone_opens_the_menu_and_answers_a_confirmation(
    live_server, page_for, axe_source, locale
):
    demo_seed()
    topic = Topic.objects.filter(status=TopicStatus.PROPOSED).select_related("proposer").first()
    base = live_server.url
    page = page_for(locale, viewport=PHONE, user_agent=WECHAT)
    log_in_demo(page, base, topic.proposer.email)
    page.goto(f"{base}/topics/{topic.pk}/")

    # The first Tab shows the skip link, on screen and with a focus ring; Enter jumps past the
    # header to the content.
    page.keyboard.press("Tab")
    first = focused(page)
    assert "skip-link" in first["cls"] and first["top"] >= 0
    assert first["outline"] != "none" and first["outlineWidth"] >= 2
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    # The menu button: reached by Tab, opened by Enter, its links next in the Tab order,
    # closed by Escape with the focus back on the button.
    page.locator(".brand").focus()
    toggle = page.locator("[data-nav-toggle]")
    for _ in range(5):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.hasAttribute('data-nav-toggle')"):
            break
    else:
        pytest.fail("Tab never reached the menu button")
    menu_link = page.locator("#site-nav a").first
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(menu_link).to_be_hidden()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(menu_link).to_be_visible()
    page.keyboard.press("Tab")
    assert focused(page)["inNav"]
    page.keyboard.press("Escape")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(menu_link).to_be_hidden()
    assert page.evaluate("document.activeElement.hasAttribute('data-nav-toggle')")

    # Withdrawing asks first, in a dialog that holds the focus; Escape answers "no", gives the
    # focus back to the button and changes nothing.
    withdraw = page.locator("[data-transition=withdrawn]")
    withdraw.focus()
    page.keyboard.press("Enter")
    dialog = page.locator("dialog.confirm-dialog")
    expect(dialog).to_be_visible()
    assert focused(page)["inDialog"] and focused(page)["role"] == "dismiss"
    assert not axe_violations(page, axe_source), "the open dialog has violations"
    # The page behind a modal dialog is inert: Tab goes round the dialog's buttons (and, as
    # in every browser, through the browser's own controls, where the page sees <body>).
    for _ in range(4):
        page.keyboard.press("Tab")
        now = focused(page)
        assert now["inDialog"] or now["tag"] == "body", f"Tab left the open dialog for {now}"
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    assert page.evaluate("document.activeElement.dataset.transition") == "withdrawn"
    topic.refresh_from_db()
    assert topic.status == TopicStatus.PROPOSED

    # Enter, Shift+Tab to "withdraw", Enter: done.
    page.keyboard.press("Enter")
    expect(dialog).to_be_visible()
    page.keyboard.press("Shift+Tab")
    assert focused(page)["role"] == "confirm"
    page.keyboard.press("Enter")
    expect(page.locator(".message.success")).to_be_visible()
    topic.refresh_from_db()
    assert topic.status == TopicStatus.WITHDRAWN, lang(locale)
