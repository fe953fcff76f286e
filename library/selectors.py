import datetime
from itertools import groupby

from django.db.models import Prefetch, Q, QuerySet

from library.filters import LibraryApiFilter, LibraryFilter
from library.models import LibraryItem
from sessions.models import SessionStatus

# Newest season first (Topic 7 … Topic 1, then 初期), domains in their order, items as
# numbered in the archive; served by the `library_browse` index.
BROWSE_ORDER = ("-season_rank", "season_id", "domain_rank", "domain_id", "position", "id")


def visible_items(*, user) -> QuerySet[LibraryItem]:
    """Members-only items are hidden from everyone else — in lists, pages, feed and API."""
    items = LibraryItem.objects.all()
    if not user.has_perm("library.view_members_only"):
        items = items.filter(visibility=LibraryItem.Visibility.PUBLIC)
    return items


def _with_relations(
    queryset: QuerySet, *, user, children: bool = True, seasons_and_domains: bool = True
) -> QuerySet:
    """Presenters, tags and (unless `children` is false) visible children as plain lists
    (presenter_list, tag_list, child_list): `to_attr` avoids building a related manager per
    row, which is most of the cost of a page of 50 items."""
    lookups = [
        Prefetch("presenters", to_attr="presenter_list"),
        Prefetch("tags", to_attr="tag_list"),
    ]
    if children:
        visible = visible_items(user=user).order_by("position", "id")
        lookups.append(
            Prefetch(
                "children",
                queryset=visible.defer("search_text", "content_html"),
                to_attr="child_list",
            )
        )
    if seasons_and_domains:
        queryset = queryset.select_related("season", "domain")
    return queryset.defer("search_text", "content_html").prefetch_related(*lookups)


def library_list(
    *, user, filters: dict, children: bool = True, seasons_and_domains: bool = True
) -> tuple[LibraryFilter, QuerySet[LibraryItem]]:
    """Filtered items for the list, with presenters, tags and visible children prefetched.
    Without a search, items come in the README's order: season, domain, position. With one,
    every match in rank order, children included; they are not listed under their parent
    then, so `children` is ignored. `seasons_and_domains=False` leaves item.season and
    item.domain to the caller (the list page attaches the ones it read for its facets)."""
    topic_filter = LibraryFilter(filters, queryset=visible_items(user=user))
    queryset = topic_filter.qs
    if not (filters.get("q") or "").strip():
        # Browsing: top-level items, their children shown under them. A search shows every
        # match, children included.
        queryset = queryset.filter(parent__isnull=True).order_by(*BROWSE_ORDER)
    else:
        children = False
    return topic_filter, _with_relations(
        queryset, user=user, children=children, seasons_and_domains=seasons_and_domains
    )


def library_api_list(*, user, filters: dict) -> tuple[LibraryApiFilter, QuerySet[LibraryItem]]:
    """/api/v1/'s items: every visible item, children too (`top_level`, `parent` narrow it),
    in the README's order, or by rank when searching; presenters and tags prefetched."""
    item_filter = LibraryApiFilter(filters, queryset=visible_items(user=user))
    queryset = item_filter.qs
    if not (filters.get("q") or "").strip():
        queryset = queryset.order_by(*BROWSE_ORDER)
    return item_filter, _with_relations(queryset, user=user, children=False)


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


# --- What waits for the organisers (the inbox, topicshare/forum/inbox.py) -----------------

MATERIALS_DUE_AFTER = datetime.timedelta(days=2)
# Talks older than this are the archive's business, not the inbox's.
MATERIALS_LOOK_BACK = datetime.timedelta(days=90)


def talks_missing_materials(*, now: datetime.datetime) -> QuerySet[LibraryItem]:
    """The library items of talks presented at least two days ago (T+2) that still lack
    slides (a file or a link) or a recording link, the oldest session first."""
    no_slides = Q(slides_file="") & Q(slides_url="")
    return (
        LibraryItem.objects.filter(
            parent__isnull=True,
            session__status=SessionStatus.DONE,
            session__start__lte=now - MATERIALS_DUE_AFTER,
            session__start__gt=now - MATERIALS_LOOK_BACK,
        )
        .filter(no_slides | Q(recording_url=""))
        .select_related("session", "session__topic")
        .defer("search_text", "content_html")
        .order_by("session__start", "id")
    )
