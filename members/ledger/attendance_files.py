"""Reading the participant list a meeting app exports (Tencent Meeting 腾讯会议, Feishu 飞书,
and anything laid out like them) into a bounded table of text, and from that table the people
in it with their time in the meeting. No database here: attendance_import.py matches the
people to members and records attendance.

- `read_table(name, data)`: CSV (UTF-8 with or without a BOM, GBK/GB18030, UTF-16 with a BOM;
  comma, tab or semicolon) or XLSX (the active sheet, values only). Refuses with ImportFailed
  (a message for the organiser) what is not such a file, or is too big, empty or broken.
- `detect_columns(rows)`: the header row among the first rows (exports put a few title lines
  above it: "会议主题：…") and which column holds the name, e-mail, WeChat ID, time in the
  meeting, join and leave time, from headers in Chinese and English.
- `participants(...)`: one entry per person (rows of someone who rejoined are added up).
"""

import csv
import datetime
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePath

from django.utils.translation import gettext as _

from topicshare.core.imports import ImportFailed, ImportLimits, decode_text

LIMITS = ImportLimits(max_bytes=2 * 1024 * 1024, max_rows=5_000)
MAX_COLUMNS = 50
MAX_CELL_CHARS = 200
# All cells together, as stored between the upload and the confirmation.
MAX_TABLE_CHARS = 2_000_000
# The header is looked for among this many non-empty rows at the top.
HEADER_SEARCH_ROWS = 20
# A sheet's blank rows are yielded one by one; past this many rows of any kind we stop.
MAX_PHYSICAL_ROWS = 2 * 5_000 + HEADER_SEARCH_ROWS
# An XLSX is a ZIP: what it may hold when unpacked (a participant list is a few hundred KB).
XLSX_MAX_MEMBERS = 1_000
XLSX_MAX_UNPACKED_BYTES = 40 * 1024 * 1024

CSV_EXTENSIONS = {"csv", "txt", "tsv"}
XLSX_EXTENSIONS = {"xlsx", "xlsm"}

# What a column holds. The order is the mapping form's.
NAME, EMAIL, WECHAT, DURATION, JOIN, LEAVE = "name", "email", "wechat", "duration", "join", "leave"
ROLES = (NAME, EMAIL, WECHAT, DURATION, JOIN, LEAVE)
IDENTITY_ROLES = (NAME, EMAIL, WECHAT)

# Header texts, as `_header_key` writes them (NFKC, lower case, no spaces, punctuation or
# bracketed parts: "用户昵称（入会昵称）" is 用户昵称, "Duration (Minutes)" is duration).
HEADERS = {
    NAME: {
        "用户昵称", "入会昵称", "会议昵称", "昵称", "参会者", "参会人", "参会人员", "参会成员",
        "姓名", "名字", "名称", "用户名", "用户", "成员", "成员名称", "与会者",
        "name", "participant", "participants", "participantname", "username", "user",
        "displayname", "attendee", "attendeename", "fullname", "nickname", "member",
    },
    EMAIL: {
        "邮箱", "电子邮箱", "邮箱地址", "电子邮件", "邮件", "用户邮箱", "参会者邮箱",
        "email", "emailaddress", "useremail", "mail", "participantemail", "attendeeemail",
    },
    WECHAT: {"微信号", "微信", "微信id", "wechatid", "wechat", "weixin", "weixinid"},
    DURATION: {
        "参会时长", "累计参会时长", "在会时长", "入会时长", "参会总时长", "总时长", "时长",
        "duration", "timeinmeeting", "attendanceduration", "totalduration", "meetingduration",
        "inmeetingduration", "timeattended", "attendedtime", "totaltime",
    },
    JOIN: {
        "入会时间", "首次入会时间", "加入时间", "进入时间", "进会时间", "首次加入时间",
        "jointime", "firstjointime", "joined", "joinedat", "entertime", "timejoined",
    },
    LEAVE: {
        "退会时间", "离会时间", "最后退会时间", "最后离会时间", "离开时间", "退出时间",
        "leavetime", "lastleavetime", "left", "leftat", "exittime", "timeleft",
    },
}  # fmt: skip

# Rows that sum up the others instead of naming someone.
_TOTAL_ROWS = {"合计", "总计", "总数", "total", "sum"}
_OPENING = "([{【〔〖《<「『"
_CLOSING = ")]}】〕〗》>」』"
_BRACKETED = re.compile(
    rf"[{re.escape(_OPENING)}][^{re.escape(_CLOSING)}]*[{re.escape(_CLOSING)}]?"
)
_PUNCTUATION = re.compile(r"[\s\-_:：./·・*#]+")
_SEPARATORS = re.compile(r"\s*[-_—–/|｜]\s*")
# Control characters (but tab and line ends), private use and lone surrogates.
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ue000-\uf8ff\ud800-\udfff]")


def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def _header_key(text: str) -> str:
    text = _BRACKETED.sub("", _nfkc(text)).casefold()
    return _PUNCTUATION.sub("", text)


def _bad_file() -> str:
    return _("Upload the participant list the meeting app exported, as a CSV or XLSX file.")


def _not_text() -> str:
    return _(
        "This file cannot be read as CSV text (UTF-8 or GBK). Export the participant list "
        "again as CSV or XLSX."
    )


def _not_xlsx() -> str:
    return _(
        "This file is not a readable XLSX workbook (it may be damaged). Export the participant "
        "list again, or save it as CSV."
    )


def _empty() -> str:
    return _("The file has no participants in it.")


# --- Files -> a table of text ---------------------------------------------------------------


@dataclass
class Table:
    """The non-empty rows of a file (cells as text, at most MAX_COLUMNS, each cut to
    MAX_CELL_CHARS) with their line numbers in the file (a spreadsheet's row numbers)."""

    kind: str  # "csv" or "xlsx"
    rows: list[list[str]]
    lines: list[int]


def _extension(name: str) -> str:
    return PurePath(name or "").suffix.lower().removeprefix(".")


def read_table(name: str, data: bytes) -> Table:
    """The table of an uploaded file, or ImportFailed with a message for the organiser. The
    kind is read from the content; the name's extension must agree with it."""
    LIMITS.check_size(data)
    if not data.strip():
        raise ImportFailed(_("The file is empty."))
    extension = _extension(name)
    is_zip = data[:4] in (b"PK\x03\x04", b"PK\x05\x06")
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" or extension == "xls":
        raise ImportFailed(
            _("Old Excel files (.xls) cannot be read: save the list as .xlsx or CSV and try again.")
        )
    if extension in XLSX_EXTENSIONS:
        if not is_zip:
            raise ImportFailed(_not_xlsx())
        table = _read_xlsx(data)
    elif extension in CSV_EXTENSIONS:
        if is_zip:
            raise ImportFailed(
                _("This file is an XLSX workbook with a .%(extension)s name: rename it to .xlsx.")
                % {"extension": extension}
            )
        table = _read_csv(data)
    else:
        raise ImportFailed(_bad_file())
    if not table.rows:
        raise ImportFailed(_empty())
    return table


def _cut(cells: list[str]) -> list[str]:
    cells = [cell.strip()[:MAX_CELL_CHARS] for cell in cells[:MAX_COLUMNS]]
    while cells and not cells[-1]:
        cells.pop()
    return cells


class _Collector:
    """Rows as they are read: empty ones dropped, every limit checked as it is reached."""

    def __init__(self, kind: str):
        self.table = Table(kind=kind, rows=[], lines=[])
        self.chars = 0
        self.physical = 0

    def add(self, line: int, cells: list[str]) -> None:
        self.physical += 1
        if self.physical > MAX_PHYSICAL_ROWS:
            raise ImportFailed(LIMITS.too_many_rows_message())
        cells = _cut(cells)
        if not cells:
            return
        self.chars += sum(len(cell) for cell in cells)
        if self.chars > MAX_TABLE_CHARS:
            raise ImportFailed(
                _("The file holds far more text than a participant list. Check that it is one.")
            )
        self.table.rows.append(cells)
        self.table.lines.append(line)
        LIMITS.check_rows(len(self.table.rows) - HEADER_SEARCH_ROWS)


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text": UTF-16, tabs
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise ImportFailed(_not_text()) from None
    else:
        text = decode_text(data, not_text=_not_text(), refuse_nul=True)
    # Binary junk decodes as GB18030 more often than one would think; text has no controls.
    if _NOT_TEXT.search(text):
        raise ImportFailed(_not_text())
    return text.removeprefix("\ufeff")


def _delimiter(text: str) -> str:
    head = text.splitlines()[: HEADER_SEARCH_ROWS + 5]
    counts = {sep: max((line.count(sep) for line in head), default=0) for sep in (",", "\t", ";")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def _read_csv(data: bytes) -> Table:
    text = _decode(data)
    collector = _Collector("csv")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    try:
        for cells in reader:
            collector.add(reader.line_num, cells)
    except csv.Error as exc:
        raise ImportFailed(
            _("Line %(line)d cannot be read as CSV (%(error)s).")
            % {"line": reader.line_num, "error": exc}
        ) from None
    return collector.table


def _check_zip(data: bytes) -> None:
    """Refuse a ZIP that would unpack to far more than a participant list (a zip bomb), or
    whose XML declares entities (openpyxl's parser would expand them)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = archive.infolist()
            if len(members) > XLSX_MAX_MEMBERS:
                raise ImportFailed(_not_xlsx())
            # ZipFile never inflates a member past its declared size: this sum bounds the work.
            if sum(member.file_size for member in members) > XLSX_MAX_UNPACKED_BYTES:
                raise ImportFailed(
                    _("This workbook unpacks to far more than a participant list. Save it as CSV.")
                )
            names = {member.filename.lower() for member in members}
            if not {"[content_types].xml", "xl/workbook.xml"} <= names:
                raise ImportFailed(_not_xlsx())
            for member in members:
                if member.filename.lower().endswith((".xml", ".rels")):
                    with archive.open(member) as handle:
                        if b"<!DOCTYPE" in handle.read(4096).upper():
                            raise ImportFailed(_not_xlsx())
    except ImportFailed:
        raise
    except Exception:  # crafted archives raise many kinds of error; each means "broken"
        raise ImportFailed(_not_xlsx()) from None


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else format(value, ".10g")
    if isinstance(value, datetime.datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ", timespec="seconds")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, datetime.time):
        return value.strftime("%H:%M:%S")
    if isinstance(value, datetime.timedelta):
        seconds = max(0, int(value.total_seconds()))
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    return str(value)


def _read_xlsx(data: bytes) -> Table:
    import openpyxl  # only here: most uploads are CSV

    _check_zip(data)
    collector = _Collector("xlsx")
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:
        raise ImportFailed(_not_xlsx()) from None
    try:
        sheet = workbook.active
        if sheet is None or not hasattr(sheet, "iter_rows"):
            sheet = next((ws for ws in workbook.worksheets if hasattr(ws, "iter_rows")), None)
        if sheet is None:
            raise ImportFailed(_empty())
        for line, values in enumerate(
            sheet.iter_rows(min_col=1, max_col=MAX_COLUMNS, values_only=True), start=1
        ):
            collector.add(line, [_cell_text(value) for value in values])
    except ImportFailed:
        raise
    except Exception:
        raise ImportFailed(_not_xlsx()) from None
    finally:
        workbook.close()
    return collector.table


# --- The header ------------------------------------------------------------------------------


@dataclass
class Columns:
    """Which row holds the column names (an index into the table's rows; None: no header)
    and which column holds what (role -> column index)."""

    header_row: int | None
    mapping: dict[str, int] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return mapping_complete(self.mapping)


def mapping_complete(mapping: dict[str, int]) -> bool:
    """Someone to match (a name, an e-mail or a WeChat ID) and a time in the meeting (its
    length, or when they joined and left)."""
    identity = any(role in mapping for role in IDENTITY_ROLES)
    return identity and (DURATION in mapping or (JOIN in mapping and LEAVE in mapping))


def recognise(cells: list[str]) -> dict[str, int]:
    """role -> the first column whose header names it."""
    found: dict[str, int] = {}
    for index, cell in enumerate(cells):
        key = _header_key(cell)
        for role in ROLES:
            if role not in found and key in HEADERS[role]:
                found[role] = index
                break
    return found


def detect_columns(rows: list[list[str]]) -> Columns:
    """The header among the first rows: the row that names most columns (at least two). If
    none does, the widest of the first rows, with nothing mapped (the organiser maps it)."""
    best: Columns | None = None
    for index, cells in enumerate(rows[:HEADER_SEARCH_ROWS]):
        found = recognise(cells)
        if len(found) >= 2 and (best is None or len(found) > len(best.mapping)):
            best = Columns(header_row=index, mapping=found)
            if best.complete and len(found) == len(ROLES):
                break
    if best is not None:
        return best
    top = rows[:HEADER_SEARCH_ROWS]
    widest = max(range(len(top)), key=lambda index: (len(top[index]), -index), default=None)
    return Columns(header_row=widest)


def column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


# --- Times --------------------------------------------------------------------------------

_UNITS = {
    "hours": ("小时", "小時", "钟头", "时", "h", "hr", "hrs", "hour", "hours"),
    "minutes": ("分钟", "分鐘", "分", "min", "mins", "minute", "minutes", "m"),
    "seconds": ("秒钟", "秒", "s", "sec", "secs", "second", "seconds"),
}
_UNIT_SECONDS = {"hours": 3600, "minutes": 60, "seconds": 1}
_UNIT_OF = {word: unit for unit, words in _UNITS.items() for word in words}
_UNIT_WORDS = "|".join(sorted(map(re.escape, _UNIT_OF), key=len, reverse=True))
_AMOUNT = re.compile(rf"(\d+(?:\.\d+)?)\s*({_UNIT_WORDS})(?![a-z])")
_FILLER = re.compile(r"(?:[\s,，、;；+]|and|和)*")
_CLOCK = re.compile(r"(\d+):(\d{1,2})(?::(\d{1,2}))?(?:\.\d+)?")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def duration_unit(header: str) -> str:
    """The unit of plain numbers in a duration column, from its header ("时长（秒）",
    "Duration (Minutes)"): minutes unless it says seconds or hours."""
    text = _nfkc(header).casefold()
    if "秒" in text or "second" in text or "(s)" in text or "sec" in text:
        return "seconds"
    if "小时" in text or "hour" in text or "(h)" in text:
        return "hours"
    return "minutes"


def parse_duration(text: str, *, unit: str = "minutes") -> int | None:
    """Seconds in "45分钟", "1小时5分钟", "01:05:10" (h:mm:ss; "1:05" is h:mm), "65" (in
    `unit`), "65 min", "1h 5m", "1.5h"; None when it is none of these."""
    text = _nfkc(text).strip().casefold()
    if not text:
        return None
    if _NUMBER.fullmatch(text):
        return round(float(text) * _UNIT_SECONDS[unit])
    clock = _CLOCK.fullmatch(text)
    if clock:
        first, second, third = clock.groups()
        if third is None:
            return int(first) * 3600 + int(second) * 60
        return int(first) * 3600 + int(second) * 60 + int(third)
    seconds = 0.0
    position = 0
    for match in _AMOUNT.finditer(text):
        if not _FILLER.fullmatch(text[position : match.start()]):
            return None
        seconds += float(match.group(1)) * _UNIT_SECONDS[_UNIT_OF[match.group(2)]]
        position = match.end()
    if position == 0 or not _FILLER.fullmatch(text[position:]):
        return None
    return round(seconds)


_DATE_TIME = re.compile(
    r"(?:(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?)?[\sT]*"
    r"(\d{1,2})[:时点](\d{1,2})分?(?::?(\d{1,2})(?:\.\d+)?秒?)?\s*(am|pm|上午|下午)?"
)
# Zoom's English exports: month/day/year.
_US_DATE_TIME = re.compile(
    r"(\d{1,2})/(\d{1,2})/(\d{4})\s+(\d{1,2}):(\d{1,2})(?::(\d{1,2}))?\s*(am|pm)?"
)


def parse_moment(text: str) -> tuple[bool, datetime.datetime] | None:
    """(has a date, the moment) of "2024-05-18 20:30:12", "2024/5/18 20:30", "20:30:12",
    "2024年5月18日 20:30", "05/18/2024 08:30:12 PM"; None when it is none of these. Naive:
    only differences count."""
    text = _nfkc(text).strip().casefold()
    match = _DATE_TIME.fullmatch(text)
    if match:
        year, month, day, hour, minute, second, half = match.groups()
    else:
        match = _US_DATE_TIME.fullmatch(text)
        if not match:
            return None
        month, day, year, hour, minute, second, half = match.groups()
    hour = int(hour)
    if half in ("pm", "下午") and hour < 12:
        hour += 12
    elif half in ("am", "上午") and hour == 12:
        hour = 0
    try:
        moment = datetime.datetime(
            int(year or 1900), int(month or 1), int(day or 1),
            hour, int(minute), int(second or 0),
        )  # fmt: skip
    except ValueError:
        return None
    return year is not None, moment


def stay_seconds(joined: str, left: str) -> int | None:
    """Seconds between a join and a leave time; None unless both read. Times without a date
    that go past midnight (join 23:50, leave 00:20) count across it."""
    start, end = parse_moment(joined), parse_moment(left)
    if start is None or end is None:
        return None
    (start_dated, start_at), (end_dated, end_at) = start, end
    if not (start_dated and end_dated):
        start_at = start_at.replace(year=1900, month=1, day=1)
        end_at = end_at.replace(year=1900, month=1, day=1)
        if end_at < start_at:
            end_at += datetime.timedelta(days=1)
    seconds = int((end_at - start_at).total_seconds())
    return seconds if seconds >= 0 else None


# --- People ---------------------------------------------------------------------------------


def name_key(text: str) -> str:
    """A name as names are compared: NFKC (full-width letters and brackets become ASCII),
    case folded, without spaces."""
    return re.sub(r"\s+", "", _nfkc(text)).casefold()


def name_keys(text: str) -> list[str]:
    """The keys a name in an export may match, most faithful first: as written; without a
    bracketed part ("张三(清华)", "【北大】张三"); before a separator ("张三-北大")."""
    text = _nfkc(text).strip()
    keys = [name_key(text)]
    unbracketed = _BRACKETED.sub(" ", text).strip()
    if unbracketed:
        keys.append(name_key(unbracketed))
    parts = [part for part in _SEPARATORS.split(unbracketed or text) if part.strip()]
    if len(parts) > 1:
        keys.append(name_key(parts[0]))
    unique: list[str] = []
    for key in keys:
        if key and key not in unique:
            unique.append(key)
    return unique


@dataclass
class Participant:
    """One person in the file: their rows added up."""

    key: str  # "e:<email>", "w:<wechat id>" or "n:<name key>"
    name: str = ""
    email: str = ""
    wechat: str = ""
    seconds: int = 0
    lines: list[int] = field(default_factory=list)

    @property
    def minutes(self) -> int:
        return self.seconds // 60

    @property
    def label(self) -> str:
        return self.name or self.email or self.wechat


@dataclass
class Reading:
    """The people of a table under a mapping, and the lines whose time could not be read."""

    people: list[Participant]
    unreadable_lines: list[int]
    rows_read: int


def _cell(cells: list[str], mapping: dict[str, int], role: str) -> str:
    index = mapping.get(role)
    return cells[index] if index is not None and index < len(cells) else ""


def participants(table_rows, lines, columns: Columns) -> Reading:
    """The people of the rows below the header, in the order they first appear. A row without
    a name, e-mail or WeChat ID, a row with a single filled cell (a title or footer line) and
    a total row are left out."""
    mapping = columns.mapping
    start = 0 if columns.header_row is None else columns.header_row + 1
    header = table_rows[columns.header_row] if columns.header_row is not None else []
    duration_index = mapping.get(DURATION)
    unit = (
        duration_unit(header[duration_index])
        if duration_index is not None and duration_index < len(header)
        else "minutes"
    )
    people: dict[str, Participant] = {}
    unreadable: list[int] = []
    rows_read = 0
    for cells, line in zip(table_rows[start:], lines[start:], strict=False):
        if sum(1 for cell in cells if cell) < 2:
            continue
        name = _cell(cells, mapping, NAME)
        email = _cell(cells, mapping, EMAIL).strip().casefold()
        email = email if "@" in email else ""
        wechat = _cell(cells, mapping, WECHAT).strip()
        if not (name or email or wechat) or name_key(name) in _TOTAL_ROWS:
            continue
        rows_read += 1
        seconds = None
        if DURATION in mapping:
            seconds = parse_duration(_cell(cells, mapping, DURATION), unit=unit)
        if seconds is None and JOIN in mapping and LEAVE in mapping:
            seconds = stay_seconds(_cell(cells, mapping, JOIN), _cell(cells, mapping, LEAVE))
        if seconds is None:
            unreadable.append(line)
            seconds = 0
        if email:
            key = f"e:{email}"
        elif wechat:
            key = f"w:{wechat.casefold()}"
        else:
            key = f"n:{name_key(name)}"
        person = people.setdefault(key, Participant(key=key))
        person.name = person.name or name
        person.email = person.email or email
        person.wechat = person.wechat or wechat
        person.seconds += seconds
        person.lines.append(line)
    return Reading(people=list(people.values()), unreadable_lines=unreadable, rows_read=rows_read)


def columns_of(table: Table) -> Columns:
    """detect_columns, refusing a file that has no columns to map (one cell a row: a text
    that is not a table)."""
    columns = detect_columns(table.rows)
    if not columns.mapping and max(len(cells) for cells in table.rows[:HEADER_SEARCH_ROWS]) < 2:
        raise ImportFailed(
            _("No columns found: this does not look like a participant list (a table).")
        )
    if columns.mapping and columns.header_row == len(table.rows) - 1:
        raise ImportFailed(_empty())  # the column names and nothing below them
    return columns
