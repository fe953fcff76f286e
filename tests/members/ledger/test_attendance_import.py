"""Attendance from the meeting's own export (issue 17, item 4): upload the participant list
Tencent Meeting or Feishu exported, see who was matched, fix the rest by hand, confirm."""

import datetime
import io
import zipfile

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from members.ledger.attendance_files import (
    name_keys,
    parse_duration,
    read_table,
    stay_seconds,
)
from members.ledger.attendance_import import (
    Standing,
    attendance_import_confirm,
    attendance_import_upload,
    import_preview,
)
from members.ledger.models import AttendanceImport, LedgerPolicy
from members.placeholders import placeholder_for
from members.roles import Role
from sessions.models import Attendance, SessionStatus, TopicStatus, WeeklySession
from tests.factories import TopicFactory, TrackFactory, UserFactory
from topicshare.core.imports import ImportFailed

pytestmark = pytest.mark.django_db

# What Tencent Meeting saves on a Chinese Windows: GBK, title lines above the table, the
# nickname with the school in brackets, someone who rejoined (two rows), someone nobody in
# the forum is, a stay under the policy's 30 minutes and a name two members share.
TENCENT_CSV = """会议主题：NLP 周六分享：文本匹配
会议时间：2024-05-18 20:30 - 22:00
会议号：123 456 789

序号,用户昵称（入会昵称）,微信号,首次入会时间,最后退会时间,累计参会时长
1,张三(清华),,2024-05-18 20:28:00,2024-05-18 21:00:00,32分钟
2,李四-北大,lisi_wx,2024-05-18 20:30:00,2024-05-18 21:35:00,1小时5分钟
3,张三(清华),,2024-05-18 21:10:00,2024-05-18 21:30:00,20分钟
4,路人甲,,2024-05-18 20:31:00,2024-05-18 21:21:00,50分钟
5,王五,,2024-05-18 20:40:00,2024-05-18 20:50:00,10分钟
6,陈晨,,2024-05-18 20:30:00,2024-05-18 21:10:00,40分钟
"""


@pytest.fixture
def session(db):
    track = TrackFactory(slug="nlp")
    return WeeklySession.objects.create(
        topic=TopicFactory(track=track, status=TopicStatus.PRESENTED),
        track=track,
        start=timezone.now() - datetime.timedelta(hours=3),
        status=SessionStatus.DONE,
    )


@pytest.fixture
def people(db):
    return {
        "zhang": UserFactory(role=Role.MEMBER, display_name="张三", email="zhang@example.org"),
        "li": UserFactory(role=Role.MEMBER, display_name="李四", wechat_id="LiSi_wx"),
        "wang": UserFactory(role=Role.MEMBER, display_name="王五"),
        "chen1": UserFactory(role=Role.MEMBER, display_name="陈晨", email="chen1@example.org"),
        "chen2": UserFactory(role=Role.AUDIENCE, display_name="陈晨", email="chen2@example.org"),
        "alice": UserFactory(
            role=Role.MEMBER, display_name="Alice Chen", email="alice@example.org"
        ),
        "bob": UserFactory(role=Role.MEMBER, display_name="Bob", email="bob@example.org"),
    }


@pytest.fixture
def en(client, organiser):
    client.force_login(organiser)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def feishu_xlsx() -> bytes:
    """Feishu's English export: a title row, then the table; times as real datetimes."""
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Meeting: Weekly NLP reading group"])
    sheet.append([])
    sheet.append(["Participant", "Email", "Join Time", "Leave Time", "Attendance Duration"])
    at = datetime.datetime(2024, 5, 18, 20, 30)
    sheet.append(
        ["Alice C.", "ALICE@Example.org", at, at + datetime.timedelta(minutes=65), "1h 5m"]
    )
    sheet.append(["Bob", "bob@example.org", at, at + datetime.timedelta(minutes=25), "25 min"])
    sheet.append(["Carol", "carol@nowhere.example", at, at + datetime.timedelta(hours=1), "60"])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _upload(client, session, name, content):
    return client.post(
        reverse("ledger:attendance-import", args=[session.pk]),
        {"file": SimpleUploadedFile(name, content)},
    )


def _preview_url(draft):
    return reverse("ledger:attendance-import-preview", args=[draft.session_id, draft.token])


def _standings(draft) -> dict[str, tuple[str, str | None, int]]:
    """name in the file -> (standing, member's e-mail, minutes)."""
    return {
        row.person.label: (row.standing, row.member.email if row.member else None, row.minutes)
        for row in import_preview(draft).rows
    }


def _recorded(session) -> set[str]:
    return set(Attendance.objects.filter(session=session).values_list("user__email", flat=True))


# --- The two exports ---------------------------------------------------------------------


def test_chinese_tencent_csv_in_gbk_matches_adds_up_and_flags(en, session, people):
    response = _upload(en, session, "参会者列表.csv", TENCENT_CSV.encode("gbk"))

    draft = AttendanceImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == _preview_url(draft)
    assert _standings(draft) == {
        "张三(清华)": (Standing.COUNTS, "zhang@example.org", 52),  # 32 + 20 minutes
        "李四-北大": (Standing.COUNTS, people["li"].email, 65),  # by WeChat ID, any case
        "路人甲": (Standing.UNMATCHED, None, 50),
        "王五": (Standing.SHORT, people["wang"].email, 10),
        "陈晨": (Standing.AMBIGUOUS, None, 40),  # two members: never a guess
    }
    page = en.get(_preview_url(draft)).content.decode()
    assert "5 people in the file: 2 to be recorded." in page
    assert "Too short (under 30 min)" in page
    assert "2 members fit: pick the right one." in page


def test_confirming_records_those_long_enough_and_matched(en, session, people, organiser):
    _upload(en, session, "list.csv", TENCENT_CSV.encode("gbk"))
    draft = AttendanceImport.objects.get()

    response = en.post(_preview_url(draft), {"confirm": "1"}, follow=True)

    assert _recorded(session) == {"zhang@example.org", people["li"].email}
    assert set(Attendance.objects.values_list("how", "recorded_by")) == {
        (Attendance.How.IMPORT, organiser.pk)
    }
    assert (
        "Attendance recorded: 2 added, 0 already recorded (1 too short, 2 not matched)."
        in response.content.decode()
    )


def test_english_feishu_xlsx_is_matched_by_email(en, session, people):
    response = _upload(en, session, "participants.xlsx", feishu_xlsx())

    draft = AttendanceImport.objects.get()
    assert response.status_code == 302
    assert draft.kind == "xlsx"
    assert _standings(draft) == {
        "Carol": (Standing.UNMATCHED, None, 60),
        "Alice C.": (Standing.COUNTS, "alice@example.org", 65),
        "Bob": (Standing.SHORT, "bob@example.org", 25),
    }


def test_join_and_leave_times_count_when_there_is_no_duration_column(en, session, people):
    csv_text = (
        "Name,Join Time,Leave Time\n"
        "Bob,2024-05-18 20:30:00,2024-05-18 21:10:00\n"
        "Bob,2024-05-18 21:20:00,2024-05-18 21:25:00\n"
    )
    _upload(en, session, "zoom.csv", csv_text.encode())

    assert _standings(AttendanceImport.objects.get()) == {
        "Bob": (Standing.COUNTS, "bob@example.org", 45)
    }


def test_a_placeholder_is_matched_by_name(en, session, people):
    placeholder = placeholder_for(name="路人甲")
    _upload(en, session, "list.csv", TENCENT_CSV.encode("gbk"))

    standings = _standings(AttendanceImport.objects.get())

    assert standings["路人甲"] == (Standing.COUNTS, placeholder.email, 50)


def test_the_policy_minimum_decides_who_counts(en, session, people):
    policy = LedgerPolicy.load()
    policy.min_minutes_in_meeting = 60
    policy.save()
    _upload(en, session, "list.csv", TENCENT_CSV.encode("gbk"))

    standings = _standings(AttendanceImport.objects.get())

    assert standings["张三(清华)"][0] == Standing.SHORT  # 52 minutes
    assert standings["李四-北大"][0] == Standing.COUNTS  # 65 minutes


# --- Column mapping, fixing by hand ----------------------------------------------------------


def test_unrecognised_headers_lead_to_the_column_mapping(en, session, people):
    csv_text = "谁来了,呆了多久,备注\n王五,45,\n张三,50,迟到\n"

    response = _upload(en, session, "own-layout.csv", csv_text.encode())

    draft = AttendanceImport.objects.get()
    columns_url = reverse("ledger:attendance-import-columns", args=[session.pk, draft.token])
    assert response["Location"] == columns_url
    assert en.get(_preview_url(draft))["Location"] == columns_url  # no preview before it
    page = en.get(columns_url).content.decode()
    assert "were not recognised" in page
    assert "A · 谁来了" in page

    mapped = en.post(columns_url, {"header_row": "0", "name": "0", "duration": "1"})

    assert mapped["Location"] == _preview_url(draft)
    assert _standings(AttendanceImport.objects.get()) == {
        "王五": (Standing.COUNTS, people["wang"].email, 45),
        "张三": (Standing.COUNTS, "zhang@example.org", 50),
    }


def test_an_incomplete_mapping_is_refused_with_a_message(en, session, people):
    _upload(en, session, "own-layout.csv", "谁来了,呆了多久\n王五,45\n".encode())
    draft = AttendanceImport.objects.get()
    url = reverse("ledger:attendance-import-columns", args=[session.pk, draft.token])

    response = en.post(url, {"header_row": "0", "name": "0"})

    assert response.status_code == 200
    assert "the time in the meeting" in response.content.decode()
    assert AttendanceImport.objects.get().columns == {}


def test_fixing_unmatched_rows_by_hand(en, session, people):
    _upload(en, session, "list.csv", TENCENT_CSV.encode("gbk"))
    draft = AttendanceImport.objects.get()
    rows = {row.person.label: row for row in import_preview(draft).rows}
    picks = {
        rows["陈晨"].field_name: "陈晨 · chen2@example.org",  # as the list suggests it
        rows["路人甲"].field_name: "ALICE@example.org",  # typed
        rows["张三(清华)"].field_name: "",  # matched by a shortened name: left out
    }

    saved = en.post(_preview_url(draft), {"save": "1", **picks})

    assert saved.status_code == 302
    assert _standings(AttendanceImport.objects.get()) == {
        "张三(清华)": (Standing.LEFT_OUT, None, 52),
        "李四-北大": (Standing.COUNTS, people["li"].email, 65),
        "路人甲": (Standing.COUNTS, "alice@example.org", 50),
        "王五": (Standing.SHORT, people["wang"].email, 10),
        "陈晨": (Standing.COUNTS, "chen2@example.org", 40),
    }
    assert Attendance.objects.count() == 0  # saving choices records nothing

    en.post(_preview_url(draft), {"confirm": "1", **picks})

    assert _recorded(session) == {people["li"].email, "alice@example.org", "chen2@example.org"}


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("999999", "No member “999999”: pick one from the list, or leave it empty."),
        ("陈晨", "2 members are called “陈晨”: pick one of them from the list."),
        ("x" * 301, "at most 300 characters"),
    ],
)
def test_a_pick_that_names_nobody_or_two_people_is_a_form_error(
    en, session, people, typed, message
):
    _upload(en, session, "list.csv", TENCENT_CSV.encode("gbk"))
    draft = AttendanceImport.objects.get()
    row = next(row for row in import_preview(draft).rows if row.person.label == "路人甲")

    response = en.post(_preview_url(draft), {"confirm": "1", row.field_name: typed})

    page = response.content.decode()
    assert response.status_code == 200
    assert "Please correct the choices marked below." in page
    assert message in page
    assert Attendance.objects.count() == 0
    assert AttendanceImport.objects.get().picks == {}


def test_a_name_only_one_member_has_may_be_typed(en, session, people):
    _upload(en, session, "list.csv", TENCENT_CSV.encode("gbk"))
    draft = AttendanceImport.objects.get()
    row = next(row for row in import_preview(draft).rows if row.person.label == "路人甲")

    en.post(_preview_url(draft), {"save": "1", row.field_name: " 王五 "})

    assert _standings(AttendanceImport.objects.get())["路人甲"] == (
        Standing.COUNTS,
        people["wang"].email,
        50,
    )


# --- Idempotence -----------------------------------------------------------------------------


def test_confirming_twice_and_uploading_again_add_nothing(en, session, people):
    _upload(en, session, "list.csv", TENCENT_CSV.encode("gbk"))
    draft = AttendanceImport.objects.get()
    en.post(_preview_url(draft), {"confirm": "1"})

    again = en.post(_preview_url(draft), {"confirm": "1"}, follow=True)
    uploaded_again = _upload(en, session, "list (1).csv", TENCENT_CSV.encode("gbk"))
    page = en.get(_preview_url(draft)).content.decode()

    assert Attendance.objects.count() == 2
    assert "Attendance recorded: 0 added, 2 already recorded" in again.content.decode()
    assert AttendanceImport.objects.count() == 1
    assert uploaded_again["Location"] == _preview_url(draft)
    assert "You uploaded this file before: nothing changed." in page
    assert "This list was confirmed on" in page
    assert AttendanceImport.objects.get().added == 2


def test_someone_who_checked_in_is_already_recorded(session, people, organiser):
    Attendance.objects.create(session=session, user=people["li"], how=Attendance.How.SELF)
    upload = attendance_import_upload(
        session=session, by=organiser, name="list.csv", data=TENCENT_CSV.encode("gbk")
    )

    result = attendance_import_confirm(draft=upload.draft, by=organiser)

    assert (result.added, result.already) == (1, 1)
    assert Attendance.objects.get(user=people["li"]).how == Attendance.How.SELF


# --- Bad files ---------------------------------------------------------------------------------


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/sharedStrings.xml", b"\0" * (60 * 1024 * 1024))
    return out.getvalue()


def _entity_xlsx() -> bytes:
    """A real workbook whose shared strings declare an entity (billion laughs' first step)."""
    source = zipfile.ZipFile(io.BytesIO(feishu_xlsx()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for member in source.infolist():
            data = source.read(member)
            if member.filename == "xl/worksheets/sheet1.xml":
                data = b'<!DOCTYPE x [<!ENTITY a "aaaa">]>' + data
            archive.writestr(member, data)
    return out.getvalue()


BAD_FILES = [
    ("junk.csv", bytes(range(256)) * 40, "cannot be read as CSV text"),
    ("slides.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\n", "as a CSV or XLSX file"),
    ("list.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "Old Excel files (.xls)"),
    ("empty.csv", b"", "The submitted file is empty."),
    ("blank.csv", b"\r\n \r\n", "The file is empty."),
    ("broken.xlsx", b"PK\x03\x04" + b"\x00\x17garbage" * 50, "not a readable XLSX workbook"),
    ("text.xlsx", b"Name,Duration\nBob,40\n", "not a readable XLSX workbook"),
    ("workbook.csv", None, "rename it to .xlsx"),
    ("bomb.xlsx", "bomb", "unpacks to far more than a participant list"),
    ("entity.xlsx", "entity", "not a readable XLSX workbook"),
    ("poem.txt", "床前明月光\n疑是地上霜\n".encode(), "does not look like a participant list"),
    ("header-only.csv", "姓名,参会时长\n".encode(), "The file has no participants in it."),
    ("big.csv", b"Name,Duration\n" + b"Bob,40\n" * 400_000, "larger than 2 MB"),
    ("many.csv", b"Name,Duration\n" + b"B,4\n" * 5_100, "more than 5,000 rows"),
]


@pytest.mark.parametrize(
    ("name", "content", "message"), BAD_FILES, ids=[name for name, _c, _m in BAD_FILES]
)
def test_a_bad_file_gets_a_clear_error_and_changes_nothing(
    en, session, people, name, content, message
):
    content = {None: feishu_xlsx(), "bomb": _zip_bomb(), "entity": _entity_xlsx()}.get(
        content, content
    )

    response = _upload(en, session, name, content)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert AttendanceImport.objects.count() == 0
    assert Attendance.objects.count() == 0


def test_a_session_that_has_not_started_takes_no_list(en, people):
    track = TrackFactory(slug="cv")
    later = WeeklySession.objects.create(
        topic=TopicFactory(track=track, status=TopicStatus.SCHEDULED),
        track=track,
        start=timezone.now() + datetime.timedelta(days=2),
    )

    page = en.get(reverse("ledger:attendance-import", args=[later.pk])).content.decode()
    response = _upload(en, later, "list.csv", TENCENT_CSV.encode("gbk"))

    assert "once the session has started" in page
    assert 'data-form="attendance-upload"' not in page
    assert response.status_code == 200
    assert AttendanceImport.objects.count() == 0


# --- Who may --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.AUDIENCE, Role.MEMBER, Role.COMMITTEE])
def test_others_than_organisers_are_refused_on_every_step(client, session, people, organiser, role):
    draft = attendance_import_upload(
        session=session, by=organiser, name="list.csv", data=TENCENT_CSV.encode("gbk")
    ).draft
    client.force_login(UserFactory(role=role))
    urls = [
        reverse("ledger:attendance-import", args=[session.pk]),
        reverse("ledger:attendance-import-columns", args=[session.pk, draft.token]),
        _preview_url(draft),
    ]
    row = import_preview(draft).rows[0]

    statuses = [client.get(url).status_code for url in urls]
    statuses += [
        _upload(client, session, "other.csv", "姓名,参会时长\nBob,40\n".encode()).status_code,
        client.post(urls[1], {"header_row": "0", "name": "1", "duration": "2"}).status_code,
        client.post(urls[2], {"save": "1", row.field_name: str(people["wang"].pk)}).status_code,
        client.post(urls[2], {"confirm": "1"}).status_code,
    ]

    assert statuses == [403] * 7
    assert AttendanceImport.objects.get().picks == {}
    assert AttendanceImport.objects.count() == 1
    assert Attendance.objects.count() == 0


def test_the_services_refuse_others_too(session, people, member):
    with pytest.raises(PermissionDenied):
        attendance_import_upload(session=session, by=member, name="l.csv", data=b"Name,Duration\n")

    assert AttendanceImport.objects.count() == 0


def test_a_token_of_another_session_is_not_found(en, session, people, organiser):
    draft = attendance_import_upload(
        session=session, by=organiser, name="list.csv", data=TENCENT_CSV.encode("gbk")
    ).draft
    track = TrackFactory(slug="recsys")
    other = WeeklySession.objects.create(
        topic=TopicFactory(track=track), track=track, start=timezone.now()
    )

    response = en.get(reverse("ledger:attendance-import-preview", args=[other.pk, draft.token]))

    assert response.status_code == 404


def test_the_manage_page_links_to_the_import(en, session):
    page = en.get(reverse("sessions:manage", args=[session.pk])).content.decode()

    assert reverse("ledger:attendance-import", args=[session.pk]) in page


# --- Query count ----------------------------------------------------------------------------


@pytest.mark.parametrize("count", [3, 300])
def test_the_preview_query_count_stays_flat(
    en, session, organiser, django_assert_max_num_queries, count
):
    lines = ["用户昵称,邮箱,参会时长"]
    for n in range(count):
        user = UserFactory(display_name=f"成员{n}", email=f"m{n}@example.org")
        lines.append(f"成员{n}(北大),{user.email if n % 2 else ''},{30 + n % 40}分钟")
        lines.append(f"陌生人{n},,{n}分钟")
    draft = attendance_import_upload(
        session=session, by=organiser, name="l.csv", data="\n".join(lines).encode()
    ).draft
    url = _preview_url(draft)
    en.get(url)  # the kept rows (policy, forum settings) read once

    with django_assert_max_num_queries(10):
        response = en.get(url)

    assert response.status_code == 200
    assert response.content.decode().count('data-standing="unmatched"') == count


# --- Reading the files ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "unit", "seconds"),
    [
        ("45分钟", "minutes", 2700),
        ("1小时5分钟", "minutes", 3900),
        ("１小时５分", "minutes", 3900),
        ("01:05:10", "minutes", 3910),
        ("1:05", "minutes", 3900),
        ("65", "minutes", 3900),
        ("65 min", "minutes", 3900),
        ("1h 5m", "minutes", 3900),
        ("1.5 hours", "minutes", 5400),
        ("2 min 30 s", "minutes", 150),
        ("90", "seconds", 90),
        ("", "minutes", None),
        ("a while", "minutes", None),
        ("5 5", "minutes", None),
    ],
)
def test_durations_are_read_in_the_forms_exports_write(text, unit, seconds):
    assert parse_duration(text, unit=unit) == seconds


def test_a_stay_past_midnight_counts_across_it():
    assert stay_seconds("23:50", "00:20") == 1800
    assert stay_seconds("05/18/2024 08:30:00 PM", "05/18/2024 09:15:00 PM") == 2700
    assert stay_seconds("2024年5月18日 20:30", "2024年5月18日 21:00") == 1800
    assert stay_seconds("soon", "later") is None


def test_names_are_compared_without_brackets_and_suffixes():
    assert name_keys("张三（清华）") == ["张三(清华)", "张三"]
    assert name_keys("张三-北大") == ["张三-北大", "张三"]
    assert name_keys("【北大】 张三") == ["【北大】张三", "张三"]
    assert name_keys("Ｚｈａｎｇ San") == ["zhangsan"]


def test_csv_in_utf8_with_a_bom_tabs_and_utf16_all_read():
    text = "姓名\t参会时长\n张三\t45分钟\n"

    for data in (
        "\ufeff姓名,参会时长\n张三,45分钟\n".encode(),
        text.encode("utf-16"),
        text.encode("gb18030"),
    ):
        assert read_table("l.csv", data).rows == [["姓名", "参会时长"], ["张三", "45分钟"]]


def test_long_cells_and_wide_rows_are_cut():
    data = ("a," * 80 + "b" * 500 + "\n").encode() * 2

    table = read_table("wide.csv", data)

    assert len(table.rows[0]) == 50
    with pytest.raises(ImportFailed):
        read_table("wide.csv", b"")
