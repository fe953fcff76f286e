"""The topic sheet in the browser, in Chinese and in English: a newcomer proposes a topic, an
organiser takes it from accepted to a slot, and a participant joins its group and takes a task."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from members.roles import Role
from sessions.models import Task, Topic, TopicStatus, WeeklySession
from sessions.topics.services import (
    task_create,
    task_update,
    topic_propose,
    topic_transition,
    topic_update,
)
from tests.browser.conftest import HTML_LANG, LOCALES, lang, log_in, nav, screenshot, scroll_to
from tests.factories import PASSWORD, TopicFactory, TrackFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TEXT = {
    "zh": {
        "topics": "Topic 发起表",
        "propose": "发起 Topic",
        "preview": "预览",
        "submit": "发起",
        "proposed": "你的 Topic 已加入发起表，组织者会尽快审核。",
        # The status of a new topic, like 已接受 / 已排期 (not the sort option 发起时间).
        "status_proposed": "已发起",
        "track": "自然语言处理",
        "accepted": "Topic 现在是“已接受”。",
        "recruiting": "Topic 现在是“招募中”。",
        "preparing": "Topic 现在是“准备中”。",
        "ready": "Topic 现在是“准备 OK”。",
        "save": "保存",
        "saved": "已保存。",
        "sessions": "分享日程",
        "schedule_topics": "安排 Topic",
        "schedule": "排期",
        "scheduled": "已排期。",
        "joined": "你已加入小组。",
        "update": "更新",
        "task_updated": "任务已更新。",
    },
    "en": {
        "topics": "Topics",
        "propose": "Propose a topic",
        "preview": "Preview",
        "submit": "Propose",
        "proposed": "Your topic is on the sheet. An organiser will review it.",
        "status_proposed": "Proposed",
        "track": "NLP",
        "accepted": "The topic is now “Accepted”.",
        "recruiting": "The topic is now “Recruiting”.",
        "preparing": "The topic is now “Preparing”.",
        "ready": "The topic is now “Ready”.",
        "save": "Save",
        "saved": "Saved.",
        "sessions": "Sessions",
        "schedule_topics": "Schedule topics",
        "schedule": "Schedule",
        "scheduled": "Scheduled.",
        "joined": "You joined the group.",
        "update": "Update",
        "task_updated": "Task updated.",
    },
}
CHECKLIST = ["check_intro", "check_methods", "check_code", "check_survey", "check_opinion"]


def _nlp():
    return TrackFactory(slug="nlp", name_zh="自然语言处理", name_en="NLP", colour="#2563eb")


def _sheet_neighbours(track) -> None:
    """A few other rows, so that the sheet looks like a sheet."""
    cv = TrackFactory(slug="cv", name_zh="计算机视觉", name_en="Computer vision", colour="#d97706")
    for title, topic_track, status in [
        ("LoRA 低秩微调", track, TopicStatus.RECRUITING),
        ("ViT：图像也是 16×16 的词", cv, TopicStatus.READY),
        ("知识蒸馏综述", track, TopicStatus.ACCEPTED),
    ]:
        TopicFactory(title=title, track=topic_track, status=status)


@pytest.mark.parametrize("locale", LOCALES)
def test_newcomer_signs_up_and_proposes_a_topic(live_server, page_for, locale):
    base, text = live_server.url, TEXT[lang(locale)]
    _sheet_neighbours(_nlp())

    page = page_for(locale)
    page.goto(base + "/")
    assert page.locator("html").get_attribute("lang") == HTML_LANG[locale]
    page.locator("[data-nav=signup]").click()
    page.fill("input[name=email]", "newbie@example.org")
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(re.compile(r"/accounts/confirm-email/$"))
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[-1].body).group(0)
    page.goto(link)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(base + "/")

    nav(page, text["topics"]).click()
    page.get_by_role("link", name=text["propose"]).click()
    page.fill("input[name=title]", "Sentence-BERT 文本匹配")
    page.select_option("select[name=track]", label=text["track"])
    page.fill("textarea[name=summary]", "## 动机\n\n孪生网络做**句向量**")
    page.fill("textarea[name=paper_links]", "https://arxiv.org/abs/1908.10084")
    page.get_by_role("button", name=text["preview"]).click()
    expect(page.locator(".preview strong")).to_have_text("句向量")
    page.get_by_role("button", name=text["submit"], exact=True).click()
    expect(page.locator(".message.success")).to_have_text(text["proposed"])
    topic = Topic.objects.get(title="Sentence-BERT 文本匹配")
    assert topic.proposer.email == "newbie@example.org"
    assert topic.status == TopicStatus.PROPOSED
    screenshot(page, f"topic-detail-{lang(locale)}")

    # The new row is on the sheet, with its status in the page's language.
    nav(page, text["topics"]).click()
    row = page.locator("table.sheet tr", has_text="Sentence-BERT 文本匹配")
    expect(row).to_contain_text(text["track"])
    screenshot(page, f"topic-sheet-{lang(locale)}")
    expect(row.locator(".badge.status-proposed")).to_have_text(text["status_proposed"])


@pytest.mark.parametrize("locale", LOCALES)
def test_organiser_accepts_the_topic_and_schedules_it_into_a_slot(live_server, page_for, locale):
    base, text = live_server.url, TEXT[lang(locale)]
    track = _nlp()
    UserFactory(email="olivia@example.org", role=Role.ORGANISER)
    proposer = UserFactory(email="pat@example.org", role=Role.MEMBER, display_name="Pat")
    topic = topic_propose(
        proposer=proposer, track=track, title="Sentence-BERT 文本匹配",
        summary="孪生网络做**句向量**", paper_links=["https://arxiv.org/abs/1908.10084"],
    )  # fmt: skip

    # The organiser accepts it, opens recruiting and later closes the group, on its page.
    organiser = page_for(locale)
    log_in(organiser, base, "olivia@example.org")
    nav(organiser, text["topics"]).click()
    organiser.get_by_role("link", name="Sentence-BERT 文本匹配").click()
    organiser.locator("[data-transition=accepted]").click()
    expect(organiser.locator(".message.success")).to_have_text(text["accepted"])
    organiser.locator("[data-transition=recruiting]").click()
    expect(organiser.locator(".message.success")).to_have_text(text["recruiting"])
    organiser.locator("[data-transition=preparing]").click()
    expect(organiser.locator(".message.success")).to_have_text(text["preparing"])

    # The proposer ticks the checklist on the group page and says the preparation is done.
    pat = page_for(locale)
    log_in(pat, base, "pat@example.org")
    pat.goto(base + f"/topics/{topic.pk}/group/")
    for name in CHECKLIST:
        pat.check(f"input[name={name}]")
    pat.get_by_role("button", name=text["save"], exact=True).click()
    expect(pat.locator(".message.success")).to_have_text(text["saved"])
    pat.goto(base + f"/topics/{topic.pk}/")
    pat.locator("[data-transition=ready]").click()
    expect(pat.locator(".message.success")).to_have_text(text["ready"])

    # The organiser schedules it into the first free slot.
    nav(organiser, text["sessions"]).click()
    organiser.get_by_role("link", name=text["schedule_topics"]).click()
    organiser.locator(f"[data-action=schedule-{topic.pk}]").click()
    organiser.locator("input[name=slot]").first.check()
    organiser.select_option("select[name=meeting_provider]", value="tencent")
    organiser.fill("input[name=meeting_url]", "https://meeting.tencent.com/dm/sbert")
    organiser.get_by_role("button", name=text["schedule"], exact=True).click()
    expect(organiser.locator(".message.success").first).to_have_text(text["scheduled"])
    session = WeeklySession.objects.get(topic=topic)
    expect(organiser.locator("[data-role=meeting-link]")).to_have_text(
        "https://meeting.tencent.com/dm/sbert"
    )
    nav(organiser, text["sessions"]).click()
    expect(organiser.locator(f"[data-session='{session.pk}']")).to_contain_text(
        "Sentence-BERT 文本匹配"
    )

    topic.refresh_from_db()
    assert topic.status == TopicStatus.SCHEDULED
    assert [t.to_status for t in topic.transitions.all()] == [
        "proposed", "accepted", "recruiting", "preparing", "ready", "scheduled"
    ]  # fmt: skip


@pytest.mark.parametrize("locale", LOCALES)
def test_participant_joins_the_group_and_takes_a_task(live_server, page_for, locale):
    base, text = live_server.url, TEXT[lang(locale)]
    track = _nlp()
    organiser = UserFactory(role=Role.ORGANISER)
    proposer = UserFactory(role=Role.MEMBER, display_name="王小明")
    UserFactory(email="ann@example.org", role=Role.AUDIENCE, display_name="Ann")
    topic = topic_propose(
        proposer=proposer, track=track, title="Sentence-BERT 文本匹配",
        summary="孪生网络做**句向量**", paper_links=["https://arxiv.org/abs/1908.10084"],
    )  # fmt: skip
    for status in [TopicStatus.ACCEPTED, TopicStatus.RECRUITING]:
        topic_transition(topic=topic, to=status, by=organiser)
    topic_update(topic=topic, by=proposer, group_chat_link="https://applink.feishu.cn/sbert")
    task = task_create(topic=topic, by=proposer, title="复现模型代码")
    task_create(topic=topic, by=proposer, title="整理相关工作", assignee=proposer)
    survey = task_create(topic=topic, by=proposer, title="读原论文", assignee=proposer)
    task_update(task=survey, by=proposer, status=Task.Status.DONE)

    page = page_for(locale)
    log_in(page, base, "ann@example.org")
    nav(page, text["topics"]).click()
    page.get_by_role("link", name="Sentence-BERT 文本匹配").click()
    page.locator("[data-action=join]").click()
    page.wait_for_url(base + f"/topics/{topic.pk}/group/")
    expect(page.locator(".message.success")).to_have_text(text["joined"])

    # She takes the unassigned task and starts on it.
    card = page.locator(f"#task-{task.pk}")
    expect(page.locator(".column[data-column=todo]")).to_contain_text("复现模型代码")
    card.locator("details.task-more summary").click()
    card.locator("select[name=assignee]").select_option(label="Ann")
    card.locator("select[name=status]").select_option(value=Task.Status.DOING)
    card.get_by_role("button", name=text["update"]).click()
    expect(page.locator(".message.success")).to_have_text(text["task_updated"])
    doing = page.locator(".column[data-column=doing] .task", has_text="复现模型代码")
    expect(doing).to_contain_text("Ann")
    expect(page.locator("[data-role=chat-link]")).to_have_text("https://applink.feishu.cn/sbert")
    scroll_to(page.locator("section.card", has=page.locator(".board")))
    screenshot(page, f"topic-group-{lang(locale)}")

    task.refresh_from_db()
    assert (task.assignee.email, task.status) == ("ann@example.org", Task.Status.DOING)
