"""The secret ballot of admission (流入): who may see the committee's votes, and where.

The rule (members.rules.applications_with_visible_votes, permission "members.view_votes"):
nobody ever sees the votes on their own application, nor on one they stepped aside from; a
committee member (organisers too) sees the others' votes once the vote is closed, or — when
the admission settings reveal votes after one's own vote — once their own vote is final.
Making a vote final shows the others' votes; a final vote cannot change (nor be withdrawn by
stepping aside). Every place that shows votes asks that rule: the application page and its
audit block, the audit trail's list, search, filters, detail and history pages."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone, translation

from members.admission import (
    AdmissionError,
    application_close,
    application_schedule_review,
    application_set_feedback,
    application_submit,
    conflict_declare,
    vote_cast,
)
from members.models import AdmissionSettings, AuditEvent, Vote
from members.roles import Role
from members.services import role_set
from tests.factories import UserFactory
from tests.htmlforms import form_with_button

pytestmark = pytest.mark.django_db
VOTE_ACTIONS = {"vote_cast", "vote_changed", "vote_final"}
SECRET = "SECRET-BALLOT-5c1e"


def _apply(applicant):
    return application_submit(
        applicant=applicant,
        motivation="I read NLP papers every week and want to present.",
        paper_title="Attention Is All You Need",
        paper_url="https://arxiv.org/abs/1706.03762",
    )


@pytest.fixture
def ballot():
    """An open application with a review talk in the past and two votes with comments."""
    applicant = UserFactory(role=Role.AUDIENCE, display_name="Applicant")
    voters = [
        UserFactory(role=Role.COMMITTEE, display_name=f"Voter-{name}", email=f"{name}@example.org")
        for name in ("alpha", "beta")
    ]
    application = _apply(applicant)
    now = timezone.now()
    chair = UserFactory(role=Role.COMMITTEE, display_name="Chair")
    application_schedule_review(
        application=application, by=chair, review_at=now + datetime.timedelta(hours=1)
    )
    # The talk has been given (a review talk cannot be scheduled in the past).
    type(application).objects.filter(pk=application.pk).update(
        review_at=now - datetime.timedelta(days=1)
    )
    vote_cast(application=application, voter=voters[0], choice="reject", comment=f"{SECRET}-a")
    vote_cast(application=application, voter=voters[1], choice="approve", comment=f"{SECRET}-b")
    vote_cast(application=application, voter=voters[1], choice="reject", comment=f"{SECRET}-b2")
    application.refresh_from_db()
    return application, applicant, voters


def _audit_rows(client, **query):
    response = client.get(reverse("admin:members_auditevent_changelist"), query)
    assert response.status_code == 200
    return {event.action for event in response.context["cl"].result_list}, response


def _assert_no_votes_on_the_application_page(client, application):
    response = client.get(reverse("admin:members_application_change", args=[application.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert SECRET not in body
    assert "Voter-alpha" not in body and "Voter-beta" not in body
    assert response.context["votes_visible"] is False
    shown = {event.action for event in response.context["audit"] or []}
    assert shown & VOTE_ACTIONS == set()
    return body


def _assert_no_vote_events_in_the_audit_trail(client, application):
    actions, response = _audit_rows(client)
    assert actions & VOTE_ACTIONS == set()
    assert "'choice'" not in response.content.decode()
    for query in ({"q": "alpha@example.org"}, {"q": "Applicant"}, {"action__exact": "vote_cast"},
                  {"action__exact": "vote_changed"}):  # fmt: skip
        actions, _response = _audit_rows(client, **query)
        assert actions & VOTE_ACTIONS == set(), query
    for event in AuditEvent.objects.filter(action__in=VOTE_ACTIONS, application=application):
        for view in ("change", "history"):
            page = client.get(reverse(f"admin:members_auditevent_{view}", args=[event.pk]))
            assert page.status_code != 200, (view, event.action)


def test_applicant_turned_organiser_never_sees_the_votes_on_their_application(client, ballot):
    application, applicant, voters = ballot
    vote_cast(application=application, voter=voters[0], choice="approve", final=True)
    application_set_feedback(application=application, by=voters[0], feedback="Clear talk.")
    closer = UserFactory(role=Role.ORGANISER, display_name="Closer")
    vote_cast(application=application, voter=closer, choice="approve")
    application_close(application=application, by=closer)
    role_set(user=applicant, role=Role.ORGANISER)
    client.force_login(applicant)

    body = _assert_no_votes_on_the_application_page(client, application)
    _assert_no_vote_events_in_the_audit_trail(client, application)
    history = client.get(reverse("admin:members_application_history", args=[application.pk]))
    decision = AuditEvent.objects.get(action="decision", application=application)
    detail = client.get(reverse("admin:members_auditevent_change", args=[decision.pk]))

    assert "Closer" in body  # the page itself is there: who decided, when
    assert SECRET not in history.content.decode()
    assert detail.status_code == 200
    # The decision's tally would tell a unanimous committee's votes: not on one's own.
    assert "'approve'" not in detail.content.decode()
    assert "'approve'" not in _audit_rows(client)[1].content.decode()
    assert applicant.has_perm("members.view_votes", application) is False


def test_superuser_applicant_is_no_exception(client, ballot):
    application, applicant, _voters = ballot
    applicant.is_superuser = True
    applicant.save()
    role_set(user=applicant, role=Role.ORGANISER)
    client.force_login(applicant)

    assert applicant.has_perm("members.view_votes", application) is False
    _assert_no_votes_on_the_application_page(client, application)
    _assert_no_vote_events_in_the_audit_trail(client, application)


def test_organiser_who_has_not_voted_sees_no_votes(client, ballot):
    application, _applicant, _voters = ballot
    organiser = UserFactory(role=Role.ORGANISER)
    client.force_login(organiser)

    _assert_no_votes_on_the_application_page(client, application)
    _assert_no_vote_events_in_the_audit_trail(client, application)
    assert organiser.has_perm("members.view_votes", application) is False

    # A vote that is not final yet shows nothing either.
    vote_cast(application=application, voter=organiser, choice="approve")
    _assert_no_votes_on_the_application_page(client, application)

    vote_cast(application=application, voter=organiser, choice="approve", final=True)
    page = client.get(reverse("admin:members_application_change", args=[application.pk]))
    actions, _response = _audit_rows(client)
    assert f"{SECRET}-a" in page.content.decode()
    assert {"vote_cast", "vote_changed", "vote_final"} <= actions
    assert organiser.has_perm("members.view_votes", application) is True


def test_committee_member_who_abstained_sees_nothing_until_final_and_cannot_change_after(
    client, ballot
):
    application, _applicant, _voters = ballot
    member = UserFactory(role=Role.COMMITTEE)
    client.force_login(member)
    change = reverse("admin:members_application_change", args=[application.pk])

    vote_cast(application=application, voter=member, choice="abstain")
    _assert_no_votes_on_the_application_page(client, application)
    vote_cast(application=application, voter=member, choice="approve")  # not final: may change
    vote_cast(application=application, voter=member, choice="abstain", final=True)
    seen = client.get(change)

    assert f"{SECRET}-a" in seen.content.decode()
    assert Vote.objects.get(voter=member).final_at is not None
    with translation.override("en"):  # the page above left its language active
        for choice in ("approve", "reject", "abstain"):
            with pytest.raises(AdmissionError, match="final"):
                vote_cast(application=application, voter=member, choice=choice, comment="x")
        with pytest.raises(AdmissionError, match="final"):
            conflict_declare(application=application, member=member, reason="Stepping out now")
    # Through the admin's own form: refused, with what was typed kept on the page.
    form = form_with_button(seen.content.decode(), "_save")
    assert not form.has_field("vote_choice")  # a final vote is shown, not offered
    forged = form.data("_save", vote_choice="approve", vote_comment="changed my mind")
    forged.update(vote_choice="approve", vote_comment="changed my mind")
    refused = client.post(change, forged)
    assert refused.status_code == 200
    assert "changed my mind" in refused.content.decode()
    assert list(Vote.objects.filter(voter=member).values_list("choice", "comment")) == [
        ("abstain", "")
    ]


def test_after_close_setting_shows_votes_to_nobody_before_the_close(client, ballot):
    application, _applicant, voters = ballot
    settings = AdmissionSettings.load()
    settings.reveal_votes = AdmissionSettings.Reveal.AFTER_CLOSE
    settings.save()
    organiser = UserFactory(role=Role.ORGANISER)
    vote_cast(application=application, voter=organiser, choice="approve", final=True)
    client.force_login(organiser)

    _assert_no_votes_on_the_application_page(client, application)
    _assert_no_vote_events_in_the_audit_trail(client, application)

    application_set_feedback(application=application, by=organiser, feedback="Welcome.")
    application_close(application=application, by=organiser)
    page = client.get(reverse("admin:members_application_change", args=[application.pk]))
    assert f"{SECRET}-a" in page.content.decode()
    assert voters[0].has_perm("members.view_votes", application) is True


def test_a_member_who_stepped_aside_never_sees_the_votes(client, ballot):
    application, _applicant, voters = ballot
    member = UserFactory(role=Role.COMMITTEE)
    conflict_declare(application=application, member=member, reason="I referred her")
    with pytest.raises(PermissionDenied):
        vote_cast(application=application, voter=member, choice="approve")
    vote_cast(application=application, voter=voters[0], choice="reject", final=True)
    application_set_feedback(application=application, by=voters[0], feedback="Not yet.")
    vote_cast(application=application, voter=UserFactory(role=Role.COMMITTEE), choice="reject")
    application_close(application=application, by=voters[0])
    client.force_login(member)

    page = client.get(reverse("admin:members_application_change", args=[application.pk]))

    assert SECRET not in page.content.decode()
    assert member.has_perm("members.view_votes", application) is False


def test_votes_through_the_change_form_leave_nothing_in_the_history(client, ballot):
    application, _applicant, _voters = ballot
    member = UserFactory(role=Role.COMMITTEE)
    client.force_login(member)
    change = reverse("admin:members_application_change", args=[application.pk])
    form = form_with_button(client.get(change).content.decode(), "_save")

    saved = client.post(change, form.data("_save", vote_choice="approve", vote_comment="good"))
    assert saved.status_code == 302, saved.context["adminform"].form.errors
    other = UserFactory(role=Role.COMMITTEE)
    client.force_login(other)
    history = client.get(reverse("admin:members_application_history", args=[application.pk]))

    assert Vote.objects.get(voter=member).choice == "approve"
    assert member.name not in history.content.decode()
