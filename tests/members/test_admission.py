import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Q
from django.urls import reverse

from members.admission import (
    AdmissionError,
    application_close,
    application_schedule_review,
    application_submit,
    applications_close_due,
    conflict_declare,
    decide,
    vote_cast,
    votes_visible,
)
from members.models import AdmissionSettings, Application, AuditEvent, User, Vote
from members.roles import Role
from tests.factories import UserFactory
from topicshare.models import Notification

pytestmark = pytest.mark.django_db
NOW = datetime.datetime(2026, 12, 1, 12, 0, tzinfo=datetime.UTC)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _apply(applicant=None, **overrides):
    data = {
        "applicant": applicant or UserFactory(role=Role.AUDIENCE),
        "motivation": "I read NLP papers every week and want to present.",
        "paper_title": "Attention Is All You Need",
        "paper_url": "https://arxiv.org/abs/1706.03762",
        "now": NOW,
        **overrides,
    }
    return application_submit(**data)


@pytest.fixture
def committee_members():
    return [UserFactory(role=Role.COMMITTEE) for _ in range(4)]


@pytest.mark.parametrize(
    ("approve", "reject", "abstain", "needed", "outcome"),
    [
        (2, 1, 0, 3, "approved"),
        (1, 1, 1, 3, "rejected"),  # a tie is not approval
        (1, 0, 2, 3, "approved"),  # abstentions count for the quorum, not the majority
        (0, 0, 3, 3, "rejected"),  # nobody approved
        (2, 0, 0, 3, None),  # too few votes
        (2, 0, 0, 2, "approved"),  # fewer committee members than the quorum
        (2, 2, 0, 3, "rejected"),
        (3, 2, 1, 3, "approved"),
    ],
)
def test_decide_quorum_and_majority(approve, reject, abstain, needed, outcome):
    assert (
        decide(approvals=approve, rejections=reject, abstentions=abstain, needed=needed) == outcome
    )


def test_full_journey_approve_makes_a_member_with_audit_and_notices(committee_members):
    application = _apply()
    applicant = application.applicant
    application_schedule_review(
        application=application, by=committee_members[0],
        review_at=NOW + datetime.timedelta(days=3), meeting_url="https://meeting.example.org/r",
        now=NOW,
    )  # fmt: skip
    for member, choice in zip(committee_members[:3], ["approve", "approve", "reject"], strict=True):
        vote_cast(application=application, voter=member, choice=choice, comment="Good answers")
    application.feedback = "Clear talk; read more on positional encodings."
    application.save()

    application_close(application=application, by=committee_members[0], now=NOW)

    application.refresh_from_db()
    assert application.status == "approved"
    assert User.objects.get(pk=applicant.pk).role == Role.MEMBER
    trail = AuditEvent.objects.filter(Q(application=application) | Q(subject_user=applicant))
    actions = list(trail.order_by("id").values_list("action", flat=True))
    assert actions == [
        "application_submitted", "review_scheduled", "vote_cast", "vote_cast", "vote_cast",
        "decision", "role_changed",
    ]  # fmt: skip
    kinds = set(Notification.objects.filter(recipient=applicant).values_list("kind", flat=True))
    assert kinds == {"review_scheduled", "admission_decided"}
    decided = Notification.objects.get(kind="admission_decided")
    assert "positional encodings" in decided.body_text
    assert "approve" not in decided.body_text.lower() or "Good answers" not in decided.body_text


def test_changing_a_vote_updates_it_and_is_audited(committee_members):
    application = _apply()
    member = committee_members[0]

    vote_cast(application=application, voter=member, choice="reject")
    vote_cast(application=application, voter=member, choice="approve", comment="Convinced")

    assert list(Vote.objects.values_list("choice", "comment")) == [("approve", "Convinced")]
    assert list(
        AuditEvent.objects.filter(action__startswith="vote")
        .order_by("id")
        .values_list("action", "details")
    ) == [
        ("vote_cast", {"choice": "reject"}),
        ("vote_changed", {"choice": "approve"}),
    ]


def test_refused_votes(committee_members):
    application = _apply()
    outsider = UserFactory(role=Role.MEMBER)
    conflicted = committee_members[3]
    conflict_declare(application=application, member=conflicted, reason="I referred her")

    with pytest.raises(PermissionDenied):
        vote_cast(application=application, voter=outsider, choice="approve")
    with pytest.raises(PermissionDenied, match="conflict"):
        vote_cast(application=application, voter=conflicted, choice="approve")
    with pytest.raises(AdmissionError):
        vote_cast(application=application, voter=committee_members[0], choice="maybe")
    for member in committee_members[:3]:
        vote_cast(application=application, voter=member, choice="approve")
    application_close(application=application, by=committee_members[0])
    with pytest.raises(AdmissionError, match="closed"):
        vote_cast(application=application, voter=committee_members[1], choice="reject")


def test_nobody_votes_on_their_own_application(committee_members):
    # A committee member demoted to audience applies again; they may not vote on it.
    person = committee_members[0]
    from members.services import role_set

    role_set(user=person, role=Role.AUDIENCE)
    application = _apply(applicant=person)
    role_set(user=person, role=Role.COMMITTEE)

    with pytest.raises(PermissionDenied, match="own"):
        vote_cast(application=application, voter=person, choice="approve")


def test_close_without_quorum_is_refused_and_a_second_close_changes_nothing(committee_members):
    application = _apply()
    vote_cast(application=application, voter=committee_members[0], choice="approve")

    with pytest.raises(AdmissionError, match="quorum"):
        application_close(application=application, by=committee_members[0])
    for member in committee_members[1:3]:
        vote_cast(application=application, voter=member, choice="reject")
    first = application_close(application=application, by=committee_members[0], now=NOW)
    second = application_close(application=application, by=committee_members[1])

    assert (first.status, second.status) == ("rejected", "rejected")
    assert second.decided_at == NOW
    assert AuditEvent.objects.filter(action="decision").count() == 1


def test_quorum_is_all_members_when_the_committee_is_small():
    only = [UserFactory(role=Role.COMMITTEE), UserFactory(role=Role.COMMITTEE)]
    application = _apply()
    for member in only:
        vote_cast(application=application, voter=member, choice="approve")

    assert application_close(application=application, by=only[0]).status == "approved"


def test_secret_ballot(committee_members):
    application = _apply()
    first, second = committee_members[:2]
    vote_cast(application=application, voter=first, choice="approve")

    assert votes_visible(second, application) is False
    vote_cast(application=application, voter=second, choice="reject")
    assert votes_visible(second, application) is True
    assert votes_visible(application.applicant, application) is False

    settings = AdmissionSettings.load()
    settings.reveal_votes = AdmissionSettings.Reveal.AFTER_CLOSE
    settings.save()
    assert votes_visible(second, application) is False


def test_one_open_application_and_cooldown_after_rejection(committee_members):
    applicant = UserFactory(role=Role.AUDIENCE)
    application = _apply(applicant=applicant)
    with pytest.raises(AdmissionError, match="open application"):
        _apply(applicant=applicant)
    for member in committee_members[:3]:
        vote_cast(application=application, voter=member, choice="reject")
    application_close(application=application, by=committee_members[0], now=NOW)

    with pytest.raises(AdmissionError, match="2027-01-30"):
        _apply(applicant=applicant, now=NOW + datetime.timedelta(days=59))
    again = _apply(applicant=applicant, now=NOW + datetime.timedelta(days=61))
    assert again.status == "submitted"


def test_members_cannot_apply():
    with pytest.raises(AdmissionError, match="already a member"):
        _apply(applicant=UserFactory(role=Role.MEMBER))


def test_deadline_closes_with_quorum_only(committee_members):
    quorate, short = _apply(), _apply()
    for application in (quorate, short):
        application.vote_deadline = NOW
        application.save()
    for member in committee_members[:3]:
        vote_cast(application=quorate, voter=member, choice="approve")
    vote_cast(application=short, voter=committee_members[0], choice="approve")

    assert applications_close_due(now=NOW + datetime.timedelta(minutes=1)) == 1

    quorate.refresh_from_db()
    short.refresh_from_db()
    assert (quorate.status, short.status) == ("approved", "submitted")
    assert AuditEvent.objects.get(action="decision").actor is None


def test_apply_page_and_status_never_show_votes(client, committee_members):
    applicant = UserFactory(role=Role.AUDIENCE)
    client.force_login(applicant)

    response = client.post(
        reverse("join-apply"),
        {
            "motivation": "I have read every paper in the archive and want to give back.",
            "paper_title": "BERT",
            "paper_url": "https://arxiv.org/abs/1810.04805",
            "slides": SimpleUploadedFile("我的幻灯片.pdf", PDF, "application/pdf"),
        },
    )
    application = Application.objects.get()
    for member in committee_members[:3]:
        vote_cast(application=application, voter=member, choice="approve", comment="SECRET-COMMENT")
    application_close(application=application, by=committee_members[0])
    status = client.get(reverse("join-status")).content.decode()

    assert response.status_code == 302
    assert application.slides_name == "我的幻灯片.pdf"
    assert "SECRET-COMMENT" not in status
    assert committee_members[0].name not in status
    assert client.get(reverse("application-slides", args=[application.pk])).status_code == 200


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"motivation": "short"}, "motivation"),
        ({"paper_url": "javascript:alert(1)"}, "paper_url"),
        ({"paper_title": ""}, "paper_title"),
        (
            {"slides": SimpleUploadedFile("x.pdf", b"MZ\x90\x00 not a pdf", "application/pdf")},
            "slides",
        ),
    ],
    ids=["short-motivation", "js-link", "no-title", "fake-pdf"],
)
def test_apply_bad_input(client, data, field):
    client.force_login(UserFactory(role=Role.AUDIENCE))
    payload = {
        "motivation": "A long enough motivation for the committee to read.",
        "paper_title": "BERT",
        "paper_url": "https://arxiv.org/abs/1810.04805",
        **data,
    }

    response = client.post(reverse("join-apply"), payload)

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert Application.objects.count() == 0


def test_slides_are_private(client, committee_members):
    application = _apply(slides=SimpleUploadedFile("s.pdf", PDF, "application/pdf"))
    url = reverse("application-slides", args=[application.pk])

    client.force_login(UserFactory(role=Role.MEMBER))
    assert client.get(url).status_code == 403
    client.force_login(committee_members[0])
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"


ADMIN_URLS = [
    ("admin:members_application_changelist", False),
    ("admin:members_application_change", True),
]


@pytest.mark.parametrize(
    ("role", "allowed"),
    [(Role.AUDIENCE, False), (Role.MEMBER, False), (Role.COMMITTEE, True), (Role.ORGANISER, True)],
)
def test_admin_permission_matrix(client, role, allowed):
    application = _apply()
    user = UserFactory(role=role)
    client.force_login(user)
    pk = [application.pk]
    pages = [
        reverse("admin:members_application_changelist"),
        reverse("admin:members_application_change", args=pk),
    ]
    actions = [
        (reverse("admin:members_application_vote", args=pk), {"choice": "approve"}),
        (reverse("admin:members_application_conflict", args=pk), {"reason": "friend"}),
        (reverse("admin:members_application_close", args=pk), {}),
    ]

    for url in pages:
        status = client.get(url).status_code
        assert (status == 200) is allowed, (url, status)
    for url, data in actions:
        status = client.post(url, data).status_code
        assert status == 302 if allowed else status in {302, 403}, (url, status)
    if not allowed:
        assert Vote.objects.count() == 0
        assert application.conflicts.count() == 0
    # Committee members see the admission section only; organisers everything.
    index = client.get(reverse("admin:index"))
    if role == Role.COMMITTEE:
        assert client.get(reverse("admin:members_user_changelist")).status_code == 403
        assert client.get(reverse("admin:members_auditevent_changelist")).status_code == 403
        assert client.get(reverse("admin:topic_sessions_topic_changelist")).status_code == 403
        assert [app["app_label"] for app in index.context["app_list"]] == ["members"]
    if role == Role.ORGANISER:
        assert client.get(reverse("admin:members_auditevent_changelist")).status_code == 200


def test_committee_votes_in_the_admin_and_sees_others_after(client, committee_members):
    application = _apply()
    vote_cast(
        application=application,
        voter=committee_members[1],
        choice="reject",
        comment="VISIBLE-LATER",
    )
    client.force_login(committee_members[0])
    change = reverse("admin:members_application_change", args=[application.pk])

    before = client.get(change).content.decode()
    client.post(reverse("admin:members_application_vote", args=[application.pk]),
                {"choice": "approve", "comment": "ok"})  # fmt: skip
    client.post(reverse("admin:members_application_vote", args=[application.pk]),
                {"choice": "abstain", "comment": "changed my mind"})  # fmt: skip
    after = client.get(change).content.decode()

    assert "VISIBLE-LATER" not in before
    assert 'data-role="ballot-secret"' in before
    assert "VISIBLE-LATER" in after
    assert Vote.objects.get(voter=committee_members[0]).choice == "abstain"


def test_forged_vote_without_csrf_is_refused(committee_members):
    from django.test import Client

    application = _apply()
    client = Client(enforce_csrf_checks=True)
    client.force_login(committee_members[0])

    response = client.post(reverse("admin:members_application_vote", args=[application.pk]),
                           {"choice": "approve"})  # fmt: skip

    assert response.status_code == 403
    assert Vote.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_ten_committee_members_vote_concurrently_then_two_closes_decide_once():
    import threading

    from django.db import connection, connections
    from django.utils import translation

    if connection.vendor != "postgresql":
        pytest.skip("row locks under a race: run with DATABASE_URL=postgres://… (CI does)")
    committee = [UserFactory(role=Role.COMMITTEE) for _ in range(10)]
    application = _apply()
    errors: list[str] = []

    def race(target, count):
        barrier = threading.Barrier(count)

        def run(index):
            try:
                barrier.wait(timeout=10)
                with translation.override("en"):
                    target(index)
            except Exception as error:  # collected and asserted below
                errors.append(f"{type(error).__name__}: {error}")
            finally:
                connections.close_all()

        threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

    race(
        lambda i: vote_cast(
            application=application, voter=committee[i], choice="approve" if i < 7 else "reject"
        ),
        10,
    )
    race(lambda i: application_close(application=application, by=committee[i]), 2)

    application.refresh_from_db()
    assert errors == []
    assert Vote.objects.filter(application=application).count() == 10
    assert application.status == "approved"
    assert AuditEvent.objects.filter(action="decision").count() == 1
    assert (
        AuditEvent.objects.filter(action="role_changed", subject_user=application.applicant).count()
        == 1
    )
