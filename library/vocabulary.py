"""The field's vocabulary: concepts under their Chinese names, English names and
abbreviations (命名实体识别 / named entity recognition / NER), with members (YOLO, R-CNN under
目标检测). library/search.py expands a query through it.

Shipped as library/vocabulary.json, loaded by migration 0010 on every install; organisers
edit it in the admin, and `manage.py vocabulary_load [--replace]` reads the file again
(concepts an organiser edited are kept unless --replace). Each process holds the vocabulary
in memory and checks a cheap fingerprint (counts and the newest edit) before each search, so
an admin edit is seen by the next search in every process."""

import json
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection
from django.utils.translation import gettext as _

VOCABULARY_FILE = Path(__file__).resolve().parent / "vocabulary.json"

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]+|[0-9a-zA-Z\u00c0-\u024f]+")
_IS_CJK = re.compile(rf"[{_CJK}]")
# A name longer than this many words (or Chinese characters) is not a name.
MAX_TERM_WORDS = 8
MAX_TERM_CHARS = 16
KINDS = ("term", "abbreviation", "member")
AREAS = ("nlp", "cv", "recsys", "ml", "other")


def term_parts(text: str) -> list[str]:
    """The name as search compares it: lowercased Latin words, a Chinese run whole."""
    return [run if _IS_CJK.match(run) else run.lower() for run in _TOKEN.findall(text or "")]


def term_key(text: str) -> str:
    return " ".join(term_parts(text))


def is_chinese(text: str) -> bool:
    return bool(_IS_CJK.search(text or ""))


def term_error(text: str, kind: str) -> str | None:
    """Why a name cannot be used, or None: search matches a Chinese name as one run of
    characters inside the query's and an English one as whole words, so a name is one or the
    other, never both, and never a single character."""
    parts = term_parts(text)
    if not parts:
        return _("A name needs letters, digits or Chinese characters.")
    chinese = [part for part in parts if _IS_CJK.match(part)]
    if chinese and len(parts) > 1:
        return _("A Chinese name is one run of Chinese characters, without Latin letters.")
    if chinese and not 2 <= len(chinese[0]) <= MAX_TERM_CHARS:
        return _("A Chinese name has 2 to %(max)s characters.") % {"max": MAX_TERM_CHARS}
    if not chinese and len(parts) > MAX_TERM_WORDS:
        return _("An English name has at most %(max)s words.") % {"max": MAX_TERM_WORDS}
    if kind == "abbreviation" and (chinese or len(parts) != 1):
        return _("An abbreviation is one Latin word, such as NER.")
    return None


# --- The shipped file -----------------------------------------------------------------------


def read_file(path: Path = VOCABULARY_FILE) -> list[dict]:
    """[{"key", "area", "terms": [{"text", "kind"}]}] from the shipped file, checked: a
    ValueError names the first problem."""
    data = json.loads(path.read_text(encoding="utf-8"))
    concepts = []
    seen_keys: set[str] = set()
    for number, entry in enumerate(data["concepts"], start=1):
        key = entry["key"]
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,79}", key) or key in seen_keys:
            raise ValueError(f"concept {number}: bad or repeated key {key!r}")
        seen_keys.add(key)
        if entry.get("area", "other") not in AREAS:
            raise ValueError(f"{key}: unknown area {entry.get('area')!r}")
        terms = []
        for kind, names in (
            ("term", [*entry.get("zh", []), *entry.get("en", [])]),
            ("abbreviation", entry.get("abbr", [])),
            ("member", entry.get("members", [])),
        ):
            for text in names:
                error = term_error(text, kind)
                if error:
                    raise ValueError(f"{key}: {text!r}: {error}")
                terms.append({"text": text.strip(), "kind": kind})
        if not any(term["kind"] != "member" for term in terms):
            raise ValueError(f"{key}: a concept needs a name that is not a member")
        concepts.append(
            {"key": key, "area": entry.get("area", "other"), "note": entry.get("note", ""),
             "terms": terms}
        )  # fmt: skip
    return concepts


def load_file(concept_model, term_model, *, replace: bool = False, path=VOCABULARY_FILE) -> dict:
    """Write the shipped file's concepts into the tables (models passed in, so that the data
    migration can use its historical ones). Concepts an organiser edited, and concepts that
    are not in the file, are kept unless `replace`; `replace` makes the tables the file.
    A name the file gives one concept while an organiser gave it to another stays with the
    organiser's. Returns counts."""
    concepts = read_file(path)
    counts = {"created": 0, "updated": 0, "kept": 0, "deleted": 0}
    if replace:
        counts["deleted"] = concept_model.objects.count()
        term_model.objects.all().delete()
        concept_model.objects.all().delete()
    existing = {concept.key: concept for concept in concept_model.objects.all()}
    for entry in concepts:
        concept = existing.get(entry["key"])
        if concept is not None and concept.edited:
            counts["kept"] += 1
            continue
        if concept is None:
            concept = concept_model.objects.create(
                key=entry["key"], area=entry["area"], note=entry["note"]
            )
            counts["created"] += 1
        else:
            concept.area, concept.note = entry["area"], entry["note"]
            concept.save()
            term_model.objects.filter(concept=concept).delete()
            counts["updated"] += 1
        taken = set(
            term_model.objects.exclude(kind="member")
            .exclude(concept=concept)
            .values_list("normalized", flat=True)
        )
        rows, mine = [], set()
        for term in entry["terms"]:
            key = term_key(term["text"])
            if key in mine or (term["kind"] != "member" and key in taken):
                continue
            mine.add(key)
            rows.append(
                term_model(concept=concept, text=term["text"], kind=term["kind"], normalized=key)
            )
        term_model.objects.bulk_create(rows)
    return counts


# --- In memory, per process -----------------------------------------------------------------


@dataclass(frozen=True)
class Name:
    text: str
    kind: str
    concept: int
    parts: tuple[str, ...]


@dataclass
class Vocabulary:
    """Names by how a query meets them: Chinese ones by their characters, English ones by
    their words; each concept's names in the order its alternatives are tried."""

    chinese: dict[str, Name] = field(default_factory=dict)
    english: dict[tuple[str, ...], Name] = field(default_factory=dict)
    names: dict[int, list[Name]] = field(default_factory=dict)
    longest_chinese: int = 0
    longest_english: int = 0


_FINGERPRINT_SQL = (
    "SELECT (SELECT COUNT(*) FROM library_concept), (SELECT MAX(updated_at) FROM "
    "library_concept), (SELECT COUNT(*) FROM library_term), (SELECT MAX(id) FROM library_term)"
)
_lock = threading.Lock()
_loaded: dict = {"fingerprint": None, "vocabulary": Vocabulary()}


def _build(rows) -> Vocabulary:
    vocabulary = Vocabulary()
    for concept, text, kind in rows:
        parts = tuple(term_parts(text))
        if not parts:
            continue
        name = Name(text=text, kind=kind, concept=concept, parts=parts)
        vocabulary.names.setdefault(concept, []).append(name)
        if kind == "member":
            continue  # a member brings in nothing
        if is_chinese(text):
            vocabulary.chinese.setdefault(parts[0], name)
            vocabulary.longest_chinese = max(vocabulary.longest_chinese, len(parts[0]))
        else:
            vocabulary.english.setdefault(parts, name)
            vocabulary.longest_english = max(vocabulary.longest_english, len(parts))
    return vocabulary


def vocabulary() -> Vocabulary:
    """The vocabulary as the database holds it now: one cheap query (the fingerprint), and
    the terms read again only when it changed. Admin edits save the concept (its updated_at)
    with its terms; vocabulary_load adds and deletes rows (the counts, the newest id)."""
    with connection.cursor() as cursor:
        cursor.execute(_FINGERPRINT_SQL)
        fingerprint = tuple(str(value) for value in cursor.fetchone())
    if fingerprint == _loaded["fingerprint"]:
        return _loaded["vocabulary"]
    from library.models import Term

    rows = Term.objects.order_by("concept_id", "id").values_list("concept_id", "text", "kind")
    built = _build(rows)
    with _lock:
        _loaded.update(fingerprint=fingerprint, vocabulary=built)
    return built


def vocabulary_reload(*, replace: bool = False, path: Path = VOCABULARY_FILE) -> dict:
    """Read the shipped file again (vocabulary_load): new concepts added, shipped ones
    updated, organisers' edits kept unless `replace`. One transaction; the cached pages
    (which show what a search also searched for) are told afterwards."""
    from django.db import transaction

    from library.models import Concept, Term
    from topicshare.core.pagecache import content_changed

    with transaction.atomic():
        counts = load_file(Concept, Term, replace=replace, path=path)
        content_changed()
    return counts
