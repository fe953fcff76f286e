"""Every main page on a phone (390 px, WeChat's browser), in both languages and for the
anonymous visitor, a member and an organiser: no sideways scroll, and every tap target of the
main navigation and of the cards at least 44 px high."""

import os

import pytest
from django.core.files.base import ContentFile

from library.models import LibraryItem
from tests.browser.conftest import DEMO_ROLES as ROLES
from tests.browser.conftest import (
    DOCS_SCREENSHOTS,
    LOCALES,
    PHONE,
    WECHAT,
    demo_pages,
    lang,
    log_in_demo,
    screenshot,
)
from topicshare.forum.demo import demo_seed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MIN_TAP = 44

# Tap targets of the main navigation and of the cards. Exceptions, with their reason:
# - links inside a sentence or a table cell of text (WCAG 2.5.8's "inline" exception): their
#   height is the line's; marked by being `display: inline` inside running text;
# - the hidden skip/visually-hidden helpers (not visible).
CONTAINERS = [
    ".site-header",
    ".card",
    ".session-card",
    ".me-item",
    ".library-item",
    "table.sheet tr",
]
TARGETS = ["a", "button", "[role=button]", "input[type=submit]", "summary"]
SELECTOR = ", ".join(f"{container} {target}" for container in CONTAINERS for target in TARGETS)
TAP_TARGETS = """
([selector, minimum]) => {
  const small = [];
  for (const el of document.querySelectorAll(selector)) {
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    const style = getComputedStyle(el);
    if (style.visibility === 'hidden') continue;
    const nav = el.closest('.site-nav');
    if (nav && getComputedStyle(nav).display === 'none') continue;
    const parent = el.parentElement;
    const inline = style.display === 'inline' && !el.closest('.site-header')
      && parent && parent.textContent.trim() !== el.textContent.trim();
    if (inline) continue;
    if (box.height + 0.5 < minimum) {
      const label = el.textContent.trim().slice(0, 30);
      small.push(`${el.tagName.toLowerCase()} "${label}" ${Math.round(box.height)}px`);
    }
  }
  return small;
}
"""


@pytest.mark.parametrize("role", list(ROLES))
@pytest.mark.parametrize("locale", LOCALES)
def test_every_main_page_fits_a_phone(live_server, page_for, locale, role):
    demo_seed()
    base, pages = live_server.url, demo_pages()
    page = page_for(locale, viewport=PHONE, user_agent=WECHAT)
    if ROLES[role]:
        log_in_demo(page, base, ROLES[role])
    problems = []
    for name, path in pages.items():
        page.goto(base + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > PHONE["width"]:
            problems.append(f"{name} {path}: {width}px wide")
        # The language switch is there without opening the menu.
        if not page.locator(".lang-switch button").first.is_visible():
            problems.append(f"{name} {path}: no visible language switch")
        small = page.evaluate(TAP_TARGETS, [SELECTOR, MIN_TAP])
        page.locator(".nav-toggle").click()
        small += [s for s in page.evaluate(TAP_TARGETS, [SELECTOR, MIN_TAP]) if s not in small]
        problems += [f"{name} {path}: tap target {s}" for s in small]
        if role == "organiser" and name in {"sheet", "library"} and lang(locale) == "zh":
            page.locator(".nav-toggle").click()
            shot = f"{name}-zh-390"
            screenshot(page, shot)
            if os.environ.get("TOPICSHARE_DOCS_SCREENSHOTS") == "1":
                DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(DOCS_SCREENSHOTS / f"{shot}.png"), full_page=True)
    assert not problems, "\n".join(problems)


PDF = (
    b"%PDF-1.4\n"
    b"1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
OPEN_SLIDES = {"zh": "打开课件（PDF）", "en": "Open the slides (PDF)"}


@pytest.mark.parametrize("locale", LOCALES)
def test_slides_on_a_phone_are_a_link_not_an_empty_frame(live_server, page_for, locale):
    demo_seed()
    item = LibraryItem.objects.filter(visibility="public").order_by("pk").first()
    item.slides_file.save("slides.pdf", ContentFile(PDF))
    base = live_server.url
    page = page_for(locale, viewport=PHONE, user_agent=WECHAT)

    page.goto(f"{base}/library/{item.pk}/")

    link = page.locator("[data-action=open-slides]")
    assert link.text_content() == OPEN_SLIDES[lang(locale)]
    assert link.is_visible() and link.bounding_box()["height"] >= MIN_TAP
    assert page.locator("[data-action=download-slides]").is_visible()
    assert not page.locator("iframe.pdf-viewer").is_visible()
    response = page.request.get(base + link.get_attribute("href"))
    assert response.ok and response.body() == PDF
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
