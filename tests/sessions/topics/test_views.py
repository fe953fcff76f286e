import json
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from members.roles import Role
from sessions.models import CHECKLIST, Participation, Task, Topic, TopicStatus
from tests.factories import TopicFactory, TrackFactory, UserFactory
from topicshare.forum.models import ForumSettings

S = TopicStatus
pytestmark = pytest.mark.django_db


class _TagCollector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, list]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))


def _propose_data(**overrides):
    return {
        "title": "Sentence-BERT 文本匹配",
        "track": TrackFactory(slug="nlp").pk,
        "sub_theme": "文本匹配",
        "summary": "A **bold** idea",
        "paper_links": "https://arxiv.org/abs/1908.10084\nhttps://arxiv.org/abs/1810.04805",
        "preferred_week": "2026-12-10",
        "capacity": "6",
        **overrides,
    }


def test_propose_requires_login(client):
    response = client.get(reverse("topics:new"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


def test_propose_creates_topic_and_normalises_week(client, audience):
    client.force_login(audience)

    response = client.post(reverse("topics:new"), _propose_data())

    topic = Topic.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("topics:detail", args=[topic.pk])
    assert topic.proposer == audience
    assert topic.preferred_week.isoformat() == "2026-12-07"  # the Monday of that week
    assert topic.paper_links == [
        "https://arxiv.org/abs/1908.10084",
        "https://arxiv.org/abs/1810.04805",
    ]


def test_propose_preview_renders_markdown_without_saving(client, audience):
    client.force_login(audience)

    response = client.post(
        reverse("topics:new"),
        {**_propose_data(summary="# 标题\n<script>x</script>"), "preview": "1"},
    )

    content = response.content.decode()
    assert response.status_code == 200
    assert "<h1>标题</h1>" in content
    assert "<script>x</script>" not in content
    assert Topic.objects.count() == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"title": "   "}, "title"),
        ({"title": "长" * 201}, "title"),
        ({"paper_links": "javascript:alert(1)"}, "paper_links"),
        ({"paper_links": ""}, "paper_links"),
        ({"preferred_week": "2026-02-30"}, "preferred_week"),
        ({"capacity": "0"}, "capacity"),
        ({"track": "999999"}, "track"),
    ],
    ids=["blank", "too-long", "js-link", "no-link", "impossible-date", "zero-capacity", "no-track"],
)
def test_propose_bad_input_shows_errors(client, audience, overrides, field):
    client.force_login(audience)

    response = client.post(reverse("topics:new"), _propose_data(**overrides))

    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert Topic.objects.count() == 0


@pytest.mark.parametrize(
    "payload",
    [
        "<script>alert('x')</script>",
        "[click](javascript:alert(1))",
        '<a href="#" onclick="alert(1)">x</a>',
        '<img src=x onerror="alert(1)">',
    ],
)
def test_summary_is_sanitised_on_the_detail_page(client, payload):
    topic = TopicFactory(summary=f"Intro\n\n{payload}")

    content = client.get(reverse("topics:detail", args=[topic.pk])).content.decode()

    summary = content.split('class="prose summary">', 1)[1].split("</div>", 1)[0]
    parser = _TagCollector()
    parser.feed(summary)
    assert {tag for tag, _attrs in parser.tags} <= {"p", "a", "strong", "em"}
    for _tag, attrs in parser.tags:
        assert not [name for name, _value in attrs if name.startswith("on")]
        assert not [v for name, v in attrs if name == "href" and not v.startswith("http")]


def test_sheet_lists_filters_and_paginates(client):
    nlp, cv = TrackFactory(slug="nlp"), TrackFactory(slug="cv")
    TopicFactory(title="Transformers", track=nlp, status=S.RECRUITING)
    TopicFactory(title="ResNet", track=cv, status=S.PROPOSED)

    everything = client.get(reverse("topics:sheet"))
    only_cv = client.get(reverse("topics:sheet"), {"track": "cv"})
    searched = client.get(reverse("topics:sheet"), {"q": "transf", "status": ["recruiting"]})

    assert everything.context["page"].paginator.count == 2
    assert [t.title for t in only_cv.context["page"]] == ["ResNet"]
    assert [t.title for t in searched.context["page"]] == ["Transformers"]


def test_sheet_bad_filter_values_do_not_500(client):
    response = client.get(
        reverse("topics:sheet"), {"track": "nope", "season": "abc", "status": "x", "page": "-1"}
    )

    assert response.status_code == 200


@pytest.mark.parametrize("rows", [1, 50])
def test_sheet_query_count_is_flat(client, django_assert_num_queries, rows):
    track = TrackFactory(slug="nlp")
    for _ in range(rows):
        TopicFactory(track=track)
    ForumSettings.load()

    # the page cache's version (a miss), count, page of topics, filter choices (track,
    # season, proposer), forum settings
    with django_assert_num_queries(7):
        response = client.get(reverse("topics:sheet"))

    assert len(response.context["page"]) == rows


def test_api_lists_public_fields_with_filters(client):
    topic = TopicFactory(title="LightGCN", track=TrackFactory(slug="recsys"))
    topic.group_chat_link = "https://chat.example.org/secret"
    topic.save()
    TopicFactory(title="Other", track=TrackFactory(slug="cv"))

    response = client.get(reverse("api-topics"), {"track": "recsys"})

    body = response.json()
    assert response.status_code == 200
    assert body["count"] == 1
    assert body["results"][0]["title"] == "LightGCN"
    assert body["results"][0]["participants"] == 0
    assert "secret" not in json.dumps(body)


def test_api_rejects_bad_filters_with_400(client):
    response = client.get(reverse("api-topics"), {"season": "abc"})

    assert response.status_code == 400
    assert "season" in response.json()["errors"]


def test_transition_buttons_and_refusal_message(client, organiser, audience):
    topic = TopicFactory(status=S.PROPOSED)
    client.force_login(audience)

    refused = client.post(reverse("topics:transition", args=[topic.pk]), {"to": "accepted"})
    assert refused.status_code == 403

    client.force_login(organiser)
    page = client.get(reverse("topics:detail", args=[topic.pk])).content.decode()
    assert 'data-transition="accepted"' in page
    assert 'data-transition="rejected"' in page
    invalid = client.post(
        reverse("topics:transition", args=[topic.pk]), {"to": "presented"}, follow=True
    )
    assert invalid.status_code == 200
    assert "cannot become" in invalid.content.decode() or "不能变为" in invalid.content.decode()
    client.post(reverse("topics:transition", args=[topic.pk]), {"to": "accepted"})
    topic.refresh_from_db()
    assert topic.status == S.ACCEPTED


def test_ready_with_open_checklist_shows_message(client):
    topic = TopicFactory(status=S.PREPARING)
    client.force_login(topic.proposer)

    response = client.post(
        reverse("topics:transition", args=[topic.pk]), {"to": "ready"}, follow=True
    )

    topic.refresh_from_db()
    assert topic.status == S.PREPARING
    messages = [str(m) for m in response.context["messages"]]
    assert len(messages) == 1


def test_edit_someone_elses_topic_is_403(client, audience):
    topic = TopicFactory()
    client.force_login(audience)

    assert client.get(reverse("topics:edit", args=[topic.pk])).status_code == 403
    assert client.post(reverse("topics:edit", args=[topic.pk]), {}).status_code == 403


def test_join_full_and_members_only_groups(client, audience):
    full = TopicFactory(status=S.RECRUITING, capacity=1)
    Participation.objects.create(topic=full, user=UserFactory(), role="participant")
    members_only = TopicFactory(status=S.RECRUITING, members_only=True)
    client.force_login(audience)

    full_response = client.post(reverse("topics:join", args=[full.pk]), follow=True)
    members_response = client.post(reverse("topics:join", args=[members_only.pk]))

    assert "full" in str(list(full_response.context["messages"])[0]) or "满" in str(
        list(full_response.context["messages"])[0]
    )
    assert members_response.status_code == 403
    assert not Participation.objects.filter(user=audience).exists()


def test_group_page_only_for_group_and_task_board_works(client, audience):
    topic = TopicFactory(status=S.RECRUITING, group_chat_link="https://chat.example.org/g")
    outsider = UserFactory()
    client.force_login(outsider)
    assert client.get(reverse("topics:group", args=[topic.pk])).status_code == 403
    detail = client.get(reverse("topics:detail", args=[topic.pk])).content.decode()
    assert "chat.example.org" not in detail

    client.force_login(audience)
    client.post(reverse("topics:join", args=[topic.pk]))
    page = client.get(reverse("topics:group", args=[topic.pk])).content.decode()
    assert "https://chat.example.org/g" in page
    client.post(
        reverse("topics:group", args=[topic.pk]),
        {"add_task": "1", "title": "复现模型代码", "assignee": audience.pk},
    )
    task = Task.objects.get()
    client.post(
        reverse("topics:task-move", args=[topic.pk, task.pk]),
        {"status": "done", "assignee": audience.pk},
    )
    task.refresh_from_db()
    assert (task.title, task.assignee, task.status) == ("复现模型代码", audience, "done")


def test_proposer_ticks_checklist_on_group_page(client):
    topic = TopicFactory(status=S.PREPARING)
    client.force_login(topic.proposer)

    response = client.post(
        reverse("topics:group", args=[topic.pk]),
        {
            "save_group": "1",
            "group_chat_link": "https://chat.example.org/x",
            **{name: "on" for name, _label in CHECKLIST},
        },
    )

    assert response.status_code == 302
    topic.refresh_from_db()
    assert topic.checklist_done is True
    assert topic.group_chat_link == "https://chat.example.org/x"


def test_export_csv_for_organisers_only(client, organiser, audience):
    TopicFactory(title="导出测试")
    client.force_login(audience)
    assert client.get(reverse("topics:export")).status_code == 403

    client.force_login(organiser)
    response = client.get(reverse("topics:export"))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "导出测试" in response.content.decode("utf-8-sig")


def test_admin_actions_accept_and_reject_with_reason(client, organiser):
    first, second = TopicFactory(status=S.PROPOSED), TopicFactory(status=S.PROPOSED)
    client.force_login(organiser)
    changelist = reverse("admin:topic_sessions_topic_changelist")

    client.post(changelist, {"action": "make_accepted", "_selected_action": [first.pk]})
    ask = client.post(changelist, {"action": "make_rejected", "_selected_action": [second.pk]})
    assert ask.status_code == 200
    client.post(
        changelist,
        {
            "action": "make_rejected",
            "_selected_action": [second.pk],
            "apply": "1",
            "reason": "Duplicate of another topic",
        },
    )

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == (S.ACCEPTED, S.REJECTED)
    assert second.reason == "Duplicate of another topic"


def test_committee_cannot_use_topic_admin(client):
    committee = UserFactory(role=Role.COMMITTEE)
    client.force_login(committee)

    assert client.get(reverse("admin:topic_sessions_topic_changelist")).status_code == 403


@pytest.mark.parametrize("rows", [1, 6])
def test_topic_page_for_a_member_reads_a_fixed_number_of_queries(
    client, django_assert_num_queries, rows
):
    from topicshare.core.pagecache import bump_data_version

    topic = TopicFactory(status=TopicStatus.RECRUITING, capacity=10)
    for n in range(rows):
        person = UserFactory(role=Role.MEMBER)
        Participation.objects.create(topic=topic, user=person)
        Task.objects.create(topic=topic, title=f"Task {n}", assignee=person)
    member = UserFactory(role=Role.MEMBER)
    client.force_login(member)
    url = reverse("topics:detail", args=[topic.pk])
    client.get(url)  # forum settings and the viewer's role, kept under the content version
    bump_data_version()  # so that the page is rendered, not served as stored for this person

    # user, the versions, the topic with its track, season and proposer, co-presenters,
    # participants, tasks, history (with who), my invitation, whether I want to hear it
    with django_assert_num_queries(9):
        response = client.get(url)

    assert response.status_code == 200
    assert "X-Page-Cache" not in response
