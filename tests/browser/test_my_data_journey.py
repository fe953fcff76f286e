"""A member on a phone (390 px, WeChat's browser), in both languages: downloads their data
from the profile (a zip with data.json), then asks to delete the account with the password,
opens the e-mailed link, confirms once more and is signed out with the account gone."""

import io
import json
import re
import zipfile

import pytest
from playwright.sync_api import expect

from members.models import User
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
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("locale", LOCALES)
def test_a_member_downloads_their_data_and_deletes_the_account(
    live_server, page_for, locale, mailoutbox
):
    UserFactory(role=Role.ORGANISER)  # the forum keeps an organiser
    me = UserFactory(email="me@example.org", display_name="Wang Fang", role=Role.MEMBER)
    base = live_server.url
    page = page_for(locale, viewport=PHONE, user_agent=WECHAT)
    log_in(page, base, "me@example.org")

    page.goto(f"{base}/profile/")
    card = page.locator("[data-role=my-data]")
    card.scroll_into_view_if_needed()
    assert card.locator("[data-action=download-my-data]").bounding_box()["height"] >= 44
    with page.expect_download() as download_info:
        card.locator("[data-action=download-my-data]").click()
    download = download_info.value
    assert download.suggested_filename.startswith("topicshare-my-data-")
    with zipfile.ZipFile(io.BytesIO(open(download.path(), "rb").read())) as archive:
        data = json.loads(archive.read("data.json"))
    assert (data["account"], data["profile"]["email"]) == (me.pk, "me@example.org")
    assert_no_sideways_scroll(page)

    card.locator("a[data-action=delete-account]").click()
    form = page.locator("[data-role=account-delete-form]")
    expect(page.locator("[data-role=kept]")).to_be_visible()
    form.locator("input[name=password]").fill(PASSWORD)
    assert_no_sideways_scroll(page)
    screenshot(page, f"account-delete-{lang(locale)}-390")
    for target in form.locator(".button").all():
        assert target.bounding_box()["height"] >= 44
    form.locator("[data-action=request-deletion]").click()
    expect(page.locator(".message.success")).to_be_visible()
    expect(page.locator("[data-role=pending]")).to_be_visible()
    assert [mail.to for mail in mailoutbox] == [["me@example.org"]]
    link = re.search(r"https?://\S+/profile/delete/\S+/", mailoutbox[0].body).group(0)

    page.goto(link)
    confirm = page.locator("[data-action=delete-account]")
    assert confirm.bounding_box()["height"] >= 44
    assert_no_sideways_scroll(page)
    confirm.click()
    expect(page.locator("[data-role=deleted]")).to_be_visible()
    assert_no_sideways_scroll(page)

    me.refresh_from_db()
    assert me.deleted_at is not None
    assert me.email != "me@example.org" and me.is_active is False
    assert [mail.to for mail in mailoutbox] == [["me@example.org"], ["me@example.org"]]
    page.goto(f"{base}/me/")
    assert "/accounts/login/" in page.url  # signed out
    assert not User.objects.filter(email="me@example.org").exists()
