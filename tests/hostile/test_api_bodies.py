"""Hostile bodies for /api/v1/'s writes: never a 5xx, always {code, message}, nothing
written; an over-large body is refused before it is parsed."""

import pytest

from members.api_tokens import api_token_create
from members.roles import Role
from sessions.models import Topic
from tests.factories import TrackFactory, UserFactory

pytestmark = pytest.mark.django_db

BODIES = [
    "", "{", "[]", "null", "1e999", '"x"', '{"title": null}', '{"track": []}',
    '{"title": "x", "track": "nlp", "paper_links": "https://a.org"}',
    # More links than the form's 10,000 characters: refused, not cut short.
    '{"title": "x", "track": "nlp", "paper_links": ['
    + ", ".join(f'"https://arxiv.org/abs/2401.{n:05d}"' for n in range(500)) + "]}",
    '{"title": "' + "长" * 100_000 + '", "track": "nlp", "paper_links": ["https://a.org/1"]}',
    '{"title": "\\u0000", "track": "nlp", "paper_links": ["javascript:alert(1)"]}',
    '{"title": "<script>alert(1)</script>", "track": "nlp", "paper_links": ["ftp://x"]}',
    '{"title": "x", "track": "nlp", "paper_links": ["https://a.org/1"], "capacity": -5}',
    '{"title": "x", "track": "nlp", "paper_links": ["https://a.org/1"], "capacity": 1e9}',
    '{"title": "x", "track": "nlp", "paper_links": ["https://a.org/1"], '
    '"preferred_week": "2026-02-30"}',
]  # fmt: skip


@pytest.fixture
def headers():
    TrackFactory(slug="nlp")
    _token, raw = api_token_create(user=UserFactory(role=Role.MEMBER), name="bot", scope="write")
    return {"authorization": f"Bearer {raw}"}


@pytest.mark.parametrize("body", BODIES, ids=range(len(BODIES)))
def test_a_hostile_proposal_is_a_clear_400(client, headers, body):
    response = client.post("/api/v1/topics/", body, content_type="application/json",
                           headers=headers)  # fmt: skip
    assert response.status_code in {400, 413}, response.content[:300]
    assert response.json()["code"] in {"bad_request", "invalid", "too_big"}
    assert response.json()["message"]
    assert not Topic.objects.exists()


def test_an_over_large_body_is_refused(client, headers, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = '{"title": "' + "x" * 20_000 + '"}'
    response = client.post("/api/v1/topics/", body, content_type="application/json",
                           headers=headers)  # fmt: skip
    assert response.status_code in {400, 413}
    assert not Topic.objects.exists()


@pytest.mark.parametrize("header", ["Bearer " + "x" * 10_000, "Basic abc", "Bearer", "tsk_x",
                                    "Bearer tsk_" + "é" * 50])  # fmt: skip
def test_odd_authorization_headers_are_a_401(client, header):
    response = client.get("/api/v1/topics/", headers={"authorization": header})
    assert response.status_code == 401 and response.json()["code"] == "bad_credentials"
