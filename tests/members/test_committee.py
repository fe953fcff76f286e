"""/committee/: voting outside the admin, under the same rules as the admin (members.rules):
who may see the page, never one's own application, the secret ballot's tally, and a close
that asks once before it decides."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from members.admission import application_schedule_review, application_submit, vote_cast
from members.models import AdmissionSettings, Application, Vote
from members.roles import Role
from members.services import role_set
from tests.factories import UserFactory
from topicshare.core.pagecache import bump_data_version

pytestmark = pytest.mark.django_db


def _apply(applicant=None, paper="Attention Is All You Need"):
    return application_submit(
        applicant=applicant or UserFactory(role=Role.AUDIENCE),
        motivation="I read NLP papers every week and want to present.",
        paper_title=paper,
        paper_url="https://arxiv.org/abs/1706.03762",
    )


def _talk(application, *, hours=1):
    """A review talk `hours` from now; a negative number puts it in the past."""
    now = timezone.now()
    at = now + datetime.timedelta(hours=hours)
    application_schedule_review(
        application=application,
        by=UserFactory(role=Role.COMMITTEE),
        review_at=at,
        now=min(now, at - datetime.timedelta(minutes=1)),
    )
    return Application.objects.get(pk=application.pk)


@pytest.mark.parametrize("role", [Role.AUDIENCE, Role.MEMBER])
def test_committee_pages_refuse_whoever_is_not_on_the_committee(client, role):
    application = _apply()
    client.force_login(UserFactory(role=role))

    index = client.get(reverse("members:committee"))
    page = client.get(reverse("members:committee-application", args=[application.pk]))
    vote = client.post(
        reverse("members:committee-application", args=[application.pk]), {"choice": "approve"}
    )

    assert (index.status_code, page.status_code, vote.status_code) == (403, 403, 403)
    assert Vote.objects.count() == 0


def test_an_applicant_on_the_committee_never_sees_their_own_application(client):
    applicant = UserFactory(role=Role.AUDIENCE, display_name="Own Applicant")
    own = _apply(applicant, paper="My own paper")
    other = _apply(paper="Someone else's paper")
    role_set(user=applicant, role=Role.COMMITTEE, by=None)  # promoted while it is open
    client.force_login(applicant)

    index = client.get(reverse("members:committee")).content.decode()
    page = client.get(reverse("members:committee-application", args=[own.pk]))
    vote = client.post(
        reverse("members:committee-application", args=[own.pk]), {"choice": "approve"}
    )

    assert "My own paper" not in index and "Someone else&#x27;s paper" in index
    assert (page.status_code, vote.status_code) == (403, 403)
    assert not Vote.objects.filter(application=own).exists()
    assert other.is_open


def test_a_committee_member_votes_and_sees_the_tally_only_once_the_vote_is_final(client):
    application = _talk(_apply())
    vote_cast(application=application, voter=UserFactory(role=Role.COMMITTEE), choice="reject")
    voter = UserFactory(role=Role.COMMITTEE)
    client.force_login(voter)
    url = reverse("members:committee-application", args=[application.pk])

    before = client.get(url).content.decode()
    client.post(url, {"choice": "approve", "comment": "Clear talk"})
    not_final = client.get(url).content.decode()
    client.post(url, {"choice": "approve", "comment": "Clear talk", "final": "on"})
    final = client.get(url).content.decode()

    assert 'data-role="tally"' not in before and 'data-role="tally"' not in not_final
    assert 'data-role="tally"' in final
    vote = Vote.objects.get(application=application, voter=voter)
    assert (vote.choice, vote.comment, vote.final_at is not None) == ("approve", "Clear talk", True)
    assert 'data-role="vote-refusal"' in final  # a final vote cannot change: no form


def test_with_votes_revealed_after_the_close_nobody_sees_the_tally_before(client):
    settings = AdmissionSettings.load()
    settings.reveal_votes = AdmissionSettings.Reveal.AFTER_CLOSE
    settings.save()
    application = _talk(_apply())
    organiser = UserFactory(role=Role.ORGANISER)
    vote_cast(application=application, voter=organiser, choice="approve")
    client.force_login(organiser)

    page = client.get(reverse("members:committee-application", args=[application.pk]))
    index = client.get(reverse("members:committee"))

    assert 'data-role="tally"' not in page.content.decode()
    assert 'name="final"' not in page.content.decode()
    assert 'data-role="tally"' not in index.content.decode()


def _closable():
    """An application after its review talk with a quorum of approvals."""
    application = _talk(_apply(), hours=-1)
    settings = AdmissionSettings.load()
    settings.quorum = 2
    settings.save()
    for _n in range(2):
        vote_cast(application=application, voter=UserFactory(role=Role.COMMITTEE), choice="approve")
    return application


def test_closing_without_confirm_changes_nothing_and_says_what_will_happen(client):
    application = _closable()
    client.force_login(UserFactory(role=Role.COMMITTEE, display_name="Chair"))
    url = reverse("members:committee-close", args=[application.pk])

    response = client.post(url, {"feedback": "Welcome to the group."})

    application.refresh_from_db()
    page = response.content.decode()
    assert response.status_code == 200
    assert application.is_open and application.feedback == ""
    assert 'data-role="confirmation"' in page
    assert application.applicant.name in page  # who will be told
    assert 'name="confirm" value="1"' in page
    assert 'value="Welcome to the group."' in page  # carried into the confirming form


def test_closing_with_confirm_decides_and_tells_the_applicant(client):
    application = _closable()
    client.force_login(UserFactory(role=Role.COMMITTEE))

    response = client.post(
        reverse("members:committee-close", args=[application.pk]),
        {"feedback": "Welcome to the group.", "confirm": "1"},
    )

    application.refresh_from_db()
    assert response.status_code == 302
    assert (application.status, application.feedback) == ("approved", "Welcome to the group.")
    assert application.applicant.has_role(Role.MEMBER)


def test_the_close_button_is_not_offered_before_the_review_talk(client):
    application = _talk(_apply())
    client.force_login(UserFactory(role=Role.COMMITTEE))

    page = client.get(reverse("members:committee-application", args=[application.pk]))
    refused = client.post(
        reverse("members:committee-close", args=[application.pk]),
        {"feedback": "Too early", "confirm": "1"},
    )

    assert 'data-action="close"' not in page.content.decode()
    assert 'data-role="close-refusal"' in page.content.decode()
    assert refused.status_code == 200
    assert Application.objects.get(pk=application.pk).is_open


@pytest.mark.parametrize("rows", [1, 6])
def test_the_committee_list_reads_a_fixed_number_of_queries(
    client, django_assert_num_queries, rows
):
    voter = UserFactory(role=Role.COMMITTEE)
    for n in range(rows):
        application = _apply(paper=f"Paper {n}")
        vote_cast(application=application, voter=voter, choice="approve", final=True)
        _apply(paper=f"Unvoted {n}")
    client.force_login(voter)
    client.get(reverse("members:committee"))  # warm the session and the settings
    bump_data_version()  # so that the page is rendered, not served as stored for this person

    with django_assert_num_queries(QUERIES):
        response = client.get(reverse("members:committee"))

    assert response.status_code == 200
    assert response.content.decode().count("data-application=") == 2 * rows


# User (the session is in the cache), roles and permissions, the version, the settings, the
# two lists and per list its own votes, conflicts, visible tallies and quorums: the same for
# one row and for many.
QUERIES = 10
