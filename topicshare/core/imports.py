"""The import foundation every importer of the site stands on (the topic sheet, the library's
archives): what they have in common is here once, what they know of their own data is theirs.

- `decode_text`: bytes -> text. UTF-8 with or without a BOM, else GB18030 (which reads GBK,
  what Excel saves on a Chinese Windows), else `ImportFailed` with the importer's message.
- `ImportLimits`: the largest file and the most rows an importer takes, and their messages.
- `Issue` and `ImportReport`: the line-numbered report. Errors mean nothing was saved;
  warnings are entries skipped or adjusted while the rest was saved; created / updated /
  unchanged counts and a list of changes.
- `import_transaction`: the writes of one import in one transaction, rolled back on a dry
  run or when the report has errors.
- `ImportUploadForm` and `AdminImportPage`: the admin upload page (one template,
  `admin/import.html`), and `ImportCommand`, the base of the `import_*` management commands.

Shared infrastructure: this module imports no app of the project.
"""

import contextlib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

TEMPLATE = "admin/import.html"
_CHINESE = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")

# --- The report ----------------------------------------------------------------------------


class Issue(NamedTuple):
    """One error or warning of an import. `where` is a line number (the header is line 1; 0
    means the file as a whole) or, where a format has no useful lines, a position such as
    "line 5" already written out or a JSON path ("$.articles[3].title").

    A tuple, so `(2, "…")` compares equal to `Issue(2, "…")`."""

    where: int | str
    message: str

    @property
    def line(self) -> int | None:
        return self.where if isinstance(self.where, int) else None

    def __str__(self) -> str:
        if isinstance(self.where, int):
            if not self.where:
                return self.message
            return _("Line %(line)d: %(message)s") % {"line": self.where, "message": self.message}
        return f"{self.where}: {self.message}"


@dataclass
class ImportReport:
    """What an import did, or would do (`dry_run`), or why it saved nothing (`errors`)."""

    dry_run: bool = False
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[Issue] = field(default_factory=list)  # any error: nothing is saved
    warnings: list[Issue] = field(default_factory=list)  # skipped or adjusted; the rest saved
    changes: list[str] = field(default_factory=list)
    saved: bool = False
    count_warnings: bool = False  # whether `summary` says how many warnings there were

    @property
    def counts(self) -> str:
        return _("%(created)d created, %(updated)d updated, %(unchanged)d unchanged") % {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
        }

    @property
    def summary(self) -> str:
        if not self.count_warnings:
            return self.counts
        return _(
            "%(created)d created, %(updated)d updated, %(unchanged)d unchanged, "
            "%(problems)d problems"
        ) % {  # fmt: skip
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "problems": len(self.warnings),
        }

    def error_messages(self) -> list[str]:
        return [str(Issue(*error)) for error in self.errors]

    def warning_messages(self) -> list[str]:
        return [str(Issue(*warning)) for warning in self.warnings]


class ImportFailed(Exception):
    """The file as a whole cannot be read (size, encoding, syntax, header): nothing is
    imported. `issues` are the messages at `line` (0: the file as a whole)."""

    def __init__(self, *messages: str, line: int = 0):
        super().__init__(*messages)
        self.issues = [Issue(line, str(message)) for message in messages]


@contextlib.contextmanager
def import_transaction(report: ImportReport) -> Iterator[None]:
    """Run an import's writes in one transaction. When the block ends with errors in the
    report, or on a dry run, everything it wrote is rolled back; else `report.saved`."""
    with transaction.atomic():
        yield
        if report.errors or report.dry_run:
            transaction.set_rollback(True)
            return
    report.saved = True


# --- Text and limits -----------------------------------------------------------------------


def decode_text(
    data: bytes | str,
    *,
    not_text: str,
    bom_means_utf8: bool = True,
    gbk_needs_chinese: bool = False,
    refuse_nul: bool = False,
) -> str:
    """The text of an uploaded file, without a BOM: UTF-8, else GB18030/GBK.

    `not_text` is the message of the ImportFailed raised when neither reads. With
    `bom_means_utf8` a file that starts with a UTF-8 BOM must be UTF-8. With
    `gbk_needs_chinese` a GBK reading counts only when it has Chinese in it (bytes of another
    single-byte encoding sometimes decode as GB18030 too, as rare symbols). With `refuse_nul`
    text with a NUL character is refused too (a binary file)."""
    if isinstance(data, str):
        text = data.removeprefix("\ufeff")
    elif bom_means_utf8 and data.startswith(b"\xef\xbb\xbf"):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ImportFailed(not_text) from None
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = data.decode("gb18030")
            except UnicodeDecodeError:
                raise ImportFailed(not_text) from None
            if gbk_needs_chinese and not has_chinese(text):
                raise ImportFailed(not_text) from None
    if refuse_nul and "\x00" in text:
        raise ImportFailed(not_text)
    return text


def has_chinese(text: str) -> bool:
    """Whether `text` has a CJK character or CJK punctuation (or full-width forms) in it."""
    return _CHINESE.search(text) is not None


@dataclass
class ImportLimits:
    """The largest file (bytes) and the most rows (None: no limit) one importer takes.

    Not frozen, so that a test can lower one importer's limit in place."""

    max_bytes: int
    max_rows: int | None = None

    def too_big_message(self) -> str:
        return _("The file is larger than %(max)d MB. Split it and try again.") % {
            "max": self.max_bytes // (1024 * 1024)
        }

    def too_many_rows_message(self) -> str:
        return _("The file has more than %(max)s rows. Split it and try again.") % {
            "max": f"{self.max_rows:,}"
        }

    def check_size(self, data: bytes | str) -> None:
        """ImportFailed when `data` (as UTF-8 if text) is larger than allowed."""
        size = len(data) if isinstance(data, bytes) else len(data.encode())
        if size > self.max_bytes:
            raise ImportFailed(self.too_big_message())

    def check_rows(self, count: int) -> None:
        """ImportFailed when a file has `count` rows and that is more than allowed."""
        if self.max_rows is not None and count > self.max_rows:
            raise ImportFailed(self.too_many_rows_message())


# --- The admin upload page -----------------------------------------------------------------


class ImportUploadForm(forms.Form):
    """A file and "dry run" (on by default). Subclasses set `limits` and may declare `file`
    again with their own label and help text, and add fields of their own."""

    limits: ImportLimits

    file = forms.FileField(label=gettext_lazy("File"))
    dry_run = forms.BooleanField(
        label=gettext_lazy("Dry run: check the file and show what would change, save nothing"),
        required=False,
        initial=True,
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > self.limits.max_bytes:
            raise forms.ValidationError(self.limits.too_big_message(), code="too_big")
        return upload


@dataclass
class AdminImportPage:
    """An admin page that uploads a file, runs an import and shows its report on the same
    page (template `admin/import.html`). `run(form, user)` imports the valid form's file and
    returns the report; an ImportFailed it raises is shown on the file field."""

    permission: str
    forbidden: str  # the message of the PermissionDenied for others (lazy)
    form_class: type[ImportUploadForm]
    run: Callable[[ImportUploadForm, Any], ImportReport]
    model: type
    title: str  # lazy
    intro: str  # the paragraph above the form: HTML, from the project's translations (lazy)
    template_name: str = TEMPLATE

    def __call__(self, request: HttpRequest, admin_site) -> TemplateResponse:
        if not request.user.has_perm(self.permission):
            raise PermissionDenied(str(self.forbidden))
        report = None
        if request.method == "POST":
            form = self.form_class(request.POST, request.FILES)
            if form.is_valid():
                try:
                    report = self.run(form, request.user)
                except ImportFailed as exc:
                    form.add_error("file", str(exc))
                else:
                    if report.saved:
                        messages.success(
                            request, _("Imported: %(summary)s.") % {"summary": report.summary}
                        )
        else:
            form = self.form_class()
        opts = self.model._meta
        try:
            changelist_url = reverse(
                f"{admin_site.name}:{opts.app_label}_{opts.model_name}_changelist"
            )
        except NoReverseMatch:
            changelist_url = None
        context = {
            **admin_site.each_context(request),
            "title": str(self.title),
            "intro": mark_safe(str(self.intro)),  # noqa: S308 — our own text, as blocktranslate
            "opts": opts,
            "form": form,
            "report": report,
            "changelist_url": changelist_url,
        }
        return TemplateResponse(request, self.template_name, context)


# --- The management commands ---------------------------------------------------------------


class ImportCommand(BaseCommand):
    """The base of an `import_*` command: `--dry-run`, reading the file within the limit,
    and writing the report (changes to stdout; warnings and errors to stderr; any error ends
    in CommandError)."""

    limits: ImportLimits

    def add_dry_run_argument(self, parser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Check the file and report; save nothing."
        )

    def read_file(self, path: str) -> bytes:
        """The file's bytes, at most one byte more than allowed, so that the import can tell
        that the file is too big."""
        try:
            with Path(path).open("rb") as handle:
                return handle.read(self.limits.max_bytes + 1)
        except OSError as exc:
            raise CommandError(
                _("Cannot read %(file)s: %(error)s") % {"file": path, "error": exc.strerror}
            ) from None

    def write_report(self, report: ImportReport) -> None:
        for change in report.changes:
            self.stdout.write(change)
        for message in report.warning_messages():
            self.stderr.write(message)
        if report.errors:
            for message in report.error_messages():
                self.stderr.write(message)
            raise CommandError(
                ngettext(
                    "%(count)d error; nothing was saved.",
                    "%(count)d errors; nothing was saved.",
                    len(report.errors),
                )
                % {"count": len(report.errors)}
            )
        if report.dry_run:
            self.stdout.write(
                _("Dry run, nothing was saved: %(summary)s.") % {"summary": report.summary}
            )
        else:
            self.stdout.write(
                self.style.SUCCESS(_("Imported: %(summary)s.") % {"summary": report.summary})
            )
