import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from members.roles import Role
from sessions.models import Task, Topic, TopicStatus
from tests.browser.conftest import screenshot
from tests.factories import PASSWORD, TrackFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _log_in(page, base_url: str, email: str) -> None:
    page.goto(base_url + "/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(base_url + "/")


def test_topic_from_sign_up_to_ready(live_server, page_for):
    base = live_server.url
    TrackFactory(slug="nlp", name_zh="自然语言处理", name_en="NLP")
    UserFactory(email="olivia@example.org", role=Role.ORGANISER)
    UserFactory(email="pat@example.org", role=Role.AUDIENCE, display_name="Pat")

    # A newcomer signs up (Chinese) and proposes a topic.
    proposer = page_for("zh-CN")
    proposer.goto(base + "/accounts/signup/")
    proposer.fill("input[name=email]", "newbie@example.org")
    proposer.fill("input[name=password1]", PASSWORD)
    proposer.fill("input[name=password2]", PASSWORD)
    proposer.locator("form button[type=submit]").last.click()
    proposer.wait_for_url(re.compile(r"/accounts/confirm-email/$"))
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[-1].body).group(0)
    proposer.goto(link)
    proposer.locator("form button[type=submit]").last.click()
    proposer.wait_for_url(base + "/")
    proposer.get_by_role("link", name="Topic 发起表").click()
    proposer.get_by_role("link", name="发起 Topic").click()
    proposer.fill("input[name=title]", "Sentence-BERT 文本匹配")
    proposer.select_option("select[name=track]", label="自然语言处理")
    proposer.fill("textarea[name=summary]", "## 动机\n\n孪生网络做**句向量**")
    proposer.fill("textarea[name=paper_links]", "https://arxiv.org/abs/1908.10084")
    proposer.get_by_role("button", name="预览").click()
    expect(proposer.locator(".preview strong")).to_have_text("句向量")
    proposer.get_by_role("button", name="发起", exact=True).click()
    expect(proposer.locator(".message.success")).to_be_visible()
    topic = Topic.objects.get(title="Sentence-BERT 文本匹配")
    screenshot(proposer, "topic-detail-zh")

    # The organiser accepts it and opens recruiting in the admin (English).
    organiser = page_for("en-US")
    _log_in(organiser, base, "olivia@example.org")
    organiser.goto(base + "/admin/topic_sessions/topic/")
    organiser.locator(f"input[name=_selected_action][value='{topic.pk}']").check()
    organiser.select_option("select[name=action]", value="make_accepted")
    organiser.get_by_role("button", name="Go").click()
    expect(organiser.locator(".messagelist")).to_contain_text("Accept")
    organiser.locator(f"input[name=_selected_action][value='{topic.pk}']").check()
    organiser.select_option("select[name=action]", value="make_recruiting")
    organiser.get_by_role("button", name="Go").click()
    expect(organiser.locator(".messagelist")).to_contain_text("Start recruiting")
    topic.refresh_from_db()
    assert topic.status == TopicStatus.RECRUITING

    # Another user joins the group.
    pat = page_for("en-US")
    _log_in(pat, base, "pat@example.org")
    pat.goto(base + f"/topics/{topic.pk}/")
    pat.locator("[data-action=join]").click()
    pat.wait_for_url(base + f"/topics/{topic.pk}/group/")
    expect(pat.locator(".message.success")).to_have_text("You joined the group.")

    # The proposer assigns a task to Pat, ticks the checklist and says it is ready.
    proposer.goto(base + f"/topics/{topic.pk}/group/")
    proposer.fill("form.task-new input[name=title]", "复现模型代码")
    proposer.select_option("form.task-new select[name=assignee]", label="Pat")
    proposer.get_by_role("button", name="添加任务").click()
    expect(proposer.locator(".column[data-column=todo] .task")).to_contain_text("Pat")
    for name in ["check_intro", "check_methods", "check_code", "check_survey", "check_opinion"]:
        proposer.check(f"input[name={name}]")
    proposer.get_by_role("button", name="保存", exact=True).click()
    screenshot(proposer, "topic-group-zh")
    # Organisers close recruiting once the group is set; then the proposer says 准备 OK.
    organiser.goto(base + f"/topics/{topic.pk}/")
    organiser.locator("[data-transition=preparing]").click()
    expect(organiser.locator(".message.success")).to_be_visible()
    proposer.goto(base + f"/topics/{topic.pk}/")
    proposer.locator("[data-transition=ready]").click()
    expect(proposer.locator(".badge.status-ready")).to_be_visible()

    topic.refresh_from_db()
    assert topic.status == TopicStatus.READY
    assert Task.objects.get(topic=topic).assignee.email == "pat@example.org"
    assert [t.to_status for t in topic.transitions.all()] == [
        "proposed", "accepted", "recruiting", "preparing", "ready"
    ]  # fmt: skip
