"""Calendars at 390 px in WeChat: subscribe from /sessions/, add one session to the calendar,
and read the time in the forum's zone and one's own."""

import datetime
import os

import icalendar
import pytest
from django.utils import timezone
from playwright.sync_api import expect

from members.roles import Role
from sessions.models import TopicStatus
from sessions.weekly.scheduling import free_slots, session_schedule
from tests.browser.conftest import (  # noqa: F401
    CHROMIUM_ARGS,
    DOCS_SCREENSHOTS,
    PHONE,
    SCREENSHOTS,
    WECHAT,
    assert_no_sideways_scroll,
)
from tests.factories import TopicFactory, TrackFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DESKTOP = {"width": 1280, "height": 800}


def _two_tracks_and_a_session():
    organiser = UserFactory(role=Role.ORGANISER)
    recsys = TrackFactory(
        slug="recsys", name_zh="推荐系统", name_en="RecSys", weekday=5,
        local_time=datetime.time(20, 30), colour="#d97706",
    )  # fmt: skip
    TrackFactory(slug="nlp", name_zh="自然语言处理", name_en="NLP", weekday=5,
                 local_time=datetime.time(21, 30), colour="#2563eb")  # fmt: skip
    topic = TopicFactory(
        title="LightGCN 图推荐", track=recsys, status=TopicStatus.READY,
        proposer=UserFactory(role=Role.MEMBER, display_name="王小明"),
        summary="**LightGCN**：动机、模型、损失函数。",
    )  # fmt: skip
    start = free_slots(track=recsys, now=timezone.now())[0]
    return session_schedule(
        topic=topic, start=start, by=organiser,
        meeting_url="https://meeting.tencent.com/dm/SecretRoom",
    )  # fmt: skip


def _context(chromium, locale, *, viewport, zone="Asia/Shanghai"):
    context = chromium.new_context(
        locale=locale, timezone_id=zone, viewport=viewport,
        user_agent=WECHAT if viewport == PHONE else None,
        permissions=["clipboard-write"],
    )  # fmt: skip
    context.set_default_timeout(15_000)
    return context


def _save(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    if os.environ.get("TOPICSHARE_DOCS_SCREENSHOTS") == "1":
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS_SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize(
    ("locale", "lang", "viewport", "width"),
    [
        ("zh-CN", "zh", PHONE, 390),
        ("en-US", "en", PHONE, 390),
        ("zh-CN", "zh", DESKTOP, 1280),
        ("en-US", "en", DESKTOP, 1280),
    ],
)
def test_subscribe_and_add_to_calendar(live_server, chromium, locale, lang, viewport, width):
    session = _two_tracks_and_a_session()
    base = live_server.url
    context = _context(chromium, locale, viewport=viewport)
    page = context.new_page()

    # The schedule: one box for every track, one row per track, webcal:// links.
    page.goto(base + "/sessions/")
    box = page.locator("[data-role=calendars]")
    expect(box.locator("[data-action=webcal]")).to_have_attribute(
        "href", "webcal://" + base.split("://", 1)[1] + "/sessions/calendar.ics"
    )
    expect(box.locator("[data-track=recsys]")).to_have_count(1)
    expect(box.locator("[data-track=nlp] [data-action=webcal-track]")).to_have_attribute(
        "href", "webcal://" + base.split("://", 1)[1] + "/sessions/tracks/nlp.ics"
    )
    expect(box.locator(".subscribe-help li")).to_have_count(4)
    button = box.locator("[data-action=copy-feed]")
    assert button.bounding_box()["height"] >= 44
    button.click()
    expect(button).to_have_text("已复制" if lang == "zh" else "Copied")
    # (The site's Permissions-Policy lets the page write the clipboard, not read it back.)
    expect(button).to_have_attribute("data-copy", base + "/sessions/calendar.ics")
    assert_no_sideways_scroll(page)
    _save(page, f"sessions-{lang}-{width}")

    # A session: start–end in Shanghai (the viewer is there: no second time), add to calendar.
    page.goto(base + f"/sessions/{session.pk}/")
    local = timezone.localtime(session.start)
    when = page.locator(".meta time.start-end")
    expect(when).to_contain_text(f"{local:%Y-%m-%d}")
    expect(when).to_contain_text(f"{local:%H:%M}–{timezone.localtime(session.end):%H:%M}")
    expect(page.locator("[data-role=local-time]")).to_have_count(0)
    add = page.locator("[data-action=add-to-calendar]")
    expect(add).to_be_visible()
    response = page.request.get(base + add.get_attribute("href"))
    [event] = icalendar.Calendar.from_ical(response.body()).walk("VEVENT")
    assert event["DTSTART"].dt == session.start
    assert b"SecretRoom" not in response.body()
    expect(page.locator("[data-role=calendars] [data-action=webcal]")).to_have_attribute(
        "href", "webcal://" + base.split("://", 1)[1] + "/sessions/tracks/recsys.ics"
    )
    assert_no_sideways_scroll(page)
    page.locator("[data-role=calendars]").scroll_into_view_if_needed()
    _save(page, f"session-{lang}-{width}")
    context.close()


def test_a_viewer_abroad_sees_their_own_start_and_end_too(live_server, chromium):
    session = _two_tracks_and_a_session()
    context = _context(chromium, "en-US", viewport=PHONE, zone="Europe/Berlin")
    page = context.new_page()

    page.goto(live_server.url + f"/sessions/{session.pk}/")

    berlin = session.start.astimezone(datetime.timezone(datetime.timedelta(hours=1)))
    berlin_end = session.end.astimezone(berlin.tzinfo)
    note = page.locator(".meta [data-role=local-time]")
    expect(note).to_contain_text("your time: ")
    expect(note).to_contain_text(f"{berlin:%H:%M}–{berlin_end:%H:%M}")
    # The server's own text stays as it was.
    expect(page.locator(".meta time.start-end")).to_contain_text(
        f"{timezone.localtime(session.start):%H:%M}"
    )
    context.close()
