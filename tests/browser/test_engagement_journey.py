"""A member on a phone (390 px, WeChat's browser), in both languages: says “想听” to a
proposal, sees the count grow and the sheet sort by it, takes it back; joins the waitlist of
a full group and sees their place in line; follows a track; sees their standing this season;
the calendar alarm is chosen on the profile."""

import re

import pytest
from playwright.sync_api import expect

from members.models import User
from members.roles import Role
from sessions.models import Participation, Season, TopicInterest, TopicStatus, WaitlistEntry
from tests.browser.conftest import LOCALES, PHONE, WECHAT, assert_no_sideways_scroll, lang, log_in
from tests.factories import TopicFactory, TrackFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXT = {
    "zh": {
        "want": "我想听",
        "count": "1 人想听",
        "wait": "小组已满：加入候补",
        "place": "候补第 1 位",
        "track": "自然语言处理",
        "attended": "已举行 0 场，出席 0 场",
    },
    "en": {
        "want": "I want to hear it",
        "count": "1 person wants to hear it",
        "wait": "The group is full: join the waitlist",
        "place": "Number 1 on the waitlist",
        "track": "NLP",
        "attended": "0 of 0 held",
    },
}


@pytest.mark.parametrize("locale", LOCALES)
def test_a_member_wants_to_hear_a_topic_and_waits_for_a_full_group(live_server, page_for, locale):
    base, text = live_server.url, TEXT[lang(locale)]
    track = TrackFactory(slug="nlp", name_zh="自然语言处理", name_en="NLP")
    Season.objects.create(label="Topic 8", order=8, is_current=True)
    UserFactory(role=Role.MEMBER, email="me@example.org", display_name="小王")
    wanted = TopicFactory(title="知识蒸馏入门", track=track)
    TopicFactory(title="另一个提案", track=track)
    full = TopicFactory(title="满员的小组", track=track, status=TopicStatus.PREPARING, capacity=1)
    Participation.objects.create(topic=full, user=UserFactory(), role="participant")
    page = page_for(locale, viewport=PHONE, user_agent=WECHAT, is_mobile=True, has_touch=True)
    log_in(page, base, "me@example.org")

    # 想听 on the topic's page: the count and the pressed button, then the sheet sorted by it.
    page.goto(f"{base}/topics/{wanted.pk}/")
    page.get_by_role("button", name=text["want"], exact=True).click()
    expect(page.locator(".message.success")).to_be_visible()
    expect(page.locator("[data-role=interest] .interest-count")).to_have_text(text["count"])
    expect(page.locator("[data-action=unwant]")).to_have_attribute("aria-pressed", "true")
    assert TopicInterest.objects.filter(topic=wanted).count() == 1
    assert_no_sideways_scroll(page)
    page.goto(f"{base}/topics/?o=-wanted")
    expect(page.locator("table.sheet tbody tr").first).to_contain_text("知识蒸馏入门")
    assert_no_sideways_scroll(page)
    # A second tap takes it back.
    page.goto(f"{base}/topics/{wanted.pk}/")
    page.locator("[data-action=unwant]").click()
    expect(page.locator("[data-action=want]")).to_be_visible()
    assert not TopicInterest.objects.filter(topic=wanted).exists()

    # The full group: its waitlist, and my place in line.
    page.goto(f"{base}/topics/{full.pk}/")
    page.get_by_role("button", name=text["wait"]).click()
    expect(page.locator("[data-role=waitlist-position]")).to_have_text(text["place"])
    assert WaitlistEntry.objects.filter(topic=full).count() == 1
    assert_no_sideways_scroll(page)

    # Follow a track; see my standing this season.
    page.goto(f"{base}/me/")
    page.locator("[data-action=follow]").click()
    page.get_by_label(text["track"]).check()
    page.locator("[data-action=save-follow]").click()
    expect(page.locator(".message.success")).to_be_visible()
    assert list(User.objects.get(email="me@example.org").tracks_of_interest.all()) == [track]
    page.goto(f"{base}/me/")
    card = page.locator("[data-section=standing]")
    expect(card.locator("[data-figure=attended]")).to_have_text(text["attended"])
    expect(card.locator("[data-role=verdict]")).to_be_visible()
    assert_no_sideways_scroll(page)
    card.locator("[data-action=standing]").click()  # the details, and asking for an exemption
    expect(page.locator("[data-role=exemption-request]")).to_be_visible()

    # The calendar's reminder: the address carries it.
    page.goto(f"{base}/profile/")
    page.select_option("#calendar-alarm", "1h")
    page.locator("[data-action=calendar-alarm]").click()
    expect(page.locator("[data-role=calendar-url]")).to_have_value(re.compile(r"\?alarm=1h$"))
    assert_no_sideways_scroll(page)
