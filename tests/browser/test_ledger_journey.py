"""The end of a season, in Chinese and in English: the organiser opens the dashboard and the
season review, and moves a flagged member back to the audience."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from members.models import AuditEvent, User
from members.roles import Role
from sessions.models import RSVP, Season, TopicStatus
from sessions.topics.slots import track_slots
from sessions.weekly.scheduling import attendance_record, session_schedule, sessions_advance
from tests.browser.conftest import HTML_LANG, LOCALES, lang, log_in, screenshot
from tests.factories import TopicFactory, TrackFactory, UserFactory
from topicshare.notifications.models import Notification, NotificationKind

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXT = {
    "zh": {
        "dashboard": "看板",
        "charts": ["每场出席人数", "各方向 Topic 状态", "从旁听到成员", "各方向分享人数"],
        "review": "赛季考核：Topic 7",
        "flagged": "已标记",
        "active": "活跃",
        "removed": "已移回旁听",
        "moved": "已移回旁听并通知：周静。",
    },
    "en": {
        "dashboard": "Dashboard",
        "charts": [
            "Attendance per session",
            "Topics per track and status",
            "From audience to members",
            "Presenters per track",
        ],  # fmt: skip
        "review": "Season review: Topic 7",
        "flagged": "Flagged",
        "active": "Active",
        "removed": "Moved to the audience",
        "moved": "Moved to the audience and notified: 周静.",
    },
}
PRESENTERS = ["林一", "王小明", "陈洁", "赵磊", "孙悦"]


def _season_with_five_sessions(organiser):
    """Topic 7 started eight weeks ago and ended yesterday; five weekly sessions were held."""
    now = timezone.now()
    nlp = TrackFactory(
        slug="nlp", name_zh="自然语言处理", name_en="NLP", weekday=5,
        local_time=datetime.time(20, 30), colour="#2563eb",
    )  # fmt: skip
    season = Season.objects.create(
        label="Topic 7", order=7, is_current=True,
        start_date=(now - datetime.timedelta(weeks=8)).date(),
        end_date=(now - datetime.timedelta(days=1)).date(),  # ended: removals are final
    )  # fmt: skip
    TopicFactory(title="LoRA 低秩微调", track=nlp, season=season, status=TopicStatus.RECRUITING)
    sessions = []
    starts = track_slots(track=nlp, after=now - datetime.timedelta(weeks=6), weeks=5)
    for name, start in zip(PRESENTERS, starts, strict=True):
        presenter = UserFactory(role=Role.MEMBER, display_name=name)
        topic = TopicFactory(
            title=f"{name} 的分享", track=nlp, season=season, proposer=presenter,
            status=TopicStatus.READY,
        )  # fmt: skip
        sessions.append(
            session_schedule(
                topic=topic, start=start, by=organiser, now=start - datetime.timedelta(days=7)
            )
        )
    sessions_advance(now=now)
    return season, sessions


@pytest.mark.parametrize("locale", LOCALES)
def test_organiser_reviews_the_season_and_moves_a_flagged_member(live_server, page_for, locale):
    base, text = live_server.url, TEXT[lang(locale)]
    organiser = UserFactory(email="olivia@example.org", role=Role.ORGANISER, display_name="Olivia")
    season, sessions = _season_with_five_sessions(organiser)
    busy = UserFactory(role=Role.MEMBER, display_name="李娜")
    quiet = UserFactory(role=Role.MEMBER, display_name="周静", email="quiet@example.org")
    rarely = UserFactory(role=Role.COMMITTEE, display_name="吴迪")
    for index, session in enumerate(sessions):
        attendees = [busy, *session.topic.co_presenters.all(), session.topic.proposer]
        attendance_record(
            session=session, users=attendees + ([rarely] if index == 0 else []), by=organiser
        )
        RSVP.objects.create(session=session, user=busy)
        if index % 2:
            RSVP.objects.create(session=session, user=quiet)
    # Everyone was a member before the season began: nobody is in the newcomers' grace.
    AuditEvent.objects.filter(action=AuditEvent.Action.ROLE_CHANGED).update(
        at=timezone.now() - datetime.timedelta(weeks=20)
    )

    page = page_for(locale)
    log_in(page, base, "olivia@example.org")
    assert page.locator("html").get_attribute("lang") == HTML_LANG[locale]

    # The dashboard: the current season's charts, titled in the page's language.
    dashboard = page.locator("[data-nav=dashboard]")
    expect(dashboard).to_have_text(text["dashboard"])
    dashboard.click()
    page.wait_for_url(base + "/staff/dashboard/")
    expect(page.locator(".chart h2")).to_have_text(text["charts"])
    expect(page.locator(".chart > svg")).to_have_count(4)
    # The legends' colour dots stay dots (a chart rule once stretched them to the card's width).
    swatches = page.locator(".chart .legend svg.swatch")
    assert swatches.count() >= 2
    for swatch in swatches.all():
        box = swatch.bounding_box()
        assert box and box["width"] <= 20 and box["height"] <= 20, box
    screenshot(page, f"dashboard-{lang(locale)}")

    # The season review: flagged members first.
    page.locator("[data-action=season-review]").click()
    page.wait_for_url(base + f"/staff/seasons/{season.pk}/review/")
    expect(page.get_by_role("heading", name=text["review"])).to_be_visible()
    quiet_row = page.locator(f"tr[data-member='{quiet.pk}']")
    expect(quiet_row).to_have_attribute("data-status", "flagged")
    expect(quiet_row.locator(".badge")).to_have_text(text["flagged"])
    expect(page.locator(f"tr[data-member='{busy.pk}'] .badge")).to_have_text(text["active"])
    expect(page.locator("tr[data-status=flagged]")).to_have_count(2)
    screenshot(page, f"season-review-{lang(locale)}")

    page.locator(f"[data-action=remove-{quiet.pk}]").click()
    page.locator("dialog.confirm-dialog [data-role=confirm]").click()  # it asks once
    expect(page.locator(".message.success")).to_have_text(text["moved"])
    expect(quiet_row).to_have_attribute("data-status", "removed")
    expect(quiet_row.locator(".badge")).to_have_text(text["removed"])
    expect(page.locator(f"tr[data-member='{rarely.pk}']")).to_have_attribute(
        "data-status", "flagged"
    )
    screenshot(page, f"season-review-after-{lang(locale)}")

    assert User.objects.get(pk=quiet.pk).role == Role.AUDIENCE
    assert User.objects.get(pk=rarely.pk).role == Role.COMMITTEE
    assert Notification.objects.filter(
        kind=NotificationKind.MEMBERSHIP_ENDED, recipient=quiet
    ).exists()
