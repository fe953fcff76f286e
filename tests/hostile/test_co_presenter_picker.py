"""The co-presenter picker: no list of every account, a bounded search among verified
members that shows no e-mail address, and nobody listed as a presenter without saying yes.

The form on /topics/new/ used to be a <select> of every active account (unverified ones
too), shown to any signed-in audience member: the forum's whole membership, to anyone who
signs up."""

import pytest
from allauth.account.models import EmailAddress
from django.urls import reverse

from members.placeholders import placeholder_for
from members.roles import Role
from sessions.models import CoPresenterInvitation, Topic, TopicStatus
from sessions.topics.services import co_presenters_want
from tests.factories import TopicFactory, TrackFactory, UserFactory
from tests.html_forms import html_forms
from topicshare.notifications.models import Notification, NotificationKind

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    """Accounts whose names start with 王: only the first is a verified member."""
    return {
        "member": UserFactory(role=Role.MEMBER, display_name="王小明", email="xm@example.org"),
        "unverified": UserFactory(role=Role.MEMBER, display_name="王小红", verified=False),
        "audience": UserFactory(role=Role.AUDIENCE, display_name="王小刚"),
        "inactive": UserFactory(role=Role.MEMBER, display_name="王小华", is_active=False),
        "placeholder": placeholder_for(name="王小丽"),
    }


def _search(client, query: str):
    return client.get(reverse("members:search"), {"q": query})


def _labels(response) -> list[str]:
    return [result["label"] for result in response.json()["results"]]


def test_the_topic_form_lists_nobody(client, people):
    client.force_login(UserFactory(role=Role.AUDIENCE))

    page = client.get(reverse("topics:new")).content.decode()

    for person in people.values():
        assert person.display_name not in page
        assert person.email not in page
    assert '<select name="co_presenters"' not in page


def test_search_needs_a_signed_in_person(client, people):
    response = _search(client, "王")

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_search_finds_only_verified_active_members(client, people):
    client.force_login(UserFactory(role=Role.AUDIENCE))

    response = _search(client, "王")

    assert response.status_code == 200
    assert _labels(response) == [f"王小明 (#{people['member'].pk})"]
    assert response["Cache-Control"] == "private, no-store"


def test_search_shows_no_email_address_even_when_matching_one(client, people):
    hidden = UserFactory(role=Role.MEMBER, display_name="", email="quiet.person@example.org")
    client.force_login(UserFactory(role=Role.AUDIENCE))

    by_address = _search(client, "quiet.p")
    too_short = _search(client, "qu")
    by_name = _search(client, "xm")  # the member's address starts with "xm"

    assert _labels(by_address) == [f"— (#{hidden.pk})"]
    assert "quiet" not in by_address.content.decode()
    assert "@" not in by_address.content.decode()
    assert _labels(too_short) == []
    assert _labels(by_name) == []  # two characters: no address prefix search


def test_search_is_bounded(client):
    for n in range(15):
        UserFactory(role=Role.MEMBER, display_name=f"李{n:02d}")
    client.force_login(UserFactory(role=Role.AUDIENCE))

    answers = [_search(client, "李"), _search(client, "李" * 10_000), _search(client, "")]

    assert [response.status_code for response in answers] == [200, 200, 200]
    assert len(_labels(answers[0])) == 10
    assert _labels(answers[1]) == _labels(answers[2]) == []


def _propose(client, proposer, co_presenters: str):
    client.force_login(proposer)
    return client.post(
        reverse("topics:new"),
        {
            "title": "Sentence-BERT",
            "track": TrackFactory(slug="nlp").pk,
            "summary": "Why it matters.",
            "paper_links": "https://arxiv.org/abs/1908.10084",
            "capacity": "6",
            "co_presenters": co_presenters,
        },
    )


@pytest.mark.parametrize("line", ["王小明", "XM@example.org", "王小明 (#{pk})", "#{pk}"])
def test_a_co_presenter_is_invited_not_listed(client, people, line):
    invitee = people["member"]
    proposer = UserFactory(role=Role.AUDIENCE)

    response = _propose(client, proposer, line.format(pk=invitee.pk))

    topic = Topic.objects.get()
    assert response.status_code == 302
    assert list(topic.co_presenters.all()) == []
    invitation = CoPresenterInvitation.objects.get(topic=topic)
    assert (invitation.invitee, invitation.status) == (invitee, "pending")
    client.logout()
    for url in (reverse("topics:detail", args=[topic.pk]), reverse("topics:sheet")):
        assert "王小明" not in client.get(url).content.decode()
    # The invitee is told (once), with the page where they answer.
    notice = Notification.objects.get(kind=NotificationKind.CO_PRESENTER_INVITED)
    assert notice.recipient == invitee
    assert reverse("topics:detail", args=[topic.pk]) in notice.body_text
    co_presenters_want(topic=topic, by=proposer, people=[invitee])  # asked again: no new notice
    assert Notification.objects.filter(recipient=invitee).count() == 1


@pytest.mark.parametrize("who", ["unverified", "audience", "inactive", "placeholder"])
def test_only_verified_members_can_be_invited(client, people, who):
    person = people[who]

    response = _propose(client, UserFactory(role=Role.MEMBER), f"{person.display_name}")
    by_number = _propose(client, UserFactory(role=Role.MEMBER), f"x (#{person.pk})")

    assert response.status_code == by_number.status_code == 200
    assert "co_presenters" in response.context["form"].errors
    assert "co_presenters" in by_number.context["form"].errors
    assert Topic.objects.count() == 0


def test_an_ambiguous_name_asks_for_the_search(client, people):
    UserFactory(role=Role.MEMBER, display_name="王小明")

    response = _propose(client, UserFactory(role=Role.MEMBER), "王小明")

    assert response.status_code == 200
    assert "Several members" in str(response.context["form"].errors["co_presenters"]) or (
        "多位成员" in str(response.context["form"].errors["co_presenters"])
    )


def _invited(people, status=TopicStatus.PROPOSED):
    topic = TopicFactory(status=status)
    invitation = CoPresenterInvitation.objects.create(
        topic=topic, invitee=people["member"], invited_by=topic.proposer
    )
    return topic, invitation


def _buttons(response) -> set[str]:
    return {
        button.get("data-action", "")
        for form in html_forms(response.content)
        for button in form.buttons
    }


def test_the_invited_person_accepts_and_is_listed(client, people):
    topic, invitation = _invited(people)
    client.force_login(people["member"])

    profile = client.get(reverse("profile"))
    page = client.get(reverse("topics:detail", args=[topic.pk]))
    response = client.post(
        reverse("topics:invitation", args=[invitation.pk]), {"answer": "accept"}, follow=True
    )
    again = client.post(
        reverse("topics:invitation", args=[invitation.pk]), {"answer": "accept"}, follow=True
    )

    assert {"accept-invitation", "decline-invitation"} <= _buttons(profile)
    assert {"accept-invitation", "decline-invitation"} <= _buttons(page)
    assert [m.level_tag for m in response.context["messages"]] == ["success"]
    assert list(topic.co_presenters.all()) == [people["member"]]
    assert [m.level_tag for m in again.context["messages"]] == ["error"]
    assert "accept-invitation" not in _buttons(again)
    client.logout()
    assert "王小明" in client.get(reverse("topics:detail", args=[topic.pk])).content.decode()


def test_a_declined_invitation_lists_nobody_and_cannot_be_repeated(client, people):
    topic, invitation = _invited(people)
    client.force_login(people["member"])
    client.post(reverse("topics:invitation", args=[invitation.pk]), {"answer": "decline"})
    client.force_login(topic.proposer)
    url = reverse("topics:edit", args=[topic.pk])
    (form,) = [form for form in html_forms(client.get(url).content) if "title" in form.data()]
    data = form.data()

    data["co_presenters"] = [f"王小明 (#{people['member'].pk})"]
    response = client.post(url, data)

    assert list(topic.co_presenters.all()) == []
    assert response.status_code == 200
    assert "co_presenters" in response.context["form"].errors
    invitation.refresh_from_db()
    assert invitation.status == "declined"


def test_nobody_else_answers_an_invitation(client, people):
    topic, invitation = _invited(people)
    for person in (topic.proposer, UserFactory(role=Role.ORGANISER), people["audience"]):
        client.force_login(person)

        response = client.post(
            reverse("topics:invitation", args=[invitation.pk]), {"answer": "accept"}
        )

        assert response.status_code == 404
    invitation.refresh_from_db()
    assert invitation.status == "pending"
    assert list(topic.co_presenters.all()) == []


def test_an_invitation_to_a_scheduled_topic_cannot_be_answered(client, people):
    topic, invitation = _invited(people, status=TopicStatus.SCHEDULED)
    client.force_login(people["member"])

    page = client.get(reverse("topics:detail", args=[topic.pk]))
    response = client.post(
        reverse("topics:invitation", args=[invitation.pk]), {"answer": "accept"}, follow=True
    )

    assert "accept-invitation" not in _buttons(page)
    assert [m.level_tag for m in response.context["messages"]] == ["error"]
    assert list(topic.co_presenters.all()) == []


def test_the_edit_form_round_trips_co_presenters_and_invitations(client, people):
    topic, invitation = _invited(people)
    colleague = UserFactory(role=Role.MEMBER, display_name="李雷")
    topic.co_presenters.add(colleague)
    client.force_login(topic.proposer)
    url = reverse("topics:edit", args=[topic.pk])

    (form,) = [form for form in html_forms(client.get(url).content) if "title" in form.data()]
    response = client.post(url, form.data())

    assert form.data()["co_presenters"] == [
        f"李雷 (#{colleague.pk})\n王小明 (#{people['member'].pk})"
    ]
    assert response.status_code == 302
    assert list(topic.co_presenters.all()) == [colleague]
    invitation.refresh_from_db()
    assert invitation.status == "pending"


def test_removing_an_invitee_withdraws_the_invitation(client, people):
    topic, invitation = _invited(people)
    client.force_login(topic.proposer)
    url = reverse("topics:edit", args=[topic.pk])
    (form,) = [form for form in html_forms(client.get(url).content) if "title" in form.data()]
    data = form.data()
    data["co_presenters"] = [""]

    client.post(url, data)

    assert not CoPresenterInvitation.objects.filter(pk=invitation.pk).exists()


def test_unverified_address_does_not_make_a_member_findable(client, people):
    EmailAddress.objects.filter(user=people["member"]).update(verified=False)
    client.force_login(UserFactory(role=Role.AUDIENCE))

    assert _labels(_search(client, "王")) == []
