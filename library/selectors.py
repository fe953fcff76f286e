from itertools import groupby

from django.db.models import Prefetch, QuerySet

from library.filters import LibraryFilter
from library.models import LibraryItem


def visible_items(*, user) -> QuerySet[LibraryItem]:
    """Members-only items are hidden from everyone else — in lists, pages, feed and API."""
    items = LibraryItem.objects.all()
    if not user.has_perm("library.view_members_only"):
        items = items.filter(visibility=LibraryItem.Visibility.PUBLIC)
    return items


def _with_relations(queryset: QuerySet, *, user) -> QuerySet:
    """Presenters, tags and visible children as plain lists (presenter_list, tag_list,
    child_list): `to_attr` avoids building a related manager per row, which is most of the
    cost of a page of 50 items."""
    children = visible_items(user=user).order_by("position", "id")
    return (
        queryset.select_related("season", "domain")
        .defer("search_text", "content_html")
        .prefetch_related(
            Prefetch("presenters", to_attr="presenter_list"),
            Prefetch("tags", to_attr="tag_list"),
            Prefetch("children", queryset=children.defer("search_text", "content_html"),
                     to_attr="child_list"),
        )
    )  # fmt: skip


def library_list(*, user, filters: dict) -> tuple[LibraryFilter, QuerySet[LibraryItem]]:
    """Filtered items for the list, with presenters, tags and visible children prefetched.
    Without a search, items come in the README's order: season, domain, position."""
    topic_filter = LibraryFilter(filters, queryset=visible_items(user=user))
    queryset = topic_filter.qs
    if not (filters.get("q") or "").strip():
        # Browsing: top-level items, their children shown under them. A search shows every
        # match, children included.
        # Newest season first (by its order: Topic 7 … Topic 1, then 初期), then the
        # domains in their order, items as numbered in the archive.
        queryset = queryset.filter(parent__isnull=True).order_by(
            "-season__order", "season_id", "domain__order", "domain_id", "position", "id"
        )
    return topic_filter, _with_relations(queryset, user=user)


def group_items(items) -> list[tuple]:
    """[(season, [(domain, sub_theme, [items…])…])…] for one page, like the README."""
    grouped = []
    for season, in_season in groupby(items, key=lambda item: item.season):
        domains = [
            (domain, list(in_domain))
            for domain, in_domain in groupby(in_season, key=lambda item: item.domain)
        ]
        grouped.append((season, domains))
    return grouped


def item_detail(*, user, pk: int) -> LibraryItem:
    return (
        _with_relations(visible_items(user=user), user=user)
        .select_related("parent", "session")
        .get(pk=pk)
    )
