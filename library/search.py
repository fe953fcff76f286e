"""Search that works for Chinese and English alike.

Chinese has no spaces, so words cannot be split on whitespace. Each item's text becomes
tokens: lowercased Latin words and numbers, and for every run of Chinese characters all its
single characters and pairs of neighbours (bigrams). A query is tokenised the same way, but
a Chinese run of two or more characters contributes only its bigrams; every query token must
be present. So `蒸馏` finds “模型蒸馏”, `命名实体识别` finds it whole, `推荐` finds “推荐系统”,
and `transformer` / `Transformer` are the same word. Latin words also match as prefixes
(`transf` finds transformer).

On PostgreSQL the tokens are matched with full-text search ('simple' configuration, a stored
tsvector column with a GIN index, ranked with ts_rank); on SQLite with an FTS5 index over the
same tokens (migration 0006).

The field's vocabulary (library/vocabulary.py) widens a query: a name of a concept found in
it — a Chinese name inside the query's run of characters, an English name or abbreviation as
whole words, any case — may also be any of the concept's other names, and its members
(`命名实体识别` also searches "named entity recognition" and NER; `目标检测` YOLO and R-CNN).
The query is then an AND of groups: each word the vocabulary does not know, and for each
name it knows (the literal words OR each alternative's words). Abbreviations and members
match whole words only, in the query too (`RE` never finds "retrieval"). The work stays
bounded: at most MAX_QUERY_TOKENS literal tokens, MAX_ALTERNATIVES alternatives and
MAX_EXPANDED_TOKENS tokens in all. `literal` searches the words as typed."""

import re
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import QuerySet

from library.vocabulary import Name, Vocabulary, vocabulary

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]+|[0-9a-zA-Z\u00c0-\u024f]+")
_IS_CJK = re.compile(rf"[{_CJK}]")
MAX_QUERY_TOKENS = 20
MAX_ALTERNATIVES = 8
MAX_EXPANDED_TOKENS = 3 * MAX_QUERY_TOKENS


def _cjk_grams(run: str, *, unigrams: bool) -> list[str]:
    grams = [run[i : i + 2] for i in range(len(run) - 1)]
    if unigrams or len(run) == 1:
        grams = list(run) + grams
    return grams


def index_tokens(*texts: str) -> str:
    """The token column's value: unique tokens separated by spaces (and framed by spaces,
    which both full-text indexes ignore)."""
    tokens: dict[str, None] = {}
    for text in texts:
        for run in _TOKEN.findall(text or ""):
            if _IS_CJK.match(run):
                for gram in _cjk_grams(run, unigrams=True):
                    tokens[gram] = None
            else:
                tokens[run.lower()] = None
    return " " + " ".join(tokens) + " " if tokens else ""


def query_tokens(query: str) -> list[tuple[str, bool]]:
    """[(token, is_prefix)] for a search box's text; Latin words match as prefixes."""
    tokens: list[tuple[str, bool]] = []
    for run in _TOKEN.findall(query or ""):
        if _IS_CJK.match(run):
            tokens += [(gram, False) for gram in _cjk_grams(run, unigrams=False)]
        else:
            tokens.append((run.lower(), True))
    unique = list(dict.fromkeys(tokens))
    return unique[:MAX_QUERY_TOKENS]


Token = tuple[str, bool]  # (token, is_prefix)


@dataclass
class Plan:
    """A query as searched: an AND of groups, each an OR of alternatives, each an AND of
    tokens; and the names searched beyond the query's own words (what the page says)."""

    groups: list[list[tuple[Token, ...]]] = field(default_factory=list)
    also_searched: list[str] = field(default_factory=list)
    # Literal search of a query the vocabulary would have widened.
    could_expand: bool = False


def _name_tokens(name: Name) -> tuple[Token, ...]:
    """An alternative's tokens: a Chinese name's bigrams; an English name's words, the
    longer ones as prefixes (plurals: "recommender systems"); an abbreviation's or member's
    words whole (`KD` must not find "kdd", `RE` "retrieval")."""
    if len(name.parts) == 1 and _IS_CJK.match(name.parts[0]):
        return tuple((gram, False) for gram in _cjk_grams(name.parts[0], unigrams=False))
    prefix_ok = name.kind == "term"
    return tuple((part, prefix_ok and len(part) >= 4) for part in name.parts)


def _pieces(query: str) -> list[str]:
    return _TOKEN.findall(query or "")


def _find_names(pieces: list[str], vocab: Vocabulary) -> list[tuple[int, int, int, Name | None]]:
    """The query cut into spans, in order: (piece index, start, end, name or None). A
    Chinese piece is cut at the names found in it (leftmost, then longest), the rest kept as
    runs; consecutive Latin words are matched leftmost-longest against English names."""
    spans: list[tuple[int, int, int, Name | None]] = []
    index = 0
    while index < len(pieces):
        piece = pieces[index]
        if _IS_CJK.match(piece):
            start = position = 0
            while position < len(piece) - 1:
                for length in range(min(vocab.longest_chinese, len(piece) - position), 1, -1):
                    name = vocab.chinese.get(piece[position : position + length])
                    if name is not None:
                        if start < position:
                            spans.append((index, start, position, None))
                        spans.append((index, position, position + length, name))
                        position = start = position + length
                        break
                else:
                    position += 1
            if start < len(piece):
                spans.append((index, start, len(piece), None))
            index += 1
            continue
        words = []
        while index + len(words) < len(pieces) and not _IS_CJK.match(pieces[index + len(words)]):
            words.append(pieces[index + len(words)].lower())
        position = 0
        while position < len(words):
            for length in range(min(vocab.longest_english, len(words) - position), 0, -1):
                name = vocab.english.get(tuple(words[position : position + length]))
                if name is not None:
                    spans.append((index + position, 0, length, name))
                    position += length
                    break
            else:
                spans.append((index + position, 0, 1, None))
                position += 1
        index += len(words)
    return spans


def _alternatives_in_order(found: Name, vocab: Vocabulary) -> list[Name]:
    """The concept's other names, the most telling first: the other language's names, the
    abbreviations, the same language's, then the members."""
    chinese = _IS_CJK.match(found.parts[0]) is not None

    def rank(name: Name) -> int:
        if name.kind == "member":
            return 3
        if name.kind == "abbreviation":
            return 1
        return 2 if (_IS_CJK.match(name.parts[0]) is not None) == chinese else 0

    others = [name for name in vocab.names.get(found.concept, ()) if name.parts != found.parts]
    return sorted(others, key=rank)


def search_plan(query: str, *, literal: bool = False) -> Plan:
    """How `query` is searched (see the module's docstring). One cheap query for the
    vocabulary's fingerprint; none when the query has no words."""
    pieces = _pieces(query)
    if not pieces:
        return Plan()
    vocab = vocabulary()
    spans = _find_names(pieces, vocab)
    plan = Plan()
    seen_groups: set = set()
    literal_count = 0
    pending: list[tuple[list, list[Name]]] = []  # (group, its alternatives to add)
    for index, start, end, name in spans:
        piece = pieces[index]
        if _IS_CJK.match(piece):
            tokens = tuple((gram, False) for gram in _cjk_grams(piece[start:end], unigrams=False))
        else:
            words = [word.lower() for word in pieces[index : index + end]]
            whole = name is not None and name.kind == "abbreviation"
            tokens = tuple((word, not whole) for word in words)
        if name is None:
            # Words the vocabulary does not know: each token its own group, as before.
            for token in tokens:
                if literal_count < MAX_QUERY_TOKENS and (token,) not in seen_groups:
                    seen_groups.add((token,))
                    plan.groups.append([(token,)])
                    literal_count += 1
            continue
        if literal_count + len(tokens) > MAX_QUERY_TOKENS:
            continue
        literal_count += len(tokens)
        group = [tokens]
        plan.groups.append(group)
        alternatives = _alternatives_in_order(name, vocab)
        if literal:
            plan.could_expand = plan.could_expand or bool(alternatives)
        else:
            pending.append((group, alternatives))
    # Alternatives in turns, one per name found per turn, until the bounds are reached.
    total_tokens = literal_count
    added = 0
    turn = 0
    shown: dict[str, None] = {}
    while pending and added < MAX_ALTERNATIVES:
        progressed = False
        for group, alternatives in pending:
            if turn >= len(alternatives) or added >= MAX_ALTERNATIVES:
                continue
            progressed = True
            tokens = _name_tokens(alternatives[turn])
            # Already covered: an alternative with fewer of the same tokens finds it anyway
            # ("nested NER" once "NER" is searched).
            if any(set(other) <= set(tokens) for other in group):
                continue
            if total_tokens + len(tokens) > MAX_EXPANDED_TOKENS:
                continue
            group.append(tokens)
            total_tokens += len(tokens)
            added += 1
            shown[alternatives[turn].text] = None
        if not progressed:
            break
        turn += 1
    plan.also_searched = list(shown)
    for group in plan.groups:
        # An alternative that holds all of another's tokens and more finds nothing the other
        # does not ("named entity recognition" beside "entity recognition"): left out.
        group[:] = [
            tokens for tokens in group
            if not any(set(other) < set(tokens) for other in group)
        ]  # fmt: skip
    return plan


def _tsquery(plan: Plan) -> str:
    def conjunction(tokens: tuple[Token, ...]) -> str:
        return " & ".join(f"{token}:*" if prefix else token for token, prefix in tokens)

    parts = []
    for group in plan.groups:
        if len(group) == 1 and len(group[0]) == 1:
            parts.append(conjunction(group[0]))
        else:
            parts.append("(" + " | ".join(f"({conjunction(tokens)})" for tokens in group) + ")")
    return " & ".join(parts)


def _fts5_match(plan: Plan) -> str:
    def conjunction(tokens: tuple[Token, ...]) -> str:
        return " AND ".join(f'"{token}"*' if prefix else f'"{token}"' for token, prefix in tokens)

    parts = []
    for group in plan.groups:
        if len(group) == 1 and len(group[0]) == 1:
            parts.append(conjunction(group[0]))
        else:
            parts.append("(" + " OR ".join(f"({conjunction(tokens)})" for tokens in group) + ")")
    return " AND ".join(parts)


def search(queryset: QuerySet, query: str, *, literal: bool = False) -> QuerySet:
    return search_planned(queryset, search_plan(query, literal=literal))


def search_planned(queryset: QuerySet, plan: Plan) -> QuerySet:
    if not plan.groups:
        return queryset
    if connection.vendor == "postgresql":
        # Tokens are [0-9a-z…] or CJK only, so they cannot inject tsquery syntax; the query
        # is passed as a parameter all the same. `search_vector` is a stored generated
        # column with a GIN index (migration 0003), unknown to the model.
        raw = _tsquery(plan)
        table = queryset.model._meta.db_table
        return queryset.extra(  # noqa: S610 — fixed SQL, the query text is a parameter
            select={"rank": f"ts_rank({table}.search_vector, to_tsquery('simple', %s))"},
            select_params=[raw],
            where=[f"{table}.search_vector @@ to_tsquery('simple', %s)"],
            params=[raw],
        ).order_by("-rank", "id")
    # SQLite: the FTS5 index of migration 0006 (the same tokens, quoted; a Latin word as a
    # prefix). Results come in the list's usual order.
    match = _fts5_match(plan)
    table = queryset.model._meta.db_table
    matching = "SELECT rowid FROM library_item_fts WHERE library_item_fts MATCH %s"
    return queryset.extra(  # noqa: S610 — fixed SQL, the query text is a parameter
        where=[f"{table}.id IN ({matching})"],  # noqa: S608
        params=[match],
    )
