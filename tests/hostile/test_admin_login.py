"""The admin signs in through allauth: /admin/login/ checks no password itself, so it cannot
be used to get around allauth's rate limits (ACCOUNT_RATE_LIMITS["login_failed"]) or to
spend the server's CPU on password hashes."""

from urllib.parse import parse_qs, urlsplit

import pytest
from allauth.account.adapter import DefaultAccountAdapter
from django.contrib.auth.signals import user_login_failed
from django.test import Client
from django.urls import reverse
from django.utils import translation

from members.roles import Role
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def failed_logins():
    """Every password check that failed anywhere (Django's own signal, sent by authenticate())."""
    seen: list[dict] = []

    def receiver(sender, credentials, **kwargs):
        seen.append(credentials)

    user_login_failed.connect(receiver, dispatch_uid="test-admin-login-failed")
    yield seen
    user_login_failed.disconnect(dispatch_uid="test-admin-login-failed")


def _signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def _sent_to_allauth(response) -> str:
    """The `next` of a redirect to allauth's login page (fails if it is not one)."""
    assert response.status_code == 302, response.status_code
    location = urlsplit(response["Location"])
    assert location.path == reverse("account_login")
    return parse_qs(location.query)["next"][0]


def test_admin_login_sends_to_allauth_and_keeps_next():
    client = Client()

    response = client.get(reverse("admin:login"), {"next": "/admin/members/application/?q=x"})

    assert _sent_to_allauth(response) == "/admin/members/application/?q=x"


@pytest.mark.parametrize(
    "next_url",
    ["https://evil.example/admin/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"],
)
def test_admin_login_drops_a_next_that_leaves_the_site(next_url):
    response = Client().get(reverse("admin:login"), {"next": next_url})

    assert _sent_to_allauth(response) == reverse("admin:index")


def test_forty_wrong_passwords_at_admin_login_check_nothing_and_log_nobody_in(failed_logins):
    organiser = UserFactory(role=Role.ORGANISER, email="boss@example.org")
    client = Client()
    url = reverse("admin:login")

    answers = [
        client.post(url, {"username": organiser.email, "password": f"guess-{n}", "next": "/admin/"})
        for n in range(40)
    ]
    right = client.post(url, {"username": organiser.email, "password": PASSWORD})

    # No password is checked at /admin/login/: no hash is computed, no failure counted.
    assert failed_logins == []
    assert [_sent_to_allauth(answer) for answer in answers] == ["/admin/"] * 40
    assert _sent_to_allauth(right) == reverse("admin:index")
    assert not _signed_in(client)
    assert client.get(reverse("admin:index")).status_code == 302


def test_allauth_lockout_holds_for_the_admin_too(failed_logins):
    organiser = UserFactory(role=Role.ORGANISER, email="boss@example.org")
    client = Client()
    wrong = {"login": organiser.email, "password": "wrong"}

    for _ in range(5):
        assert client.post(reverse("account_login"), wrong).status_code == 200
    locked = client.post(reverse("account_login"), {**wrong, "password": PASSWORD})
    via_admin = client.post(
        reverse("admin:login"), {"username": organiser.email, "password": PASSWORD}
    )

    assert locked.status_code == 200
    with translation.override("zh-hans"):  # the language the login page speaks by default
        limited = str(DefaultAccountAdapter.error_messages["too_many_login_attempts"])
    assert locked.context["form"].errors["__all__"] == [limited]
    assert _sent_to_allauth(via_admin) == reverse("admin:index")
    assert not _signed_in(client)
    assert len(failed_logins) == 5  # the five at allauth; the locked-out try checked nothing


def test_committee_signs_in_at_allauth_and_lands_in_the_admin():
    UserFactory(role=Role.COMMITTEE, email="chair@example.org")
    client = Client()

    first = client.get(reverse("admin:index"))
    to_allauth = client.get(first["Location"])
    next_url = _sent_to_allauth(to_allauth)
    signed_in = client.post(
        reverse("account_login"),
        {"login": "chair@example.org", "password": PASSWORD, "next": next_url},
    )

    assert next_url == reverse("admin:index")
    assert signed_in.status_code == 302
    assert signed_in["Location"] == reverse("admin:index")
    assert client.get(reverse("admin:index")).status_code == 200
    # Signed in already: the admin's login page sends staff on, not back to a form.
    assert client.get(reverse("admin:login"), {"next": "/admin/members/"})["Location"] == (
        "/admin/members/"
    )


def test_signed_in_audience_is_refused_at_admin_login_without_a_loop():
    client = Client()
    client.force_login(UserFactory(role=Role.AUDIENCE))

    assert client.get(reverse("admin:login"), {"next": "/admin/"}).status_code == 403
    assert client.post(reverse("admin:login"), {"password": PASSWORD}).status_code == 403


def test_admin_password_and_logout_pages_are_allauths():
    client = Client()
    client.force_login(UserFactory(role=Role.COMMITTEE))

    change = client.get(reverse("admin:password_change"))
    done = client.get(reverse("admin:password_change_done"))
    # The admin's own form asked for the old password with no rate limit; allauth's is limited.
    old_form = client.post(
        reverse("admin:password_change"),
        {"old_password": "guess", "new_password1": "x-Secret-99", "new_password2": "x-Secret-99"},
    )
    logout = client.post(reverse("admin:logout"))

    assert change.status_code == 302
    assert change["Location"] == reverse("account_change_password")
    assert old_form["Location"] == reverse("account_change_password")
    assert done["Location"] == reverse("admin:index")
    assert logout.status_code == 302
    assert not _signed_in(client)
