"""Writes on the library: search tokens, items made from sessions, materials uploads."""

import re
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.translation import gettext as _

from library.models import LibraryItem, browse_ranks
from library.search import index_tokens
from members.rules import require_perm


def _plain(markdown: str) -> str:
    return re.sub(r"[#*_`>\[\]()!|-]+", " ", markdown or "")


def items_reindex(items: Iterable[LibraryItem]) -> int:
    """Recompute the derived columns of these items — search tokens and browse ranks — after
    they were written or their tags or presenters changed. Every write path calls it."""
    items = list(items)
    if not items:
        return 0
    loaded = (
        LibraryItem.objects.filter(pk__in=[item.pk for item in items])
        .select_related("season", "domain")
        .prefetch_related("tags", "presenters")
    )
    changed = []
    now = timezone.now()
    for item in loaded:
        text = index_tokens(
            item.title,
            item.sub_theme,
            _plain(item.summary),
            strip_tags(item.content_html),
            item.note,
            item.author_name,
            " ".join(tag.name for tag in item.tags.all()),
            " ".join(person.name for person in item.presenters.all()),
            item.domain.name_zh if item.domain else "",
            item.domain.name_en if item.domain else "",
            item.season.label if item.season else "",
        )
        ranks = browse_ranks(item.season, item.domain)
        if text != item.search_text or ranks != (item.season_rank, item.domain_rank):
            item.search_text = text
            item.season_rank, item.domain_rank = ranks
            # Presenters and tags are in the text: a change to them is a change to the item
            # (and invalidates its cached row in the list).
            item.updated_at = now
            changed.append(item)
    LibraryItem.objects.bulk_update(
        changed, ["search_text", "season_rank", "domain_rank", "updated_at"], batch_size=500
    )
    return len(changed)


def items_rerank(*, season=None, domain=None) -> int:
    """After a season's or a domain's order changed: copy it onto its items."""
    if season is not None:
        rank, _unused = browse_ranks(season, None)
        return (
            LibraryItem.objects.filter(season=season)
            .exclude(season_rank=rank)
            .update(season_rank=rank)
        )
    _unused, rank = browse_ranks(None, domain)
    items = LibraryItem.objects.filter(domain=domain).exclude(domain_rank=rank)
    return items.update(domain_rank=rank)


@transaction.atomic
def item_for_session(*, session) -> LibraryItem:
    """A presented session gets (or keeps) its library item: the talk, its presenters, the
    paper, in the season and domain of the topic. Idempotent."""
    existing = LibraryItem.objects.filter(session=session, parent__isnull=True).first()
    if existing:
        return existing
    topic = session.topic
    item = LibraryItem.objects.create(
        kind=LibraryItem.Kind.TALK,
        title=topic.title,
        season=topic.season,
        domain=session.track,
        sub_theme=topic.sub_theme,
        paper_url=(topic.paper_links or [""])[0][:1000],
        summary=topic.summary,
        session=session,
        visibility=(
            LibraryItem.Visibility.MEMBERS if topic.members_only else LibraryItem.Visibility.PUBLIC
        ),
        year=session.start.year,
    )
    item.presenters.set([topic.proposer, *topic.co_presenters.all()])
    items_reindex([item])
    _item_webhook("library_item.added", item)
    return item


def _item_webhook(event: str, item: LibraryItem) -> None:
    """Tell integrations (outgoing webhooks) of a public item: public fields only."""
    from django.urls import reverse

    from topicshare.core.links import absolute_url
    from topicshare.notifications.outgoing import webhook_event_emit

    if item.visibility != LibraryItem.Visibility.PUBLIC:
        return
    data = {
        "id": item.pk,
        "title": item.title,
        "url": absolute_url(reverse("library:detail", args=[item.pk])),
        "kind": item.kind,
        "track": item.domain.slug if item.domain_id else "",
        "session": item.session_id,
    }
    webhook_event_emit(event_type=event, data=data, key=f"{event}:{item.pk}")


@transaction.atomic
def item_update_materials(*, item: LibraryItem, by, **changes) -> LibraryItem:
    """Presenters (and organisers) add slides, the recording link and its extraction code."""
    require_perm(
        by,
        "library.change_materials",
        item,
        message=_("Only the presenters and organisers add materials."),
    )
    allowed = {"slides_file", "slides_url", "recording_url", "extraction_code", "summary"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"not editable here: {sorted(unknown)}")
    had_recording = bool(item.recording_url)
    for field, value in changes.items():
        LibraryItem._meta.get_field(field).save_form_data(item, value)
    if changes.get("slides_file"):
        item.slides_name = changes["slides_file"].name[-200:]
        changes["slides_name"] = item.slides_name
    item.full_clean(exclude=["presenters", "tags"])
    item.save()
    items_reindex([item])
    if item.recording_url and not had_recording:
        _item_webhook("recording.added", item)
    return item
