"""Re-authentication by a mailed code (allauth 65.22+): what each visitor may do there.

The permission matrix checks the GETs (anonymous → login; signed in → the form, or back to it
from the confirm page). Here the POSTs: a code goes only to the caller's own verified address,
a wrong code does not count, the right one re-authenticates only the session that asked."""

import pytest
from allauth.account.internal.flows.reauthenticate_by_code import (
    REAUTHENTICATION_CODE_SESSION_KEY,
)
from django.test import Client
from django.urls import reverse

from tests.factories import UserFactory

REQUEST = "account_request_reauthentication_code"
CONFIRM = "account_confirm_reauthentication_code"


def _reauthenticated_by_code(client) -> bool:
    methods = client.session.get("account_authentication_methods", [])
    return any(m.get("method") == "code" and m.get("reauthenticated") for m in methods)


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_the_login_and_no_code_is_mailed(client, mailoutbox):
    UserFactory(email="someone@example.org")
    for name in (REQUEST, CONFIRM):
        response = client.post(reverse(name), {"recipient": "someone@example.org", "code": "X"})

        assert response.status_code == 302
        assert response.url.startswith(reverse("account_login"))
    assert mailoutbox == []


@pytest.mark.django_db
def test_a_code_goes_only_to_the_callers_own_verified_address(client, mailoutbox, member):
    other = UserFactory(email="other@example.org")
    unverified = "second@example.org"
    member.emailaddress_set.create(email=unverified, verified=False)
    client.force_login(member)

    for foreign in (other.email, unverified, "nobody@example.org"):
        refused = client.post(reverse(REQUEST), {"recipient": foreign})
        assert refused.status_code == 200  # the form again, with its error
        assert refused.context["form"].errors["recipient"]
    assert mailoutbox == []

    sent = client.post(reverse(REQUEST), {"recipient": member.email})

    assert sent.status_code == 302
    assert sent.url == reverse(CONFIRM)
    assert [mail.to for mail in mailoutbox] == [[member.email]]
    assert client.session[REAUTHENTICATION_CODE_SESSION_KEY]["code"] in mailoutbox[0].body


@pytest.mark.django_db
def test_a_wrong_code_does_not_reauthenticate_the_right_one_does(client, mailoutbox, member):
    client.force_login(member)
    client.post(reverse(REQUEST), {"recipient": member.email})
    code = client.session[REAUTHENTICATION_CODE_SESSION_KEY]["code"]

    wrong = client.post(reverse(CONFIRM), {"code": "WRONG1"})

    assert wrong.status_code == 200
    assert wrong.context["form"].errors["code"]
    assert not _reauthenticated_by_code(client)

    right = client.post(reverse(CONFIRM), {"code": code})

    assert right.status_code == 302
    assert _reauthenticated_by_code(client)
    assert REAUTHENTICATION_CODE_SESSION_KEY not in client.session  # used once


@pytest.mark.django_db
def test_a_pending_code_belongs_to_the_session_that_asked(client, mailoutbox, member):
    client.force_login(member)
    client.post(reverse(REQUEST), {"recipient": member.email})
    code = client.session[REAUTHENTICATION_CODE_SESSION_KEY]["code"]

    other_session = Client()
    other_session.force_login(UserFactory())
    response = other_session.post(reverse(CONFIRM), {"code": code})

    assert response.status_code == 302
    assert response.url == reverse(REQUEST)  # no pending code there: ask for one first
    assert not _reauthenticated_by_code(other_session)


@pytest.mark.django_db
def test_the_pages_speak_the_visitors_language(client, member):
    client.force_login(member)

    chinese = client.get(reverse(REQUEST), HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert chinese.status_code == 200
    assert member.email in chinese.content.decode()
