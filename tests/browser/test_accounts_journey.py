import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from members.models import User
from members.roles import Role
from tests.browser.conftest import screenshot
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_newcomer_signs_up_confirms_and_edits_profile_in_chinese(live_server, page_for):
    page = page_for("zh-CN")
    page.goto(live_server.url + "/")
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    screenshot(page, "home-first-visit-zh")

    page.get_by_role("link", name="注册", exact=True).click()
    page.fill("input[name=email]", "xiaoming@example.org")
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    screenshot(page, "signup-zh")
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(re.compile(r"/accounts/confirm-email/$"))

    assert User.objects.get(email="xiaoming@example.org").role == Role.AUDIENCE
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[-1].body).group(0)
    page.goto(link)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(live_server.url + "/")

    page.locator("[data-nav=profile]").click()
    page.fill("input[name=display_name]", "小明")
    page.get_by_role("button", name="保存", exact=True).click()
    expect(page.locator(".message.success")).to_have_text("个人资料已保存。")
    expect(page.locator("[data-nav=profile]")).to_contain_text("小明")


def test_visitor_switches_to_english_and_organiser_reaches_admin(live_server, page_for):
    UserFactory(email="olivia@example.org", role=Role.ORGANISER)
    page = page_for("zh-CN")
    page.goto(live_server.url + "/join/")
    screenshot(page, "join-zh")

    page.get_by_role("button", name="English").click()
    page.wait_for_url(live_server.url + "/join/")

    assert page.locator("html").get_attribute("lang") == "en"
    expect(page.get_by_role("heading", name="Join the forum")).to_be_visible()
    page.get_by_role("link", name="Log in").click()
    page.fill("input[name=login]", "olivia@example.org")
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(live_server.url + "/")
    page.locator("[data-nav=admin]").click()
    page.wait_for_url(live_server.url + "/admin/")
    expect(page.get_by_role("link", name="Forum settings")).to_be_visible()
    screenshot(page, "admin-en")
