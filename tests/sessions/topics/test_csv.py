import csv
import datetime
import io

import pytest
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import RequestFactory
from django.urls import include, path
from django.utils import translation

from members.models import User
from members.placeholders import placeholder_for
from members.roles import Role
from sessions.models import Participation, Season, Topic, TopicStatus, TopicTransition
from sessions.topics.admin_csv import export_view, import_view
from sessions.topics.csv_io import (
    MAX_BYTES,
    MAX_ROWS,
    TOPIC_CSV_COLUMNS,
    topics_export_csv,
    topics_import_csv,
)
from tests.factories import TrackFactory, UserFactory

S = TopicStatus
pytestmark = pytest.mark.django_db

# The admin views are wired into TopicAdmin.get_urls by sessions/admin.py; the tests use their
# own URLs (this module is the URLconf) so that the views' own permission checks are what runs.
urlpatterns = [
    path("csv/import/", lambda request: import_view(request, admin.site), name="csv_import"),
    path("", include("topicshare.urls")),
]
with_csv_urls = pytest.mark.urls(__name__)


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def nlp(db):
    return TrackFactory(slug="nlp", name_en="NLP", name_zh="自然语言处理")


def _topic(*, proposer: User, track, title: str = "BERT", **fields) -> Topic:
    topic = Topic.objects.create(proposer=proposer, track=track, title=title, **fields)
    Participation.objects.create(topic=topic, user=proposer, role=Participation.Role.PROPOSER)
    return topic


def _export(topics=None) -> str:
    out = io.StringIO()
    topics_export_csv(topics=Topic.objects.all() if topics is None else topics, out=out)
    return out.getvalue()


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline="")))


def _snapshot() -> list[tuple]:
    return [
        (
            *(getattr(topic, f.attname) for f in Topic._meta.concrete_fields),
            sorted(user.pk for user in topic.co_presenters.all()),
        )
        for topic in Topic.objects.order_by("pk")
    ]


def _sheet(*lines: str) -> str:
    return "\n".join(lines) + "\n"


# --- Export ------------------------------------------------------------------------------


def test_export_writes_the_header_and_one_row_per_topic(nlp, audience):
    season = Season.objects.create(label="Topic 7")
    co_presenter = UserFactory(email="co@example.org")
    topic = _topic(
        proposer=audience,
        track=nlp,
        title="Sentence-BERT",
        season=season,
        status=S.ACCEPTED,
        preferred_week=datetime.date(2026, 12, 7),
        capacity=8,
        members_only=True,
        paper_links=["https://arxiv.org/abs/1908.10084", "https://arxiv.org/abs/1810.04805"],
        check_intro=True,
    )
    topic.co_presenters.add(co_presenter, placeholder_for(name="王小明"))

    rows = _rows(_export())

    assert list(rows[0]) == list(TOPIC_CSV_COLUMNS)
    assert rows == [
        {
            "id": str(topic.pk),
            "title": "Sentence-BERT",
            "track": "nlp",
            "sub_theme": "",
            "season": "Topic 7",
            "status": "accepted",
            "proposer": audience.email,
            "co_presenters": "co@example.org;王小明",
            "preferred_week": "2026-12-07",
            "capacity": "8",
            "members_only": "yes",
            "paper_links": "https://arxiv.org/abs/1908.10084 https://arxiv.org/abs/1810.04805",
            "summary": "",
            "check_intro": "yes",
            "check_methods": "no",
            "check_code": "no",
            "check_survey": "no",
            "check_opinion": "no",
            "group_chat_link": "",
            "reason": "",
        }
    ]


def test_export_puts_an_apostrophe_before_a_formula(nlp, audience):
    _topic(proposer=audience, track=nlp, title="=HYPERLINK(1)", summary="- point one")

    row = _rows(_export())[0]

    assert (row["title"], row["summary"]) == ("'=HYPERLINK(1)", "'- point one")


@pytest.mark.parametrize("count", [1, 5])
def test_export_takes_two_queries_whatever_the_number_of_topics(
    nlp, audience, django_assert_num_queries, count
):
    for number in range(count):
        topic = _topic(proposer=audience, track=nlp, title=f"Topic {number}")
        topic.co_presenters.add(UserFactory())
    out = io.StringIO()

    with django_assert_num_queries(2):
        written = topics_export_csv(topics=Topic.objects.all(), out=out)

    assert written == count
    assert len(_rows(out.getvalue())) == count


# --- Round trip ----------------------------------------------------------------------------


def test_export_then_import_changes_nothing(nlp, audience, member, organiser):
    cv = TrackFactory(slug="cv")
    season = Season.objects.create(label="Topic 7")
    placeholder = placeholder_for(name="王小明")
    _topic(proposer=audience, track=nlp, title="Proposed one")
    presented = _topic(
        proposer=member,
        track=cv,
        title="ViT  for   detection",  # spacing the services would collapse
        season=season,
        status=S.PRESENTED,
        sub_theme="检测",
        preferred_week=datetime.date(2026, 12, 9),  # a Wednesday
        capacity=12,
        members_only=True,
        paper_links=["https://arxiv.org/abs/2010.11929"],
        group_chat_link="https://example.org/chat",
        **{name: True for name in TOPIC_CSV_COLUMNS if name.startswith("check_")},
    )
    presented.co_presenters.add(audience, placeholder)
    _topic(
        proposer=placeholder,
        track=nlp,
        title="=1+1 文本匹配",
        status=S.CANCELLED,
        reason='Speaker "busy", moved\r\nto later',
        summary='第一行，有逗号, and "quotes"\n- 第二行\n\n第三行：“引号”',
    )
    before, transitions, people = _snapshot(), TopicTransition.objects.count(), User.objects.count()
    download = "\ufeff" + _export()

    report = topics_import_csv(data=download.encode("utf-8"), by=organiser, dry_run=False)

    assert report.errors == []
    assert (report.created, report.updated, report.unchanged) == (0, 0, 3)
    assert report.changes == []
    assert report.saved is True
    assert _snapshot() == before
    assert TopicTransition.objects.count() == transitions
    assert User.objects.count() == people


# --- Import: creating ----------------------------------------------------------------------


def test_import_creates_topics_from_a_hand_written_sheet(nlp, audience, organiser):
    Season.objects.create(label="Topic 7")
    sheet = _sheet(
        "Title,Track,Proposer,Co-presenters,Status,Preferred week,Capacity,Members only,"
        "Paper links,Season,Summary",
        f"BERT 预训练,nlp,{audience.email.upper()},王小明; 李雷,presented,2026-12-09,8,yes,"
        'https://arxiv.org/abs/1810.04805,Topic 7,"两行\n摘要"',
        "Word2vec,NLP,王小明,,,2026/12/7,,no,,,",
    )

    report = topics_import_csv(data=sheet, by=organiser, dry_run=False)

    assert report.errors == []
    assert (report.created, report.updated, report.unchanged) == (2, 0, 0)
    bert, word2vec = Topic.objects.order_by("pk")
    wang = User.objects.get(display_name="王小明")
    li = User.objects.get(display_name="李雷")
    assert (bert.title, bert.proposer, bert.status, bert.capacity) == (
        "BERT 预训练",
        audience,
        S.PRESENTED,
        8,
    )
    assert bert.preferred_week == datetime.date(2026, 12, 7)
    assert (bert.members_only, bert.season.label, bert.summary) == (True, "Topic 7", "两行\n摘要")
    assert bert.paper_links == ["https://arxiv.org/abs/1810.04805"]
    assert sorted(user.pk for user in bert.co_presenters.all()) == sorted([wang.pk, li.pk])
    assert (word2vec.proposer, word2vec.status, word2vec.capacity) == (wang, S.PROPOSED, 6)
    assert word2vec.season is None
    assert list(word2vec.participations.values_list("user", "role")) == [(wang.pk, "proposer")]
    assert list(bert.transitions.values_list("from_status", "to_status", "by", "reason")) == [
        ("", S.PRESENTED, organiser.pk, "imported")
    ]
    assert report.changes == [
        "Line 2: new placeholder person “王小明”",
        "Line 2: new placeholder person “李雷”",
        "Line 2: new topic “BERT 预训练” (nlp, presented)",
        "Line 3: new topic “Word2vec” (nlp, proposed)",
    ]


def test_import_reads_a_gbk_file_from_chinese_excel(nlp, audience, organiser):
    sheet = _sheet(
        "title,track,proposer,summary", f"文本匹配,nlp,{audience.email},孪生网络，对比学习"
    )

    report = topics_import_csv(data=sheet.encode("gbk"), by=organiser, dry_run=False)

    assert report.errors == []
    assert list(Topic.objects.values_list("title", "summary")) == [
        ("文本匹配", "孪生网络，对比学习")
    ]


def test_import_reads_utf8_with_a_bom(nlp, audience, organiser):
    sheet = _sheet("title,track,proposer", f"图神经网络,nlp,{audience.email}")

    report = topics_import_csv(
        data=b"\xef\xbb\xbf" + sheet.encode("utf-8"), by=organiser, dry_run=False
    )

    assert report.errors == []
    assert list(Topic.objects.values_list("title", flat=True)) == ["图神经网络"]


def test_import_refuses_a_file_in_another_encoding(nlp, organiser):
    data = "title,track,proposer\n".encode("utf-16")

    report = topics_import_csv(data=data, by=organiser, dry_run=False)

    assert report.errors == [
        (0, "The file is neither UTF-8 nor GBK text. Save it as “CSV UTF-8” and try again.")
    ]
    assert report.saved is False


def test_import_unknown_proposer_becomes_one_placeholder_reused_on_later_rows(nlp, organiser):
    sheet = _sheet("title,track,proposer", "BERT,nlp,王小明", "GPT,nlp, 王小明 ")

    report = topics_import_csv(data=sheet, by=organiser, dry_run=False)
    again = topics_import_csv(
        data=_sheet("title,track,proposer", "T5,nlp,王小明"), by=organiser, dry_run=False
    )

    person = User.objects.get(display_name="王小明")
    assert (report.errors, again.errors) == ([], [])
    assert (person.is_placeholder, person.is_active, person.has_usable_password()) == (
        True,
        False,
        False,
    )
    assert set(Topic.objects.values_list("proposer", flat=True)) == {person.pk}
    assert Topic.objects.count() == 3
    assert [line for line in report.changes if "placeholder" in line] == [
        "Line 2: new placeholder person “王小明”"
    ]
    assert [line for line in again.changes if "placeholder" in line] == []


# --- Import: updating ----------------------------------------------------------------------


def test_import_updates_the_topic_with_that_id(nlp, audience, organiser):
    topic = _topic(proposer=audience, track=nlp, title="BERT", status=S.ACCEPTED)
    sheet = _sheet(
        "id,title,track,proposer,status,capacity",
        f"{topic.pk},BERT,nlp,{audience.email},presented,10",
    )

    report = topics_import_csv(data=sheet, by=organiser, dry_run=False)

    topic.refresh_from_db()
    assert report.errors == []
    assert (report.created, report.updated, report.unchanged) == (0, 1, 0)
    assert (topic.status, topic.capacity) == (S.PRESENTED, 10)
    assert list(topic.transitions.values_list("from_status", "to_status", "by", "reason")) == [
        (S.ACCEPTED, S.PRESENTED, organiser.pk, "imported")
    ]
    assert report.changes == [
        f"Line 2: topic {topic.pk} “BERT”: status: accepted → presented; capacity: 6 → 10"
    ]


def test_import_keeps_columns_the_file_does_not_have(nlp, audience, organiser):
    topic = _topic(proposer=audience, track=nlp, title="BERT", summary="Kept", check_code=True)
    sheet = _sheet("id,title,track,proposer", f"{topic.pk},BERT v2,nlp,{audience.email}")

    report = topics_import_csv(data=sheet, by=organiser, dry_run=False)

    topic.refresh_from_db()
    assert report.updated == 1
    assert (topic.title, topic.summary, topic.check_code) == ("BERT v2", "Kept", True)
    assert topic.transitions.count() == 0


def test_import_changing_the_proposer_moves_the_proposer_place(nlp, audience, organiser):
    topic = _topic(proposer=audience, track=nlp)
    new = UserFactory(email="new@example.org")
    topic.co_presenters.add(new)
    sheet = _sheet("id,title,track,proposer", f"{topic.pk},BERT,nlp,new@example.org")

    report = topics_import_csv(data=sheet, by=organiser, dry_run=False)

    topic.refresh_from_db()
    assert report.errors == []
    assert topic.proposer == new
    assert list(topic.co_presenters.all()) == []
    assert list(topic.participations.values_list("user", "role")) == [(new.pk, "proposer")]


def test_import_refuses_an_unknown_id(nlp, audience, organiser):
    sheet = _sheet("id,title,track,proposer", f"999999,BERT,nlp,{audience.email}")

    report = topics_import_csv(data=sheet, by=organiser, dry_run=False)

    assert report.errors == [(2, "There is no topic with id 999999.")]


def test_import_refuses_a_capacity_below_the_group_size(nlp, audience, organiser):
    topic = _topic(proposer=audience, track=nlp, status=S.RECRUITING)
    for _number in range(3):
        Participation.objects.create(topic=topic, user=UserFactory(), role="participant")
    sheet = _sheet("id,title,track,proposer,capacity", f"{topic.pk},BERT,nlp,{audience.email},2")

    report = topics_import_csv(data=sheet, by=organiser, dry_run=False)

    topic.refresh_from_db()
    assert report.errors == [(2, "The group already has 3 participants; capacity cannot be lower.")]
    assert topic.capacity == 6


# --- Import: errors, all or nothing, dry run -----------------------------------------------


def test_import_bad_row_at_line_4_saves_nothing_from_the_file(nlp, audience, organiser):
    sheet = _sheet(
        "title,track,proposer",
        f"BERT,nlp,{audience.email}",
        "GPT,nlp,新来的人",
        f"T5,nope,{audience.email}",
        f"XLNet,nlp,{audience.email}",
    )
    topics, people = Topic.objects.count(), User.objects.count()

    report = topics_import_csv(data=sheet, by=organiser, dry_run=False)

    assert [(line, message.split(".")[0]) for line, message in report.errors] == [
        (4, "track: Unknown track “nope”")
    ]
    assert report.saved is False
    assert Topic.objects.count() == topics
    assert User.objects.count() == people
    assert TopicTransition.objects.count() == 0


def test_import_dry_run_reports_but_saves_nothing(nlp, audience, organiser):
    topic = _topic(proposer=audience, track=nlp, title="BERT")
    sheet = _sheet(
        "id,title,track,proposer",
        f"{topic.pk},BERT-large,nlp,{audience.email}",
        ",GPT,nlp,新来的人",
    )
    people = User.objects.count()

    report = topics_import_csv(data=sheet, by=organiser, dry_run=True)

    topic.refresh_from_db()
    assert report.errors == []
    assert (report.dry_run, report.saved) == (True, False)
    assert (report.created, report.updated, report.unchanged) == (1, 1, 0)
    assert report.changes == [
        f"Line 2: topic {topic.pk} “BERT-large”: title: BERT → BERT-large",
        "Line 3: new placeholder person “新来的人”",
        "Line 3: new topic “GPT” (nlp, proposed)",
    ]
    assert topic.title == "BERT"
    assert Topic.objects.count() == 1
    assert User.objects.count() == people


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        (
            "paper_links",
            "ftp://a.org/x.pdf",
            "paper_links: “ftp://a.org/x.pdf” is not an http(s) link.",
        ),
        (
            "paper_links",
            "javascript:alert(1)",
            "paper_links: “javascript:alert(1)” is not an http(s) link.",
        ),
        (
            "preferred_week",
            "2026-02-30",
            "preferred_week: “2026-02-30” is not a date; write it as YYYY-MM-DD.",
        ),
        ("capacity", "0", "capacity: Capacity must be a whole number from 1 to 50, not “0”."),
        ("capacity", "51", "capacity: Capacity must be a whole number from 1 to 50, not “51”."),
        ("members_only", "maybe", "members_only: “maybe” is not yes or no."),
        ("check_code", "done", "check_code: “done” is not yes or no."),
        ("season", "Topic 99", "season: Unknown season “Topic 99”."),
        (
            "status",
            "finished",
            "status: “finished” is not a status. Use one of: proposed, accepted, rejected, "
            "withdrawn, recruiting, preparing, ready, scheduled, presented, cancelled.",
        ),
        ("title", "  ", "title: The title cannot be empty."),
        ("title", "x" * 201, "title: The title is longer than 200 characters."),
        (
            "proposer",
            "nobody@example.org",
            "proposer: No account has the e-mail address “nobody@example.org”.",
        ),
        ("proposer", "", "proposer: Give the proposer."),
        ("group_chat_link", "weixin", "group_chat_link: “weixin” is not a link."),
    ],
    ids=[
        "ftp-link",
        "javascript-link",
        "bad-date",
        "capacity-0",
        "capacity-51",
        "bad-yes-no",
        "bad-check",
        "unknown-season",
        "bad-status",
        "empty-title",
        "long-title",
        "unknown-email",
        "no-proposer",
        "bad-chat-link",
    ],
)
def test_import_reports_a_bad_value(nlp, audience, organiser, column, value, message):
    cells = {"title": "BERT", "track": "nlp", "proposer": audience.email, column: value}
    out = io.StringIO()
    csv.writer(out).writerows([list(cells), list(cells.values())])

    report = topics_import_csv(data=out.getvalue(), by=organiser, dry_run=False)

    assert report.errors == [(2, message)]
    assert Topic.objects.count() == 0


def test_import_refuses_an_unknown_track(nlp, audience, organiser):
    sheet = _sheet("title,track,proposer", f"BERT,robotics,{audience.email}")

    report = topics_import_csv(data=sheet, by=organiser, dry_run=False)

    assert len(report.errors) == 1
    line, message = report.errors[0]
    assert line == 2
    assert message.startswith("track: Unknown track “robotics”. The tracks are: ")
    assert "nlp" in message.removeprefix("track: Unknown track “robotics”. The tracks are: ")


def test_import_lists_every_error_of_a_row(nlp, organiser):
    sheet = _sheet("title,track,proposer,capacity", ",nope,王小明,0")

    report = topics_import_csv(data=sheet, by=organiser, dry_run=False)

    assert [message.split(":")[0] for _line, message in report.errors] == [
        "title",
        "track",
        "capacity",
    ]
    assert User.objects.filter(is_placeholder=True).count() == 0


@pytest.mark.parametrize(
    ("header", "errors"),
    [
        (
            "title,track,proposer,colour",
            [
                (
                    1,
                    "Unknown columns: colour. The columns are: "
                    + ", ".join(TOPIC_CSV_COLUMNS)
                    + ".",
                )
            ],
        ),
        ("title,track", [(1, "The header lacks the required columns: proposer.")]),
        ("title,track,proposer,title", [(1, "Columns given twice: title.")]),
    ],
    ids=["unknown-column", "missing-proposer", "repeated-column"],
)
def test_import_refuses_a_bad_header(nlp, audience, organiser, header, errors):
    sheet = _sheet(header, f"BERT,nlp,{audience.email},x")

    report = topics_import_csv(data=sheet, by=organiser, dry_run=False)

    assert report.errors == errors
    assert Topic.objects.count() == 0


def test_import_refuses_a_short_row(nlp, audience, organiser):
    report = topics_import_csv(
        data=_sheet("title,track,proposer,summary", "BERT,nlp"), by=organiser, dry_run=False
    )

    assert report.errors == [(2, "This line has 2 cells; the header has 4.")]


def test_import_refuses_more_than_5000_rows(nlp, audience, organiser):
    sheet = "title,track,proposer\n" + f"BERT,nlp,{audience.email}\n" * (MAX_ROWS + 1)

    report = topics_import_csv(data=sheet, by=organiser, dry_run=False)

    assert report.errors == [(0, "The file has more than 5,000 rows. Split it and try again.")]
    assert Topic.objects.count() == 0


def test_import_refuses_more_than_5_mb(nlp, audience, organiser):
    data = b"title,track,proposer\n" + b"x" * MAX_BYTES

    report = topics_import_csv(data=data, by=organiser, dry_run=False)

    assert report.errors == [(0, "The file is larger than 5 MB. Split it and try again.")]


@pytest.mark.parametrize("role", [Role.AUDIENCE, Role.MEMBER, Role.COMMITTEE])
def test_import_is_for_organisers_only(nlp, role):
    user = UserFactory(role=role)
    sheet = _sheet("title,track,proposer", f"BERT,nlp,{user.email}")

    with pytest.raises(PermissionDenied):
        topics_import_csv(data=sheet, by=user, dry_run=True)

    assert Topic.objects.count() == 0


# --- Management commands -------------------------------------------------------------------


def test_import_command_dry_run_prints_the_report_and_saves_nothing(
    nlp, audience, organiser, tmp_path
):
    sheet = tmp_path / "topics.csv"
    sheet.write_text(_sheet("title,track,proposer", f"BERT,nlp,{audience.email}"), "gb18030")
    out = io.StringIO()

    call_command("import_topics_csv", str(sheet), "--dry-run", by=organiser.email, stdout=out)

    assert out.getvalue() == (
        "Line 2: new topic “BERT” (nlp, proposed)\n"
        "Dry run, nothing was saved: 1 created, 0 updated, 0 unchanged.\n"
    )
    assert Topic.objects.count() == 0


def test_import_command_saves_a_good_file(nlp, audience, organiser, tmp_path):
    sheet = tmp_path / "topics.csv"
    sheet.write_text(_sheet("title,track,proposer", f"BERT,nlp,{audience.email}"), "utf-8")

    call_command("import_topics_csv", str(sheet), by=organiser.email, stdout=io.StringIO())

    assert list(Topic.objects.values_list("title", flat=True)) == ["BERT"]


def test_import_command_fails_on_a_missing_file(organiser, tmp_path):
    with pytest.raises(CommandError) as excinfo:
        call_command("import_topics_csv", str(tmp_path / "nope.csv"), by=organiser.email)

    assert str(excinfo.value) == f"Cannot read {tmp_path / 'nope.csv'}: No such file or directory"


def test_import_command_fails_with_the_errors_of_a_bad_file(nlp, audience, organiser, tmp_path):
    sheet = tmp_path / "topics.csv"
    sheet.write_text(_sheet("title,track,proposer", f"BERT,nlp,{audience.email}", "GPT,nlp,"))
    err = io.StringIO()

    with pytest.raises(CommandError) as excinfo:
        call_command(
            "import_topics_csv", str(sheet), by=organiser.email, stdout=io.StringIO(), stderr=err
        )

    assert str(excinfo.value) == "1 error; nothing was saved."
    assert err.getvalue() == "Line 3: proposer: Give the proposer.\n"
    assert Topic.objects.count() == 0


def test_import_command_needs_an_organiser(nlp, member, tmp_path):
    sheet = tmp_path / "topics.csv"
    sheet.write_text(_sheet("title,track,proposer", f"BERT,nlp,{member.email}"))

    with pytest.raises(CommandError) as excinfo:
        call_command("import_topics_csv", str(sheet), by=member.email)

    assert str(excinfo.value) == f"{member.email} is not an organiser."


def test_export_command_writes_a_file_excel_opens(nlp, audience, tmp_path):
    _topic(proposer=audience, track=nlp, title="文本匹配")
    target = tmp_path / "topics.csv"

    call_command("export_topics_csv", str(target), stdout=io.StringIO())

    data = target.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert [row["title"] for row in _rows(data.decode("utf-8"))] == ["文本匹配"]


def test_export_command_writes_to_stdout(nlp, audience):
    _topic(proposer=audience, track=nlp, title="BERT")
    out, err = io.StringIO(), io.StringIO()

    call_command("export_topics_csv", stdout=out, stderr=err)

    assert [row["title"] for row in _rows(out.getvalue())] == ["BERT"]
    assert err.getvalue() == "1 topic exported.\n"


# --- Admin views ---------------------------------------------------------------------------

# The admin pages follow the browser's language; these tests read the English messages.
ENGLISH = {"Accept-Language": "en"}


@with_csv_urls
def test_admin_import_view_shows_the_form_with_dry_run_on(client, organiser):
    client.force_login(organiser)

    response = client.get("/csv/import/")

    assert response.status_code == 200
    assert response.context["form"]["dry_run"].value() is True
    assert b'enctype="multipart/form-data"' in response.content


@with_csv_urls
def test_admin_import_view_imports_for_an_organiser(client, organiser, nlp, audience):
    client.force_login(organiser)
    sheet = _sheet("title,track,proposer", f"BERT,nlp,{audience.email}", "GPT,nlp,王小明")
    upload = SimpleUploadedFile("topics.csv", sheet.encode("gbk"), content_type="text/csv")

    response = client.post("/csv/import/", {"file": upload}, headers=ENGLISH)

    assert response.status_code == 200
    assert response.context["report"].errors == []
    assert [str(m) for m in response.context["messages"]] == [
        "Imported: 2 created, 0 updated, 0 unchanged."
    ]
    assert sorted(Topic.objects.values_list("title", flat=True)) == ["BERT", "GPT"]


@with_csv_urls
def test_admin_import_view_dry_run_saves_nothing(client, organiser, nlp, audience):
    client.force_login(organiser)
    sheet = _sheet("title,track,proposer", f"BERT,nlp,{audience.email}")
    upload = SimpleUploadedFile("topics.csv", sheet.encode(), content_type="text/csv")

    response = client.post("/csv/import/", {"file": upload, "dry_run": "on"}, headers=ENGLISH)

    assert response.status_code == 200
    assert response.context["report"].created == 1
    assert "Line 2: new topic “BERT” (nlp, proposed)" in response.content.decode()
    assert Topic.objects.count() == 0


@with_csv_urls
def test_admin_import_view_shows_errors_with_line_numbers(client, organiser, nlp, audience):
    client.force_login(organiser)
    sheet = _sheet("title,track,proposer", f"BERT,nlp,{audience.email}", "GPT,nlp,x@y.org")
    upload = SimpleUploadedFile("topics.csv", sheet.encode(), content_type="text/csv")

    response = client.post("/csv/import/", {"file": upload}, headers=ENGLISH)

    assert response.status_code == 200
    assert (
        "Line 3: proposer: No account has the e-mail address “x@y.org”."
        in response.content.decode()
    )
    assert Topic.objects.count() == 0


@with_csv_urls
def test_admin_import_view_refuses_a_file_over_5_mb(client, organiser):
    client.force_login(organiser)
    upload = SimpleUploadedFile("big.csv", b"x" * (MAX_BYTES + 1), content_type="text/csv")

    response = client.post("/csv/import/", {"file": upload}, headers=ENGLISH)

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "file": ["The file is larger than 5 MB. Split it and try again."]
    }
    assert response.context["report"] is None


@with_csv_urls
@pytest.mark.parametrize("role", [Role.AUDIENCE, Role.COMMITTEE])
def test_admin_import_view_is_forbidden_to_others(client, role):
    client.force_login(UserFactory(role=role))

    response = client.get("/csv/import/")

    assert response.status_code == 403


def test_admin_export_view_downloads_one_row_per_topic(nlp, audience, organiser):
    for title in ["BERT", "GPT", "T5"]:
        _topic(proposer=audience, track=nlp, title=title)
    request = RequestFactory().get("/")
    request.user = organiser

    response = export_view(request, Topic.objects.exclude(title="T5"))

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="topics-')
    assert response.content.startswith(b"\xef\xbb\xbf")
    assert [row["title"] for row in _rows(response.content.decode())] == ["BERT", "GPT"]


def test_admin_export_view_is_forbidden_to_others(member):
    request = RequestFactory().get("/")
    request.user = member

    with pytest.raises(PermissionDenied):
        export_view(request, Topic.objects.all())
