"""A member's week on /me/, on a phone (390 px, WeChat): RSVP a session, take a task of her
group (我来) and finish it (完成)."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from members.roles import Role
from sessions.models import RSVP, Participation, Task, TopicStatus
from sessions.topics.services import checklist_tasks_create
from sessions.weekly.scheduling import free_slots, session_schedule
from tests.browser.conftest import (
    LOCALES,
    PHONE,
    WECHAT,
    assert_no_sideways_scroll,
    docs_shot,
    lang,
    log_in,
    screenshot,
)
from tests.factories import TopicFactory, TrackFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXT = {
    "zh": {
        "claim": "我来",
        "finish": "完成",
        "rsvp": "我会参加（报名）",
        "claimed": "这个任务归你了。",
        "finished": "任务完成，谢谢你！",
        "going": "你已报名",
    },  # fmt: skip
    "en": {
        "claim": "I'll do it",
        "finish": "Done",
        "rsvp": "I'll be there (RSVP)",
        "claimed": "The task is yours.",
        "finished": "Task done. Thank you!",
        "going": "You are going",
    },  # fmt: skip
}


@pytest.mark.parametrize("locale", LOCALES)
def test_a_members_week_on_me(live_server, page_for, locale):
    base, text = live_server.url, TEXT[lang(locale)]
    track = TrackFactory(slug="nlp", name_zh="自然语言处理", name_en="NLP", colour="#2563eb")
    organiser = UserFactory(role=Role.ORGANISER)
    talk = TopicFactory(
        title="LightGCN 图推荐", track=track, status=TopicStatus.READY,
        proposer=UserFactory(role=Role.MEMBER, display_name="林一"),
    )  # fmt: skip
    session = session_schedule(
        topic=talk, start=free_slots(track=track, now=timezone.now())[0], by=organiser,
        meeting_provider="tencent", meeting_url="https://meeting.tencent.com/dm/lightgcn",
    )  # fmt: skip
    group = TopicFactory(
        title="Sentence-BERT 文本匹配", track=track, status=TopicStatus.PREPARING,
        proposer=UserFactory(role=Role.MEMBER, display_name="王小明"),
    )  # fmt: skip
    ann = UserFactory(email="ann@example.org", role=Role.MEMBER, display_name="Ann")
    Participation.objects.create(topic=group, user=ann, role=Participation.Role.PARTICIPANT)
    checklist_tasks_create(topic=group)
    code = Task.objects.get(topic=group, checklist_item="check_code")

    page = page_for(locale, user_agent=WECHAT, has_touch=True)
    page.set_viewport_size(PHONE)
    log_in(page, base, "ann@example.org")
    page.locator("[data-action=me]").click()
    page.wait_for_url(base + "/me/")
    expect(page.locator("[data-empty=sessions]")).to_be_visible()
    assert_no_sideways_scroll(page)

    # Monday: she RSVPs to Saturday's session, and /me/ shows it with the meeting link.
    page.locator("[data-section=sessions] a.button").click()
    page.locator(f"[data-session='{session.pk}'] h3 a").click()
    page.get_by_role("button", name=text["rsvp"]).click()
    page.goto(base + "/me/")
    item = page.locator(f"[data-section=sessions] [data-session='{session.pk}']")
    expect(item.locator("[data-why=rsvped]")).to_have_text(text["going"])
    expect(item.locator("[data-role=meeting-link]")).to_have_text(
        "https://meeting.tencent.com/dm/lightgcn"
    )
    assert RSVP.objects.filter(session=session, user=ann).exists()

    # Tuesday: she takes the code of her group's checklist (我来) on the group page.
    page.locator(f"[data-group='{group.pk}'] h3 a").click()
    card = page.locator(f"#task-{code.pk}")
    card.get_by_role("button", name=text["claim"]).click()
    expect(page.locator(".message.success")).to_have_text(text["claimed"])
    expect(page.locator(f".column[data-column=doing] #task-{code.pk}")).to_contain_text("Ann")
    assert_no_sideways_scroll(page)
    screenshot(page, f"me-group-{lang(locale)}-390")

    # Friday: /me/ lists it as hers; one tap on 完成 finishes it and ticks the checklist.
    page.goto(base + "/me/")
    mine = page.locator(f"[data-task='{code.pk}']")
    expect(mine).to_be_visible()
    assert_no_sideways_scroll(page)
    docs_shot(page, f"me-{lang(locale)}-390")
    mine.get_by_role("button", name=text["finish"]).click()
    page.wait_for_url(base + "/me/")
    expect(page.locator(".message.success")).to_have_text(text["finished"])
    expect(page.locator(f"[data-task='{code.pk}']")).to_have_count(0)
    code.refresh_from_db()
    group.refresh_from_db()
    assert (code.status, code.assignee, group.check_code) == (Task.Status.DONE, ann, True)

    if lang(locale) == "zh":
        page.set_viewport_size({"width": 1280, "height": 800})
        page.goto(base + "/me/")
        docs_shot(page, "me-zh-1280")
