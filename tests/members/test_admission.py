import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from members.admission import (
    AdmissionError,
    application_close,
    application_schedule_review,
    application_set_feedback,
    application_submit,
    applications_close_due,
    conflict_declare,
    decide,
    vote_cast,
)
from members.models import AdmissionSettings, Application, AuditEvent, Conflict, User, Vote
from members.roles import Role
from tests.factories import UserFactory
from topicshare.notifications.models import Notification

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


def _ready(application, by, *, now=NOW, feedback="Clear talk, good answers."):
    """What every decision needs: the review talk given (a day before `now`) and feedback."""
    application_schedule_review(
        application=application, by=by, review_at=now - datetime.timedelta(days=1),
        now=now - datetime.timedelta(days=2),
    )  # fmt: skip
    application_set_feedback(application=application, by=by, feedback=feedback)
    application.refresh_from_db()
    return application


def _close(application, by, *, now=NOW):
    """Close after the review talk, with feedback."""
    if Application.objects.get(pk=application.pk).review_at is None:
        _ready(application, by, now=now)
    return application_close(application=application, by=by, now=now)


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
    application_set_feedback(application=application, by=committee_members[0],
                             feedback="Clear talk; read more on positional encodings.")  # fmt: skip

    application_close(
        application=application, by=committee_members[0], now=NOW + datetime.timedelta(days=4)
    )

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
    _close(application, committee_members[0])
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
    _ready(application, committee_members[0])

    with pytest.raises(AdmissionError, match="quorum"):
        application_close(application=application, by=committee_members[0], now=NOW)
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

    assert _close(application, only[0]).status == "approved"


def test_secret_ballot(committee_members):
    application = _apply()
    first, second = committee_members[:2]
    vote_cast(application=application, voter=first, choice="approve")

    assert second.has_perm("members.view_votes", application) is False
    vote_cast(application=application, voter=second, choice="reject")
    assert second.has_perm("members.view_votes", application) is False  # not final yet
    vote_cast(application=application, voter=second, choice="reject", final=True)
    assert second.has_perm("members.view_votes", application) is True
    assert application.applicant.has_perm("members.view_votes", application) is False

    settings = AdmissionSettings.load()
    settings.reveal_votes = AdmissionSettings.Reveal.AFTER_CLOSE
    settings.save()
    assert second.has_perm("members.view_votes", application) is False


def test_one_open_application_and_cooldown_after_rejection(committee_members):
    applicant = UserFactory(role=Role.AUDIENCE)
    application = _apply(applicant=applicant)
    with pytest.raises(AdmissionError, match="open application"):
        _apply(applicant=applicant)
    for member in committee_members[:3]:
        vote_cast(application=application, voter=member, choice="reject")
    _close(application, committee_members[0], now=NOW)

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
        _ready(application, committee_members[0])
    Application.objects.update(vote_deadline=NOW)
    for member in committee_members[:3]:
        vote_cast(application=quorate, voter=member, choice="approve")
    vote_cast(application=short, voter=committee_members[0], choice="approve")

    assert applications_close_due(now=NOW + datetime.timedelta(minutes=1)) == 1

    quorate.refresh_from_db()
    short.refresh_from_db()
    assert (quorate.status, short.status) == ("approved", "review_scheduled")
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
    _close(application, committee_members[0], now=timezone.now())
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
    change = reverse("admin:members_application_change", args=pk)
    close = reverse("admin:members_application_close", args=pk)
    pages.append(close)
    # The vote and stepping aside are fields of the application page's one form.
    actions = [
        (change, {"vote_choice": "approve", "_save": "1"}),
        (change, {"conflict_reason": "friend", "_save": "1"}),
        (close, {"feedback": "Clear talk."}),  # allowed, but before any review talk: refused
    ]

    for url in pages:
        status = client.get(url).status_code
        assert (status == 200) is allowed, (url, status)
    statuses = [client.post(url, data).status_code for url, data in actions]
    assert statuses == [302, 302, 200] if allowed else set(statuses) <= {302, 403}, statuses
    # Allowed: the vote is cast, then stepping aside removes it.
    assert AuditEvent.objects.filter(action="vote_cast").count() == (1 if allowed else 0)
    assert application.conflicts.count() == (1 if allowed else 0)
    assert Vote.objects.count() == 0
    application.refresh_from_db()
    assert application.is_open
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
    client.post(change, {"vote_choice": "approve", "vote_comment": "ok", "_continue": "1"})
    not_final = client.get(change).content.decode()
    client.post(change, {"vote_choice": "abstain", "vote_comment": "changed my mind",
                         "vote_final": "on", "_continue": "1"})  # fmt: skip
    after = client.get(change).content.decode()

    assert "VISIBLE-LATER" not in before
    assert 'data-role="ballot-secret"' in before
    assert "VISIBLE-LATER" not in not_final
    assert "VISIBLE-LATER" in after
    vote = Vote.objects.get(voter=committee_members[0])
    assert (vote.choice, vote.comment) == ("abstain", "changed my mind")
    assert vote.final_at is not None


def test_forged_vote_without_csrf_is_refused(committee_members):
    from django.test import Client

    application = _apply()
    client = Client(enforce_csrf_checks=True)
    client.force_login(committee_members[0])

    response = client.post(reverse("admin:members_application_change", args=[application.pk]),
                           {"vote_choice": "approve", "_save": "1"})  # fmt: skip

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
    _ready(application, committee[0], now=timezone.now())
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


# --- No decision before the review talk, and none without written feedback -----------------

REVIEW = NOW + datetime.timedelta(days=10)
AFTER_REVIEW = REVIEW + datetime.timedelta(hours=2)
BEFORE_REVIEW = REVIEW - datetime.timedelta(hours=2)
FEEDBACK = "Clear talk; read more on positional encodings."


def _voted(committee_members, *, review_at=REVIEW, feedback=FEEDBACK, now=NOW):
    """An application with its review talk scheduled, a quorum of approvals and feedback."""
    application = _apply()
    if review_at is not None:
        application_schedule_review(
            application=application, by=committee_members[0], review_at=review_at, now=now
        )
    for member in committee_members[:3]:
        vote_cast(application=application, voter=member, choice="approve")
    if feedback:
        application_set_feedback(application=application, by=committee_members[0],
                                 feedback=feedback)  # fmt: skip
    application.refresh_from_db()
    return application


def _still_open(application) -> bool:
    application.refresh_from_db()
    return (
        application.status in Application.OPEN
        and not AuditEvent.objects.filter(action="decision", application=application).exists()
        and not Notification.objects.filter(kind="admission_decided").exists()
    )


def test_service_refuses_to_decide_before_the_review_talk(committee_members):
    application = _voted(committee_members)

    with pytest.raises(AdmissionError, match="review talk"):
        application_close(application=application, by=committee_members[0], now=BEFORE_REVIEW)
    assert _still_open(application)

    closed = application_close(application=application, by=committee_members[0], now=AFTER_REVIEW)
    assert closed.status == "approved"


def test_service_refuses_to_decide_without_a_review_talk(committee_members):
    application = _voted(committee_members, review_at=None)

    with pytest.raises(AdmissionError, match="review talk"):
        application_close(application=application, by=committee_members[0], now=AFTER_REVIEW)
    assert _still_open(application)


@pytest.mark.parametrize("feedback", ["", "   \n\t "], ids=["empty", "blank"])
def test_service_refuses_to_decide_without_feedback(committee_members, feedback):
    application = _voted(committee_members, feedback="")
    Application.objects.filter(pk=application.pk).update(feedback=feedback)

    with pytest.raises(AdmissionError, match="feedback"):
        application_close(application=application, by=committee_members[0], now=AFTER_REVIEW)
    assert _still_open(application)


def test_feedback_is_bounded(committee_members):
    application = _voted(committee_members, feedback="")
    too_long = "x" * (Application.FEEDBACK_MAX_LENGTH + 1)

    with pytest.raises(AdmissionError, match="feedback"):
        application_set_feedback(application=application, by=committee_members[0],
                                 feedback=too_long)  # fmt: skip
    with pytest.raises(AdmissionError, match="feedback"):
        application_close(application=application, by=committee_members[0], now=AFTER_REVIEW,
                          feedback=too_long)  # fmt: skip
    assert _still_open(application)
    assert application.feedback == ""


def test_organiser_may_decide_before_the_talk_with_a_reason_which_is_audited(committee_members):
    application = _voted(committee_members)
    organiser = UserFactory(role=Role.ORGANISER)

    with pytest.raises(PermissionDenied):
        application_close(application=application, by=committee_members[0], now=BEFORE_REVIEW,
                          override_reason="We are in a hurry")  # fmt: skip
    with pytest.raises(AdmissionError, match="reason"):
        application_close(application=application, by=organiser, now=BEFORE_REVIEW,
                          override_reason="x" * 501)  # fmt: skip
    assert _still_open(application)
    closed = application_close(application=application, by=organiser, now=BEFORE_REVIEW,
                               override_reason="  Presented in person at the meetup  ")  # fmt: skip

    decision = AuditEvent.objects.get(action="decision", application=application)
    assert closed.status == "approved"
    assert decision.actor == organiser
    assert decision.details["override_reason"] == "Presented in person at the meetup"
    assert decision.details["review_at"] == REVIEW.isoformat()


def test_the_beat_does_not_decide_before_the_review_talk_or_without_feedback(committee_members):
    from members.tasks import close_due_applications

    now = timezone.now()
    early = _voted(committee_members, review_at=now + datetime.timedelta(days=1), now=now)
    silent = _voted(committee_members, review_at=now + datetime.timedelta(hours=1), now=now,
                    feedback="")  # fmt: skip
    ready = _voted(committee_members, review_at=now + datetime.timedelta(hours=1), now=now)
    # The talks of `silent` and `ready` were given; every deadline has passed (the deadline
    # of `early` lies before its talk: it was set before the talk was moved).
    Application.objects.filter(pk__in=[silent.pk, ready.pk]).update(
        review_at=now - datetime.timedelta(hours=3)
    )
    Application.objects.update(vote_deadline=now - datetime.timedelta(minutes=5))

    close_due_applications()  # what beat runs as "admissions.close_due"

    for application in (early, silent, ready):
        application.refresh_from_db()
    assert (early.status, silent.status, ready.status) == ("review_scheduled",) * 2 + ("approved",)
    told = Notification.objects.get(kind="admission_decided")
    assert told.recipient == ready.applicant
    assert FEEDBACK in told.body_text


def _admin_client(client, user):
    client.force_login(user)
    return client


def test_admin_close_action_refuses_before_the_review_talk_and_without_feedback(
    client, committee_members
):
    now = timezone.now()
    early = _voted(committee_members, review_at=now + datetime.timedelta(days=1), now=now)
    silent = _voted(committee_members, review_at=now + datetime.timedelta(hours=1), now=now,
                    feedback="")  # fmt: skip
    Application.objects.filter(pk=silent.pk).update(review_at=now - datetime.timedelta(hours=3))
    _admin_client(client, committee_members[0])

    response = client.post(
        reverse("admin:members_application_changelist"),
        {"action": "close_vote", "_selected_action": [early.pk, silent.pk], "index": 0},
        follow=True,
    )

    messages = [str(message) for message in response.context["messages"]]
    assert _still_open(early) and _still_open(silent)
    assert len(messages) == 2, messages


def test_admin_close_page_keeps_the_typed_feedback_when_it_refuses(client, committee_members):
    now = timezone.now()
    application = _voted(committee_members, review_at=now + datetime.timedelta(days=1), now=now,
                         feedback="")  # fmt: skip
    _admin_client(client, committee_members[0])
    url = reverse("admin:members_application_close", args=[application.pk])

    page = client.get(url)
    refused = client.post(url, {"feedback": "Typed here: a clear talk.", "_close": "1"})

    assert page.status_code == 200
    assert refused.status_code == 200
    assert "Typed here: a clear talk." in refused.content.decode()
    assert refused.context["form"].errors
    assert _still_open(application)
    assert application.feedback == ""


def test_admin_close_page_decides_after_the_talk_and_the_applicant_is_told(
    client, committee_members
):
    now = timezone.now()
    application = _voted(committee_members, review_at=now + datetime.timedelta(hours=1), now=now,
                         feedback="")  # fmt: skip
    Application.objects.filter(pk=application.pk).update(
        review_at=now - datetime.timedelta(hours=1)
    )
    _admin_client(client, committee_members[0])
    url = reverse("admin:members_application_close", args=[application.pk])

    empty = client.post(url, {"feedback": "  ", "_close": "1"})
    done = client.post(url, {"feedback": "Welcome! Read more on tokenisers.", "_close": "1"})

    assert empty.status_code == 200 and empty.context["form"].errors
    assert done.status_code == 302
    application.refresh_from_db()
    assert application.status == "approved"
    assert application.feedback == "Welcome! Read more on tokenisers."
    told = Notification.objects.get(kind="admission_decided", recipient=application.applicant)
    assert "Read more on tokenisers." in told.body_text
    client.force_login(application.applicant)
    status = client.get(reverse("join-status")).content.decode()
    assert "Read more on tokenisers." in status


def test_organiser_overrides_on_the_close_page_with_a_reason(client, committee_members):
    now = timezone.now()
    application = _voted(committee_members, review_at=now + datetime.timedelta(days=1), now=now)
    organiser = UserFactory(role=Role.ORGANISER)
    url = reverse("admin:members_application_close", args=[application.pk])

    _admin_client(client, committee_members[0])
    committee_page = client.get(url)
    _admin_client(client, organiser)
    without_reason = client.post(url, {"feedback": FEEDBACK, "_close": "1"})
    done = client.post(
        url, {"feedback": FEEDBACK, "override_reason": "Talk given early", "_close": "1"}
    )

    assert "override_reason" not in committee_page.context["form"].fields
    assert without_reason.status_code == 200
    assert done.status_code == 302
    decision = AuditEvent.objects.get(action="decision", application=application)
    assert decision.details["override_reason"] == "Talk given early"


# --- One submit never discards a typed vote ------------------------------------------------


def _vote_fields(html: str) -> tuple[str, str]:
    """The names of the vote's radio buttons and comment box, wherever they are on the page."""
    from tests.htmlforms import page_forms

    for form in page_forms(html):
        for name, values in form.choices.items():
            if set(values) == set(Vote.Choice.values):
                comment = next(field for field in form.fields if field.endswith("comment"))
                return name, comment
    raise AssertionError("no vote on the page")


def test_a_vote_typed_on_the_change_page_is_saved_by_the_main_save_button(
    client, committee_members
):
    from tests.htmlforms import form_with_button

    application = _apply()
    member = committee_members[0]
    _admin_client(client, member)
    change = reverse("admin:members_application_change", args=[application.pk])
    page = client.get(change).content.decode()
    choice, comment = _vote_fields(page)

    # The voter fills the vote and presses the admin's main "Save" button.
    save = form_with_button(page, "_save")
    response = client.post(change, save.data("_save", **{choice: "approve", comment: "Good"}))

    assert response.status_code == 302
    assert list(Vote.objects.filter(voter=member).values_list("choice", "comment")) == [
        ("approve", "Good")
    ]


def test_a_vote_that_cannot_be_saved_stays_on_the_page(client, committee_members):
    from tests.htmlforms import form_with_button

    application = _apply()
    _admin_client(client, committee_members[0])
    change = reverse("admin:members_application_change", args=[application.pk])
    page = client.get(change).content.decode()
    _choice, comment = _vote_fields(page)
    save = form_with_button(page, "_save")

    # A comment without a choice: refused, and the comment is still there to finish.
    response = client.post(change, save.data("_save", **{comment: "Asked about BPE; unsure"}))

    assert response.status_code == 200
    assert "Asked about BPE; unsure" in response.content.decode()
    assert response.context["adminform"].form.errors
    assert Vote.objects.count() == 0


def test_an_over_long_conflict_reason_is_refused_not_cut(committee):
    application = _apply()
    limit = Conflict._meta.get_field("reason").max_length

    with pytest.raises(AdmissionError, match="too long"):
        conflict_declare(application=application, member=committee, reason="x" * (limit + 1))

    assert not Conflict.objects.filter(application=application).exists()
    conflict_declare(application=application, member=committee, reason="y" * limit)
    assert Conflict.objects.get(application=application).reason == "y" * limit


def test_apply_page_says_at_once_that_an_application_is_open(client):
    application = _apply()
    client.force_login(application.applicant)

    page = client.get(reverse("join-apply"), HTTP_ACCEPT_LANGUAGE="en")
    again = client.post(
        reverse("join-apply"),
        {"motivation": "Again", "paper_title": "BERT", "paper_url": "https://arxiv.org/abs/1"},
    )

    html = page.content.decode()
    assert 'data-role="open-application"' in html
    assert "You already have an open application" in html
    assert 'name="motivation"' not in html
    assert "form" not in page.context
    assert again.status_code == 200
    assert Application.objects.count() == 1


def test_apply_page_shows_the_form_without_an_open_application(client):
    client.force_login(UserFactory(role=Role.AUDIENCE))

    html = client.get(reverse("join-apply")).content.decode()

    assert 'name="motivation"' in html
    assert 'data-role="open-application"' not in html


def test_withdrawing_asks_first_then_tells_the_committee(client, committee_members):
    organiser = UserFactory(role=Role.ORGANISER)
    application = _apply()
    application_schedule_review(
        application=application, by=organiser, review_at=NOW + datetime.timedelta(days=3),
        now=NOW,
    )  # fmt: skip
    client.force_login(application.applicant)
    url = reverse("join-withdraw", args=[application.pk])

    asked = client.post(url, HTTP_ACCEPT_LANGUAGE="en")

    assert asked.status_code == 200
    page = asked.content.decode()
    assert "Withdraw your application?" in page
    assert "Your review talk on 2026-12-04 20:00 is called off." in page
    # The four committee members and the organiser (who is above the committee).
    assert "The review committee (5 people): an e-mail." in page
    assert Application.objects.get(pk=application.pk).status == Application.Status.REVIEW_SCHEDULED
    assert not Notification.objects.filter(kind="application_withdrawn").exists()

    done = client.post(url, {"confirm": "1"})

    assert done.status_code == 302 and done["Location"] == reverse("join-status")
    assert Application.objects.get(pk=application.pk).status == Application.Status.WITHDRAWN
    notices = Notification.objects.filter(kind="application_withdrawn")
    assert {n.recipient for n in notices} == {*committee_members, organiser}
    assert all("2026-12-04 20:00" in n.body_text for n in notices)  # the talk that is off
    # Withdrawn is closed: asking again says so and changes nothing.
    again = client.post(url, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert "already closed" in again.content.decode()
