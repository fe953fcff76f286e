import datetime
import urllib.request

import icalendar
import pytest
from playwright.sync_api import expect

from members.roles import Role
from sessions.models import TopicStatus, WeeklySession
from tests.browser.conftest import screenshot
from tests.browser.test_topic_journey import _log_in
from tests.factories import TopicFactory, TrackFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_organiser_schedules_audience_rsvps_and_gets_it_in_their_calendar(live_server, page_for):
    base = live_server.url
    track = TrackFactory(
        slug="recsys", name_zh="推荐系统", name_en="RecSys", weekday=5,
        local_time=datetime.time(20, 30), colour="#d97706",
    )  # fmt: skip
    topic = TopicFactory(title="LightGCN 图推荐", track=track, status=TopicStatus.READY)
    UserFactory(email="olivia@example.org", role=Role.ORGANISER)
    UserFactory(email="ann@example.org", role=Role.AUDIENCE, display_name="Ann")

    # The organiser schedules the ready topic in its second free slot (English).
    organiser = page_for("en-US")
    _log_in(organiser, base, "olivia@example.org")
    organiser.goto(base + "/sessions/schedule/")
    organiser.locator(f"[data-action=schedule-{topic.pk}]").click()
    organiser.locator("input[name=slot]").nth(1).check()
    organiser.select_option("select[name=meeting_provider]", value="tencent")
    organiser.fill("input[name=meeting_url]", "https://meeting.tencent.com/dm/lightgcn")
    organiser.get_by_role("button", name="Schedule").click()
    expect(organiser.locator(".message.success")).to_have_text("Scheduled.")
    session = WeeklySession.objects.get(topic=topic)

    # It shows on the Chinese schedule, and Ann RSVPs.
    ann = page_for("zh-CN")
    _log_in(ann, base, "ann@example.org")
    ann.get_by_role("link", name="分享日程").click()
    expect(ann.locator(f"[data-session='{session.pk}']")).to_contain_text("LightGCN 图推荐")
    screenshot(ann, "sessions-zh")
    ann.locator(f"[data-session='{session.pk}'] h3 a").click()
    expect(ann.locator("[data-role=meeting-link]")).to_have_text(
        "https://meeting.tencent.com/dm/lightgcn"
    )
    ann.locator("[data-action=rsvp]").click()
    expect(ann.locator("[data-action=unrsvp]")).to_be_visible()
    screenshot(ann, "session-detail-zh")

    # Her personal calendar (from her profile) has the session with the meeting link.
    ann.locator("[data-nav=profile]").click()
    feed_url = ann.locator("[data-role=calendar-url]").input_value()
    with urllib.request.urlopen(feed_url, timeout=10) as response:  # noqa: S310 — live_server
        calendar = icalendar.Calendar.from_ical(response.read())
    events = [event for event in calendar.walk("VEVENT")]
    assert [str(event["SUMMARY"]).startswith("LightGCN 图推荐") for event in events] == [True]
    assert events[0]["DTSTART"].dt == session.start
    assert "meeting.tencent.com/dm/lightgcn" in str(events[0]["LOCATION"])
