"""/api/v1/'s reads: the OpenAPI schema is valid and every documented GET answers with a body
that matches it; absolute next/previous in a stable order; children in the library with
`parent` and `top_level`; private fields only to those allowed; ETag / Last-Modified and 304;
bad filters a 400 with a code and the caller's language; the first API still answers; flat
query counts."""

import datetime

import jsonschema
import pytest
from django.conf import settings
from django.urls import reverse
from openapi_spec_validator import validate

from library.models import LibraryItem, OpenSourceProject
from members.api_tokens import api_token_create
from members.roles import Role
from sessions.models import Season, TopicStatus
from sessions.weekly.scheduling import free_slots, session_schedule
from tests.factories import TopicFactory, TrackFactory, UserFactory
from topicshare.core.pagecache import bump_data_version

pytestmark = pytest.mark.django_db
V1 = "/api/v1"


@pytest.fixture
def world(django_capture_on_commit_callbacks):
    track = TrackFactory(slug="nlp")
    season = Season.objects.create(label="Topic 8", order=8, is_current=True)
    organiser = UserFactory(role=Role.ORGANISER)
    topic = TopicFactory(track=track, season=season, status=TopicStatus.READY, title="LoRA 精读")
    start = free_slots(track=track, now=datetime.datetime.now(datetime.UTC))[0]
    session = session_schedule(
        topic=topic, start=start, by=organiser, meeting_url="https://meeting.tencent.com/dm/x1",
        meeting_id="MTG-1", meeting_passcode="7788",
    )  # fmt: skip
    parent = LibraryItem.objects.create(title="模型蒸馏", domain=track, season=season)
    child = LibraryItem.objects.create(title="DistilBERT", domain=track, parent=parent)
    secret = LibraryItem.objects.create(title="内部资料", domain=track, visibility="members")
    project = OpenSourceProject.objects.create(name="fuxi", url="https://github.com/x/fuxi")
    project.maintainers.add(organiser)
    return {"track": track, "season": season, "topic": topic, "session": session,
            "parent": parent, "child": child, "secret": secret, "project": project}  # fmt: skip


def _schema(client):
    return client.get(f"{V1}/openapi.json").json()


def test_the_schema_is_valid_openapi(client):
    document = _schema(client)
    validate(document)
    assert document["info"]["title"] == "TopicShare API"
    for path in ["/topics/", "/sessions/", "/library/items/", "/tracks/", "/seasons/",
                 "/projects/", "/topics/{pk}/", "/sessions/{pk}/"]:  # fmt: skip
        assert f"{V1}{path}" in document["paths"], path


def test_every_documented_get_answers_with_a_body_matching_the_schema(client, world):
    document = _schema(client)
    ids = {"/topics/{pk}/": world["topic"].pk, "/sessions/{pk}/": world["session"].pk}
    client.force_login(UserFactory(role=Role.MEMBER))  # meeting details and members' items too
    checked = 0
    for path, operations in document["paths"].items():
        if "get" not in operations or path.endswith("openapi.json"):
            continue
        url = path
        for template, pk in ids.items():
            url = url.replace(template, template.replace("{pk}", str(pk)))
        response = client.get(url)
        assert response.status_code == 200, url
        body_schema = operations["get"]["responses"]["200"]["content"]["application/json"]
        schema = {**body_schema["schema"], "components": document["components"]}
        jsonschema.validate(response.json(), schema)
        checked += 1
    assert checked == 8


def test_the_docs_page_loads_its_assets_from_this_site(client):
    page = client.get(f"{V1}/docs/").content.decode()
    assert "swagger-ui-bundle.js" in page and "/static/" in page
    assert "cdn" not in page.lower() and "https://" not in page
    assert f"{V1}/openapi.json" in page


def test_pages_have_absolute_links_in_a_stable_order(client, world):
    for number in range(60):
        TopicFactory(track=world["track"], title=f"提案 {number}")
    first = client.get(f"{V1}/topics/").json()
    assert first["count"] == 61 and len(first["results"]) == 50
    assert first["next"] == settings.TOPICSHARE_SITE_URL.rstrip("/") + "/api/v1/topics/?page=2"
    assert first["previous"] is None
    second = client.get(first["next"]).json()
    assert second["previous"].startswith("http") and second["next"] is None
    seen = [t["id"] for t in first["results"] + second["results"]]
    assert len(set(seen)) == 61  # no topic twice, none left out
    assert first["results"][0]["url"].startswith("http")


def test_library_items_include_children_with_parent_and_top_level(client, world):
    everything = client.get(f"{V1}/library/items/").json()
    titles = [item["title"] for item in everything["results"]]
    assert "DistilBERT" in titles and "模型蒸馏" in titles and "内部资料" not in titles
    top = client.get(f"{V1}/library/items/", {"top_level": "true"}).json()
    assert "DistilBERT" not in [item["title"] for item in top["results"]]
    parts = client.get(f"{V1}/library/items/", {"parent": world["parent"].pk}).json()
    assert [(i["title"], i["parent"]) for i in parts["results"]] == [
        ("DistilBERT", world["parent"].pk)
    ]
    client.force_login(UserFactory(role=Role.MEMBER))
    titles = [i["title"] for i in client.get(f"{V1}/library/items/").json()["results"]]
    assert "内部资料" in titles


def test_meeting_details_only_to_those_allowed_also_with_a_token(client, world):
    url = f"{V1}/sessions/{world['session'].pk}/"
    anonymous = client.get(url).json()
    assert "meeting" not in anonymous and "MTG-1" not in str(anonymous)
    _token, raw = api_token_create(user=UserFactory(role=Role.AUDIENCE), name="bot")
    seen = client.get(url, headers={"authorization": f"Bearer {raw}"}).json()
    assert seen["meeting"] == {
        "url": "https://meeting.tencent.com/dm/x1", "id": "MTG-1", "passcode": "7788"
    }  # fmt: skip
    listed = client.get(f"{V1}/sessions/", headers={"authorization": f"Bearer {raw}"}).json()
    assert listed["results"][0]["meeting"]["passcode"] == "7788"


def test_a_bad_token_is_a_401_with_a_code(client, world):
    response = client.get(f"{V1}/topics/", headers={"authorization": "Bearer tsk_nope"})
    assert response.status_code == 401 and response.json()["code"] == "bad_credentials"


def test_etag_and_last_modified_answer_304_until_the_data_changes(
    client, world, django_capture_on_commit_callbacks
):
    bump_data_version()
    first = client.get(f"{V1}/topics/")
    etag, modified = first["ETag"], first["Last-Modified"]
    assert etag and modified
    again = client.get(f"{V1}/topics/", headers={"if-none-match": etag})
    assert again.status_code == 304 and again.content == b""
    since = client.get(f"{V1}/topics/", headers={"if-modified-since": modified})
    assert since.status_code == 304
    # Another filter is another answer.
    other = client.get(f"{V1}/topics/?track=nlp", headers={"if-none-match": etag})
    assert other.status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        TopicFactory(track=world["track"], title="新提案")
    changed = client.get(f"{V1}/topics/", headers={"if-none-match": etag})
    assert changed.status_code == 200 and changed["ETag"] != etag
    assert "新提案" in changed.content.decode()


def test_a_304_reads_nothing_but_the_version(client, world, django_assert_max_num_queries):
    etag = client.get(f"{V1}/library/items/")["ETag"]
    with django_assert_max_num_queries(1):  # the data version, at most once a second
        assert (
            client.get(f"{V1}/library/items/", headers={"if-none-match": etag}).status_code == 304
        )


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "Some filters have values that cannot be used."),
        ("zh-hans", "有些筛选条件的值无法使用。"),
    ],
)
def test_bad_filters_are_a_400_with_a_code_in_the_callers_language(
    client, world, language, message
):
    response = client.get(f"{V1}/topics/?status=deleted", headers={"accept-language": language})
    assert response.status_code == 400
    body = response.json()
    assert (
        body["code"] == "bad_filter" and body["message"] == message and "status" in body["errors"]
    )
    wrong_type = client.get(f"{V1}/topics/?season=abc").json()
    assert wrong_type["code"] == "bad_request" and "season" in wrong_type["errors"]


def test_the_first_api_still_answers_and_points_at_v1(client, world):
    successors = [
        ("api-topics", "/api/v1/topics/"),
        ("api-sessions", "/api/v1/sessions/"),
        ("api-library-items", "/api/v1/library/items/?top_level=true"),
    ]
    for name, successor in successors:
        response = client.get(reverse(name))
        assert response.status_code == 200 and "results" in response.json()
        assert response["Link"] == f'<{successor}>; rel="successor-version"'
        assert response["Deprecation"] == "true"


@pytest.mark.parametrize("rows", [1, 6])
@pytest.mark.parametrize("path", ["/topics/", "/sessions/", "/library/items/", "/projects/"])
def test_list_query_counts_are_flat(client, django_assert_num_queries, rows, path):
    track, organiser = TrackFactory(slug="cv"), UserFactory(role=Role.ORGANISER)
    slots = free_slots(track=track, now=datetime.datetime.now(datetime.UTC))
    for index in range(rows):
        topic = TopicFactory(track=track, status=TopicStatus.READY)
        session_schedule(topic=topic, start=slots[index], by=organiser)
        item = LibraryItem.objects.create(title=f"条目 {index}", domain=track)
        LibraryItem.objects.create(title=f"子条目 {index}", domain=track, parent=item)
        project = OpenSourceProject.objects.create(name=f"p{index}", url=f"https://x.org/{index}")
        project.maintainers.add(organiser)
    client.get(f"{V1}{path}")  # warm the version read
    bump_data_version()
    with django_assert_num_queries(QUERIES[path]):
        assert client.get(f"{V1}{path}").status_code == 200


QUERIES = {"/topics/": 3, "/sessions/": 4, "/library/items/": 5, "/projects/": 4}
