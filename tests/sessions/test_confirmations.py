"""Destructive actions ask once: a POST without confirm=1 changes nothing and answers with
what will happen and who will be told; the confirming POST carries confirm=1. A withdrawn
topic can be reopened by its proposer."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from members.roles import Role
from sessions.models import Participation, SessionStatus, Topic, TopicStatus, WeeklySession
from tests.factories import TopicFactory, TrackFactory, UserFactory

pytestmark = pytest.mark.django_db
S = TopicStatus


def _confirmation(response) -> str:
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-role="confirmation"' in page
    assert 'name="confirm" value="1"' in page
    return page


def test_rejecting_without_confirm_changes_nothing_and_names_who_is_told(client):
    proposer = UserFactory(role=Role.MEMBER, display_name="Proposer Li")
    topic = TopicFactory(proposer=proposer, status=S.PROPOSED)
    client.force_login(UserFactory(role=Role.ORGANISER))
    url = reverse("topics:transition", args=[topic.pk])

    page = _confirmation(client.post(url, {"to": S.REJECTED, "reason": "Off topic"}))

    assert Topic.objects.get(pk=topic.pk).status == S.PROPOSED
    assert "Proposer Li" in page and "Off topic" in page
    assert 'name="to" value="rejected"' in page and 'name="reason" value="Off topic"' in page
    response = client.post(url, {"to": S.REJECTED, "reason": "Off topic", "confirm": "1"})
    assert response.status_code == 302
    assert Topic.objects.get(pk=topic.pk).status == S.REJECTED


def test_a_refused_step_is_refused_before_any_confirmation(client):
    topic = TopicFactory(status=S.PROPOSED)
    client.force_login(UserFactory(role=Role.ORGANISER))

    response = client.post(
        reverse("topics:transition", args=[topic.pk]), {"to": S.REJECTED, "reason": ""}
    )

    assert response.status_code == 302  # back to the topic with the error, no confirmation
    assert Topic.objects.get(pk=topic.pk).status == S.PROPOSED


def test_withdraw_asks_then_the_proposer_can_reopen(client):
    proposer = UserFactory(role=Role.AUDIENCE)
    topic = TopicFactory(proposer=proposer, status=S.PROPOSED)
    client.force_login(proposer)
    url = reverse("topics:transition", args=[topic.pk])

    _confirmation(client.post(url, {"to": S.WITHDRAWN}))
    assert Topic.objects.get(pk=topic.pk).status == S.PROPOSED
    client.post(url, {"to": S.WITHDRAWN, "confirm": "1"})
    assert Topic.objects.get(pk=topic.pk).status == S.WITHDRAWN
    page = client.get(reverse("topics:detail", args=[topic.pk])).content.decode()
    assert 'data-transition="proposed"' in page
    client.post(url, {"to": S.PROPOSED})

    topic.refresh_from_db()
    assert topic.status == S.PROPOSED
    assert list(topic.transitions.values_list("to_status", flat=True))[-2:] == [
        S.WITHDRAWN,
        S.PROPOSED,
    ]


@pytest.mark.parametrize("who", ["organiser", "member"])
def test_nobody_but_the_proposer_reopens_a_withdrawn_topic(client, who):
    topic = TopicFactory(status=S.WITHDRAWN)
    role = Role.ORGANISER if who == "organiser" else Role.MEMBER
    client.force_login(UserFactory(role=role))

    page = client.get(reverse("topics:detail", args=[topic.pk])).content.decode()
    response = client.post(reverse("topics:transition", args=[topic.pk]), {"to": S.PROPOSED})

    assert 'data-transition="proposed"' not in page
    assert response.status_code == 403
    assert Topic.objects.get(pk=topic.pk).status == S.WITHDRAWN


def test_cancelling_a_session_without_confirm_changes_nothing_and_counts_who_is_told(client):
    track = TrackFactory(slug="nlp")
    topic = TopicFactory(track=track, status=S.SCHEDULED)
    Participation.objects.create(
        topic=topic, user=UserFactory(), role=Participation.Role.PARTICIPANT
    )
    session = WeeklySession.objects.create(
        topic=topic, track=track, start=timezone.now() + datetime.timedelta(days=3)
    )
    client.force_login(UserFactory(role=Role.ORGANISER))
    url = reverse("sessions:manage", args=[session.pk])

    page = _confirmation(client.post(url, {"action": "cancel", "cancel-reason": "Ill"}))

    session.refresh_from_db()
    assert (session.status, Topic.objects.get(pk=topic.pk).status) == (
        SessionStatus.SCHEDULED,
        S.SCHEDULED,
    )
    assert "Ill" in page
    assert "(1)" in page or "（1 人）" in page  # the participant group, told


def test_each_session_action_has_its_own_form_and_reason(client):
    track = TrackFactory(slug="nlp")
    topic = TopicFactory(track=track, status=S.SCHEDULED)
    session = WeeklySession.objects.create(
        topic=topic, track=track, start=timezone.now() + datetime.timedelta(days=3)
    )
    client.force_login(UserFactory(role=Role.ORGANISER))

    page = client.get(reverse("sessions:manage", args=[session.pk])).content.decode()

    for action in ("slip", "postpone", "cancel"):
        form = page[page.index(f'name="action" value="{action}"') :]
        form = form[: form.index("</form>")]
        assert f'name="{action}-reason"' in form
        assert f'data-action="{action}"' in form


def test_cancelling_a_topic_before_its_slot_tells_its_presenters_and_group(client):
    from topicshare.notifications.models import Notification

    proposer = UserFactory(role=Role.MEMBER, display_name="Proposer Li")
    topic = TopicFactory(proposer=proposer, status=S.RECRUITING)
    joined = [UserFactory(role=Role.MEMBER, display_name=f"Reader {n}") for n in range(2)]
    for person in joined:
        Participation.objects.create(topic=topic, user=person, role=Participation.Role.PARTICIPANT)
    organiser = UserFactory(role=Role.ORGANISER, display_name="Organiser Wu")
    client.force_login(organiser)
    url = reverse("topics:transition", args=[topic.pk])
    data = {"to": S.CANCELLED, "reason": "The proposer moved away"}

    page = _confirmation(client.post(url, data, HTTP_ACCEPT_LANGUAGE="en"))

    assert "Proposer Li, Reader 0, Reader 1: an e-mail that the topic is cancelled" in page
    assert "Organiser Wu" not in page.split("Who will be told")[1]
    assert "、" not in page  # an English page joins names the English way
    assert not Notification.objects.filter(kind="topic_cancelled").exists()

    client.post(url, {**data, "confirm": "1"})

    assert Topic.objects.get(pk=topic.pk).status == S.CANCELLED
    notices = Notification.objects.filter(kind="topic_cancelled")
    assert {n.recipient for n in notices} == {proposer, *joined}
    assert all("The proposer moved away" in n.body_text for n in notices)
