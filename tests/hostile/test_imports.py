"""Malformed and wrongly encoded imports: the library importer (command and admin) and the
topic sheet CSV import (service, command and admin). A file that cannot be read is refused
with a message naming the problem, and nothing of it is imported."""

import io
import json
import random
import signal
import threading
from contextlib import contextmanager

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from library.importers.base import ImportFailed
from library.importers.detect import import_library
from library.models import LibraryItem, Tag
from members.models import User
from sessions.models import Season, Topic, Track
from sessions.topics.csv_io import topics_import_csv
from tests.factories import TrackFactory
from tests.hostile.helpers import upload

pytestmark = pytest.mark.django_db

GARBAGE = random.Random(7331).randbytes(4096)


@contextmanager
def time_limit(seconds: float):
    """Interrupt the block after `seconds` (the regex engine checks for signals)."""
    if threading.current_thread() is not threading.main_thread():  # pragma: no cover
        yield
        return

    def expired(signum, frame):
        raise TimeoutError(f"took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _library_state() -> tuple:
    return (
        LibraryItem.objects.count(),
        Tag.objects.count(),
        Season.objects.count(),
        Track.objects.count(),
        User.objects.count(),
    )


# --- Files that cannot be read at all -------------------------------------------------------

UNREADABLE = [
    ("binary-garbage", "archive.md", GARBAGE),
    ("utf16", "archive.md", "### Topic 5\n1. 标题【杨夕】".encode("utf-16")),
    (
        "latin1-without-chinese",
        "list.md",
        "# Café\n\n- [Crème](https://example.org/é)".encode("latin-1"),
    ),  # fmt: skip
    ("nul-byte-in-utf8", "list.md", b"# ok\n\n- [a\x00b](https://example.org/a)\n"),
    ("json-truncated", "column.json", b'{"article": [{"title": "x", "url": "https://'),
    ("json-trailing-comma", "column.json", b'{"article": [],}'),
    ("json-single-quotes", "column.json", b"{'article': []}"),
    ("json-trailing-garbage", "column.json", b'{"article": []} and more'),
    ("json-nested-100k", "column.json", b"[" * 100_000 + b"]" * 100_000),
    ("json-5000-digit-number", "column.json", b'{"article": [], "n": ' + b"9" * 5000 + b"}"),
    ("json-not-an-export-list", "column.json", b'[{"title": "x"}]'),
    ("json-empty-object", "column.json", b"{}"),
    ("json-articles-not-a-list", "column.json", b'{"articles": {"title": "x"}}'),
    ("json-string", "column.json", b'"article"'),
    ("json-null", "column.json", b"null"),
    ("gbk-json-garbage", "column.json", "{文章: 知乎}".encode("gbk")),
]
UNREADABLE_IDS = [name for name, _file, _data in UNREADABLE]


@pytest.mark.parametrize(("name", "data"), [(f, d) for _i, f, d in UNREADABLE],
                         ids=UNREADABLE_IDS)  # fmt: skip
def test_import_library_command_refuses_unreadable_files(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    before = _library_state()

    with pytest.raises(CommandError) as caught:
        call_command("import_library", str(path))

    message = str(caught.value)
    assert message.startswith("Nothing was imported:"), message
    assert len(message) > len("Nothing was imported: ") + 10
    assert _library_state() == before


@pytest.mark.parametrize(("name", "data"), [(f, d) for _i, f, d in UNREADABLE[::3]],
                         ids=UNREADABLE_IDS[::3])  # fmt: skip
def test_admin_library_import_refuses_unreadable_files(client, organiser, name, data):
    client.force_login(organiser)
    before = _library_state()

    response = client.post(
        reverse("admin:library_libraryitem_import"),
        {"file": upload(name, data), "format": "auto", "dry_run": ""},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["file"]
    assert _library_state() == before


def test_import_library_reads_a_gbk_reading_list():
    text = "# 推荐系统\n\n- [深度兴趣网络](https://example.org/din) 阿里的点击率模型\n"

    report = import_library(data=text.encode("gbk"), name="阅读清单.md", fmt="auto")

    item = LibraryItem.objects.get()
    assert (report.created, item.title) == (1, "深度兴趣网络")
    assert "阿里" in item.note


def test_import_library_reads_a_gbk_topic_archive():
    text = "### Topic 5\n\n#### Topic 5 >> 自然语言处理\n\n1. 命名实体识别综述【杨夕】\n"

    report = import_library(data=text.encode("gb18030"), name="README.md", fmt="topic-archive")

    assert report.created == 1
    assert LibraryItem.objects.get().title == "命名实体识别综述"


def test_import_library_unknown_format_imports_nothing():
    with pytest.raises(ImportFailed, match="Unknown format"):
        import_library(data=b"# x", name="x.md", fmt="<script>")
    assert LibraryItem.objects.count() == 0


@pytest.mark.parametrize("name", ["", "/", "C:\\", "   "])
def test_import_library_needs_a_file_name(name):
    with pytest.raises(ImportFailed, match="no name"):
        import_library(data=b"# x\n\n- [a](https://example.org/a)", name=name)
    assert LibraryItem.objects.count() == 0


def test_zhihu_export_with_bad_articles_reports_each_by_json_path():
    document = {
        "article": [
            1,
            "x",
            None,
            {"title": {"nested": 1}, "url": ["https://zhuanlan.zhihu.com/p/1"]},
            {"title": "no url"},
            {"title": "js url", "url": "javascript:alert(1)"},
            {"title": "ok", "url": "https://zhuanlan.zhihu.com/p/2", "upvote": "lots",
             "created": "2026-02-30", "topic": "not a list"},
        ]
    }  # fmt: skip

    report = import_library(data=json.dumps(document).encode(), name="c.json")

    wheres = [problem.where for problem in report.problems]
    assert wheres[:6] == [
        "$.article[0]",
        "$.article[1]",
        "$.article[2]",
        "$.article[3].title",
        "$.article[4].url",
        "$.article[5].url",
    ]
    assert "$.article[6].upvote" in wheres and "$.article[6].created" in wheres
    item = LibraryItem.objects.get()
    assert (item.title, item.upvotes, item.published_at) == ("ok", None, None)


@pytest.mark.parametrize(
    "created",
    [
        "9999-12-31T23:00:00+00:00",
        253_402_300_799_000,
        "0001-01-01T00:00:00",
        "0001-01-01T00:00+14:00",
    ],  # fmt: skip
    ids=["year-9999-utc", "epoch-ms-9999", "year-1-naive", "year-1-plus-14"],
)
def test_zhihu_dates_at_the_edge_of_the_calendar_are_a_problem_not_a_crash(tmp_path, created):
    document = {
        "article": [
            {"title": "ok", "url": "https://zhuanlan.zhihu.com/p/2", "created": created},
        ]
    }
    path = tmp_path / "column.json"
    path.write_text(json.dumps(document))

    call_command("import_library", str(path))

    item = LibraryItem.objects.get()
    assert item.published_at is None or 1 < item.published_at.year < 9999


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("title", "\ud800 lone"),
        ("content", "<p>\udfff</p>"),
        ("userName", "\ud83d"),
        ("topic", [{"tag": "\udc00"}]),
    ],  # fmt: skip
    ids=["title", "content", "author", "tag"],
)
def test_zhihu_lone_surrogates_are_refused_or_replaced(client, tmp_path, field, value):
    good = {"title": "good", "url": "https://zhuanlan.zhihu.com/p/2"}
    article = {"title": "ok", "url": "https://zhuanlan.zhihu.com/p/3", field: value}
    path = tmp_path / "column.json"
    path.write_text(json.dumps({"article": [good, article]}))  # "\ud800" escapes, as JSON allows

    try:
        call_command("import_library", str(path))
    except CommandError:
        assert LibraryItem.objects.count() == 0
        return
    for item in LibraryItem.objects.all():
        for text in (item.title, item.content_html, item.author_name):
            text.encode("utf-8")  # storable and renderable
        assert client.get(reverse("library:detail", args=[item.pk])).status_code == 200


def test_zhihu_lone_surrogate_becomes_the_replacement_character(tmp_path):
    """A lone surrogate (valid JSON, invalid text) is replaced, and the file imports whole."""
    good = {"title": "good", "url": "https://zhuanlan.zhihu.com/p/2", "topic": [{"tag": "新"}]}
    bad = {"title": "\ud800", "url": "https://zhuanlan.zhihu.com/p/3"}
    path = tmp_path / "column.json"
    path.write_text(json.dumps({"article": [good, bad]}))

    call_command("import_library", str(path), stdout=io.StringIO())

    assert sorted(LibraryItem.objects.values_list("title", flat=True)) == ["good", "\ufffd"]


def test_zhihu_author_token_longer_than_the_field_is_not_stored():
    article = {
        "title": "ok",
        "url": "https://zhuanlan.zhihu.com/p/4",
        "author": {"name": "a", "url_token": "x" * 5000},
    }

    import_library(data=json.dumps({"articles": [article]}).encode(), name="c.json")

    max_length = LibraryItem._meta.get_field("author_url").max_length
    assert all(len(item.author_url) <= max_length for item in LibraryItem.objects.all())


def test_imported_values_fit_their_columns():
    long = "长" * 3000
    document = {
        "articles": [
            {
                "id": long,
                "title": long,
                "url": "https://zhuanlan.zhihu.com/p/5",
                "author": {"name": long, "url": "https://example.org/" + "a" * 2000},
                "topics": [{"name": long}],
            }
        ]
    }

    import_library(data=json.dumps(document).encode(), name="c.json")

    item = LibraryItem.objects.get()
    for field in ("title", "author_name", "author_url", "source_key", "source_url"):
        max_length = LibraryItem._meta.get_field(field).max_length
        assert len(getattr(item, field)) <= max_length, field
    assert all(len(tag.name) <= 60 for tag in item.tags.all())


def test_a_one_megabyte_line_imports_quickly():
    line = "- [" + "长" * 500_000 + "](https://example.org/a) " + "x " * 250_000 + "\n"

    with time_limit(10):
        report = import_library(data=("# 推荐\n\n" + line).encode(), name="l.md")

    assert report.created + len(report.problems) >= 1
    assert len(LibraryItem.objects.get().title) <= 500


@pytest.mark.parametrize("fmt", ["reading-list", "topic-archive"])
def test_a_heading_with_100k_spaces_imports_quickly(fmt):
    text = "# a" + " " * 100_000 + "b\n\n- [x](https://example.org/a)\n"

    with time_limit(3):
        import_library(data=text.encode(), name="h.md", fmt=fmt)


def test_markdown_with_unclosed_brackets_reports_lines_and_imports_the_rest():
    text = (
        "### Topic 5\n\n#### Topic 5 >> 自然语言处理\n\n"
        "1. [never closed(https://example.org/a)【杨夕】\n"
        "2. " + "【" * 50 + "deep" + "】" * 50 + "\n"
        "3. [ok](https://example.org/ok.pdf)【杨夕】\n"
        "4. [rel](../relative.pdf)\n"
    )

    report = import_library(data=text.encode(), name="README.md", fmt="topic-archive")

    problems = {problem.where for problem in report.problems}
    assert {"line 5", "line 6", "line 8"} <= problems, report.problems
    # Line 7 whole, line 8 without its relative link ("left out").
    assert sorted(LibraryItem.objects.values_list("title", flat=True)) == ["ok", "rel"]


# --- Topic sheet CSV --------------------------------------------------------------------------

HEADER = "title,track,proposer,preferred_week,capacity,summary\n"


@pytest.fixture
def nlp():
    return TrackFactory(slug="nlp")


def _topics_state() -> tuple:
    return (Topic.objects.count(), User.objects.count())


CSV_FILES = [
    ("binary-garbage", GARBAGE),
    ("utf16", (HEADER + "标题,nlp,a@example.org,,,\n").encode("utf-16")),
    ("unterminated-quote", (HEADER + '"never closed,nlp,a@example.org,,,\n').encode()),
    ("only-bom", b"\xef\xbb\xbf"),
    ("header-only-garbage", b"\x00\x01\x02,\x03\n"),
    ("json-not-csv", b'{"title": "x", "track": "nlp"}'),
    ("html-not-csv", b"<html><script>alert(1)</script></html>"),
    ("unknown-columns", b"title,track,proposer,<script>\nx,nlp,a@example.org,y\n"),
    ("title-1mb", (HEADER + "长" * 1_000_000 + ",nlp,a@example.org,,,\n").encode()),
    (
        "sub-theme-100k",
        ("title,track,proposer,sub_theme\nx,nlp,a@example.org," + "长" * 100_000 + "\n").encode(),
    ),  # fmt: skip
    ("date-feb-30", (HEADER + "x,nlp,a@example.org,2026-02-30,,\n").encode()),
    ("date-year-0", (HEADER + "x,nlp,a@example.org,0000-01-01,,\n").encode()),
    ("date-year-99999", (HEADER + "x,nlp,a@example.org,99999-01-01,,\n").encode()),
    ("date-words", (HEADER + "x,nlp,a@example.org,next tuesday,,\n").encode()),
    ("capacity-huge", (HEADER + "x,nlp,a@example.org,," + "9" * 400 + ",\n").encode()),
    ("capacity-negative", (HEADER + "x,nlp,a@example.org,,-3,\n").encode()),
    ("capacity-float", (HEADER + "x,nlp,a@example.org,,1e3,\n").encode()),
    ("id-not-a-number", b"id,title,track,proposer\n\xc2\xb2,x,nlp,a@example.org\n"),
    ("id-huge", b"id,title,track,proposer\n" + b"9" * 40 + b",x,nlp,a@example.org\n"),
    ("status-unknown", b"title,track,proposer,status\nx,nlp,a@example.org,<script>\n"),
    ("track-unknown", (HEADER + "x,<img src=x onerror=alert(1)>,a@example.org,,,\n").encode()),
    (
        "paper-link-js",
        b"title,track,proposer,paper_links\nx,nlp,a@example.org,javascript:alert(1)\n",
    ),  # fmt: skip
    (
        "chat-link-data",
        b"title,track,proposer,group_chat_link\nx,nlp,a@example.org,data:text/html,x\n",
    ),  # fmt: skip
    ("proposer-name-too-long", (HEADER + "x,nlp," + "名" * 500 + ",,,\n").encode()),
]
CSV_IDS = [name for name, _data in CSV_FILES]


@pytest.mark.parametrize("data", [data for _name, data in CSV_FILES], ids=CSV_IDS)
def test_topic_csv_import_refuses_bad_files_and_saves_nothing(nlp, organiser, data):
    before = _topics_state()

    report = topics_import_csv(data=data, by=organiser, dry_run=False)

    assert report.errors, "the file should have been refused"
    assert not report.saved
    messages = report.error_messages()
    assert all(message.strip() for message in messages)
    assert _topics_state() == before


def test_topic_csv_import_bad_last_row_of_many_saves_nothing_not_even_placeholders(nlp, organiser):
    rows = [f"Topic {n},nlp,New Person {n},2026-12-0{n % 9 + 1},6,ok\n" for n in range(60)]
    data = (HEADER + "".join(rows) + "Last,nlp,Someone,2026-02-30,6,bad\n").encode()
    before = _topics_state()

    report = topics_import_csv(data=data, by=organiser, dry_run=False)

    assert [line for line, _message in report.errors] == [62]
    assert "2026-02-30" in report.error_messages()[0]
    assert _topics_state() == before


def test_topic_csv_import_gbk_file_with_bad_bytes_is_refused(nlp, organiser):
    data = HEADER.encode() + "标题".encode("gbk") + b"\xff\xfe\x80,nlp,a@example.org,,,\n"

    report = topics_import_csv(data=data, by=organiser, dry_run=False)

    assert report.errors
    assert Topic.objects.count() == 0


def test_topic_csv_import_nul_byte_in_a_cell_is_refused(nlp, organiser):
    data = (HEADER + "a\x00b,nlp,a@example.org,,,\n").encode()

    report = topics_import_csv(data=data, by=organiser, dry_run=False)

    # The web form refuses NUL characters; the import must not store them either.
    assert report.errors or "\x00" not in "".join(Topic.objects.values_list("title", flat=True))


@pytest.mark.parametrize("data", [CSV_FILES[0][1], CSV_FILES[2][1], CSV_FILES[10][1]],
                         ids=["garbage", "unterminated-quote", "date-feb-30"])  # fmt: skip
def test_import_topics_csv_command_names_the_problem_and_saves_nothing(
    tmp_path, nlp, organiser, data
):
    path = tmp_path / "topics.csv"
    path.write_bytes(data)
    before = _topics_state()

    with pytest.raises(CommandError, match="nothing was saved"):
        call_command("import_topics_csv", str(path), "--by", organiser.email)

    assert _topics_state() == before


@pytest.mark.parametrize(
    "by", ["nobody@example.org", "\u202eorg.elpmaxe@a", "a\x00@example.org", "", "' OR 1=1 --"]
)
def test_import_topics_csv_command_refuses_an_unknown_or_odd_organiser(tmp_path, nlp, by):
    path = tmp_path / "topics.csv"
    path.write_bytes((HEADER + "x,nlp,a@example.org,,,\n").encode())

    with pytest.raises(CommandError):
        call_command("import_topics_csv", str(path), "--by", by)

    assert Topic.objects.count() == 0


@pytest.mark.parametrize("data", [CSV_FILES[1][1], CSV_FILES[12][1], CSV_FILES[19][1]],
                         ids=["utf16", "year-99999", "status-unknown"])  # fmt: skip
def test_admin_topic_csv_import_shows_line_numbered_errors(client, nlp, organiser, data):
    client.force_login(organiser)

    response = client.post(
        reverse("admin:topic_sessions_topic_import"),
        {"file": upload("topics.csv", data), "dry_run": ""},
    )

    assert response.status_code == 200
    report = response.context["report"]
    assert report.errors and not report.saved
    assert Topic.objects.count() == 0
