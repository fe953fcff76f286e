"""One entry point for every archive format: decode the bytes, tell the format, parse, write.
Decoding and the size limit are the import foundation's (topicshare/core/imports.py)."""

import re

from django.utils.translation import gettext as _

from library.importers.base import ImportFailed, ImportReport, run_import
from library.importers.reading_list import parse_reading_list
from library.importers.zhihu import parse_zhihu
from library.models import LibraryItem
from topicshare.core.imports import ImportLimits, decode_text

FORMATS = ("auto", "topic-archive", "reading-list", "zhihu")
LIMITS = ImportLimits(max_bytes=20 * 1024 * 1024)
MAX_BYTES = LIMITS.max_bytes
MAX_NAME = LibraryItem._meta.get_field("source_file").max_length

# "### Topic 5" or "#### Topic 5 >> 自然语言处理", "#### 初期 >> 图像处理".
_ARCHIVE_HEADING = re.compile(r"^ {0,3}#{1,6}\s*(?:Topic\s*\d+\b|[^\n]*\S\s*>>)", re.M | re.I)


def read_text(data: bytes) -> str:
    """UTF-8 (a BOM is dropped), else GB18030/GBK when that reads cleanly and is Chinese."""
    return decode_text(
        data,
        not_text=_(
            "The file is not UTF-8 or GBK text (or it is not text at all). "
            "Save it as UTF-8 and try again."
        ),
        bom_means_utf8=False,
        gbk_needs_chinese=True,
        refuse_nul=True,
    )


def detect_format(name: str, text: str) -> str:
    """ "zhihu" for JSON, "topic-archive" for the forum's Topic archive, else "reading-list"."""
    if name.lower().endswith(".json") or text.lstrip("\ufeff \t\r\n").startswith(("{", "[")):
        return "zhihu"
    if _ARCHIVE_HEADING.search(text):
        return "topic-archive"
    return "reading-list"


def _basename(name: str) -> str:
    # Browsers on Windows used to send the whole path of an upload.
    return name.replace("\\", "/").rsplit("/", 1)[-1].strip()[:MAX_NAME]


def import_library(
    *, data: bytes, name: str, fmt: str = "auto", base_url: str = "", dry_run: bool = False
) -> ImportReport:
    """Import an archive file into the library; see `run_import` for what is written.

    Items are found again by the file's name (`name` without folders) and their key, so
    importing a corrected version of the same file updates the items. Problems with single
    entries are in the report; a file that cannot be read at all raises ImportFailed and
    writes nothing."""
    if fmt not in FORMATS:
        raise ImportFailed(
            _("Unknown format “%(format)s”; choose one of %(formats)s.")
            % {"format": fmt, "formats": ", ".join(FORMATS)}
        )
    source_file = _basename(name)
    if not source_file:
        raise ImportFailed(_("The file has no name; the import needs it to recognise items."))
    LIMITS.check_size(data)
    text = read_text(data)
    if fmt == "auto":
        fmt = detect_format(source_file, text)
    if fmt == "zhihu":
        items, problems = parse_zhihu(text)
    elif fmt == "topic-archive":
        from library.importers.topic_archive import parse_topic_archive

        items, problems = parse_topic_archive(text, base_url=base_url)
    else:
        items, problems = parse_reading_list(text, base_url=base_url)
    return run_import(source_file=source_file, items=items, problems=problems, dry_run=dry_run)
