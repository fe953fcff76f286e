import functools
import hashlib

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.syndication.views import Feed
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.feedgenerator import Atom1Feed
from django.utils.functional import SimpleLazyObject
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_http_methods

from library.filters import LibraryFilter
from library.forms import MaterialsForm
from library.models import LibraryItem, OpenSourceProject
from library.selectors import group_items, item_detail, library_list, visible_items
from library.services import item_update_materials
from topicshare.core.api import filtered_json_page
from topicshare.core.headers import csp_update
from topicshare.core.links import absolute_url
from topicshare.core.pagecache import public_page
from topicshare.core.uploads import serve_file

PAGE_SIZE = 50


def _get(request, pk: int) -> LibraryItem:
    try:
        return item_detail(user=request.user, pk=pk)
    except LibraryItem.DoesNotExist:
        raise Http404 from None


@public_page(params=(*LibraryFilter.base_filters, "page"), signed_in=True)
def library_index(request):
    searching = bool((request.GET.get("q") or "").strip())

    @functools.cache
    def listing() -> dict:
        item_filter, items = library_list(
            user=request.user, filters=request.GET, seasons_and_domains=False
        )
        # Seasons and domains are few and the facets list them anyway: read them once, for
        # the facets and for the rows (instead of joining them onto every row).
        form = item_filter.form
        choices = {name: list(form.fields[name].queryset) for name in ("season", "domain")}
        page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
        seasons = {season.pk: season for season in choices["season"]}
        domains = {domain.pk: domain for domain in choices["domain"]}
        for item in page.object_list:
            item.season = seasons.get(item.season_id)
            item.domain = domains.get(item.domain_id)
        attach_rows_html(page.object_list, searching=searching)
        return {
            "filter": item_filter,
            "facets_html": facets_html(item_filter, choices),
            "page": page,
            "groups": [] if searching else group_items(page.object_list),
        }

    query = request.GET.copy()
    query.pop("page", None)
    # The same search with the vocabulary's other names ("Search related terms too").
    expanded = query.copy()
    expanded.pop("literal", None)
    # Lazy: when the page's fragment is cached (templates/library/index.html) nothing of the
    # listing is queried or built.
    return render(
        request,
        "library/index.html",
        {
            **{
                name: SimpleLazyObject(lambda name=name: listing()[name])
                for name in ("filter", "page", "groups")
            },  # fmt: skip
            "facets_html": SimpleLazyObject(lambda: listing()["facets_html"]),
            "searching": searching,
            "query": query.urlencode(),
            "expanded_query": expanded.urlencode(),
        },
    )


ROW_CACHE_SECONDS = 24 * 3600


def facets_html(item_filter, choices: dict[str, list]) -> str:
    """The facet fields (all but the search box), from the cache when the same facets were
    rendered with the same choices before: a form's widgets cost more to render than the
    page's rows. The key holds the language, the submitted facet values and their errors,
    and the season and domain choices as shown, so a renamed season shows at once."""
    form = item_filter.form
    for name, objects in choices.items():
        # The choices as read by the caller; rendering reuses them instead of querying again.
        field = form.fields[name]
        field.widget.choices = [("", field.empty_label)] + [
            (field.prepare_value(obj), field.label_from_instance(obj)) for obj in objects
        ]
    # The search box and the "only these words" switch (a link by the results) are no facets.
    facets = [field for field in form if field.name not in ("q", "literal")]
    values = [(field.name, form.data.getlist(field.name)) for field in facets]
    errors = sorted((name, list(errs)) for name, errs in form.errors.items())
    choices = [form.fields[name].widget.choices for name in ("season", "domain")]
    fingerprint = repr((translation.get_language(), values, errors, choices))
    key = "library-facets:" + hashlib.sha256(fingerprint.encode()).hexdigest()
    html = cache.get(key)
    if html is None:
        html = render_to_string("library/_facets.html", {"facets": facets})
        cache.set(key, html, ROW_CACHE_SECONDS)
    return mark_safe(html)  # noqa: S308 — rendered by our own template


def attach_rows_html(items, *, searching: bool) -> None:
    """Each row's HTML, from the cache when the item (and its visible children) have not
    changed since: most of a list page's cost is rendering its rows, which rarely change.

    The key holds everything the row shows that can change: the item's and its children's
    `updated_at` (services bump it when presenters or tags change), which children are
    visible, the language and the list's mode."""
    items = list(items)
    language = translation.get_language()
    keys = {}
    for item in items:
        children = ",".join(
            f"{c.pk}.{c.updated_at.timestamp()}" for c in getattr(item, "child_list", ())
        )
        keys[item.pk] = (
            f"library-row:{item.pk}:{item.updated_at.timestamp()}:{children}:{language}:"
            f"{int(searching)}"
        )
    cached = cache.get_many(list(keys.values()))
    missing = {}
    for item in items:
        html = cached.get(keys[item.pk])
        if html is None:
            html = render_to_string("library/_row.html", {"item": item, "searching": searching})
            missing[keys[item.pk]] = html
        item.row_html = mark_safe(html)  # noqa: S308 — rendered by our own template
    if missing:
        cache.set_many(missing, ROW_CACHE_SECONDS)


@public_page
def item_page(request, pk: int):
    item = _get(request, pk)
    related = []
    if item.parent_id:
        related = [c for c in visible_items(user=request.user).filter(parent_id=item.parent_id)
                   if c.pk != item.pk]  # fmt: skip
    can_edit = request.user.has_perm("library.change_materials", item)
    return render(
        request,
        "library/detail.html",
        {
            "item": item,
            "related": related,
            "can_edit": can_edit,
            "slides_is_pdf": item.slides_file and item.slides_file.name.endswith(".pdf"),
            # Boxes with nothing in them are left out.
            "has_materials": can_edit
            or any(
                getattr(item, field)
                for field in (
                    "slides_file",
                    "slides_url",
                    "paper_url",
                    "source_url",
                    "recording_url",
                    "note",
                    "session_id",
                )
            ),  # fmt: skip
            "has_related": bool(related or item.child_list or item.tag_list),
        },
    )


# The item page shows them in its own PDF viewer frame.
@csp_update({"frame-ancestors": ["'self'"]})
@xframe_options_sameorigin
def item_slides(request, pk: int):
    item = _get(request, pk)
    if not item.slides_file:
        raise Http404
    return serve_file(request, item.slides_file, download_name=item.slides_name or item.title)


@login_required
@require_http_methods(["GET", "POST"])
def item_materials(request, pk: int):
    """Presenters and organisers add the slides, the recording link and its code."""
    item = _get(request, pk)
    if not request.user.has_perm("library.change_materials", item):
        raise PermissionDenied
    form = MaterialsForm(
        request.POST if request.method == "POST" else None,
        request.FILES if request.method == "POST" else None,
        initial={
            "slides_url": item.slides_url,
            "recording_url": item.recording_url,
            "extraction_code": item.extraction_code,
        },
    )
    if request.method == "POST" and form.is_valid():
        changes = {k: v for k, v in form.cleaned_data.items() if k in form.changed_data}
        if not changes.get("slides_file"):
            changes.pop("slides_file", None)
        try:
            item_update_materials(
                item=LibraryItem.objects.get(pk=item.pk), by=request.user, **changes
            )
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.success(request, _("Thank you! The materials are in the library."))
            return redirect("library:detail", pk=item.pk)
    return render(request, "library/materials.html", {"item": item, "form": form})


def open_source(request):
    projects = OpenSourceProject.objects.prefetch_related("maintainers")
    return render(request, "library/open_source.html", {"projects": projects})


def item_json(item: LibraryItem) -> dict:
    return {
        "id": item.pk,
        "url": reverse("library:detail", args=[item.pk]),
        "kind": item.kind,
        "title": item.title,
        "season": item.season.label if item.season else None,
        "domain": item.domain.slug if item.domain else None,
        "sub_theme": item.sub_theme,
        "presenters": [person.name for person in item.presenter_list],
        "tags": [tag.name for tag in item.tag_list],
        "paper_url": item.paper_url,
        "slides_url": item.slides_url
        or (reverse("library:slides", args=[item.pk]) if item.slides_file else ""),
        "recording_url": item.recording_url,
        "extraction_code": item.extraction_code,
        "source_url": item.source_url,
        "parent": item.parent_id,
        "year": item.year,
        "upvotes": item.upvotes,
        "visibility": item.visibility,
    }


@require_GET
def items_api(request):
    filterset, queryset = library_list(user=request.user, filters=request.GET, children=False)
    return filtered_json_page(request, filterset, queryset, item_json)


class LibraryFeed(Feed):
    """New items (public ones: feed readers are not logged in). Every link is absolute on
    TOPICSHARE_SITE_URL: Django would otherwise prefix the request's host."""

    title = gettext_lazy("TopicShare library: new items")
    description = gettext_lazy("Slides, papers, recordings and articles added to the library.")
    url_name = "library:feed"

    def link(self):
        return absolute_url(reverse("library:index"))

    def feed_url(self):
        return absolute_url(reverse(self.url_name))

    def items(self):
        return (
            LibraryItem.objects.filter(visibility=LibraryItem.Visibility.PUBLIC)
            .select_related("season", "domain")
            .prefetch_related("presenters")
            .order_by("-created_at", "-id")[:50]
        )

    def item_title(self, item):
        return item.title

    def item_description(self, item):
        parts = [item.season.label if item.season else "", item.domain.name if item.domain else "",
                 "、".join(p.name for p in item.presenters.all())]  # fmt: skip
        return " · ".join(part for part in parts if part)

    def item_link(self, item):
        return absolute_url(reverse("library:detail", args=[item.pk]))

    def item_pubdate(self, item):
        return item.created_at


class LibraryAtomFeed(LibraryFeed):
    feed_type = Atom1Feed
    url_name = "library:feed-atom"
    subtitle = LibraryFeed.description
