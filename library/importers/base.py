"""The parsed rows of every archive format and `run_import`, which writes them. The report,
the dry run's rollback and ImportFailed come from the import foundation,
topicshare/core/imports.py."""

import datetime
import re
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from library.models import LibraryItem, Tag
from library.services import items_reindex
from members.placeholders import person_for
from sessions.models import Season, Track
from sessions.topics.services import season_for_label, track_for_name
from topicshare.core import imports
from topicshare.core.imports import ImportFailed, import_transaction

__all__ = ["Heading", "ImportFailed", "ImportReport", "ParsedItem", "Problem", "run_import"]

# A problem with one entry, which is skipped or adjusted: where ("line 42" or a JSON path like
# "$.articles[3].title") and what; `str()` gives "where: message".
Problem = imports.Issue


@dataclass
class ParsedItem:
    key: str  # stable position in the file: the same item gets the same key next time
    title: str
    kind: str = LibraryItem.Kind.TALK
    season: str = ""  # a Season label ("Topic 5", "初期")
    domain: str = ""  # a Track name (zh or en) or slug
    sub_theme: str = ""
    presenters: list[str] = field(default_factory=list)  # names or e-mails
    slides_url: str = ""
    paper_url: str = ""
    recording_url: str = ""
    extraction_code: str = ""
    source_url: str = ""
    summary: str = ""
    content_html: str = ""  # already sanitised by the importer
    note: str = ""
    tags: list[str] = field(default_factory=list)
    author_name: str = ""
    author_url: str = ""
    upvotes: int | None = None
    published_at: datetime.datetime | None = None
    year: int | None = None
    position: int = 0
    parent_key: str = ""  # key of the parent item in the same file


class ImportReport(imports.ImportReport):
    """The foundation's report; the problems are its warnings, and the summary counts them."""

    def __init__(self, *, problems: list[Problem] | None = None, **kwargs):
        super().__init__(warnings=list(problems or []), count_warnings=True, **kwargs)

    @property
    def problems(self) -> list[Problem]:
        return self.warnings


# Fields compared to decide whether an existing item changed.
_SIMPLE_FIELDS = [
    "title", "kind", "sub_theme", "slides_url", "paper_url", "recording_url", "extraction_code",
    "source_url", "summary", "content_html", "note", "author_name", "author_url", "upvotes",
    "published_at", "year", "position",
]  # fmt: skip


def _track_for(name: str, cache: dict) -> Track | None:
    if name and name not in cache:
        cache[name] = track_for_name(name=name)
    return cache.get(name)


def _season_for(label: str, cache: dict) -> Season | None:
    if label and label not in cache:
        cache[label] = season_for_label(label=label)
    return cache.get(label)


def run_import(
    *, source_file: str, items: list[ParsedItem], problems: list[Problem], dry_run: bool
) -> ImportReport:
    """Write parsed items: one transaction, idempotent by (source_file, key). Problems found
    while parsing are reported; a dry run rolls everything back."""
    report = ImportReport(problems=problems, dry_run=dry_run)
    with import_transaction(report):
        existing = {
            item.source_key: item
            for item in LibraryItem.objects.filter(source_file=source_file).prefetch_related(
                "tags", "presenters"
            )
        }
        tracks: dict = {}
        seasons: dict = {}
        people: dict = {}
        tag_cache: dict = {}
        by_key: dict[str, LibraryItem] = {}
        touched: list[LibraryItem] = []
        for parsed in items:
            item = existing.get(parsed.key)
            created = item is None
            if created:
                item = LibraryItem(source_file=source_file, source_key=parsed.key)
            before = None if created else _snapshot(item)
            for name in _SIMPLE_FIELDS:
                setattr(item, name, _fitted(parsed, name, report))
            item.season = _season_for(parsed.season, seasons)
            item.domain = _track_for(parsed.domain, tracks)
            item.parent = by_key.get(parsed.parent_key) if parsed.parent_key else None
            if created or _snapshot(item) != before:
                item.save()
            presenters = []
            for name in parsed.presenters:
                if not name.strip():
                    continue
                try:
                    if name not in people:
                        people[name] = person_for(value=name)
                    presenters.append(people[name])
                except ValueError as exc:  # an unknown e-mail address, a name too long
                    report.problems.append(Problem(parsed.key, str(exc)))
            tags = []
            for name in (name[:60] for name in parsed.tags if name):
                if name not in tag_cache:
                    tag_cache[name] = Tag.objects.get_or_create(name=name)[0]
                tags.append(tag_cache[name])
            # A new item has no presenters or tags yet: set them only when there are some.
            people_changed = (
                bool(presenters) if created else _ids(presenters) != _ids(item.presenters.all())
            )
            tags_changed = bool(tags) if created else _ids(tags) != _ids(item.tags.all())
            if people_changed:
                item.presenters.set(presenters)
            if tags_changed:
                item.tags.set(tags)
            by_key[parsed.key] = item
            if created:
                report.created += 1
                touched.append(item)
            elif _snapshot(item) != before or people_changed or tags_changed:
                report.updated += 1
                touched.append(item)
            else:
                report.unchanged += 1
        items_reindex(touched)
    return report


def _fitted(parsed: ParsedItem, name: str, report: ImportReport):
    """The parsed value of field `name`, within the field's length (a save refuses longer
    text): cut short, or for an article's HTML (which cannot be cut) left out; reported."""
    value = getattr(parsed, name)
    limit = LibraryItem._meta.get_field(name).max_length
    if not isinstance(value, str) or limit is None or len(value) <= limit:
        return value
    if name == "content_html":
        message = _("the article is longer than %(limit)d characters; its text is left out.")
    else:
        message = _("%(field)s is longer than %(limit)d characters; it is cut short.")
    field = LibraryItem._meta.get_field(name).verbose_name
    report.problems.append(Problem(parsed.key, message % {"field": field, "limit": limit}))
    return "" if name == "content_html" else value[:limit]


def _snapshot(item: LibraryItem) -> tuple:
    return (
        *(getattr(item, name) for name in _SIMPLE_FIELDS),
        item.season_id,
        item.domain_id,
        item.parent_id,
    )


def _ids(objects) -> set[int]:
    return {obj.pk for obj in objects}


_HEADING_MARK = re.compile(r" {0,3}(#{1,6})(?!#)")


class Heading:
    """A markdown ATX heading, matched in linear time: `group(1)` the #s, `group(2)` the text
    without a closing `#` run, its whitespace runs collapsed (so that the parsers' own
    patterns never meet a long run of spaces)."""

    def __init__(self, marks: str, text: str):
        self._groups = (marks, text)

    def group(self, number: int) -> str:
        return self._groups[number - 1]

    __getitem__ = group

    @classmethod
    def match(cls, line: str) -> "Heading | None":
        found = _HEADING_MARK.match(line)
        if not found:
            return None
        text = line[found.end() :].strip()
        closing = text.rstrip("#")
        if closing != text and (not closing or closing[-1] in " \t"):
            text = closing.strip()
        return cls(found.group(1), " ".join(text.split()))
