"""Account enumeration: sign-up, password reset and login answer the same whether an address
has an account or not. Only the owner of the address learns the difference, by mail."""

import re

import pytest
from django.contrib.auth.hashers import check_password
from django.test import Client
from django.urls import reverse

from members.models import User
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

KNOWN = "known@example.org"
UNKNOWN = "nobody@example.org"
_CSRF = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]*"')


def _answer(path: str, data: dict, address: str) -> tuple:
    """What a prober sees: the status, where it is sent, and the page it lands on (with the
    address they typed taken out)."""
    client = Client()
    response = client.post(path, data)
    landing = client.get(response.url) if response.status_code == 302 else response
    return (
        response.status_code,
        response.get("Location"),
        landing.status_code,
        _CSRF.sub(b"", landing.content).replace(address.encode(), b"<address>"),
    )


def test_signup_with_a_known_address_answers_like_a_new_one_and_mails_the_owner(mailoutbox):
    owner = UserFactory(email=KNOWN)
    data = {"password1": "A-new-pass-2027", "password2": "A-new-pass-2027"}

    fresh = "fresh@example.org"
    known = _answer(reverse("account_signup"), {**data, "email": KNOWN}, KNOWN)
    unknown = _answer(reverse("account_signup"), {**data, "email": fresh}, fresh)

    assert known[:2] == (302, reverse("account_email_verification_sent"))
    assert known == unknown
    assert User.objects.filter(email=KNOWN).count() == 1
    owner.refresh_from_db()
    assert check_password(PASSWORD, owner.password)  # the prober's password did nothing
    mails = {mail.to[0]: mail for mail in mailoutbox}
    assert set(mails) == {KNOWN, fresh}
    assert "/accounts/password/reset/" in mails[KNOWN].body  # "you already have an account"
    assert "/accounts/confirm-email/" not in mails[KNOWN].body


def test_password_reset_for_an_unknown_address_answers_like_a_known_one(mailoutbox):
    UserFactory(email=KNOWN)

    known = _answer(reverse("account_reset_password"), {"email": KNOWN}, KNOWN)
    unknown = _answer(reverse("account_reset_password"), {"email": UNKNOWN}, UNKNOWN)

    assert known[:2] == (302, reverse("account_reset_password_done"))
    assert known == unknown
    mails = {mail.to[0]: mail for mail in mailoutbox}
    assert set(mails) == {KNOWN, UNKNOWN}
    assert "/accounts/password/reset/key/" in mails[KNOWN].body
    assert "/accounts/password/reset/key/" not in mails[UNKNOWN].body


def test_login_with_an_unknown_address_answers_like_a_wrong_password():
    UserFactory(email=KNOWN)

    wrong = {"password": "wrong-password"}
    known = _answer(reverse("account_login"), {**wrong, "login": KNOWN}, KNOWN)
    unknown = _answer(reverse("account_login"), {**wrong, "login": UNKNOWN}, UNKNOWN)

    assert known[0] == 200
    assert b"<address>" in known[3]  # the form shows what was typed, for both alike
    assert known == unknown
