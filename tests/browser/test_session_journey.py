"""The audience's side of a session, in Chinese and in English: find it on the home page and the
schedule, RSVP, and subscribe to the calendar (the public .ics and the personal feed)."""

import datetime
import urllib.request

import icalendar
import pytest
from django.utils import timezone
from playwright.sync_api import expect

from members.roles import Role
from sessions.models import RSVP, TopicStatus
from sessions.weekly.scheduling import free_slots, session_schedule
from tests.browser.conftest import HTML_LANG, LOCALES, lang, log_in, nav, screenshot
from tests.factories import TopicFactory, TrackFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXT = {
    "zh": {
        "next_sessions": "近期分享",
        "sessions": "分享日程",
        "rsvp": "我会参加（报名）",
        "rsvped": "到时见！",
        "unrsvp": "我去不了了",
        "going": "你已报名",
        "subscribe": "订阅日历（.ics）",
        "track": "推荐系统",
    },
    "en": {
        "next_sessions": "Next sessions",
        "sessions": "Sessions",
        "rsvp": "I'll be there (RSVP)",
        "rsvped": "See you there!",
        "unrsvp": "I can't come after all",
        "going": "You are going",
        "subscribe": "Subscribe (.ics)",
        "track": "RecSys",
    },
}


def _scheduled(track, title, presenter, organiser, slot_index, **meeting):
    topic = TopicFactory(
        title=title, track=track, status=TopicStatus.READY,
        proposer=UserFactory(role=Role.MEMBER, display_name=presenter),
        summary=f"**{title}**：动机、模型、损失函数，以及复现时踩过的坑。",
    )  # fmt: skip
    start = free_slots(track=track, now=timezone.now())[slot_index]
    return session_schedule(topic=topic, start=start, by=organiser, **meeting)


@pytest.mark.parametrize("locale", LOCALES)
def test_audience_rsvps_and_subscribes_to_the_calendar(live_server, page_for, locale):
    base, text = live_server.url, TEXT[lang(locale)]
    recsys = TrackFactory(
        slug="recsys", name_zh="推荐系统", name_en="RecSys", weekday=5,
        local_time=datetime.time(20, 30), colour="#d97706",
    )  # fmt: skip
    nlp = TrackFactory(
        slug="nlp", name_zh="自然语言处理", name_en="NLP", weekday=6,
        local_time=datetime.time(20, 0), colour="#2563eb",
    )  # fmt: skip
    organiser = UserFactory(role=Role.ORGANISER)
    session = _scheduled(
        recsys, "LightGCN 图推荐", "林一", organiser, 0,
        meeting_provider="tencent", meeting_url="https://meeting.tencent.com/dm/lightgcn",
    )  # fmt: skip
    _scheduled(nlp, "Sentence-BERT 文本匹配", "王小明", organiser, 0)
    _scheduled(recsys, "DIN：深度兴趣网络", "Chen Jie", organiser, 1)
    UserFactory(email="ann@example.org", role=Role.AUDIENCE, display_name="Ann")

    # A visitor sees the next sessions on the home page.
    ann = page_for(locale)
    ann.goto(base + "/")
    assert ann.locator("html").get_attribute("lang") == HTML_LANG[locale]
    upcoming = ann.locator("section.next-sessions")
    expect(upcoming.get_by_role("heading", name=text["next_sessions"])).to_be_visible()
    expect(upcoming.locator(f"[data-session='{session.pk}']")).to_contain_text(text["track"])
    screenshot(ann, f"home-{lang(locale)}")

    # Ann logs in, finds it on the schedule and RSVPs.
    log_in(ann, base, "ann@example.org")
    nav(ann, text["sessions"]).click()
    card = ann.locator(f"[data-session='{session.pk}']")
    expect(card).to_contain_text("LightGCN 图推荐")
    screenshot(ann, f"sessions-{lang(locale)}")
    card.locator("h3 a").click()
    expect(ann.locator("[data-role=meeting-link]")).to_have_text(
        "https://meeting.tencent.com/dm/lightgcn"
    )
    ann.locator("[data-action=rsvp]").click()
    expect(ann.locator(".message.success")).to_have_text(text["rsvped"])
    expect(ann.locator("[data-action=unrsvp]")).to_have_text(text["unrsvp"])
    screenshot(ann, f"session-detail-{lang(locale)}")
    assert RSVP.objects.filter(session=session, user__email="ann@example.org").exists()
    nav(ann, text["sessions"]).click()
    expect(card).to_contain_text(text["going"])

    # She subscribes to the forum's calendar: the link on the schedule is an .ics feed.
    subscribe = ann.locator("[data-action=ics]")
    expect(subscribe).to_have_text(text["subscribe"])
    response = ann.request.get(base + subscribe.get_attribute("href"))
    assert response.ok
    assert response.headers["content-type"].startswith("text/calendar")
    calendar = icalendar.Calendar.from_ical(response.body())
    events = {str(event["SUMMARY"]): event for event in calendar.walk("VEVENT")}
    [lightgcn] = [event for summary, event in events.items() if "LightGCN 图推荐" in summary]
    assert lightgcn["DTSTART"].dt == session.start
    assert len(events) == 3

    # Her personal feed (from her profile) has the session she RSVP'd to, with the meeting link.
    ann.locator("[data-nav=profile]").click()
    feed_url = ann.locator("[data-role=calendar-url]").input_value()
    with urllib.request.urlopen(feed_url, timeout=10) as feed:  # noqa: S310 — live_server
        assert feed.headers["Content-Type"].startswith("text/calendar")
        personal = icalendar.Calendar.from_ical(feed.read())
    mine = [event for event in personal.walk("VEVENT")]
    assert [str(event["SUMMARY"]).startswith("LightGCN 图推荐") for event in mine] == [True]
    assert mine[0]["DTSTART"].dt == session.start
    assert "meeting.tencent.com/dm/lightgcn" in str(mine[0]["LOCATION"])
