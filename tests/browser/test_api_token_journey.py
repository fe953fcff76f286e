"""A member on a phone (390 px, WeChat's browser), in both languages: makes a personal API
token on the profile page, sees it once (with a copy button), reloads and no longer sees it,
then revokes it after the confirmation dialog."""

import pytest
from playwright.sync_api import expect

from members.api_tokens import api_token_authenticate
from members.models import ApiToken
from members.roles import Role
from tests.browser.conftest import (
    LOCALES,
    PHONE,
    WECHAT,
    assert_no_sideways_scroll,
    lang,
    log_in,
    screenshot,
)
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# The Chinese texts come with the next catalogue merge (/tmp/helper-tokens.json): until
# then both languages are checked by the parts of the page, the English texts in English.
TEXT = {"en": {"card": "API tokens", "read": "Read", "once": "you won't see it again"}}


@pytest.mark.parametrize("locale", LOCALES)
def test_a_member_makes_sees_once_and_revokes_an_api_token(live_server, page_for, locale):
    text = TEXT.get(lang(locale))
    UserFactory(email="me@example.org", role=Role.MEMBER)
    base = live_server.url
    page = page_for(locale, viewport=PHONE, user_agent=WECHAT)
    log_in(page, base, "me@example.org")

    page.goto(f"{base}/profile/")
    card = page.locator("[data-role=api-tokens]")
    if text:
        expect(card.locator("h2")).to_have_text(text["card"])
    card.locator("input[name=name]").fill("Reading list")
    card.locator("select[name=scope]").select_option("read")
    card.locator("[data-action=create-token]").click()

    shown = page.locator("[data-role=api-token-shown]")
    expect(shown).to_be_visible()
    if text:
        expect(shown).to_contain_text(text["once"])
    raw = page.locator("#api-token-new").input_value()
    token = ApiToken.objects.get()
    assert api_token_authenticate(raw) == token
    assert_no_sideways_scroll(page)
    shown.scroll_into_view_if_needed()
    screenshot(page, f"api-token-created-{lang(locale)}")
    for target in card.locator("button").all():
        assert target.bounding_box()["height"] >= 44

    page.goto(f"{base}/profile/")
    expect(page.locator("[data-role=api-token-shown]")).to_have_count(0)
    assert raw not in page.content()
    row = page.locator(f"[data-token='{token.pk}']")
    expect(row).to_contain_text(f"tsk_{token.prefix}…")
    if text:
        expect(row).to_contain_text(text["read"])

    row.locator("button[type=submit]").click()
    dialog = page.locator("dialog.confirm-dialog")
    expect(dialog).to_be_visible()
    dialog.locator("[data-role=confirm]").click()
    expect(page.locator(".message.success")).to_be_visible()
    expect(page.locator(f"[data-token='{token.pk}']")).to_have_count(0)
    assert api_token_authenticate(raw) is None
    assert_no_sideways_scroll(page)
