"""Hypothesis fuzzing of the main forms, the importers and the filter query strings.

Properties: never a 5xx (or an unexpected exception), and whatever is stored renders without
anything executable. Each test is bounded (max_examples, no deadline, no example database)
so that the module runs in well under a minute."""

import json
import tempfile
from pathlib import Path
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from library.importers.base import ImportFailed
from library.importers.detect import import_library
from library.importers.zhihu import sanitise_html
from library.models import LibraryItem
from members.models import Application
from members.roles import Role
from sessions.models import Topic, TopicStatus
from sessions.topics.csv_io import TOPIC_CSV_COLUMNS, topics_import_csv
from tests.factories import TopicFactory, TrackFactory, UserFactory
from tests.hostile.helpers import MARKER, XSS_VALUES, assert_clean_page, assert_no_executable
from topicshare.core.markup import render_markdown

pytestmark = pytest.mark.django_db

# Hypothesis's caches go to the temporary directory, not into the project.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "topicshare-hypothesis")

FAST = settings(max_examples=300, deadline=None, database=None)
WEB = settings(
    max_examples=50,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Pieces hostile text is made of: markup, schemes, quotes, odd characters.
FRAGMENTS = [
    *XSS_VALUES, "<", ">", '"', "'", "`", "=", "(", ")", "[", "]", "!", "*", "_", "#", "\n",
    "\n\n", "    ", "<a href=", "<img src=", "javascript:", "data:text/html,", "&#x6a;", "&lt;",
    "https://example.org/", "//", "\\", "\u202e", "\u200d", "\ufeff", "👩\u200d👩", "\u0301",
    "<!--", "-->", "<![CDATA[", "]]>", "<svg>", "</svg>", "<math>", "<style>", "<noscript>",
    "onerror=", "onload=", f"alert('{MARKER}')", "%00", "\x00", "|---|", "```", "> ",
]  # fmt: skip
hostile_text = st.one_of(
    st.text(max_size=300),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=8)), max_size=30).map("".join),
)
dates = st.one_of(
    st.dates().map(str), st.text(max_size=12), st.sampled_from(["2026-02-30", "0000-01-01"])
)


# --- Pure functions -------------------------------------------------------------------------


@FAST
@given(text=hostile_text)
def test_fuzz_render_markdown_never_outputs_script(text):
    assert_no_executable(render_markdown(text))


@FAST
@given(body=hostile_text)
def test_fuzz_zhihu_sanitiser_never_outputs_script(body):
    assert_no_executable(sanitise_html(body))


# --- Forms ------------------------------------------------------------------------------


@WEB
@given(title=hostile_text, sub_theme=hostile_text, summary=hostile_text, links=hostile_text,
       week=dates, capacity=st.text(max_size=5))  # fmt: skip
def test_fuzz_topic_proposal_form(client, title, sub_theme, summary, links, week, capacity):
    track = TrackFactory(slug="nlp")
    client.force_login(UserFactory(role=Role.MEMBER))
    count = Topic.objects.count()

    response = client.post(
        reverse("topics:new"),
        {"title": title, "track": track.pk, "sub_theme": sub_theme, "summary": summary,
         "paper_links": links + "\nhttps://arxiv.org/abs/1", "preferred_week": week,
         "capacity": capacity or "6"},
    )  # fmt: skip

    assert response.status_code in {200, 302}
    if response.status_code == 302:
        topic = Topic.objects.latest("id")
        assert Topic.objects.count() == count + 1
        assert "\x00" not in topic.title + topic.summary + topic.sub_theme
        assert_clean_page(client.get(reverse("topics:detail", args=[topic.pk])))
    else:
        assert Topic.objects.count() == count
        assert_no_executable(response.content.decode())


@WEB
@given(motivation=st.one_of(hostile_text, hostile_text.map("I have read many papers: {}".format)),
       paper_title=hostile_text,
       paper_url=st.one_of(hostile_text, hostile_text.map("https://example.org/{}".format)),
       dates_text=hostile_text)  # fmt: skip
def test_fuzz_application_form(client, motivation, paper_title, paper_url, dates_text):
    applicant = UserFactory(role=Role.AUDIENCE)
    client.force_login(applicant)

    response = client.post(
        reverse("join-apply"),
        {"motivation": motivation, "paper_title": paper_title, "paper_url": paper_url,
         "preferred_dates": dates_text},
    )  # fmt: skip

    assert response.status_code in {200, 302}
    stored = Application.objects.filter(applicant=applicant)
    assert stored.exists() is (response.status_code == 302)
    content = assert_clean_page(client.get(reverse("join-status")))
    assert "\x00" not in content
    if stored.exists():
        assert stored.get().paper_url.lower().startswith(("http://", "https://"))


@WEB
@given(display_name=hostile_text, wechat_id=st.text(max_size=30),
       language=st.sampled_from(["", "en", "zh-hans", "xx", "<script>"]))  # fmt: skip
def test_fuzz_profile_form(client, display_name, wechat_id, language):
    user = UserFactory(role=Role.MEMBER)
    topic = TopicFactory(proposer=user)
    client.force_login(user)

    response = client.post(
        reverse("profile"),
        {"display_name": display_name, "wechat_id": wechat_id, "preferred_language": language},
    )

    assert response.status_code in {200, 302}
    user.refresh_from_db()
    assert len(user.display_name) <= 60
    assert not any(ord(char) < 32 for char in user.display_name)
    assert user.preferred_language in {"", "en", "zh-hans"}
    assert_clean_page(client.get(reverse("topics:detail", args=[topic.pk])))
    assert_clean_page(client.get(reverse("profile")))


@WEB
@given(slides_url=hostile_text, recording_url=hostile_text, code=st.text(max_size=25))
def test_fuzz_library_materials_form(client, slides_url, recording_url, code):
    presenter = UserFactory(role=Role.MEMBER)
    item = LibraryItem.objects.create(title="LightGCN")
    item.presenters.set([presenter])
    client.force_login(presenter)

    response = client.post(
        reverse("library:materials", args=[item.pk]),
        {"slides_url": slides_url, "recording_url": recording_url, "extraction_code": code},
    )

    assert response.status_code in {200, 302}
    item.refresh_from_db()
    for url in (item.slides_url, item.recording_url):
        assert url == "" or url.lower().startswith(("http://", "https://"))
    assert item.extraction_code == "" or item.extraction_code.isascii()
    assert_clean_page(client.get(reverse("library:detail", args=[item.pk])))


@WEB
@given(title=hostile_text, notes=hostile_text, due=dates,
       status=st.sampled_from(["todo", "doing", "done", "", "x", "<script>"]))  # fmt: skip
def test_fuzz_task_board(client, title, notes, due, status):
    topic = TopicFactory(status=TopicStatus.PREPARING)
    client.force_login(topic.proposer)

    added = client.post(
        reverse("topics:group", args=[topic.pk]),
        {"add_task": "1", "title": title, "notes": notes, "due_date": due},
    )
    for task in topic.tasks.all():
        moved = client.post(reverse("topics:task-move", args=[topic.pk, task.pk]),
                            {"status": status})  # fmt: skip
        assert moved.status_code == 302

    assert added.status_code in {200, 302}
    assert_clean_page(client.get(reverse("topics:group", args=[topic.pk])))


# --- Query strings ----------------------------------------------------------------------------


def _presenter_value(value: str) -> bool:
    """Leaves out what trips the known bug (digits such as '²' that int() refuses), which
    test_dates_and_text.test_library_presenter_filter_with_odd_digits keeps as an xfail."""
    value = value.strip()[:60]
    return not (value.isdigit() and not value.isdecimal())


LIBRARY_PARAMS = ["season", "domain", "kind", "tag", "year", "has_slides", "has_recording",
                  "top_level", "q", "page", "presenter"]  # fmt: skip
TOPIC_PARAMS = ["track", "season", "status", "proposer", "q", "o", "page"]
SESSION_PARAMS = ["track", "season", "from", "to", "status", "page"]
query_values = st.one_of(hostile_text, st.integers().map(str), dates)


def _query(params):
    return st.dictionaries(st.sampled_from(params), query_values.filter(_presenter_value),
                           max_size=5)  # fmt: skip


@pytest.fixture
def shelf():
    track = TrackFactory(slug="nlp")
    TopicFactory(track=track, title="BERT")
    item = LibraryItem.objects.create(title="蒸馏 DistilBERT", domain=track)
    item.presenters.set([UserFactory()])


@WEB
@given(query=_query(LIBRARY_PARAMS))
def test_fuzz_library_filters(client, shelf, query):
    for name in ("library:index", "api-library-items"):
        response = client.get(f"{reverse(name)}?{urlencode(query)}")
        assert response.status_code in {200, 400}, (name, query)
        if name == "library:index":
            assert_no_executable(response.content.decode())


@WEB
@given(query=_query(TOPIC_PARAMS), sessions=_query(SESSION_PARAMS))
def test_fuzz_topic_and_session_filters(client, shelf, query, sessions):
    for name, params in [("topics:sheet", query), ("api-topics", query),
                         ("api-sessions", sessions), ("sessions:upcoming", {"weeks": "1"}),
                         ("sessions:past", sessions)]:  # fmt: skip
        response = client.get(f"{reverse(name)}?{urlencode(params)}")
        assert response.status_code in {200, 400}, (name, params)


# --- Importers -----------------------------------------------------------------------------


csv_cells = st.one_of(
    hostile_text,
    st.sampled_from(["nlp", "Someone New", "a@example.org", "2026-12-07", "6", "proposed",
                     "yes", "https://arxiv.org/abs/1", ""]),
)  # fmt: skip


@WEB
@given(rows=st.lists(st.lists(csv_cells, min_size=3, max_size=6), max_size=6),
       header=st.permutations(TOPIC_CSV_COLUMNS[1:8]))  # fmt: skip
def test_fuzz_topic_csv_import_is_all_or_nothing(organiser, rows, header):
    TrackFactory(slug="nlp")
    lines = [",".join(header[:6])] + [",".join(json.dumps(cell) for cell in row) for row in rows]
    before = Topic.objects.count()

    report = topics_import_csv(data="\n".join(lines).encode(), by=organiser, dry_run=False)

    if report.errors:
        assert not report.saved
        assert Topic.objects.count() == before
    else:
        assert Topic.objects.count() == before + report.created


@WEB
@given(data=st.one_of(st.binary(max_size=400), hostile_text.map(str.encode)),
       name=st.sampled_from(["a.md", "b.json", "README.md", "c.txt"]),
       fmt=st.sampled_from(["auto", "topic-archive", "reading-list", "zhihu"]))  # fmt: skip
def test_fuzz_library_import_refuses_or_reports(client, data, name, fmt):
    try:
        report = import_library(data=data, name=name, fmt=fmt, base_url="https://example.org/")
    except ImportFailed as failure:
        assert str(failure)
        return
    assert report.created + report.updated + report.unchanged <= LibraryItem.objects.count()
    for item in LibraryItem.objects.filter(source_file=name)[:3]:
        assert_clean_page(client.get(reverse("library:detail", args=[item.pk])))
