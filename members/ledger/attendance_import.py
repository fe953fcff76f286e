"""Attendance from the meeting's own export (issue 17): an organiser uploads the participant
list Tencent Meeting or Feishu exported for a session, sees who was matched to which member
and who was not, fixes the unmatched by hand and confirms. A person counts from the policy's
minimum time in the meeting (LedgerPolicy.min_minutes_in_meeting).

- Reading the file: attendance_files.py. Between the steps the cells wait in an
  AttendanceImport row (one per session and file: uploading the same file again finds it).
- `import_preview(draft)`: the people of the file matched to members — by e-mail (any case),
  then WeChat ID, then display name — never a guess between two people: a name or ID that
  two members share is left for the organiser, with both as a hint.
- Writes, organisers only (`topic_sessions.schedule_sessions`, checked in each):
  `attendance_import_upload`, `attendance_import_set_columns`, `attendance_import_pick`,
  `attendance_import_confirm` (records through sessions.weekly.scheduling.attendance_record,
  so an attendance already recorded stays as it is: confirming twice adds nothing).
"""

import datetime
import hashlib
import secrets
import unicodedata
from dataclasses import dataclass, field
from pathlib import PurePath

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from members.ledger.attendance_files import (
    ROLES,
    Columns,
    Participant,
    columns_of,
    mapping_complete,
    name_key,
    name_keys,
    participants,
    read_table,
)
from members.ledger.models import AttendanceImport, LedgerPolicy
from members.models import User
from members.rules import require_perm
from sessions.models import Attendance, WeeklySession
from sessions.weekly.scheduling import NOT_HELD, SchedulingError, attendance_record
from topicshare.core.imports import ImportFailed

PERMISSION = "topic_sessions.schedule_sessions"
# Uploads wait this long for their confirmation, and a session keeps this many.
KEEP_FOR = datetime.timedelta(days=30)
KEEP_PER_SESSION = 20


class AttendanceImportError(ImportFailed):
    """A request the import refuses; its messages are shown as they are."""


def _require_organiser(user) -> None:
    require_perm(user, PERMISSION, message=_("Only organisers record attendance."))


def import_session_problem(session: WeeklySession, *, now: datetime.datetime) -> str:
    """Why attendance cannot be recorded for `session` now (attendance_record's rules), or
    ""."""
    if session.status in NOT_HELD:
        return _("Nobody attends a session that did not take place.")
    if session.start > now:
        return _("Attendance can be recorded once the session has started.")
    return ""


# --- Upload and columns -------------------------------------------------------------------


@dataclass
class Upload:
    draft: AttendanceImport
    created: bool  # False: this file was uploaded for this session before


def _safe_file_name(name: str) -> str:
    name = PurePath((name or "").replace("\\", "/")).name
    name = "".join(char for char in name if unicodedata.category(char)[0] != "C").strip()
    return name[:200] or "participants"


def _forget_old(session: WeeklySession, now: datetime.datetime) -> None:
    AttendanceImport.objects.filter(created_at__lt=now - KEEP_FOR).delete()
    kept = session.attendance_imports.order_by("-created_at", "-id").values_list("pk", flat=True)
    surplus = list(kept[KEEP_PER_SESSION - 1 :])
    if surplus:
        AttendanceImport.objects.filter(pk__in=surplus).delete()


def attendance_import_upload(
    *,
    session: WeeklySession,
    by: User,
    name: str,
    data: bytes,
    now: datetime.datetime | None = None,
) -> Upload:
    """Read an uploaded participant list and keep its cells for the preview. The same file
    uploaded for the same session again finds the first upload (nothing changes).

    Raises AttendanceImportError (or ImportFailed, from reading the file) with messages for
    the organiser; then nothing is stored. Side effect: uploads older than KEEP_FOR, and a
    session's beyond the newest KEEP_PER_SESSION, are deleted."""
    now = now or timezone.now()
    _require_organiser(by)
    problem = import_session_problem(session, now=now)
    if problem:
        raise AttendanceImportError(problem)
    digest = hashlib.sha256(data).hexdigest()
    existing = AttendanceImport.objects.filter(session=session, sha256=digest).first()
    if existing is not None:
        return Upload(draft=existing, created=False)
    table = read_table(name, data)
    columns = columns_of(table)
    try:
        with transaction.atomic():
            _forget_old(session, now)
            draft = AttendanceImport.objects.create(
                session=session,
                token=secrets.token_urlsafe(24),
                sha256=digest,
                file_name=_safe_file_name(name),
                kind=table.kind,
                table={"rows": table.rows, "lines": table.lines},
                header_row=columns.header_row,
                columns=columns.mapping,
                uploaded_by=by,
            )
    except IntegrityError:  # the same file, uploaded twice at once
        return Upload(
            draft=AttendanceImport.objects.get(session=session, sha256=digest), created=False
        )
    return Upload(draft=draft, created=True)


def draft_columns(draft: AttendanceImport) -> Columns:
    return Columns(header_row=draft.header_row, mapping=dict(draft.columns or {}))


def table_width(draft: AttendanceImport) -> int:
    return max((len(cells) for cells in draft.table["rows"]), default=0)


def attendance_import_set_columns(
    *, draft: AttendanceImport, by: User, header_row: int | None, mapping: dict[str, int]
) -> AttendanceImport:
    """Say which row holds the column names (None: none does) and which column holds what.
    Picks made by hand are kept (they belong to the people, not to the columns)."""
    _require_organiser(by)
    width, rows = table_width(draft), len(draft.table["rows"])
    mapping = {role: index for role, index in mapping.items() if index is not None}
    if (
        set(mapping) - set(ROLES)
        or any(not 0 <= index < width for index in mapping.values())
        or (header_row is not None and not 0 <= header_row < rows)
    ):
        raise AttendanceImportError(_("Choose the columns from the file's columns."))
    if len(set(mapping.values())) < len(mapping):
        raise AttendanceImportError(_("Each column can hold one thing only."))
    if not mapping_complete(mapping):
        raise AttendanceImportError(
            _(
                "Choose a column with the name, the e-mail or the WeChat ID, and the column with "
                "the time in the meeting (or both the join and the leave time)."
            )
        )
    draft.header_row = header_row
    draft.columns = mapping
    draft.save(update_fields=["header_row", "columns"])
    return draft


# --- The preview ------------------------------------------------------------------------


class Standing:
    """What confirming does with a person in the file."""

    COUNTS = "counts"  # matched, long enough: recorded on confirmation
    ALREADY = "already"  # matched, attendance already recorded
    SHORT = "short"  # matched, not long enough in the meeting
    UNMATCHED = "unmatched"  # nobody of the forum found
    AMBIGUOUS = "ambiguous"  # two or more members fit: the organiser picks
    LEFT_OUT = "left_out"  # matched, but the organiser left them out

    NEEDS_A_LOOK = (AMBIGUOUS, UNMATCHED)


@dataclass(frozen=True)
class Member:
    pk: int
    name: str
    email: str
    is_placeholder: bool

    @property
    def label(self) -> str:
        return f"{self.name} · {_('placeholder') if self.is_placeholder else self.email}"


class MatchedBy:
    EMAIL = "email"
    WECHAT = "wechat"
    NAME = "name"
    NAME_LOOSELY = "name_loosely"  # without a bracketed part or a suffix: worth a look
    HAND = "hand"


@dataclass
class PreviewRow:
    person: Participant
    member: Member | None = None
    matched_by: str = ""
    standing: str = Standing.UNMATCHED
    candidates: list[Member] = field(default_factory=list)
    total_seconds: int = 0  # the member's, over every row matched to them

    @property
    def field_name(self) -> str:
        return "pick-" + hashlib.sha256(self.person.key.encode()).hexdigest()[:16]

    @property
    def pickable(self) -> bool:
        """Whether the organiser chooses the member of this row on the preview."""
        return self.matched_by in ("", MatchedBy.NAME_LOOSELY, MatchedBy.HAND)

    @property
    def minutes(self) -> int:
        return self.person.minutes

    @property
    def total_minutes(self) -> int:
        return self.total_seconds // 60


@dataclass
class Preview:
    draft: AttendanceImport
    rows: list[PreviewRow]
    min_minutes: int
    members: list[Member]  # everyone a row can be given to, by name
    unreadable_lines: list[int]
    rows_read: int

    def _count(self, standing: str) -> int:
        if standing in Standing.NEEDS_A_LOOK or standing == Standing.LEFT_OUT:
            return sum(1 for row in self.rows if row.standing == standing)
        return len({row.member.pk for row in self.rows if row.standing == standing})

    @property
    def to_add(self) -> list[int]:
        """The members confirming records, in the file's order."""
        seen: dict[int, None] = {}
        for row in self.rows:
            if row.standing == Standing.COUNTS:
                seen.setdefault(row.member.pk)
        return list(seen)

    @property
    def counts(self) -> dict[str, int]:
        return {
            "people": len(self.rows),
            "add": len(self.to_add),
            "already": self._count(Standing.ALREADY),
            "short": self._count(Standing.SHORT),
            "unmatched": self._count(Standing.UNMATCHED) + self._count(Standing.AMBIGUOUS),
            "left_out": self._count(Standing.LEFT_OUT),
        }

    @property
    def pickable_rows(self) -> list[PreviewRow]:
        return [row for row in self.rows if row.pickable]


class _Directory:
    """Every active account, indexed the ways a row of an export can name one (one query)."""

    def __init__(self):
        self.members: dict[int, Member] = {}
        self.by_email: dict[str, Member] = {}
        self.by_wechat: dict[str, list[Member]] = {}
        self.by_name: dict[str, list[Member]] = {}
        # Placeholders (people known by name, who cannot log in) attend too: an attendance of
        # theirs moves to the account they are merged into.
        users = User.objects.filter(Q(is_active=True) | Q(is_placeholder=True)).values_list(
            "pk", "email", "display_name", "wechat_id", "is_placeholder"
        )
        for pk, email, display_name, wechat_id, is_placeholder in users:
            member = Member(
                pk=pk,
                name=display_name or email.split("@", 1)[0],
                email=email,
                is_placeholder=is_placeholder,
            )
            self.members[pk] = member
            self.by_email[email.casefold()] = member
            if wechat_id.strip():
                self.by_wechat.setdefault(wechat_id.strip().casefold(), []).append(member)
            if display_name.strip():
                self.by_name.setdefault(name_key(display_name), []).append(member)

    def sorted_members(self) -> list[Member]:
        return sorted(self.members.values(), key=lambda member: (name_key(member.name), member.pk))

    def match(self, person: Participant) -> tuple[Member | None, str, list[Member]]:
        """(the member, how, the candidates when two or more fit)."""
        if person.email and person.email in self.by_email:
            return self.by_email[person.email], MatchedBy.EMAIL, []
        if person.wechat:
            found = self.by_wechat.get(person.wechat.casefold(), [])
            if len(found) == 1:
                return found[0], MatchedBy.WECHAT, []
            if found:
                return None, "", found
        if person.name:
            for number, key in enumerate(name_keys(person.name)):
                found = self.by_name.get(key, [])
                if len(found) == 1:
                    return found[0], MatchedBy.NAME if number == 0 else MatchedBy.NAME_LOOSELY, []
                if found:
                    return None, "", found
        return None, "", []


def import_preview(
    draft: AttendanceImport, *, min_minutes: int | None = None, use_picks: bool = True
) -> Preview:
    """The people of the file, matched and with what confirming would do, in a fixed number
    of queries (the accounts, the session's attendances). People who need a look (not
    matched, or two members fit) come first, then the file's order."""
    if min_minutes is None:
        min_minutes = LedgerPolicy.kept().min_minutes_in_meeting
    reading = participants(draft.table["rows"], draft.table["lines"], draft_columns(draft))
    directory = _Directory()
    picks = dict(draft.picks or {}) if use_picks else {}
    recorded = set(
        Attendance.objects.filter(session_id=draft.session_id).values_list("user_id", flat=True)
    )
    rows = []
    for person in reading.people:
        row = PreviewRow(person=person)
        picked = picks.get(person.key)
        if picked == 0:
            row.matched_by, row.standing = MatchedBy.HAND, Standing.LEFT_OUT
        elif picked is not None and picked in directory.members:
            row.member, row.matched_by = directory.members[picked], MatchedBy.HAND
        else:
            row.member, row.matched_by, row.candidates = directory.match(person)
            if row.member is None:
                row.standing = Standing.AMBIGUOUS if row.candidates else Standing.UNMATCHED
        rows.append(row)
    totals: dict[int, int] = {}
    for row in rows:
        if row.member is not None:
            totals[row.member.pk] = totals.get(row.member.pk, 0) + row.person.seconds
    for row in rows:
        if row.member is None:
            continue
        row.total_seconds = totals[row.member.pk]
        if row.member.pk in recorded:
            row.standing = Standing.ALREADY
        elif row.total_seconds >= min_minutes * 60:
            row.standing = Standing.COUNTS
        else:
            row.standing = Standing.SHORT
    rows.sort(key=lambda row: (row.standing not in Standing.NEEDS_A_LOOK, row.person.lines[0]))
    return Preview(
        draft=draft,
        rows=rows,
        min_minutes=min_minutes,
        members=directory.sorted_members(),
        unreadable_lines=reading.unreadable_lines,
        rows_read=reading.rows_read,
    )


# --- Picks and the confirmation ---------------------------------------------------------


def _merged_picks(draft: AttendanceImport, picks: dict[str, int | None]) -> dict[str, int]:
    """The draft's picks with `picks` (person key -> member pk, 0 or None: left out) laid over
    them. A pick that says what matching says anyway is not kept; nor is one for a key that is
    not a pickable person of the file, or for an account that is gone."""
    automatic = {
        row.person.key: row for row in import_preview(draft, min_minutes=0, use_picks=False).rows
    }
    active = set(
        User.objects.filter(Q(is_active=True) | Q(is_placeholder=True))
        .filter(pk__in=[pk for pk in picks.values() if pk])
        .values_list("pk", flat=True)
    )
    merged = {key: value for key, value in (draft.picks or {}).items() if key in automatic}
    for key, value in picks.items():
        row = automatic.get(key)
        if row is None or not row.pickable:
            continue
        value = value or 0
        if value and value not in active:
            continue
        auto = row.member.pk if row.member else 0
        if value == auto:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def attendance_import_pick(
    *, draft: AttendanceImport, by: User, picks: dict[str, int | None]
) -> AttendanceImport:
    """Give rows of the file to members by hand (or leave them out: 0)."""
    _require_organiser(by)
    draft.picks = _merged_picks(draft, picks)
    draft.save(update_fields=["picks"])
    return draft


@dataclass
class Confirmation:
    added: int
    already: int
    short: int
    unmatched: int


def attendance_import_confirm(
    *,
    draft: AttendanceImport,
    by: User,
    picks: dict[str, int | None] | None = None,
    now: datetime.datetime | None = None,
) -> Confirmation:
    """Record the attendance of everyone matched (or picked) whose time in the meeting
    reaches the policy's minimum, recorded by `by` (how: imported). Those already recorded
    are left as they are, so confirming the same list again adds nothing.

    Raises AttendanceImportError when the session takes no attendance (not held, not
    started) or the columns are not chosen yet."""
    now = now or timezone.now()
    _require_organiser(by)
    with transaction.atomic():
        draft = (
            AttendanceImport.objects.select_for_update().select_related("session").get(pk=draft.pk)
        )
        if not mapping_complete(draft.columns or {}):
            raise AttendanceImportError(_("Choose the file's columns first."))
        if picks:
            draft.picks = _merged_picks(draft, picks)
        preview = import_preview(draft, min_minutes=LedgerPolicy.load().min_minutes_in_meeting)
        users = list(User.objects.filter(pk__in=preview.to_add))
        try:
            with transaction.atomic():
                added = attendance_record(
                    session=draft.session, users=users, by=by, now=now, how=Attendance.How.IMPORT
                )
        except SchedulingError as error:
            raise AttendanceImportError(str(error)) from None
        except IntegrityError:  # someone checked in at this moment: count again
            added = attendance_record(
                session=draft.session, users=users, by=by, now=now, how=Attendance.How.IMPORT
            )
        draft.confirmed_at = now
        draft.added += added
        draft.save(update_fields=["picks", "confirmed_at", "added"])
    counts = preview.counts
    return Confirmation(
        added=added,
        already=counts["already"] + counts["add"] - added,
        short=counts["short"],
        unmatched=counts["unmatched"],
    )
