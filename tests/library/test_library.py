import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from library.models import LibraryItem, Tag
from library.search import index_tokens, query_tokens, search
from library.services import item_for_session, items_reindex
from members.roles import Role
from sessions.models import TopicStatus
from sessions.topics.slots import track_slots
from sessions.weekly.scheduling import session_schedule, sessions_advance
from tests.factories import TopicFactory, TrackFactory, UserFactory
from topicshare.forum.models import ForumSettings

pytestmark = pytest.mark.django_db
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _item(title, **fields):
    tags = fields.pop("tags", [])
    presenters = fields.pop("presenters", [])
    item = LibraryItem.objects.create(title=title, **fields)
    item.tags.set([Tag.objects.get_or_create(name=name)[0] for name in tags])
    item.presenters.set(presenters)
    items_reindex([item])
    return item


@pytest.fixture
def shelf():
    nlp = TrackFactory(slug="nlp", name_zh="自然语言处理", name_en="NLP")
    recsys = TrackFactory(slug="recsys", name_zh="推荐系统", name_en="RecSys")
    distill = _item("模型蒸馏", domain=nlp, recording_url="https://pan.baidu.com/s/1kT0",
                    extraction_code="runl")  # fmt: skip
    return {
        "ner": _item("Named Entity Recognition as Dependency Parsing", domain=nlp,
                     tags=["命名实体识别"]),
        "ner_zh": _item("盘点近年来的命名实体识别", domain=nlp),
        "distill": distill,
        "distilbert": _item("DistilBERT", domain=nlp, parent=distill, kind="paper"),
        "transformer": _item("Attention is All you need: the Transformer", domain=nlp),
        "din": _item("Deep Interest Network", domain=recsys),
        "secret": _item("内部资料：推荐系统面经", domain=recsys, visibility="members"),
    }  # fmt: skip


def _titles(queryset):
    return sorted(item.title for item in queryset)


def test_tokens_cover_chinese_bigrams_and_lowercase_words():
    assert index_tokens("模型蒸馏 BERT") == " 模 型 蒸 馏 模型 型蒸 蒸馏 bert "
    assert query_tokens("命名实体识别") == [
        (g, False) for g in ["命名", "名实", "实体", "体识", "识别"]
    ]
    assert query_tokens("Transformer 推") == [("transformer", True), ("推", False)]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        (
            "命名实体识别",
            ["Named Entity Recognition as Dependency Parsing", "盘点近年来的命名实体识别"],
        ),
        ("蒸馏", ["模型蒸馏"]),
        ("推荐", ["Deep Interest Network", "内部资料：推荐系统面经"]),
        ("transformer", ["Attention is All you need: the Transformer"]),
        ("Transformer", ["Attention is All you need: the Transformer"]),
        ("TRANSF", ["Attention is All you need: the Transformer"]),
        ("distilbert", ["DistilBERT"]),
        ("蒸馏 distil", []),
        ("", None),
        ("'; DROP TABLE x; --", []),
    ],
)
def test_search_chinese_and_english(shelf, query, expected):
    # The words as typed: what the vocabulary adds is tests/library/test_vocabulary.py's.
    results = search(LibraryItem.objects.all(), query, literal=True)

    if expected is None:
        assert results.count() == len(shelf)
    else:
        assert _titles(results) == sorted(expected)


def test_members_only_items_are_hidden_everywhere_but_from_members(client, shelf):
    secret = shelf["secret"]
    urls = {
        "list": reverse("library:index") + "?q=推荐",
        "api": reverse("api-library-items") + "?q=推荐",
        "feed": reverse("library:feed"),
    }

    for name, url in urls.items():
        assert "内部资料" not in client.get(url).content.decode(), name
    assert client.get(reverse("library:detail", args=[secret.pk])).status_code == 404
    client.force_login(UserFactory(role=Role.AUDIENCE))
    assert client.get(reverse("library:detail", args=[secret.pk])).status_code == 404
    client.force_login(UserFactory(role=Role.MEMBER))
    assert "内部资料" in client.get(urls["list"]).content.decode()
    assert "内部资料" in client.get(urls["api"]).content.decode()
    assert client.get(reverse("library:detail", args=[secret.pk])).status_code == 200
    # The feed is for feed readers, who are never logged in: public items only.
    assert "内部资料" not in client.get(urls["feed"]).content.decode()


def test_list_groups_top_level_items_and_nests_children(client, shelf):
    content = client.get(reverse("library:index")).content.decode()

    assert content.count('data-item="') == 5  # top-level public items only
    nested = content.split("模型蒸馏", 1)[1].split("</li>\n</li>", 1)[0]
    assert "DistilBERT" in nested


def test_api_filters_and_parent(client, shelf):
    data = client.get(reverse("api-library-items"), {"domain": "nlp", "q": "distil"}).json()

    assert [(r["title"], r["parent"]) for r in data["results"]] == [
        ("DistilBERT", shelf["distill"].pk)
    ]
    top = client.get(reverse("api-library-items"), {"top_level": "true", "domain": "nlp"}).json()
    assert "DistilBERT" not in [r["title"] for r in top["results"]]
    assert client.get(reverse("api-library-items"), {"season": "x"}).status_code == 400


@pytest.mark.parametrize("count", [1, 100])
def test_library_query_count_is_flat(client, django_assert_num_queries, count):
    track = TrackFactory(slug="cv")
    parents = [_item(f"Paper {n}", domain=track, tags=["cv"]) for n in range(count)]
    _item("child", domain=track, parent=parents[0])
    ForumSettings.load()

    # the page cache's version (a miss), count, page, presenters, tags, children, filter
    # choices (season, domain), forum settings
    with django_assert_num_queries(9):
        response = client.get(reverse("library:index"))

    assert len(response.context["page"]) == min(count, 50)


def test_detail_shows_recording_with_copyable_code(client, shelf):
    content = client.get(reverse("library:detail", args=[shelf["distill"].pk])).content.decode()

    assert 'data-role="extraction-code">runl<' in content
    assert 'data-copy="runl"' in content
    assert "DistilBERT" in content


def test_a_presented_session_becomes_a_library_item_and_presenters_upload(client):
    organiser = UserFactory(role=Role.ORGANISER)
    track = TrackFactory(weekday=5, local_time=datetime.time(20, 30))
    topic = TopicFactory(status=TopicStatus.READY, track=track, title="LightGCN")
    now = datetime.datetime(2026, 12, 1, tzinfo=datetime.UTC)
    session = session_schedule(topic=topic, start=track_slots(track=track, after=now)[0],
                               by=organiser, now=now)  # fmt: skip
    sessions_advance(now=session.end)

    item = LibraryItem.objects.get(session=session)
    assert item_for_session(session=session) == item  # idempotent
    assert (item.title, list(item.presenters.all())) == ("LightGCN", [topic.proposer])
    url = reverse("library:materials", args=[item.pk])
    client.force_login(UserFactory())
    assert client.get(url).status_code == 403

    client.force_login(topic.proposer)
    fake = client.post(
        url, {"slides_file": SimpleUploadedFile("x.pdf", b"MZ\x90 exe", "application/pdf")}
    )
    assert "slides_file" in fake.context["form"].errors
    response = client.post(
        url,
        {
            "slides_file": SimpleUploadedFile("讲义.pdf", PDF, "application/pdf"),
            "recording_url": "https://pan.baidu.com/s/abc",
            "extraction_code": "g1ky",
        },
    )
    item.refresh_from_db()
    assert response.status_code == 302
    assert (item.slides_name, item.extraction_code) == ("讲义.pdf", "g1ky")
    slides = client.get(reverse("library:slides", args=[item.pk]))
    assert slides["Content-Type"] == "application/pdf"


def test_feed_lists_new_public_items(client, shelf):
    rss = client.get(reverse("library:feed"))
    atom = client.get(reverse("library:feed-atom"))

    assert rss.status_code == atom.status_code == 200
    assert "DistilBERT" in rss.content.decode()
    assert "<feed" in atom.content.decode()


def test_cached_list_rows_follow_changes_to_items_presenters_and_children(client):
    track = TrackFactory(slug="nlp")
    item = _item("Old title", domain=track)
    client.get(reverse("library:index"))  # rows are now cached

    item.title = "New title"
    item.save()
    item.presenters.add(UserFactory(display_name="王小明"))
    items_reindex([item])
    child = _item("A related paper", domain=track, parent=item)
    content = client.get(reverse("library:index")).content.decode()

    assert "New title" in content
    assert "Old title" not in content
    assert "王小明" in content
    assert child.title in content


def test_browse_order_follows_season_and_domain_order_even_after_they_change(client):
    from sessions.models import Season

    nlp = TrackFactory(slug="nlp", order=1)
    cv = TrackFactory(slug="cv", order=2)
    early = Season.objects.create(label="初期", order=0)
    topic1 = Season.objects.create(label="Topic 1", order=1)
    _item("early nlp", season=early, domain=nlp)
    _item("topic1 cv", season=topic1, domain=cv)
    _item("topic1 nlp", season=topic1, domain=nlp)
    _item("no season", domain=nlp)

    def titles():
        return [item.title for item in client.get(reverse("library:index")).context["page"]]

    # Newest season first, domains in their order, items without a season last.
    assert titles() == ["topic1 nlp", "topic1 cv", "early nlp", "no season"]

    # Organisers reorder seasons and domains in the admin (a save, so the receivers run).
    early.order = 5
    early.save()
    cv.order = 0
    cv.save()
    assert titles() == ["early nlp", "topic1 cv", "topic1 nlp", "no season"]
    item = LibraryItem.objects.get(title="topic1 nlp")
    assert (item.season_rank, item.domain_rank) == (1, 1)


def test_search_index_follows_inserts_updates_and_deletes(shelf):
    """On SQLite the FTS5 index is kept by triggers, on PostgreSQL by a generated column:
    either way, what the table holds is what search finds."""
    from django.db import connection

    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'")
            triggers = {row[0] for row in cursor.fetchall()}
        # A later migration that rebuilds the table drops them: re-run 0006's statements.
        assert {"library_item_fts_insert", "library_item_fts_update",
                "library_item_fts_delete"} <= triggers  # fmt: skip

    item = shelf["din"]
    assert _titles(search(LibraryItem.objects.all(), "interest")) == ["Deep Interest Network"]
    item.title = "深度兴趣网络"
    item.save()
    items_reindex([item])
    assert _titles(search(LibraryItem.objects.all(), "interest")) == []
    assert _titles(search(LibraryItem.objects.all(), "兴趣")) == ["深度兴趣网络"]
    item.delete()
    assert _titles(search(LibraryItem.objects.all(), "兴趣")) == []


def test_cached_facets_keep_the_chosen_values_and_follow_renamed_seasons(client):
    from sessions.models import Season

    season = Season.objects.create(label="Topic 6", order=6)
    url = reverse("library:index")
    assert "Topic 6" in client.get(url).content.decode()

    chosen = client.get(url, {"season": season.pk, "kind": "paper"}).content.decode()
    assert f'<option value="{season.pk}" selected>Topic 6</option>' in chosen
    assert '<option value="paper" selected>' in chosen
    assert f'<option value="{season.pk}">Topic 6</option>' in client.get(url).content.decode()

    season.label = "Topic 6（2024 春）"
    season.save()
    content = client.get(url).content.decode()
    assert "Topic 6（2024 春）" in content
    # A bad value is reported on its field, not cached as if it were a good one.
    assert "选择一个有效的选项" in client.get(url, {"season": 999}).content.decode()
    assert "选择一个有效的选项" not in client.get(url).content.decode()


def test_detail_hides_empty_boxes(client):
    bare = _item("只有标题的文章")
    with_tag = _item("Only tagged", tags=["推荐"])
    with_paper = _item("Only a paper", paper_url="https://arxiv.org/abs/1706.03762")

    bare_html = client.get(reverse("library:detail", args=[bare.pk])).content.decode()
    tag_html = client.get(reverse("library:detail", args=[with_tag.pk])).content.decode()
    paper_html = client.get(reverse("library:detail", args=[with_paper.pk])).content.decode()

    assert 'data-role="materials"' not in bare_html
    assert 'data-role="related"' not in bare_html
    assert 'data-role="materials"' not in tag_html
    assert 'data-role="related"' in tag_html
    assert 'data-role="materials"' in paper_html
    assert 'data-role="related"' not in paper_html
    assert 'class="grid two"' not in paper_html


def test_detail_shows_the_materials_box_to_who_may_add_them(client):
    bare = _item("只有标题的文章")
    client.force_login(UserFactory(role=Role.ORGANISER))

    html = client.get(reverse("library:detail", args=[bare.pk])).content.decode()

    assert 'data-role="materials"' in html
    assert 'data-action="materials"' in html
