"""At 390 px in WeChat: a committee member votes on /committee/ and closes the vote through
its confirmation; an organiser's confirmation dialog refuses to act when dismissed."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from members.admission import application_schedule_review, application_submit, vote_cast
from members.models import AdmissionSettings, Application, Vote
from members.roles import Role
from sessions.models import SessionStatus, Topic, TopicStatus, WeeklySession
from tests.browser.conftest import (
    LOCALES,
    PHONE,
    VIEWPORT,
    WECHAT,
    assert_no_sideways_scroll,
    docs_shot,
    lang,
    log_in,
)
from tests.factories import TopicFactory, TrackFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
MENU = {"zh": "审核组", "en": "Committee"}


def _phone(page_for, locale):
    return page_for(locale, viewport=PHONE, user_agent=WECHAT, is_mobile=True, has_touch=True)


def _open_application():
    applicant = UserFactory(role=Role.AUDIENCE, display_name="Amy Zhang")
    application = application_submit(
        applicant=applicant,
        motivation="I read NLP papers every week and want to present.",
        paper_title="Attention Is All You Need",
        paper_url="https://arxiv.org/abs/1706.03762",
    )
    now = timezone.now()
    application_schedule_review(
        application=application,
        by=UserFactory(role=Role.COMMITTEE),
        review_at=now - datetime.timedelta(hours=1),
        meeting_url="https://meeting.tencent.com/dm/review",
        now=now - datetime.timedelta(hours=2),
    )
    settings = AdmissionSettings.load()
    settings.quorum = 2
    settings.save()
    vote_cast(application=application, voter=UserFactory(role=Role.COMMITTEE), choice="approve")
    return application


@pytest.mark.parametrize("locale", LOCALES)
def test_a_committee_member_votes_and_closes_on_a_phone(live_server, page_for, locale):
    base = live_server.url
    application = _open_application()
    UserFactory(email="chair@example.org", role=Role.COMMITTEE, display_name="Chair")
    page = _phone(page_for, locale)
    log_in(page, base, "chair@example.org")

    page.locator(".nav-toggle").click()
    page.locator(".site-nav").get_by_role("link", name=MENU[lang(locale)], exact=True).click()
    page.wait_for_url(base + "/committee/")
    card = page.locator("[data-role=to-vote] [data-application]")
    expect(card).to_have_count(1)
    assert_no_sideways_scroll(page)
    card.locator("[data-action=open-application]").click()

    expect(page.locator("[data-role=review-at] time")).to_be_visible()
    expect(page.locator("[data-role=votes-hidden]")).to_be_visible()
    page.locator("label.choice").first.click()  # approve
    page.fill("textarea[name=comment]", "Clear talk, good answers.")
    page.locator("input[name=final]").check()
    assert_no_sideways_scroll(page)
    page.evaluate("window.scrollTo(0, 0)")
    docs_shot(page, f"committee-{lang(locale)}-390", full_page=False)
    if lang(locale) == "zh":  # the second width
        page.set_viewport_size(VIEWPORT)
        assert_no_sideways_scroll(page)
        docs_shot(page, "committee-zh-1280", full_page=False)
        page.set_viewport_size(PHONE)
    page.locator("[data-action=vote]").click()

    expect(page.locator("[data-role=tally]")).to_be_visible()
    vote = Vote.objects.get(application=application, voter__email="chair@example.org")
    assert (vote.choice, vote.final_at is not None) == ("approve", True)

    # Close: the dialog says what will happen and who is told; confirming decides.
    page.fill("textarea[name=feedback]", "Welcome to the group.")
    page.locator("[data-action=close]").click()
    dialog = page.locator("dialog.confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Amy Zhang")
    dialog.locator("[data-role=confirm]").click()
    expect(page.locator("[data-role=application-status]")).to_have_class("badge status-approved")
    assert Application.objects.get(pk=application.pk).status == "approved"


@pytest.mark.parametrize("locale", LOCALES)
def test_a_dismissed_confirmation_changes_nothing(live_server, page_for, locale):
    base = live_server.url
    track = TrackFactory(slug="nlp")
    topic = TopicFactory(track=track, status=TopicStatus.PROPOSED, title="图神经网络综述")
    scheduled = TopicFactory(track=track, status=TopicStatus.SCHEDULED)
    session = WeeklySession.objects.create(
        topic=scheduled, track=track, start=timezone.now() + datetime.timedelta(days=3)
    )
    UserFactory(email="org@example.org", role=Role.ORGANISER)
    page = _phone(page_for, locale)
    log_in(page, base, "org@example.org")

    page.goto(f"{base}/topics/{topic.pk}/")
    page.fill("textarea[name=reason]", "Not for this forum")
    page.locator("[data-transition=rejected]").click()
    dialog = page.locator("dialog.confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Not for this forum")
    assert_no_sideways_scroll(page)
    if lang(locale) == "zh":
        docs_shot(page, "confirm-zh-390", full_page=False)
    dialog.locator("[data-role=dismiss]").click()
    expect(dialog).to_have_count(0)
    assert Topic.objects.get(pk=topic.pk).status == TopicStatus.PROPOSED

    # Escape closes it too; a session's cancel asks the same way.
    page.goto(f"{base}/sessions/{session.pk}/manage/")
    page.fill("textarea[name=cancel-reason]", "Presenter is ill")
    page.locator("[data-action=cancel]").click()
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    assert WeeklySession.objects.get(pk=session.pk).status == SessionStatus.SCHEDULED

    # Confirming does it.
    page.locator("[data-action=cancel]").click()
    dialog.locator("[data-role=confirm]").click()
    page.wait_for_url(f"{base}/sessions/{session.pk}/")
    assert WeeklySession.objects.get(pk=session.pk).status == SessionStatus.CANCELLED
