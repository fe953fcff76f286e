"""The library in the browser, in Chinese and in English: search it and copy a recording's
extraction code; a presenter adds the slides of a session that has taken place."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from library.models import LibraryItem
from library.services import item_for_session, items_reindex
from members.roles import Role
from sessions.models import Season, SessionStatus, TopicStatus
from sessions.topics.slots import track_slots
from sessions.weekly.scheduling import session_schedule, sessions_advance
from tests.browser.conftest import HTML_LANG, LOCALES, lang, log_in, nav, screenshot
from tests.factories import TopicFactory, TrackFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
# A small but valid PDF: one empty page.
PDF = (
    b"%PDF-1.4\n"
    b"1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)

TEXT = {
    "zh": {
        "library": "资料库",
        "search": "搜索",
        "query": "蒸馏",
        "count": "2 条资料",
        "found": 2,
        "title": "模型蒸馏",
        "code": "runl",
        "copied": "已复制",
        "add_materials": "添加课件或录像",
        "save": "保存",
        "thanks": "谢谢！资料已加入资料库。",
        "slides": "课件",
    },
    "en": {
        "library": "Library",
        "search": "Search",
        "query": "transformer",
        "count": "1 item",
        "found": 1,
        "title": "Transformer 中的位置编码",
        "code": "ab12",
        "copied": "Copied",
        "add_materials": "Add slides or the recording",
        "save": "Save",
        "thanks": "Thank you! The materials are in the library.",
        "slides": "Slides",
    },
}


def _nlp():
    return TrackFactory(slug="nlp", name_zh="自然语言处理", name_en="NLP", colour="#2563eb")


@pytest.mark.parametrize("locale", LOCALES)
def test_search_the_library_and_copy_the_extraction_code(live_server, page_for, locale):
    base, text = live_server.url, TEXT[lang(locale)]
    nlp = _nlp()
    recsys = TrackFactory(slug="recsys", name_zh="推荐系统", name_en="RecSys", colour="#d97706")
    season = Season.objects.create(label="Topic 5", order=5)
    items = [
        LibraryItem.objects.create(
            title="模型蒸馏", season=season, domain=nlp,
            recording_url="https://pan.baidu.com/s/1kT051jAqVHESAsaKzGL19w",
            extraction_code="runl",
        ),
        LibraryItem.objects.create(
            title="DistilBERT：蒸馏出更小更快的 BERT", season=season, domain=nlp,
            paper_url="https://arxiv.org/abs/1910.01108",
        ),
        LibraryItem.objects.create(
            title="Transformer 中的位置编码", season=season, domain=nlp,
            recording_url="https://pan.baidu.com/s/1abcdEFGH", extraction_code="ab12",
        ),
        LibraryItem.objects.create(title="Deep Interest Network", season=season, domain=recsys),
    ]  # fmt: skip
    items_reindex(items)

    page = page_for(locale, permissions=["clipboard-read", "clipboard-write"])
    page.goto(base + "/")
    assert page.locator("html").get_attribute("lang") == HTML_LANG[locale]
    nav(page, text["library"]).click()
    page.fill("input[name=q]", text["query"])
    page.get_by_role("button", name=text["search"], exact=True).click()
    expect(page.locator("[data-role=result-count]")).to_have_text(text["count"])
    results = page.locator(".library-item")
    expect(results).to_have_count(text["found"])
    expect(results.first).to_contain_text(text["title"])
    screenshot(page, f"library-search-{lang(locale)}")

    page.get_by_role("link", name=text["title"]).click()
    expect(page.locator("[data-role=extraction-code]")).to_have_text(text["code"])
    page.locator("[data-copy]").click()
    expect(page.locator("[data-copy]")).to_have_text(text["copied"])
    screenshot(page, f"library-item-{lang(locale)}")
    # The site may write to the clipboard, not read it (Permissions-Policy): paste it instead.
    page.evaluate(
        "document.body.append(Object.assign(document.createElement('textarea'), {id: 'paste'}))"
    )
    page.locator("#paste").focus()
    page.keyboard.press("ControlOrMeta+V")
    expect(page.locator("#paste")).to_have_value(text["code"])


@pytest.mark.parametrize("locale", LOCALES)
def test_presenter_uploads_the_slides_after_the_session(live_server, page_for, locale):
    base, text = live_server.url, TEXT[lang(locale)]
    track = _nlp()
    season = Season.objects.create(label="Topic 7", order=7, is_current=True)
    organiser = UserFactory(role=Role.ORGANISER)
    presenter = UserFactory(email="lin@example.org", role=Role.MEMBER, display_name="林一")
    topic = TopicFactory(
        title="Sentence-BERT 文本匹配", track=track, season=season, proposer=presenter,
        status=TopicStatus.READY, paper_links=["https://arxiv.org/abs/1908.10084"],
    )  # fmt: skip
    # Scheduled a while ago for last week's slot; beat has since marked it done.
    now = timezone.now()
    start = track_slots(track=track, after=now - datetime.timedelta(days=14), weeks=1)[0]
    session = session_schedule(
        topic=topic, start=start, by=organiser, now=start - datetime.timedelta(days=7)
    )
    sessions_advance(now=session.end + datetime.timedelta(minutes=1))
    session.refresh_from_db()
    topic.refresh_from_db()
    assert (session.status, topic.status) == (SessionStatus.DONE, TopicStatus.PRESENTED)
    item = item_for_session(session=session)  # the one sessions_advance made
    assert not item.slides_file

    page = page_for(locale)
    log_in(page, base, "lin@example.org")
    nav(page, text["library"]).click()
    page.get_by_role("link", name="Sentence-BERT 文本匹配").click()
    page.wait_for_url(base + f"/library/{item.pk}/")
    materials = page.locator("[data-action=materials]")
    expect(materials).to_have_text(text["add_materials"])
    materials.click()
    page.wait_for_url(base + f"/library/{item.pk}/materials/")
    page.set_input_files(
        "input[name=slides_file]",
        {"name": "sbert-slides.pdf", "mimeType": "application/pdf", "buffer": PDF},
    )
    page.fill("input[name=recording_url]", "https://pan.baidu.com/s/1sbertRecording")
    page.fill("input[name=extraction_code]", "sb42")
    screenshot(page, f"library-materials-{lang(locale)}")
    page.get_by_role("button", name=text["save"], exact=True).click()

    page.wait_for_url(base + f"/library/{item.pk}/")
    expect(page.locator(".message.success")).to_have_text(text["thanks"])
    slides = page.locator("[data-role=slides]")
    expect(slides).to_have_text(text["slides"])
    expect(page.locator("[data-role=extraction-code]")).to_have_text("sb42")
    response = page.request.get(base + slides.get_attribute("href"))
    assert response.ok
    assert response.headers["content-type"] == "application/pdf"
    assert response.body() == PDF
    screenshot(page, f"library-item-slides-{lang(locale)}")

    item.refresh_from_db()
    assert item.slides_name == "sbert-slides.pdf"
    assert item.recording_url == "https://pan.baidu.com/s/1sbertRecording"

    # The item page shows the slides in the browser's PDF viewer, in a frame of the same site.
    viewer = page.locator("iframe.pdf-viewer")
    expect(viewer).to_be_visible()
    viewer_frame = viewer.element_handle().content_frame()
    viewer_frame.wait_for_load_state()
    assert viewer_frame.url == base + slides.get_attribute("href"), (
        f"the browser refused to show the slides in the page ({viewer_frame.url}); the slides "
        f"are served with X-Frame-Options: {response.headers.get('x-frame-options')}"
    )
