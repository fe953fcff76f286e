"""The language cookie: Secure in production, HttpOnly and SameSite=Lax everywhere, set with
the same attributes by the language switch and by the profile form."""

import json

import pytest
from django.test import override_settings
from django.urls import reverse

from members.roles import Role
from tests.factories import UserFactory
from tests.topicshare.test_settings import DUMMY_SECRET, _run_production


def test_production_sets_the_language_cookie_secure_httponly_and_lax():
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.LANGUAGE_COOKIE_SECURE, s.LANGUAGE_COOKIE_HTTPONLY, "
        "s.LANGUAGE_COOKIE_SAMESITE]))"
    )
    result = _run_production(["-c", code], secret=DUMMY_SECRET)

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [True, True, "Lax"]


def _attributes(cookie) -> tuple:
    return bool(cookie["secure"]), bool(cookie["httponly"]), cookie["samesite"]


@pytest.mark.django_db
@override_settings(LANGUAGE_COOKIE_SECURE=True)
def test_the_language_switch_sets_the_cookie_from_the_settings(client):
    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})

    assert response.status_code == 302
    cookie = response.cookies["django_language"]
    assert cookie.value == "en"
    assert _attributes(cookie) == (True, True, "Lax")


@pytest.mark.django_db
@override_settings(LANGUAGE_COOKIE_SECURE=True)
def test_saving_the_profile_sets_the_cookie_with_the_same_attributes(client):
    user = UserFactory(role=Role.MEMBER, display_name="王小明")
    client.force_login(user)

    response = client.post(
        reverse("profile"), {"display_name": "王小明", "preferred_language": "en"}
    )

    assert response.status_code == 302
    cookie = response.cookies["django_language"]
    assert cookie.value == "en"
    assert _attributes(cookie) == (True, True, "Lax")
    assert cookie["max-age"] == 365 * 24 * 3600
