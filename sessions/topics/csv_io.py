"""The topic sheet as CSV: export for spreadsheets, import of an existing sheet.

The columns are `TOPIC_CSV_COLUMNS`. People are written as the e-mail address of their account,
or as the name of a placeholder person (someone without an account yet); co-presenters are
separated by ";". Yes/no cells are `yes` or `no`; dates are YYYY-MM-DD.

Import rules that a reader of the code would otherwise have to reconstruct:
- Line numbers are the rows a spreadsheet shows (the header is line 1); a cell that spans
  several lines of text counts once.
- A row with an `id` updates that topic; a row without one creates a topic. On an update a
  column that is not in the file keeps the topic's value; a blank `status` or `capacity` cell
  keeps it too (on a new topic: the default). Other blank cells mean "empty" (no season, no
  week, no links, `no`).
- A value equivalent to the stored one is no change: a title that differs only in spacing,
  a text that differs only in line endings, any day of the stored preferred week. This is
  what makes an export followed by an import change nothing.
- Cells that a spreadsheet would run as a formula (starting with =, +, -, @) are written
  with a leading apostrophe (topicshare/core/spreadsheet.py, which every CSV export uses), and a
  leading apostrophe is dropped on import, as Excel does.

Decoding, the size and row limits, the report, the dry run's rollback and the admin upload
page come from the import foundation, topicshare/core/imports.py.
"""

import csv
import datetime
import io
from collections.abc import Iterator
from typing import Any, TextIO

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.db import DataError, IntegrityError
from django.db.models import Count, QuerySet
from django.utils.translation import gettext as _

from members.models import User
from members.placeholders import person_for
from sessions.topics.models import (
    CHECKLIST,
    Participation,
    Season,
    Topic,
    TopicStatus,
    TopicTransition,
    Track,
    monday_of,
)
from sessions.topics.services import clean_paper_links
from topicshare.core.imports import (
    ImportFailed,
    ImportLimits,
    ImportReport,
    Issue,
    decode_text,
    import_transaction,
)
from topicshare.core.spreadsheet import spreadsheet_writer

TOPIC_CSV_COLUMNS = (
    "id",
    "title",
    "track",
    "sub_theme",
    "season",
    "status",
    "proposer",
    "co_presenters",
    "preferred_week",
    "capacity",
    "members_only",
    "paper_links",
    "summary",
    "check_intro",
    "check_methods",
    "check_code",
    "check_survey",
    "check_opinion",
    "group_chat_link",
    "reason",
)
REQUIRED_COLUMNS = ("title", "track", "proposer")
LIMITS = ImportLimits(max_bytes=5 * 1024 * 1024, max_rows=5_000)
MAX_ROWS = LIMITS.max_rows  # read by tests and scripts; the import reads LIMITS
MAX_BYTES = LIMITS.max_bytes

BOOLEAN_FIELDS = ("members_only", *(name for name, _label in CHECKLIST))
_YES = {"yes", "y", "true", "1", "是"}
_NO = {"no", "n", "false", "0", "否"}
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d")
_CO_PRESENTER_SEPARATORS = (";", "；")


# --- Export --------------------------------------------------------------------------------


def _person_cell(user: User) -> str:
    return user.display_name if user.is_placeholder else user.email


def _yes_no(value: bool) -> str:
    return "yes" if value else "no"


def _topic_cells(topic: Topic) -> list[str]:
    values = {
        "id": str(topic.pk),
        "title": topic.title,
        "track": topic.track.slug,
        "sub_theme": topic.sub_theme,
        "season": topic.season.label if topic.season else "",
        "status": topic.status,
        "proposer": _person_cell(topic.proposer),
        "co_presenters": ";".join(sorted(_person_cell(user) for user in topic.co_presenters.all())),
        "preferred_week": topic.preferred_week.isoformat() if topic.preferred_week else "",
        "capacity": str(topic.capacity),
        "paper_links": " ".join(topic.paper_links or []),
        "summary": topic.summary,
        "group_chat_link": topic.group_chat_link,
        "reason": topic.reason,
        **{name: _yes_no(getattr(topic, name)) for name in BOOLEAN_FIELDS},
    }
    return [values[column] for column in TOPIC_CSV_COLUMNS]


def topics_export_csv(*, topics: QuerySet[Topic], out: TextIO) -> int:
    """Write `topics` as CSV rows (header first, oldest topic first) to `out`, in two queries.

    Returns the number of topics written. The caller adds a BOM where Excel needs one."""
    writer = spreadsheet_writer(out)
    writer.writerow(TOPIC_CSV_COLUMNS)
    count = 0
    rows = (
        topics.select_related("track", "season", "proposer")
        .prefetch_related("co_presenters")
        .order_by("pk")
    )
    for topic in rows:
        writer.writerow(_topic_cells(topic))
        count += 1
    return count


# --- Import --------------------------------------------------------------------------------


# What an import did, or would do (`dry_run`), or why it saved nothing (`errors`): `errors`
# are (line, message); line 0 means the file as a whole.
TopicImportReport = ImportReport

_KEEP = object()  # a blank cell that keeps the stored value (or takes the default)


def _decode(data: bytes | str) -> str:
    return decode_text(
        data,
        not_text=_("The file is neither UTF-8 nor GBK text. Save it as “CSV UTF-8” and try again."),
    )


def _records(text: str) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    line = 0
    while True:
        line += 1
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ImportFailed(
                _("This line cannot be read as CSV (%(error)s).") % {"error": exc}, line=line
            ) from None
        yield line, [cell.removeprefix("'") for cell in record]


def _header(record: list[str]) -> list[str | None]:
    columns = [cell.strip().lower().replace(" ", "_").replace("-", "_") or None for cell in record]
    named = [column for column in columns if column]
    errors = []
    unknown = [column for column in named if column not in TOPIC_CSV_COLUMNS]
    if unknown:
        errors.append(
            _("Unknown columns: %(unknown)s. The columns are: %(known)s.")
            % {"unknown": ", ".join(unknown), "known": ", ".join(TOPIC_CSV_COLUMNS)}
        )
    repeated = sorted({column for column in named if named.count(column) > 1})
    if repeated:
        errors.append(_("Columns given twice: %(columns)s.") % {"columns": ", ".join(repeated)})
    missing = [column for column in REQUIRED_COLUMNS if column not in named]
    if missing:
        errors.append(
            _("The header lacks the required columns: %(columns)s.")
            % {"columns": ", ".join(missing)}
        )
    if errors:
        raise ImportFailed(*errors, line=1)
    return columns


def _read(data: bytes | str) -> tuple[list[str | None], list[tuple[int, list[str]]]]:
    """The header and the non-blank rows (line, cells) of a file, or ImportFailed."""
    LIMITS.check_size(data)
    records = _records(_decode(data))
    first = next(records, None)
    if first is None:
        raise ImportFailed(_("The file is empty."))
    columns = _header(first[1])
    rows = []
    for line, cells in records:
        if not any(cell.strip() for cell in cells):
            continue
        LIMITS.check_rows(len(rows) + 1)
        rows.append((line, cells))
    return columns, rows


def _parse_bool(value: str) -> bool:
    value = value.strip().lower()
    if not value or value in _NO:
        return False
    if value in _YES:
        return True
    raise ValueError(_("“%(value)s” is not yes or no.") % {"value": value})


def _parse_date(value: str) -> datetime.date | None:
    value = value.strip()
    if not value:
        return None
    for date_format in _DATE_FORMATS:
        try:
            return monday_of(datetime.datetime.strptime(value, date_format).date())
        except ValueError:
            continue
    raise ValueError(_("“%(value)s” is not a date; write it as YYYY-MM-DD.") % {"value": value})


def _parse_capacity(value: str) -> Any:
    value = value.strip()
    if not value:
        return _KEEP
    try:
        capacity = int(value)
    except ValueError:
        capacity = 0
    if not 1 <= capacity <= 50:
        raise ValueError(
            _("Capacity must be a whole number from 1 to 50, not “%(value)s”.") % {"value": value}
        )
    return capacity


def _parse_status(value: str) -> Any:
    value = value.strip().lower()
    if not value:
        return _KEEP
    if value not in TopicStatus.values:
        raise ValueError(
            _("“%(value)s” is not a status. Use one of: %(statuses)s.")
            % {"value": value, "statuses": ", ".join(TopicStatus.values)}
        )
    return value


def _parse_title(value: str) -> str:
    title = " ".join(value.split())
    if not title:
        raise ValueError(_("The title cannot be empty."))
    max_length = Topic._meta.get_field("title").max_length
    if len(title) > max_length:
        raise ValueError(_("The title is longer than %(max)d characters.") % {"max": max_length})
    return title


def _parse_sub_theme(value: str) -> str:
    value = value.strip()
    max_length = Topic._meta.get_field("sub_theme").max_length
    if len(value) > max_length:
        raise ValueError(
            _("The sub-theme is longer than %(max)d characters.") % {"max": max_length}
        )
    return value


def _parse_links(value: str) -> list[str]:
    try:
        return clean_paper_links(value)
    except ValidationError as exc:
        raise ValueError(exc.messages[0]) from None


def _parse_chat_link(value: str) -> str:
    value = value.strip()
    if not value:
        return ""
    try:
        URLValidator()(value)
    except ValidationError:
        raise ValueError(_("“%(link)s” is not a link.") % {"link": value[:200]}) from None
    if len(value) > Topic._meta.get_field("group_chat_link").max_length:
        raise ValueError(_("The group chat link is too long."))
    return value


def _same_lines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _short(value: Any) -> str:
    if value is None or value == "":
        return "∅"
    if isinstance(value, bool):
        return _yes_no(value)
    if isinstance(value, User):
        return _person_cell(value)
    if isinstance(value, Track):
        return value.slug
    if isinstance(value, list):
        value = " ".join(str(item) for item in value)
    text = " ".join(str(value).split())
    return f"{text[:60]}…" if len(text) > 60 else text


_SIMPLE_PARSERS = {
    "title": _parse_title,
    "sub_theme": _parse_sub_theme,
    "status": _parse_status,
    "preferred_week": _parse_date,
    "capacity": _parse_capacity,
    "paper_links": _parse_links,
    "summary": str,
    "group_chat_link": _parse_chat_link,
    "reason": str,
    **dict.fromkeys(BOOLEAN_FIELDS, _parse_bool),
}
_LONG_TEXT = {"summary", "reason"}


class _Importer:
    """One import: the lookups it has made and the report it writes. Runs inside a transaction."""

    def __init__(self, *, by: User, columns: list[str | None], report: TopicImportReport):
        self.by = by
        self.columns = columns
        self.report = report
        self.line = 0
        self.tracks = {track.slug.lower(): track for track in Track.objects.all()}
        self.seasons = {season.label: season for season in Season.objects.all()}
        self.people: dict[str, User] = {}
        self.known_placeholders = set(
            User.objects.filter(is_placeholder=True).values_list("pk", flat=True)
        )
        self.seen_ids: set[int] = set()
        self.topics: dict[int, Topic] = {}
        self.participant_counts: dict[int, int] = {}
        # Created in bulk by save_new_topics(): one row at a time is too slow for 5,000 rows.
        self.new_topics: list[tuple[Topic, list[User]]] = []

    def run(self, rows: list[tuple[int, list[str]]]) -> None:
        self._load_topics(rows)
        for line, cells in rows:
            self.line = line
            errors: list[str] = []
            self._row(cells, errors)
            self.report.errors.extend(Issue(line, message) for message in errors)

    def save_new_topics(self) -> None:
        """Create the new topics of the file with their co-presenters, the proposer's place in
        the group and the first transition, in a few queries."""
        self.line = 0
        for topic, _people in self.new_topics:
            topic.render_markdown_fields()  # bulk_create does not call save()
        topics = Topic.objects.bulk_create(
            [topic for topic, _people in self.new_topics], batch_size=500
        )
        co_presenter = Topic.co_presenters.through
        co_presenter.objects.bulk_create(
            [
                co_presenter(topic_id=topic.pk, user_id=user.pk)
                for topic, people in self.new_topics
                for user in people
            ],
            batch_size=1000,
        )
        Participation.objects.bulk_create(
            [
                Participation(
                    topic=topic, user_id=topic.proposer_id, role=Participation.Role.PROPOSER
                )
                for topic in topics
            ],
            batch_size=1000,
        )
        TopicTransition.objects.bulk_create(
            [
                TopicTransition(
                    topic=topic,
                    from_status="",
                    to_status=topic.status,
                    by=self.by,
                    reason=_("imported"),
                )
                for topic in topics
            ],
            batch_size=1000,
        )

    def _load_topics(self, rows: list[tuple[int, list[str]]]) -> None:
        if "id" not in self.columns:
            return
        position = self.columns.index("id")
        ids = set()
        for _line, cells in rows:
            value = cells[position].strip() if position < len(cells) else ""
            if value.isdecimal() and len(value) <= 18:
                ids.add(int(value))
        topics = (
            Topic.objects.select_for_update(of=("self",))
            .select_related("proposer")
            .prefetch_related("co_presenters")
            .filter(pk__in=ids)
        )
        self.topics = {topic.pk: topic for topic in topics}
        counts = (
            Participation.objects.filter(topic__in=ids, role=Participation.Role.PARTICIPANT)
            .values("topic")
            .annotate(total=Count("pk"))
        )
        self.participant_counts = {row["topic"]: row["total"] for row in counts}

    # --- one row -------------------------------------------------------------------------

    def _cells(self, cells: list[str], errors: list[str]) -> dict[str, str]:
        if len(cells) < len(self.columns):
            errors.append(
                _("This line has %(cells)d cells; the header has %(columns)d.")
                % {"cells": len(cells), "columns": len(self.columns)}
            )
            return {}
        named = {}
        for position, cell in enumerate(cells):
            column = self.columns[position] if position < len(self.columns) else None
            if column:
                named[column] = cell
            elif cell.strip():
                errors.append(
                    _("Cell %(position)d has a value but its column has no name in the header.")
                    % {"position": position + 1}
                )
        return named

    def _topic(self, value: str) -> Topic | None:
        value = value.strip()
        if not value:
            return None
        if not value.isdecimal():
            raise ValueError(_("The id “%(value)s” is not a number.") % {"value": value})
        topic = self.topics.get(int(value)) if len(value) <= 18 else None
        if topic is None:
            raise ValueError(_("There is no topic with id %(id)s.") % {"id": value})
        if topic.pk in self.seen_ids:
            raise ValueError(_("Topic %(id)s is in the file twice.") % {"id": value})
        self.seen_ids.add(topic.pk)
        return topic

    def _person(self, value: str, known: dict[str, User]) -> User:
        key = " ".join(value.split())
        key = key.lower() if "@" in key else key
        if key in known:
            return known[key]
        if key not in self.people:
            user = person_for(value=value)
            if user.is_placeholder and user.pk not in self.known_placeholders:
                self.known_placeholders.add(user.pk)
                self.report.changes.append(
                    _("Line %(line)d: new placeholder person “%(name)s”")
                    % {"line": self.line, "name": user.display_name}
                )
            self.people[key] = user
        return self.people[key]

    def _values(self, cells: dict[str, str], topic: Topic | None, errors: list[str]) -> dict:
        """The row's cells as model values, for the columns the file has."""
        known: dict[str, User] = {}
        if topic is not None:
            for user in [topic.proposer, *topic.co_presenters.all()]:
                cell = _person_cell(user)
                known[cell.lower() if "@" in cell else cell] = user
        values: dict[str, Any] = {}
        for column, cell in cells.items():
            try:
                if column in _SIMPLE_PARSERS:
                    values[column] = _SIMPLE_PARSERS[column](cell)
                elif column == "track":
                    track = self.tracks.get(cell.strip().lower())
                    if track is None:
                        raise ValueError(
                            _("Unknown track “%(value)s”. The tracks are: %(slugs)s.")
                            % {"value": cell.strip(), "slugs": ", ".join(sorted(self.tracks))}
                        )
                    values["track"] = track
                elif column == "season":
                    label = cell.strip()
                    if label and label not in self.seasons:
                        raise ValueError(_("Unknown season “%(value)s”.") % {"value": label})
                    values["season"] = self.seasons.get(label)
                elif column == "proposer":
                    if not cell.strip():
                        raise ValueError(_("Give the proposer."))
                    values["proposer"] = self._person(cell, known)
                elif column == "co_presenters":
                    names = cell
                    for separator in _CO_PRESENTER_SEPARATORS[1:]:
                        names = names.replace(separator, _CO_PRESENTER_SEPARATORS[0])
                    people = [
                        self._person(name, known)
                        for name in names.split(_CO_PRESENTER_SEPARATORS[0])
                        if name.strip()
                    ]
                    values["co_presenters"] = list(dict.fromkeys(people))
            except ValueError as exc:
                errors.append(f"{column}: {exc}")
        return {name: value for name, value in values.items() if value is not _KEEP}

    def _row(self, raw_cells: list[str], errors: list[str]) -> None:
        cells = self._cells(raw_cells, errors)
        if errors:
            return
        try:
            topic = self._topic(cells.pop("id", ""))
        except ValueError as exc:
            errors.append(str(exc))
            return
        values = self._values(cells, topic, errors)
        if errors:
            return
        if topic is None:
            self._create(values, errors)
        else:
            self._update(topic, values, errors)

    def _check(self, topic: Topic, errors: list[str]) -> None:
        try:
            topic.full_clean(exclude=["track", "season", "proposer", "group_qr"])
        except ValidationError as exc:
            errors.extend(
                f"{name}: {message}"
                for name, messages in exc.message_dict.items()
                for message in messages
            )

    def _create(self, values: dict, errors: list[str]) -> None:
        co_presenters = values.pop("co_presenters", [])
        topic = Topic(**values)
        self._check(topic, errors)
        if errors:
            return
        self.new_topics.append(
            (topic, [user for user in co_presenters if user.pk != topic.proposer_id])
        )
        self.report.created += 1
        self.report.changes.append(
            _("Line %(line)d: new topic “%(title)s” (%(track)s, %(status)s)")
            % {
                "line": self.line,
                "title": _short(topic.title),
                "track": topic.track.slug,
                "status": topic.status,
            }
        )

    def _changed(self, topic: Topic, name: str, new: Any) -> bool:
        if name in {"track", "season", "proposer"}:
            return getattr(topic, f"{name}_id") != (new.pk if new else None)
        old = getattr(topic, name)
        if name == "title":
            return " ".join(old.split()) != new
        if name in _LONG_TEXT:
            return _same_lines(old) != _same_lines(new)
        if name == "preferred_week":
            return monday_of(old) != new
        if name in {"sub_theme", "group_chat_link"}:
            return old.strip() != new
        return old != new

    def _update(self, topic: Topic, values: dict, errors: list[str]) -> None:
        co_presenters = values.pop("co_presenters", None)
        proposer = values.get("proposer", topic.proposer)
        changes, changed = [], {}
        for name, new in values.items():
            if self._changed(topic, name, new):
                changed[name] = new
                old = getattr(topic, name)
                if name in _LONG_TEXT:
                    changes.append(_("%(field)s changed") % {"field": name})
                else:
                    changes.append(f"{name}: {_short(old)} → {_short(new)}")
        old_co_presenters = list(topic.co_presenters.all())
        new_co_presenters = None
        if co_presenters is not None or "proposer" in changed:
            wanted = old_co_presenters if co_presenters is None else co_presenters
            new_co_presenters = [user for user in wanted if user.pk != proposer.pk]
            if {user.pk for user in new_co_presenters} == {user.pk for user in old_co_presenters}:
                new_co_presenters = None
            else:
                before = ";".join(sorted(map(_person_cell, old_co_presenters)))
                after = ";".join(sorted(map(_person_cell, new_co_presenters)))
                changes.append(f"co_presenters: {_short(before)} → {_short(after)}")
        if "capacity" in changed and changed["capacity"] < self.participant_counts.get(topic.pk, 0):
            errors.append(
                _("The group already has %(count)d participants; capacity cannot be lower.")
                % {"count": self.participant_counts[topic.pk]}
            )
            return
        if not changes:
            self.report.unchanged += 1
            return
        old_status, old_proposer_id = topic.status, topic.proposer_id
        for name, new in changed.items():
            setattr(topic, name, new)
        self._check(topic, errors)
        if errors:
            return
        if changed:
            topic.save(update_fields=[*changed, "updated_at"])
        if new_co_presenters is not None:
            topic.co_presenters.set(new_co_presenters)
        if "proposer" in changed:
            Participation.objects.filter(
                topic=topic, user_id=old_proposer_id, role=Participation.Role.PROPOSER
            ).delete()
            Participation.objects.update_or_create(
                topic=topic, user=topic.proposer, defaults={"role": Participation.Role.PROPOSER}
            )
        if "status" in changed:
            TopicTransition.objects.create(
                topic=topic,
                from_status=old_status,
                to_status=topic.status,
                by=self.by,
                reason=_("imported"),
            )
        self.report.updated += 1
        self.report.changes.append(
            _("Line %(line)d: topic %(id)d “%(title)s”: %(changes)s")
            % {
                "line": self.line,
                "id": topic.pk,
                "title": _short(topic.title),
                "changes": "; ".join(changes),
            }
        )


def topics_import_csv(*, data: bytes | str, by: User, dry_run: bool) -> TopicImportReport:
    """Import a topic sheet (see the module docstring for the rules). All or nothing: when any
    line has an error, or on a dry run, nothing of the file is kept and the report says what
    would have happened.

    Side effects when saved: topics created and updated, placeholder people created for
    unknown names, a TopicTransition (by `by`, reason "imported") for each created topic and
    each changed status, the proposer's Participation of each created topic.
    Raises PermissionDenied unless `by` may import topics."""
    if not by.has_perm("topic_sessions.import_topics"):
        raise PermissionDenied(_("Only organisers may import topics."))
    report = TopicImportReport(dry_run=dry_run)
    try:
        columns, rows = _read(data)
    except ImportFailed as problem:
        report.errors.extend(problem.issues)
        return report
    importer = _Importer(by=by, columns=columns, report=report)
    try:
        with import_transaction(report):
            importer.run(rows)
            if not (report.errors or dry_run):
                importer.save_new_topics()
    except (IntegrityError, DataError) as exc:
        report.errors.append(
            (importer.line, _("The database refused this line: %(error)s") % {"error": exc})
        )
    return report
