"""One-row settings read on many pages (the forum's settings, the season review policy): kept
in this process under a version and in the shared cache, so that a page reads them from the
database only after they changed, not after every change of anything.

- In this process a row is kept under the version its caller names (the content version for
  what every page shows, the data version otherwise): another process's save grows that
  version, so no process keeps an old row past its next request.
- Behind it the shared cache holds the row under a generation number that every committed
  save or delete of the model grows (post_save/post_delete, on commit). A process that read
  the row just before someone else's save stores it under the old generation, which nobody
  reads again: the race leaves no stale row behind.
- No shared cache (Redis down): the row is read from the database, as without this module.

kept_value() keeps a figure worked out from a model's rows (the inbox's count of study group
changes) under the same generation, in the shared cache only.
"""

from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models.signals import post_delete, post_save

from topicshare.core.pagecache import in_callers_transaction

KEEP_SECONDS = 24 * 3600

# label → (version, row) as last read by this process.
_local: dict[str, tuple[int, object]] = {}


def _generation_key(label: str) -> str:
    return f"row-generation:{label}"


def kept_row(model, *, version: int):
    """`model.load()` (the one row, made on first use), kept as described above."""
    label = model._meta.label_lower
    held = _local.get(label)
    if held is not None and held[0] == version:
        return held[1]
    generation = cache.get(_generation_key(label), 0)
    key = f"row:{label}:{generation}"
    row = cache.get(key)
    if row is None:
        row = model.load()
        cache.set(key, row, KEEP_SECONDS)
    _local[label] = (version, row)
    return row


def kept_value(model, name: str, compute):
    """What `compute()` works out from the rows of `model` (decorated with keeps_row), e.g. a
    count for the organisers' inbox: kept in the shared cache under the model's generation, so
    that it is worked out again only after a committed save or delete of one of its rows
    (writes that bypass the signals, queryset.update(), must not change what it counts). Not
    kept in this process: one cache read each time."""
    label = model._meta.label_lower
    generation = cache.get(_generation_key(label), 0)
    key = f"value:{label}:{name}:{generation}"
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, KEEP_SECONDS)
    return value


def _changed(sender, **kwargs) -> None:
    label = sender._meta.label_lower
    _local.pop(label, None)

    def grow() -> None:
        key = _generation_key(label)
        if not cache.add(key, 1, None):
            try:
                cache.incr(key)
            except ValueError:  # gone in between
                cache.set(key, 1, None)

    using = kwargs.get("using") or DEFAULT_DB_ALIAS
    if in_callers_transaction(transaction.get_connection(using)):
        transaction.on_commit(grow, using=using)
    else:
        grow()


def keeps_row(model):
    """Class decorator of a one-row settings model (with a `load()` class method) that
    kept_row() reads, or of a model kept_value() counts: its saves and deletes make the kept
    copies obsolete."""
    uid = f"kept-row:{model._meta.label_lower}"
    post_save.connect(_changed, sender=model, weak=False, dispatch_uid=uid)
    post_delete.connect(_changed, sender=model, weak=False, dispatch_uid=uid)
    return model


def forget_kept_rows() -> None:
    """Tests: the database (and with it the versions) is rolled back between them."""
    _local.clear()
