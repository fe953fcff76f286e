"""Admission by committee vote, in Chinese and in English: an audience member applies at
/join/apply/, the committee votes in the admin, the vote is closed and the applicant is a
member."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from members.admission import vote_cast
from members.models import Application, User, Vote
from members.roles import Role
from tests.browser.conftest import LOCALES, lang, log_in, nav, screenshot, scroll_to
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

TEXT = {
    "zh": {
        "join": "加入",
        "heading": "申请加入学习群",
        "send": "提交申请",
        "sent": "申请已提交，审核组会尽快联系你。",
        "submitted": "已提交",
        "approved": "已通过",
        "you_are": "你当前的身份：成员。",
        "member": "成员",
        "vote_final": "你的投票已记录，且为最终投票，现在可以看到其他人的投票。",
        "feedback": "讲得很清楚，欢迎加入！",
    },
    "en": {
        "join": "Join",
        "heading": "Apply to the study group",
        "send": "Send the application",
        "sent": "Your application is in. The committee will get back to you.",
        "submitted": "Submitted",
        "approved": "Approved",
        "you_are": "You are: Member.",
        "member": "Member",
        "vote_final": "Your vote is recorded and final: the others' votes are shown now.",
        "feedback": "A clear talk. Welcome to the group!",
    },
}


@pytest.mark.parametrize("locale", LOCALES)
def test_applicant_is_voted_in_by_the_committee(live_server, page_for, locale):
    base, text = live_server.url, TEXT[lang(locale)]
    UserFactory(email="amy@example.org", role=Role.AUDIENCE, display_name="Amy")
    chair = UserFactory(email="chair@example.org", role=Role.COMMITTEE, display_name="Chair")
    others = [UserFactory(role=Role.COMMITTEE) for _ in range(2)]

    # The applicant applies at /join/apply/, with slides.
    amy = page_for(locale)
    log_in(amy, base, "amy@example.org")
    nav(amy, text["join"]).click()
    amy.locator("[data-action=apply]").click()
    amy.wait_for_url(base + "/join/apply/")
    expect(amy.get_by_role("heading", name=text["heading"])).to_be_visible()
    amy.fill("textarea[name=motivation]", "我每周都读 NLP 论文，想在学习群里分享 Transformer。")
    amy.fill("input[name=paper_title]", "Attention Is All You Need")
    amy.fill("input[name=paper_url]", "https://arxiv.org/abs/1706.03762")
    amy.set_input_files(
        "input[name=slides]", {"name": "幻灯片.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    screenshot(amy, f"join-apply-{lang(locale)}")
    amy.get_by_role("button", name=text["send"]).click()
    expect(amy.locator(".message.success")).to_have_text(text["sent"])
    expect(amy.locator("[data-role=application-status]")).to_have_text(text["submitted"])
    application = Application.objects.get()

    # A committee member schedules the review talk and votes in the admin.
    admin = page_for(locale)
    log_in(admin, base, "chair@example.org")
    admin.locator("[data-nav=admin]").click()
    admin.goto(base + "/admin/members/application/")
    admin.get_by_role("link", name="Amy").click()
    admin.fill("input[name=review_at_0]", "2030-01-05")
    admin.fill("input[name=review_at_1]", "20:30:00")
    admin.fill("input[name=review_meeting_url]", "https://meeting.tencent.com/dm/review")
    admin.locator("input[name=_continue]").click()
    expect(admin.locator("[data-role=ballot-secret]")).to_be_visible()
    # The vote is part of the page's one form: the main save button saves it.
    admin.locator("input[name=vote_choice][value=approve]").check()
    admin.fill("textarea[name=vote_comment]", "Asked about positional encodings; good answers.")
    admin.locator("input[name=vote_final]").check()
    admin.locator("input[name=_continue]").click()
    expect(admin.locator(".messagelist")).to_contain_text(text["vote_final"])
    expect(admin.locator("ul.votes")).to_contain_text("Chair")
    for member in others:
        vote_cast(application=application, voter=member, choice="approve")
    # The review talk has taken place: now the vote may close.
    Application.objects.filter(pk=application.pk).update(
        review_at=timezone.now() - datetime.timedelta(hours=1)
    )
    admin.reload()
    admin.fill("textarea[name=feedback]", text["feedback"])
    scroll_to(admin.locator("#ballot"))
    screenshot(admin, f"admission-admin-{lang(locale)}")
    admin.locator("input[name=_close]").click()
    expect(admin.locator("#close-form textarea[name=feedback]")).to_have_value(text["feedback"])
    admin.locator("#close-form input[name=_close]").click()
    expect(admin.locator(".messagelist")).to_contain_text(text["approved"])

    # The applicant is now a member, and never saw the votes.
    amy.goto(base + "/join/status/")
    expect(amy.locator("[data-role=application-status]")).to_have_text(text["approved"])
    expect(amy.get_by_text(text["you_are"])).to_be_visible()
    expect(amy.locator("[data-nav=profile]")).to_contain_text(text["member"])
    assert "positional encodings" not in amy.content()
    expect(amy.get_by_text(text["feedback"])).to_be_visible()
    assert Vote.objects.filter(application=application, voter=chair).get().choice == "approve"
    assert User.objects.get(email="amy@example.org").role == Role.MEMBER
    screenshot(amy, f"admission-status-{lang(locale)}")
