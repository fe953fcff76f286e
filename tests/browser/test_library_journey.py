import pytest
from playwright.sync_api import expect

from library.models import LibraryItem
from library.services import items_reindex
from sessions.models import Season
from tests.browser.conftest import screenshot
from tests.factories import TrackFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_search_the_library_in_chinese_and_copy_the_extraction_code(live_server, chromium):
    nlp = TrackFactory(slug="nlp", name_zh="自然语言处理", name_en="NLP")
    season = Season.objects.create(label="Topic 5", order=5)
    item = LibraryItem.objects.create(
        title="模型蒸馏", season=season, domain=nlp,
        recording_url="https://pan.baidu.com/s/1kT051jAqVHESAsaKzGL19w", extraction_code="runl",
    )  # fmt: skip
    other = LibraryItem.objects.create(title="Deep Interest Network", season=season, domain=nlp)
    items_reindex([item, other])
    context = chromium.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    try:
        page.goto(live_server.url + "/")
        page.get_by_role("link", name="资料库").click()
        page.fill("input[name=q]", "蒸馏")
        page.get_by_role("button", name="搜索").click()
        expect(page.locator("[data-role=result-count]")).to_contain_text("1")
        expect(page.locator(".library-item")).to_have_count(1)
        screenshot(page, "library-search-zh")
        page.get_by_role("link", name="模型蒸馏").click()
        expect(page.locator("[data-role=extraction-code]")).to_have_text("runl")
        page.locator("[data-copy]").click()
        expect(page.locator("[data-copy]")).to_have_text("已复制")
        assert page.evaluate("navigator.clipboard.readText()") == "runl"
        screenshot(page, "library-item-zh")
    finally:
        context.close()
