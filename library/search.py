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
same tokens (migration 0006)."""

import re

from django.db import connection
from django.db.models import QuerySet

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]+|[0-9a-zA-Z\u00c0-\u024f]+")
_IS_CJK = re.compile(rf"[{_CJK}]")
MAX_QUERY_TOKENS = 20


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


def search(queryset: QuerySet, query: str) -> QuerySet:
    tokens = query_tokens(query)
    if not tokens:
        return queryset
    if connection.vendor == "postgresql":
        # Tokens are [0-9a-z…] or CJK only, so they cannot inject tsquery syntax; the query
        # is passed as a parameter all the same. `search_vector` is a stored generated
        # column with a GIN index (migration 0003), unknown to the model.
        raw = " & ".join(f"{token}:*" if prefix else token for token, prefix in tokens)
        table = queryset.model._meta.db_table
        return queryset.extra(  # noqa: S610 — fixed SQL, the query text is a parameter
            select={"rank": f"ts_rank({table}.search_vector, to_tsquery('simple', %s))"},
            select_params=[raw],
            where=[f"{table}.search_vector @@ to_tsquery('simple', %s)"],
            params=[raw],
        ).order_by("-rank", "id")
    # SQLite: the FTS5 index of migration 0006 (the same tokens, quoted; a Latin word as a
    # prefix). Results come in the list's usual order.
    match = " AND ".join(f'"{token}"*' if prefix else f'"{token}"' for token, prefix in tokens)
    table = queryset.model._meta.db_table
    matching = "SELECT rowid FROM library_item_fts WHERE library_item_fts MATCH %s"
    return queryset.extra(  # noqa: S610 — fixed SQL, the query text is a parameter
        where=[f"{table}.id IN ({matching})"],  # noqa: S608
        params=[match],
    )
