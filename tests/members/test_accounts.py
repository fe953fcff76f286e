import re

import pytest
from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import translation

from members.models import User
from members.roles import Role
from tests.factories import PASSWORD, UserFactory

SIGNUP = {"email": "newcomer@example.org", "password1": PASSWORD, "password2": PASSWORD}


def _confirmation_link(mail) -> str:
    match = re.search(r"https?://[^/\s]+(/accounts/confirm-email/[^\s]+/)", mail.body)
    assert match, mail.body
    return match.group(1)


@pytest.mark.django_db
def test_roles_exist_as_groups_after_migration():
    names = set(Group.objects.values_list("name", flat=True))

    assert {"Audience", "Member", "Committee", "Organiser"} <= names


@pytest.mark.django_db
def test_signup_verify_confirm_then_login(client, mailoutbox):
    response = client.post(reverse("account_signup"), SIGNUP)

    assert response.status_code == 302
    assert response.url == reverse("account_email_verification_sent")
    user = User.objects.get(email="newcomer@example.org")
    assert user.role == Role.AUDIENCE
    assert list(user.groups.values_list("name", flat=True)) == ["Audience"]
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["newcomer@example.org"]

    link = _confirmation_link(mailoutbox[0])
    assert client.get(link).status_code == 200
    confirmed = client.post(link)

    assert confirmed.status_code == 302
    assert EmailAddress.objects.get(email="newcomer@example.org").verified is True
    client.logout()
    login = client.post(
        reverse("account_login"), {"login": "newcomer@example.org", "password": PASSWORD}
    )
    assert login.status_code == 302
    assert client.get(reverse("profile")).status_code == 200


@pytest.mark.django_db
def test_login_wrong_password_shows_error_on_page(client):
    UserFactory(email="someone@example.org")

    response = client.post(
        reverse("account_login"), {"login": "someone@example.org", "password": "wrong-one"}
    )

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert response.context["form"].errors["__all__"]


@pytest.mark.django_db
def test_login_unverified_address_is_sent_to_verification(client, mailoutbox):
    UserFactory(email="unverified@example.org", verified=False)

    response = client.post(
        reverse("account_login"), {"login": "unverified@example.org", "password": PASSWORD}
    )

    assert response.status_code == 302
    assert response.url == reverse("account_email_verification_sent")
    assert "_auth_user_id" not in client.session
    assert [m.to for m in mailoutbox] == [["unverified@example.org"]]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"email": "not-an-address", "password1": PASSWORD, "password2": PASSWORD}, "email"),
        ({"email": "new@example.org", "password1": "12345", "password2": "12345"}, "password1"),
        (
            {"email": "new@example.org", "password1": "password", "password2": "password"},
            "password1",
        ),
        (
            {"email": "new@example.org", "password1": PASSWORD, "password2": PASSWORD + "x"},
            "password2",
        ),
    ],
    ids=["invalid-email", "short-password", "common-password", "mismatch"],
)
def test_signup_bad_input_shows_form_error(client, data, field):
    # An address already in use is not an error on the form: tests/hostile/test_enumeration.py
    response = client.post(reverse("account_signup"), data)

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert User.objects.filter(email=data["email"]).exists() is False


@pytest.mark.django_db
def test_repeated_failed_logins_hit_rate_limit(client):
    UserFactory(email="target@example.org")
    credentials = {"login": "target@example.org", "password": "wrong"}
    with translation.override("zh-hans"):  # the language the login page speaks by default
        wrong = str(DefaultAccountAdapter.error_messages["email_password_mismatch"])
        limited = str(DefaultAccountAdapter.error_messages["too_many_login_attempts"])

    errors = [
        client.post(reverse("account_login"), credentials).context["form"].errors["__all__"]
        for _ in range(7)
    ]

    # Five failures per address in five minutes are allowed; after that allauth refuses.
    assert errors[:5] == [[wrong]] * 5
    assert errors[5:] == [[limited]] * 2
    # Even the right password is refused while the limit holds.
    right = client.post(reverse("account_login"), {**credentials, "password": PASSWORD})
    assert right.status_code == 200
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_password_reset_sends_mail(client, mailoutbox):
    UserFactory(email="forgetful@example.org")

    response = client.post(reverse("account_reset_password"), {"email": "forgetful@example.org"})

    assert response.status_code == 302
    assert len(mailoutbox) == 1
    assert "/accounts/password/reset/key/" in mailoutbox[0].body


@pytest.mark.django_db
def test_confirming_the_email_signs_you_in(client, mailoutbox, settings):
    assert settings.ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION is True
    client.post(reverse("account_signup"), SIGNUP)
    assert client.get(reverse("profile")).status_code == 302  # not signed in yet

    confirmed = client.post(_confirmation_link(mailoutbox[0]))

    user = User.objects.get(email="newcomer@example.org")
    assert confirmed.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)
    assert client.get(reverse("profile")).status_code == 200
