"""POSTs without a CSRF token on every state-changing endpoint: 403, nothing changed.

Each case is run twice: forged (enforce_csrf_checks, no token) must be refused, and the same
request from a client that skips the check must work — so the 403 is the CSRF check's, not a
permission refusal."""

import datetime

import pytest
from allauth.account.models import EmailAddress
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from library.models import LibraryItem
from members.admission import application_submit, vote_cast
from members.ledger.models import LedgerExemption
from members.models import Application, Conflict
from members.roles import Role
from sessions.models import (
    RSVP,
    Attendance,
    Participation,
    Task,
    Topic,
    TopicStatus,
    WeeklySession,
)
from sessions.weekly.scheduling import free_slots
from tests.factories import PASSWORD, TopicFactory, TrackFactory, UserFactory
from tests.hostile.helpers import PDF, upload
from topicshare.notifications.models import NotificationOptOut

pytestmark = pytest.mark.django_db


def _topic_new():
    user = UserFactory(role=Role.AUDIENCE)
    data = {"title": "x", "track": TrackFactory(slug="nlp").pk, "capacity": "6",
            "paper_links": "https://arxiv.org/abs/1"}  # fmt: skip
    return user, reverse("topics:new"), data, lambda: Topic.objects.count()


def _topic_edit():
    topic = TopicFactory()
    data = {"title": "changed", "track": topic.track.pk, "capacity": "6",
            "paper_links": "https://arxiv.org/abs/1"}  # fmt: skip
    return (
        topic.proposer,
        reverse("topics:edit", args=[topic.pk]),
        data,
        lambda: Topic.objects.get(pk=topic.pk).title,
    )


def _topic_transition():
    topic = TopicFactory()
    return (
        UserFactory(role=Role.ORGANISER),
        reverse("topics:transition", args=[topic.pk]),
        {"to": "accepted"},
        lambda: Topic.objects.get(pk=topic.pk).status,
    )


def _group_join():
    topic = TopicFactory(status=TopicStatus.RECRUITING)
    return (
        UserFactory(role=Role.MEMBER),
        reverse("topics:join", args=[topic.pk]),
        {},
        lambda: Participation.objects.filter(topic=topic).count(),
    )


def _group_leave():
    topic = TopicFactory(status=TopicStatus.RECRUITING)
    user = UserFactory(role=Role.MEMBER)
    Participation.objects.create(topic=topic, user=user, role=Participation.Role.PARTICIPANT)
    return (
        user,
        reverse("topics:leave", args=[topic.pk]),
        {},
        lambda: Participation.objects.filter(topic=topic).count(),
    )


def _task_add():
    topic = TopicFactory(status=TopicStatus.PREPARING)
    return (
        topic.proposer,
        reverse("topics:group", args=[topic.pk]),
        {"add_task": "1", "title": "slides", "notes": "", "due_date": ""},
        lambda: Task.objects.count(),
    )


def _group_save():
    topic = TopicFactory(status=TopicStatus.PREPARING)
    return (
        topic.proposer,
        reverse("topics:group", args=[topic.pk]),
        {"save_group": "1", "group_chat_link": "https://chat.example.org/g"},
        lambda: Topic.objects.get(pk=topic.pk).group_chat_link,
    )


def _task_move():
    topic = TopicFactory(status=TopicStatus.PREPARING)
    task = Task.objects.create(topic=topic, title="slides")
    return (
        topic.proposer,
        reverse("topics:task-move", args=[topic.pk, task.pk]),
        {"status": "done"},
        lambda: Task.objects.get(pk=task.pk).status,
    )


def _profile():
    user = UserFactory(role=Role.AUDIENCE)
    return (
        user,
        reverse("profile"),
        {"display_name": "Mallory"},
        lambda: type(user).objects.get(pk=user.pk).display_name,
    )


def _notification_preferences():
    user = UserFactory(role=Role.AUDIENCE)
    return (
        user,
        reverse("members:notifications"),
        {"wanted": []},
        lambda: NotificationOptOut.objects.filter(user=user).count(),
    )


def _join_apply():
    data = {"motivation": "I read NLP papers every week and want to present.",
            "paper_title": "BERT", "paper_url": "https://arxiv.org/abs/1810.04805",
            "slides": upload("s.pdf", PDF)}  # fmt: skip
    return (
        UserFactory(role=Role.AUDIENCE),
        reverse("join-apply"),
        data,
        lambda: Application.objects.count(),
    )


def _apply(user=None):
    return application_submit(
        applicant=user or UserFactory(role=Role.AUDIENCE),
        motivation="I read NLP papers every week and want to present.",
        paper_title="BERT",
        paper_url="https://arxiv.org/abs/1810.04805",
    )


def _join_withdraw():
    application = _apply()
    return (
        application.applicant,
        reverse("join-withdraw", args=[application.pk]),
        {"confirm": "1"},
        lambda: Application.objects.get(pk=application.pk).status,
    )


def _materials():
    presenter = UserFactory(role=Role.MEMBER)
    item = LibraryItem.objects.create(title="LightGCN")
    item.presenters.set([presenter])
    return (
        presenter,
        reverse("library:materials", args=[item.pk]),
        {"recording_url": "https://pan.baidu.com/s/1", "extraction_code": "abcd"},
        lambda: LibraryItem.objects.get(pk=item.pk).recording_url,
    )


def _session(start=None):
    track = TrackFactory(slug="nlp", weekday=5, local_time=datetime.time(20, 30))
    topic = TopicFactory(status=TopicStatus.SCHEDULED, track=track)
    start = start or free_slots(track=track, now=timezone.now())[0]
    return WeeklySession.objects.create(topic=topic, track=track, start=start)


def _rsvp():
    session = _session()
    return (
        UserFactory(role=Role.AUDIENCE),
        reverse("sessions:rsvp", args=[session.pk]),
        {"going": "1"},
        lambda: RSVP.objects.count(),
    )


def _check_in():
    session = _session(start=timezone.now() + datetime.timedelta(minutes=5))
    return (
        UserFactory(role=Role.AUDIENCE),
        reverse("sessions:check-in", args=[session.pk]),
        {},
        lambda: Attendance.objects.count(),
    )


def _session_manage():
    session = _session()
    data = {"action": "meeting", "meeting_provider": "tencent", "meeting_id": "123456789",
            "meeting_url": "https://meeting.tencent.com/x", "meeting_passcode": "",
            "organiser_note": ""}  # fmt: skip
    return (
        UserFactory(role=Role.ORGANISER),
        reverse("sessions:manage", args=[session.pk]),
        data,
        lambda: WeeklySession.objects.get(pk=session.pk).meeting_id,
    )


def _session_cancel():
    session = _session()
    return (
        UserFactory(role=Role.ORGANISER),
        reverse("sessions:manage", args=[session.pk]),
        {"action": "cancel", "cancel-reason": "no presenter", "confirm": "1"},
        lambda: WeeklySession.objects.get(pk=session.pk).status,
    )


def _schedule():
    track = TrackFactory(slug="nlp", weekday=5, local_time=datetime.time(20, 30))
    topic = TopicFactory(status=TopicStatus.READY, track=track)
    slot = free_slots(track=track, now=timezone.now())[0]
    return (
        UserFactory(role=Role.ORGANISER),
        reverse("sessions:schedule", args=[topic.pk]),
        {"slot": slot.isoformat()},
        lambda: WeeklySession.objects.count(),
    )


def _calendar_token():
    user = UserFactory(role=Role.AUDIENCE, calendar_token="old-token")
    return (
        user,
        reverse("sessions:calendar-token"),
        {},
        lambda: type(user).objects.get(pk=user.pk).calendar_token,
    )


def _set_language():
    user = UserFactory(role=Role.AUDIENCE, preferred_language="zh-hans")
    return (
        user,
        reverse("set_language"),
        {"language": "en"},
        lambda: type(user).objects.get(pk=user.pk).preferred_language,
    )


def _season_review():
    from sessions.models import Season

    season = Season.objects.create(label="Topic 7", order=7, is_current=True)
    member = UserFactory(role=Role.MEMBER)
    return (
        UserFactory(role=Role.ORGANISER),
        reverse("ledger:season-review", args=[season.pk]),
        {"exempt": str(member.pk), f"reason-{member.pk}": "travelling"},
        lambda: LedgerExemption.objects.count(),
    )


def _admin_vote():
    application = _apply()
    return (
        UserFactory(role=Role.COMMITTEE),
        reverse("admin:members_application_change", args=[application.pk]),
        {"vote_choice": "reject", "vote_comment": "forged", "_save": "1"},
        lambda: application.votes.count(),
    )


def _admin_conflict():
    application = _apply()
    return (
        UserFactory(role=Role.COMMITTEE),
        reverse("admin:members_application_change", args=[application.pk]),
        {"conflict_reason": "friend", "_save": "1"},
        lambda: Conflict.objects.count(),
    )


def _admin_close():
    application = _apply()
    committee = [UserFactory(role=Role.COMMITTEE) for _ in range(3)]
    for member in committee:
        vote_cast(application=application, voter=member, choice="approve")
    # The review talk has been given (a decision comes after it).
    Application.objects.filter(pk=application.pk).update(
        review_at=timezone.now() - datetime.timedelta(hours=1)
    )
    return (
        committee[0],
        reverse("admin:members_application_close", args=[application.pk]),
        {"feedback": "Welcome to the study group."},
        lambda: Application.objects.get(pk=application.pk).status,
    )


def _admin_library_import():
    text = "# 推荐\n\n- [DIN](https://example.org/din)\n"
    return (
        UserFactory(role=Role.ORGANISER),
        reverse("admin:library_libraryitem_import"),
        {"file": upload("list.md", text.encode()), "format": "auto"},
        lambda: LibraryItem.objects.count(),
    )


def _admin_topic_import():
    TrackFactory(slug="nlp")
    data = b"title,track,proposer\nForged,nlp,Someone New\n"
    return (
        UserFactory(role=Role.ORGANISER),
        reverse("admin:topic_sessions_topic_import"),
        {"file": upload("t.csv", data)},
        lambda: Topic.objects.count(),
    )


def _admin_topic_action():
    topic = TopicFactory()
    return (
        UserFactory(role=Role.ORGANISER),
        reverse("admin:topic_sessions_topic_changelist"),
        {"action": "make_accepted", "_selected_action": [str(topic.pk)], "index": "0"},
        lambda: Topic.objects.get(pk=topic.pk).status,
    )


def _admin_role_change():
    target = UserFactory(role=Role.AUDIENCE)
    return (
        UserFactory(role=Role.ORGANISER),
        reverse("admin:members_user_changelist"),
        {"action": "make_organiser", "_selected_action": [str(target.pk)], "index": "0"},
        lambda: type(target).objects.get(pk=target.pk).role,
    )


def _password_change():
    user = UserFactory(role=Role.AUDIENCE)
    return (
        user,
        reverse("account_change_password"),
        {"oldpassword": PASSWORD, "password1": "n3w-Secret-pass!", "password2": "n3w-Secret-pass!"},
        lambda: type(user).objects.get(pk=user.pk).password,
    )


def _add_email():
    user = UserFactory(role=Role.AUDIENCE)
    return (
        user,
        reverse("account_email"),
        {"action_add": "", "email": "mallory@example.org"},
        (lambda: EmailAddress.objects.filter(user=user).count()),
    )


ENDPOINTS = [
    _topic_new, _topic_edit, _topic_transition, _group_join, _group_leave, _task_add,
    _group_save, _task_move, _profile, _notification_preferences, _join_apply, _join_withdraw,
    _materials, _rsvp, _check_in, _session_manage, _session_cancel, _schedule, _calendar_token,
    _set_language, _season_review, _admin_vote, _admin_conflict, _admin_close,
    _admin_library_import, _admin_topic_import, _admin_topic_action, _admin_role_change,
    _password_change, _add_email,
]  # fmt: skip


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.__name__[1:] for e in ENDPOINTS])
def test_post_without_csrf_token_is_refused_and_changes_nothing(endpoint):
    user, url, data, state = endpoint()
    before = state()
    forged = Client(enforce_csrf_checks=True)
    forged.force_login(user)

    response = forged.post(url, data)

    assert response.status_code == 403
    assert b"CSRF" in response.content
    assert state() == before


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.__name__[1:] for e in ENDPOINTS])
def test_the_same_post_with_the_check_passed_does_change_something(endpoint):
    """The control: the request above is one the user may make."""
    user, url, data, state = endpoint()
    before = state()
    client = Client()
    client.force_login(user)

    response = client.post(url, data)

    assert response.status_code in {200, 302}
    assert state() != before


def test_logout_without_csrf_token_keeps_the_session():
    user = UserFactory(role=Role.AUDIENCE)
    forged = Client(enforce_csrf_checks=True)
    forged.force_login(user)

    response = forged.post(reverse("account_logout"))

    assert response.status_code == 403
    assert forged.get(reverse("profile")).status_code == 200


def test_forged_post_with_a_token_from_another_session_is_refused():
    victim, attacker = UserFactory(role=Role.AUDIENCE), UserFactory(role=Role.AUDIENCE)
    attacking = Client(enforce_csrf_checks=True)
    attacking.force_login(attacker)
    attacking.get(reverse("profile"))
    token = attacking.cookies["csrftoken"].value
    victim_client = Client(enforce_csrf_checks=True)
    victim_client.force_login(victim)

    response = victim_client.post(
        reverse("profile"), {"display_name": "pwned", "csrfmiddlewaretoken": token}
    )

    victim.refresh_from_db()
    assert response.status_code == 403
    assert victim.display_name != "pwned"
