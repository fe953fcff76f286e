import pytest
from playwright.sync_api import expect

from members.admission import vote_cast
from members.models import Application, Vote
from members.roles import Role
from tests.browser.conftest import screenshot
from tests.browser.test_topic_journey import _log_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_applicant_is_voted_in_by_the_committee(live_server, page_for):
    base = live_server.url
    UserFactory(email="amy@example.org", role=Role.AUDIENCE, display_name="Amy")
    chair = UserFactory(email="chair@example.org", role=Role.COMMITTEE, display_name="Chair")
    others = [UserFactory(role=Role.COMMITTEE) for _ in range(2)]

    # The applicant applies in Chinese, with slides.
    amy = page_for("zh-CN")
    _log_in(amy, base, "amy@example.org")
    amy.goto(base + "/join/")
    amy.locator("[data-action=apply]").click()
    amy.fill("textarea[name=motivation]", "我每周都读 NLP 论文，想在学习群里分享 Transformer。")
    amy.fill("input[name=paper_title]", "Attention Is All You Need")
    amy.fill("input[name=paper_url]", "https://arxiv.org/abs/1706.03762")
    amy.set_input_files(
        "input[name=slides]", {"name": "幻灯片.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    amy.get_by_role("button", name="提交申请").click()
    expect(amy.locator("[data-role=application-status]")).to_have_text("已提交")
    application = Application.objects.get()

    # The committee schedules the review talk and votes in the admin (English).
    admin = page_for("en-US")
    _log_in(admin, base, "chair@example.org")
    admin.goto(base + "/admin/members/application/")
    admin.get_by_role("link", name="Amy").click()
    admin.fill("input[name=review_at_0]", "2030-01-05")
    admin.fill("input[name=review_at_1]", "20:30:00")
    admin.fill("input[name=review_meeting_url]", "https://meeting.tencent.com/dm/review")
    admin.locator("input[name=_continue]").click()
    expect(admin.locator("[data-role=ballot-secret]")).to_be_visible()
    admin.locator("#vote-form input[value=approve]").check()
    admin.fill(
        "#vote-form textarea[name=comment]", "Asked about positional encodings; good answers."
    )
    admin.locator("#vote-form input[name=cast_vote]").click()
    expect(admin.locator("ul.votes")).to_contain_text("Chair")
    for member in others:
        vote_cast(application=application, voter=member, choice="approve")
    admin.reload()
    screenshot(admin, "admission-admin-en")
    admin.locator("#close-form input[name=close_vote]").click()
    expect(admin.locator(".messagelist")).to_contain_text("Approved")

    # The applicant is now a member, and never saw the votes.
    amy.goto(base + "/join/status/")
    expect(amy.locator("[data-role=application-status]")).to_have_text("已通过")
    expect(amy.locator("[data-nav=profile]")).to_contain_text("成员")
    assert "positional encodings" not in amy.content()
    assert Vote.objects.filter(application=application, voter=chair).get().choice == "approve"
    screenshot(amy, "admission-status-zh")
