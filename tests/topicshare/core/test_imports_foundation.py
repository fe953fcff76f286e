"""The import foundation (topicshare/core/imports.py): decoding, limits, the line-numbered
report, the dry run's rollback, the one admin upload template and the command base."""

import ast
import io
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.core.management.base import CommandError
from django.urls import reverse

from topicshare.core import imports
from topicshare.core.imports import (
    ImportCommand,
    ImportFailed,
    ImportLimits,
    ImportReport,
    Issue,
    decode_text,
    import_transaction,
)

NOT_TEXT = "Not text."
ENGLISH = {"Accept-Language": "en"}


# --- Decoding ------------------------------------------------------------------------------


def test_a_gbk_file_is_read():
    data = "标题,领域\n推荐系统,nlp\n".encode("gbk")

    assert decode_text(data, not_text=NOT_TEXT) == "标题,领域\n推荐系统,nlp\n"


def test_a_gbk_file_with_chinese_passes_the_chinese_check():
    assert decode_text("推荐".encode("gbk"), not_text=NOT_TEXT, gbk_needs_chinese=True) == "推荐"


def test_a_gb18030_reading_without_chinese_is_refused_when_chinese_is_needed():
    data = b"\xa6\xa1\xa6\xa2"  # not UTF-8; reads as GB18030 (Greek), but has no Chinese
    assert decode_text(data, not_text=NOT_TEXT) == "\u0391\u0392"

    with pytest.raises(ImportFailed, match="^Not text.$"):
        decode_text(data, not_text=NOT_TEXT, gbk_needs_chinese=True)


@pytest.mark.parametrize("data", ["\ufeff推荐".encode(), "推荐".encode(), "\ufeff推荐", "推荐"])
def test_utf8_with_or_without_bom_is_read_without_the_bom(data):
    assert decode_text(data, not_text=NOT_TEXT) == "推荐"


def test_a_bom_followed_by_other_bytes_is_refused():
    data = b"\xef\xbb\xbf" + "推荐".encode("gbk")

    with pytest.raises(ImportFailed) as excinfo:
        decode_text(data, not_text=NOT_TEXT)

    assert excinfo.value.issues == [(0, NOT_TEXT)]


def test_bytes_that_are_no_text_are_refused_with_the_importers_message():
    with pytest.raises(ImportFailed, match="^Not text.$"):
        decode_text(b"\x81\x20\xff\xfe", not_text=NOT_TEXT)


def test_a_nul_character_is_refused_only_when_asked():
    assert decode_text(b"a\x00b", not_text=NOT_TEXT) == "a\x00b"
    with pytest.raises(ImportFailed):
        decode_text(b"a\x00b", not_text=NOT_TEXT, refuse_nul=True)


# --- Limits --------------------------------------------------------------------------------


def test_a_file_that_is_too_big_is_refused():
    limits = ImportLimits(max_bytes=2 * 1024 * 1024)
    limits.check_size(b"x" * limits.max_bytes)

    with pytest.raises(ImportFailed) as excinfo:
        limits.check_size(b"x" * (limits.max_bytes + 1))

    assert excinfo.value.issues == [(0, "The file is larger than 2 MB. Split it and try again.")]


def test_text_is_measured_in_utf8_bytes():
    limits = ImportLimits(max_bytes=5)
    limits.check_size("abcde")

    with pytest.raises(ImportFailed):
        limits.check_size("推荐")  # two characters, six bytes


def test_too_many_rows_are_refused():
    limits = ImportLimits(max_bytes=1024, max_rows=1_000)
    limits.check_rows(1_000)

    with pytest.raises(ImportFailed, match="^The file has more than 1,000 rows. Split it"):
        limits.check_rows(1_001)


def test_without_a_row_limit_any_number_of_rows_is_taken():
    ImportLimits(max_bytes=1024).check_rows(10**9)


# --- The report ----------------------------------------------------------------------------


def test_the_report_numbers_its_lines():
    report = ImportReport(
        errors=[
            Issue(0, "The file is empty."),
            Issue(3, "title: The title cannot be empty."),
            (12, "Unknown track."),
        ]
    )

    assert report.error_messages() == [
        "The file is empty.",
        "Line 3: title: The title cannot be empty.",
        "Line 12: Unknown track.",
    ]
    assert report.errors[1] == (3, "title: The title cannot be empty.")
    assert report.errors[1].line == 3


def test_warnings_keep_a_position_that_is_not_a_line_number():
    warning = Issue("$.articles[3].title", "the article has no title; skipped.")
    report = ImportReport(warnings=[warning], count_warnings=True, created=2, unchanged=1)

    assert warning.line is None
    assert report.warning_messages() == ["$.articles[3].title: the article has no title; skipped."]
    assert report.summary == "2 created, 0 updated, 1 unchanged, 1 problems"


def test_the_summary_is_the_counts_unless_warnings_are_counted():
    report = ImportReport(created=1, updated=2, unchanged=3, warnings=[Issue(1, "x")])

    assert report.summary == report.counts == "1 created, 2 updated, 3 unchanged"


def test_import_failed_puts_all_its_messages_on_its_line():
    failure = ImportFailed("Unknown columns: x.", "Columns given twice: y.", line=1)

    assert failure.issues == [(1, "Unknown columns: x."), (1, "Columns given twice: y.")]
    assert str(ImportFailed("The file is empty.")) == "The file is empty."


# --- The dry run ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_dry_run_leaves_no_rows():
    report = ImportReport(dry_run=True)

    with import_transaction(report):
        Group.objects.create(name="imported")
        report.created += 1

    assert not Group.objects.filter(name="imported").exists()
    assert report.created == 1 and not report.saved


@pytest.mark.django_db
def test_an_import_with_errors_leaves_no_rows():
    report = ImportReport()

    with import_transaction(report):
        Group.objects.create(name="imported")
        report.errors.append(Issue(2, "bad"))

    assert not Group.objects.filter(name="imported").exists()
    assert not report.saved


@pytest.mark.django_db
def test_an_import_without_errors_is_saved():
    report = ImportReport()

    with import_transaction(report):
        Group.objects.create(name="imported")

    assert Group.objects.filter(name="imported").count() == 1
    assert report.saved


@pytest.mark.django_db
def test_an_exception_rolls_the_import_back():
    report = ImportReport()

    with pytest.raises(RuntimeError), import_transaction(report):
        Group.objects.create(name="imported")
        raise RuntimeError

    assert not Group.objects.filter(name="imported").exists()
    assert not report.saved


# --- The command base ----------------------------------------------------------------------


class _Command(ImportCommand):
    limits = ImportLimits(max_bytes=10)


def _command():
    command = _Command(stdout=io.StringIO(), stderr=io.StringIO())
    command.style.SUCCESS = str
    return command


def test_the_command_reads_one_byte_more_than_allowed(tmp_path):
    file = tmp_path / "big.csv"
    file.write_bytes(b"x" * 50)

    assert len(_command().read_file(str(file))) == 11


def test_the_command_says_which_file_it_cannot_read(tmp_path):
    with pytest.raises(CommandError, match=r"^Cannot read .*nope\.csv: No such file"):
        _command().read_file(str(tmp_path / "nope.csv"))


def test_the_command_writes_the_line_numbered_errors_and_fails():
    command = _command()
    report = ImportReport(errors=[Issue(2, "bad"), Issue(5, "worse")], changes=["Line 1: new"])

    with pytest.raises(CommandError, match=r"^2 errors; nothing was saved\.$"):
        command.write_report(report)

    assert command.stdout.getvalue() == "Line 1: new\n"
    assert command.stderr.getvalue() == "Line 2: bad\nLine 5: worse\n"


def test_the_command_reports_a_dry_run_and_a_saved_import():
    command = _command()
    command.write_report(ImportReport(dry_run=True, created=3))
    command.write_report(ImportReport(created=3, warnings=[Issue("line 4", "skipped.")]))

    assert command.stdout.getvalue() == (
        "Dry run, nothing was saved: 3 created, 0 updated, 0 unchanged.\n"
        "Imported: 3 created, 0 updated, 0 unchanged.\n"
    )
    assert command.stderr.getvalue() == "line 4: skipped.\n"


# --- One admin upload page, one template ---------------------------------------------------


@pytest.mark.parametrize(
    "url", ["admin:topic_sessions_topic_import", "admin:library_libraryitem_import"]
)
def test_both_admin_upload_pages_use_the_one_template(client, organiser, url):
    client.force_login(organiser)

    response = client.get(reverse(url), headers=ENGLISH)

    assert response.status_code == 200
    assert [t.name for t in response.templates][0] == imports.TEMPLATE == "admin/import.html"
    assert response.context["form"]["dry_run"].value() is True
    assert "<code>" in response.context["intro"]
    assert b"<code>" in response.content  # the introduction is HTML, not escaped


def test_the_foundation_imports_no_app_of_the_project():
    tree = ast.parse(Path(imports.__file__).read_text())
    modules = {
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }

    assert not {m for m in modules if m and m.split(".")[0] in {"members", "sessions", "library"}}
    assert all(m.split(".")[0] in {"django", "contextlib", "re", "collections", "dataclasses",
                                   "pathlib", "typing"} for m in modules)  # fmt: skip
