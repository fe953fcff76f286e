"""/api/v1/'s writes: each through the page's service and permission, with a write-scope
token or a session with its CSRF token; refusals as {code, message} in the caller's language."""

import datetime

import pytest
from django.core.cache import cache
from django.test import Client

from members.api_tokens import api_token_create, api_token_revoke
from members.roles import Role
from sessions.models import RSVP, Attendance, Participation, Task, Topic, TopicInterest
from sessions.models import TopicStatus as S
from sessions.weekly.scheduling import free_slots, session_schedule
from tests.factories import TopicFactory, TrackFactory, UserFactory

pytestmark = pytest.mark.django_db
V1 = "/api/v1"


@pytest.fixture
def track():
    return TrackFactory(slug="nlp")


@pytest.fixture
def member():
    return UserFactory(role=Role.MEMBER, preferred_language="en")


def _bearer(user, scope="write"):
    _token, raw = api_token_create(user=user, name="bot", scope=scope)
    return {"authorization": f"Bearer {raw}"}


def _session(track, start=None):
    organiser = UserFactory(role=Role.ORGANISER)
    topic = TopicFactory(track=track, status=S.READY)
    start = start or free_slots(track=track, now=datetime.datetime.now(datetime.UTC))[0]
    return session_schedule(topic=topic, start=start, by=organiser)


PROPOSAL = {"title": "  LoRA   精读 ", "track": "nlp", "paper_links": ["https://arxiv.org/abs/2106.09685"],
            "summary": "低秩适配"}  # fmt: skip


def test_propose_a_topic_with_a_write_token(client, track, member):
    response = client.post(f"{V1}/topics/", PROPOSAL, content_type="application/json",
                           headers=_bearer(member))  # fmt: skip
    assert response.status_code == 201
    body = response.json()
    assert body["title"] == "LoRA 精读" and body["status"] == S.PROPOSED
    topic = Topic.objects.get(pk=body["id"])
    assert topic.proposer == member and topic.paper_links == ["https://arxiv.org/abs/2106.09685"]


@pytest.mark.parametrize(
    ("language", "message"),
    [("en", "This field is required."), ("zh-hans", "这个字段是必填项。")],
)
def test_a_bad_proposal_gets_the_forms_messages_in_the_callers_language(
    client, track, member, language, message
):
    response = client.post(
        f"{V1}/topics/", {**PROPOSAL, "paper_links": []}, content_type="application/json",
        headers={**_bearer(member), "accept-language": language},
    )  # fmt: skip
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and body["errors"]["paper_links"] == [message]
    assert not Topic.objects.exists()
    unknown = client.post(f"{V1}/topics/", {**PROPOSAL, "track": "nope"},
                          content_type="application/json", headers=_bearer(member))  # fmt: skip
    assert unknown.status_code == 400 and "track" in unknown.json()["errors"]
    assert "required" not in unknown.json()["errors"]["track"][0]


def test_no_write_without_a_write_token_or_a_session_with_csrf(track, member):
    session = _session(track)
    url = f"{V1}/sessions/{session.pk}/rsvp"
    anonymous = Client()
    assert anonymous.post(url).json()["code"] == "not_signed_in"
    read = anonymous.post(url, headers=_bearer(member, scope="read"))
    assert read.status_code == 403 and read.json()["code"] == "read_only_token"
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(member)
    refused = browser.post(url)
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_failed"
    browser.get("/")  # the CSRF cookie
    token = browser.cookies["csrftoken"].value
    allowed = browser.post(url, headers={"x-csrftoken": token})
    assert allowed.status_code == 200, allowed.content
    assert RSVP.objects.filter(session=session, user=member).count() == 1


def test_a_revoked_token_writes_nothing(client, track, member):
    token, raw = api_token_create(user=member, name="bot", scope="write")
    api_token_revoke(token=token, by=member)
    session = _session(track)
    response = client.post(f"{V1}/sessions/{session.pk}/rsvp",
                           headers={"authorization": f"Bearer {raw}"})  # fmt: skip
    assert response.status_code == 401 and not RSVP.objects.exists()


def test_rsvp_and_cancel_with_the_services_refusals(client, track, member):
    session = _session(track)
    url, headers = f"{V1}/sessions/{session.pk}/rsvp", _bearer(member)
    assert client.post(url, headers=headers).json() == {
        "code": "ok", "message": "See you there!", "going": True
    }  # fmt: skip
    again = client.post(url, headers=headers)
    assert again.status_code == 409
    assert again.json() == {"code": "refused", "message": "You have already said you are coming."}
    assert client.delete(url, headers=headers).json()["going"] is False
    assert not RSVP.objects.exists()
    assert client.post(f"{V1}/sessions/999999/rsvp", headers=headers).json()["code"] == "not_found"


def test_check_in_only_while_the_session_runs(client, track, member):
    now = datetime.datetime.now(datetime.UTC)
    later = _session(track)
    url, headers = f"{V1}/sessions/{later.pk}/check-in", _bearer(member)
    if later.start - now > datetime.timedelta(minutes=15):
        assert client.post(url, headers=headers).status_code == 409
    later.__class__.objects.filter(pk=later.pk).update(start=now - datetime.timedelta(minutes=5))
    assert client.post(url, headers=headers).status_code == 200
    assert Attendance.objects.filter(session=later, user=member).count() == 1


def test_join_and_leave_a_group_and_want_to_hear(client, track, member):
    topic = TopicFactory(track=track, status=S.RECRUITING)
    headers = _bearer(member)
    assert client.post(f"{V1}/topics/{topic.pk}/group", headers=headers).status_code == 200
    assert Participation.objects.filter(topic=topic, user=member).exists()
    assert client.delete(f"{V1}/topics/{topic.pk}/group", headers=headers).status_code == 200
    assert not Participation.objects.filter(topic=topic, user=member).exists()
    assert client.post(f"{V1}/topics/{topic.pk}/want", headers=headers).status_code == 200
    assert TopicInterest.objects.filter(topic=topic, user=member).count() == 1
    assert client.delete(f"{V1}/topics/{topic.pk}/want", headers=headers).status_code == 200
    assert not TopicInterest.objects.exists()


def test_claim_and_finish_a_task_only_in_my_group(client, track, member):
    topic = TopicFactory(track=track, status=S.PREPARING)
    task = Task.objects.create(topic=topic, title="复现")
    outsider = client.post(f"{V1}/topics/{topic.pk}/tasks/{task.pk}/claim",
                           headers=_bearer(UserFactory(role=Role.MEMBER)))  # fmt: skip
    assert outsider.status_code in (403, 409) and outsider.json()["message"]
    Participation.objects.create(topic=topic, user=member, role=Participation.Role.PARTICIPANT)
    headers = _bearer(member)
    assert (
        client.post(f"{V1}/topics/{topic.pk}/tasks/{task.pk}/claim", headers=headers).json()[
            "message"
        ]
        == "The task is yours."
    )
    assert (
        client.post(f"{V1}/topics/{topic.pk}/tasks/{task.pk}/finish", headers=headers).status_code
        == 200
    )
    task.refresh_from_db()
    assert (task.assignee, task.status) == (member, Task.Status.DONE)


def test_bad_bodies_are_a_400_not_a_500(client, track, member):
    headers = _bearer(member)
    for body in ["{", "[]", '{"title": 5}', "null", '{"title": "' + "x" * 5000 + '"}']:
        response = client.post(f"{V1}/topics/", body, content_type="application/json",
                               headers=headers)  # fmt: skip
        assert response.status_code == 400, (body[:20], response.content[:200])
        assert response.json().get("code") in {"bad_request", "invalid"}, (
            body[:20],
            response.json(),
        )
    assert not Topic.objects.exists()


def test_a_token_is_rate_limited_per_minute(client, track, member, settings):
    settings.TOPICSHARE_API_TOKEN_RATE_PER_MINUTE = 2
    cache.clear()
    headers, other = _bearer(member, scope="read"), _bearer(member, scope="read")
    assert [client.get(f"{V1}/tracks/", headers=headers).status_code for _ in range(2)] == [
        200, 200
    ]  # fmt: skip
    limited = client.get(f"{V1}/tracks/", headers=headers)
    assert limited.status_code == 429 and limited["Retry-After"] == "60"
    assert limited.json()["code"] == "rate_limited"
    assert client.get(f"{V1}/tracks/", headers=other).status_code == 200  # per token
