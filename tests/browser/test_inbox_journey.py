"""An organiser clears the inbox on a phone (390 px, WeChat's browser), in Chinese and in
English: reviews a proposed topic, schedules a ready one in the preselected slot, and adds
the meeting link of tomorrow's session; then nothing waits and the count says so."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from members.roles import Role
from sessions.models import TopicStatus, WeeklySession
from sessions.topics.models import monday_of
from tests.browser.conftest import (
    HTML_LANG,
    LOCALES,
    PHONE,
    POLICY_MESSAGES,
    REPORT_VIOLATIONS,
    WECHAT,
    assert_no_sideways_scroll,
    docs_shot,
    lang,
    log_in,
)
from tests.factories import TopicFactory, TrackFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXT = {
    "zh": {"inbox": "待办", "empty": "没有待办事项，干得好！", "review": "审核 Topic"},
    "en": {
        "inbox": "Inbox",
        "empty": "Nothing waits for you. Well done!",
        "review": "Review the topic",
    },
}


@pytest.fixture
def phone_for(chromium):
    """Like page_for, at 390 px in WeChat's browser (page_for fixes the viewport at 1280)."""
    contexts, violations = [], []

    def open_page(locale: str):
        context = chromium.new_context(
            locale=locale, timezone_id="Asia/Shanghai", viewport=PHONE, user_agent=WECHAT,
            is_mobile=True, has_touch=True,
        )  # fmt: skip
        context.set_default_timeout(15_000)
        context.add_init_script(REPORT_VIOLATIONS)
        context.on(
            "console",
            lambda message: (
                violations.append(message.text)
                if any(marker in message.text for marker in POLICY_MESSAGES)
                else None
            ),
        )
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()
    assert violations == []


def _world():
    track = TrackFactory(
        slug="recsys", name_zh="推荐系统", name_en="RecSys", weekday=5,
        local_time=datetime.time(20, 30), colour="#d97706",
    )  # fmt: skip
    organiser = UserFactory(role=Role.ORGANISER, email="org@example.org", display_name="组织者")
    proposed = TopicFactory(
        title="GraphSAGE 图采样", track=track,
        proposer=UserFactory(role=Role.MEMBER, display_name="林一"),
    )  # fmt: skip
    preferred = monday_of((timezone.localtime() + datetime.timedelta(weeks=4)).date())
    ready = TopicFactory(
        title="DIN：深度兴趣网络", track=track, status=TopicStatus.READY,
        preferred_week=preferred, proposer=UserFactory(role=Role.MEMBER, display_name="Chen Jie"),
    )  # fmt: skip
    tomorrow = WeeklySession.objects.create(
        topic=TopicFactory(title="LightGCN 图推荐", track=track, status=TopicStatus.SCHEDULED),
        track=track, start=timezone.now() + datetime.timedelta(hours=20),
    )  # fmt: skip
    return organiser, proposed, ready, tomorrow, preferred


@pytest.mark.parametrize("locale", LOCALES)
def test_organiser_clears_the_inbox_on_a_phone(live_server, phone_for, locale):
    base, text, suffix = live_server.url, TEXT[lang(locale)], lang(locale)
    _organiser, proposed, ready, tomorrow, preferred = _world()
    page = phone_for(locale)
    log_in(page, base, "org@example.org")

    page.goto(base + "/staff/inbox/")
    assert page.locator("html").get_attribute("lang") == HTML_LANG[locale]
    expect(page.locator("h1")).to_contain_text(text["inbox"])
    items = page.locator(".inbox-item")
    expect(items).to_have_count(3)
    expect(page.locator("[data-inbox-count]")).to_have_text("3")
    assert_no_sideways_scroll(page)
    docs_shot(page, f"inbox-{suffix}-390")
    box = page.locator("[data-item^='review-'] .button").bounding_box()
    assert box["height"] >= 44

    # 1. Review the proposed topic: its page, at the actions; accept it.
    review = page.locator(f"[data-item='review-/topics/{proposed.pk}/#actions'] a.button")
    expect(review).to_have_text(text["review"])
    review.click()
    page.locator("[data-transition=accepted]").click()
    expect(page.locator(".message.success")).to_be_visible()
    proposed.refresh_from_db()
    assert proposed.status == TopicStatus.ACCEPTED

    # 2. Schedule the ready topic: the slot of its preferred week is preselected.
    page.goto(base + "/staff/inbox/")
    expect(items).to_have_count(2)
    page.locator(f"[data-item='ready-/sessions/schedule/{ready.pk}/'] a.button").click()
    checked = page.locator("input[name=slot]:checked")
    expect(checked).to_have_count(1)
    chosen = datetime.datetime.fromisoformat(checked.get_attribute("value"))
    assert monday_of(timezone.localtime(chosen).date()) == preferred
    assert_no_sideways_scroll(page)
    page.locator("form button[type=submit].button").last.click()
    expect(page.locator(".message.success")).to_be_visible()
    ready.refresh_from_db()
    assert ready.status == TopicStatus.SCHEDULED
    assert ready.sessions.get().start == chosen

    # 3. Add tomorrow's meeting link.
    page.goto(base + "/staff/inbox/")
    expect(items).to_have_count(1)
    page.locator(f"[data-item='meeting_link-/sessions/{tomorrow.pk}/manage/'] a.button").click()
    page.fill("input[name=meeting_url]", "https://meeting.tencent.com/dm/lightgcn")
    page.locator("form:has(input[value=meeting]) button[type=submit]").click()
    expect(page.locator(".message.success")).to_be_visible()
    tomorrow.refresh_from_db()
    assert tomorrow.meeting_url == "https://meeting.tencent.com/dm/lightgcn"

    # Nothing waits any more.
    page.goto(base + "/staff/inbox/")
    expect(page.locator("[data-empty]")).to_have_text(text["empty"])
    expect(page.locator("[data-inbox-count]")).to_have_text("0")


def test_inbox_at_the_desk(live_server, page_for):
    """The second width: 1280 px, Chinese."""
    _world()
    page = page_for("zh-CN")
    log_in(page, live_server.url, "org@example.org")
    page.goto(live_server.url + "/staff/inbox/")
    expect(page.locator(".inbox-item")).to_have_count(3)
    expect(page.locator(".site-nav [data-inbox-count]")).to_have_text("3")
    assert_no_sideways_scroll(page)
    docs_shot(page, "inbox-zh-1280")


PACK = {
    "zh": {"open": "打开宣传包", "copied": "已复制", "pack": "宣传包", "header": "【",
           "code": "zh-hans"},
    "en": {"open": "Open the promotion pack", "copied": "Copied", "pack": "Promotion pack",
           "header": "[", "code": "en"},
}  # fmt: skip


@pytest.mark.parametrize("locale", LOCALES)
def test_organiser_opens_the_promotion_pack_from_the_inbox_and_copies_the_group_text(
    live_server, phone_for, locale
):
    base, text = live_server.url, PACK[lang(locale)]
    track = TrackFactory(slug="nlp", name_zh="自然语言处理", name_en="NLP", weekday=5)
    UserFactory(role=Role.ORGANISER, email="org@example.org", display_name="组织者")
    soon = monday_of((timezone.localtime() + datetime.timedelta(days=15)).date())
    topic = TopicFactory(
        title="对比学习与句向量", track=track, status=TopicStatus.ACCEPTED, preferred_week=soon,
        proposer=UserFactory(role=Role.MEMBER, display_name="林一"),
    )  # fmt: skip
    page = phone_for(locale)
    log_in(page, base, "org@example.org")

    page.goto(base + "/staff/inbox/")
    pack = page.locator(f"[data-item='promotion-/topics/{topic.pk}/promote/'] a.button")
    expect(pack).to_have_text(text["open"])
    pack.click()
    expect(page.locator("h1")).to_have_text(text["pack"])  # the article's title is an h2 here
    poster = page.locator("img.poster")
    expect(poster).to_be_visible()
    assert poster.evaluate("image => image.decode().then(() => image.naturalWidth)") == 1080
    assert_no_sideways_scroll(page)
    docs_shot(page, f"promotion-pack-{lang(locale)}-390")

    # What goes to the clipboard, by whichever way the page copies (the site's Permissions
    # Policy lets no page read the clipboard back, this test's included).
    page.evaluate("""() => {
      window.copied = [];
      if (navigator.clipboard) {
        navigator.clipboard.writeText = (text) => {
          window.copied.push(text);
          return Promise.resolve();
        };
      }
      document.addEventListener("copy", () => {
        const field = document.activeElement;
        window.copied.push(field && field.value !== undefined
          ? field.value.substring(field.selectionStart, field.selectionEnd)
          : String(window.getSelection()));
      });
    }""")
    # The text in the page's language (the pack has the forum's Chinese one too).
    copy = page.locator(
        f"[data-part=group-text][lang={text['code']}] [data-action=copy-group-text]"
    )
    copy.click()
    expect(copy).to_have_text(text["copied"])
    copied = page.evaluate("window.copied[0]")
    assert copied.startswith(text["header"]) and "对比学习与句向量" in copied
    assert f"/topics/{topic.pk}/" in copied
