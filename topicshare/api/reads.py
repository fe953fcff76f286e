"""/api/v1/'s reads: the same selectors and filters as the pages, a page of 50 in a stable
order with absolute `next`/`previous`, ETag and Last-Modified (304 when unchanged)."""

import functools

from django.core.paginator import Paginator
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Query, Router

from library.models import OpenSourceProject
from library.selectors import library_api_list
from library.views import item_json
from sessions.models import Season, Track
from sessions.topics.api import topic_json
from sessions.topics.selectors import topic_list
from sessions.weekly.api import session_api_list, session_json
from topicshare.api import schemas
from topicshare.api.auth import ApiRefusal, Caller
from topicshare.api.conditional import not_modified, validators_for
from topicshare.core.links import absolute_url

PAGE_SIZE = 50
MAX_PAGE = 100_000

router = Router(auth=Caller(), tags=["read"])


def conditional(view):
    """ETag / Last-Modified on the answer; 304 before any work when the caller has it."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        etag, last_modified = validators_for(request)
        if not_modified(request, etag, last_modified):
            response = HttpResponse(status=304)
        else:
            response = view(request, *args, **kwargs)
        if response.status_code in (200, 304):
            response["ETag"] = etag
            if last_modified:
                response["Last-Modified"] = last_modified
            # Answers differ by caller: shared caches must ask again.
            response["Cache-Control"] = "private, no-cache"
            response["Vary"] = "Authorization, Cookie, Accept-Language"
        return response

    return wrapper


def _json(data, status: int = 200) -> JsonResponse:
    return JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False})


def _page(request, queryset, serialize, filterset=None, extra=None) -> JsonResponse:
    if filterset is not None and not filterset.is_valid():
        errors = {
            field: [error["message"] for error in field_errors]
            for field, field_errors in filterset.errors.get_json_data().items()
        }
        raise ApiRefusal(
            400, "bad_filter", _("Some filters have values that cannot be used."), errors=errors
        )
    number = request.GET.get("page", "1")
    if not (number.isascii() and number.isdigit() and 0 < int(number[:7]) <= MAX_PAGE):
        message = _("“page” is a page number from 1.")
        raise ApiRefusal(400, "bad_page", message, errors={"page": [message]})
    paginator = Paginator(queryset, PAGE_SIZE)
    page = paginator.get_page(int(number))

    def link(n: int) -> str:
        query = request.GET.copy()
        query["page"] = n
        return absolute_url(f"{request.path}?{query.urlencode()}")

    return _json(
        {
            "count": paginator.count,
            "next": link(page.next_page_number()) if page.has_next() else None,
            "previous": link(page.previous_page_number()) if page.has_previous() else None,
            "results": [serialize(obj) for obj in page],
            **(extra(filterset) if extra else {}),
        }
    )


# --- Serialising: the pages' JSON, with absolute links ---------------------------------------


def _absolute(data: dict) -> dict:
    data["url"] = absolute_url(data["url"])
    return data


def _topic(topic) -> dict:
    return {**_absolute(topic_json(topic)), "wanted": topic.interest_count}


def _session_serializer(request):
    show_meeting = request.user.has_perm("topic_sessions.view_meeting")

    def serialize(session) -> dict:
        data = _absolute(session_json(session))
        if show_meeting:
            data["meeting"] = {
                "url": session.meeting_url, "id": session.meeting_id,
                "passcode": session.meeting_passcode,
            }  # fmt: skip
        return data

    return serialize, show_meeting


def _item(item) -> dict:
    data = _absolute(item_json(item))
    if data["slides_url"].startswith("/"):
        data["slides_url"] = absolute_url(data["slides_url"])
    return data


def _track(track) -> dict:
    return {
        "slug": track.slug, "name_zh": track.name_zh, "name_en": track.name_en,
        "weekday": track.weekday, "local_time": track.local_time.strftime("%H:%M"),
        "time_zone": track.time_zone, "duration_minutes": track.duration_minutes,
    }  # fmt: skip


def _season(season) -> dict:
    return {
        "id": season.pk, "label": season.label, "is_current": season.is_current,
        "start_date": season.start_date.isoformat() if season.start_date else None,
        "end_date": season.end_date.isoformat() if season.end_date else None,
    }  # fmt: skip


def _project(project) -> dict:
    return {
        "id": project.pk, "name": project.name, "url": project.url,
        "description": project.description,
        "maintainers": [person.name for person in project.maintainers.all()],
    }  # fmt: skip


# --- Endpoints ----------------------------------------------------------------------------

_ERRORS = {400: schemas.Error, 401: schemas.Error, 404: schemas.Error, 429: schemas.Error}


@router.get("/tracks/", response={200: schemas.TrackPage, **_ERRORS}, summary="Tracks")
@conditional
def tracks(request, page: int = 1):
    return _page(request, Track.objects.order_by("order", "slug", "id"), _track)


@router.get("/seasons/", response={200: schemas.SeasonPage, **_ERRORS}, summary="Seasons")
@conditional
def seasons(request, page: int = 1):
    return _page(request, Season.objects.order_by("order", "label", "id"), _season)


@router.get("/topics/", response={200: schemas.TopicPage, **_ERRORS}, summary="The topic sheet")
@conditional
def topics(
    request,
    q: str | None = None,
    track: str | None = None,
    season: int | None = None,
    status: list[str] = Query(None),  # noqa: B008 — how ninja declares a repeated parameter
    proposer: int | None = None,
    o: str | None = None,
    page: int = 1,
):
    """The sheet's filters: `q` (search), `track` (slug), `season` (id), `status` (repeat it
    for several), `proposer` (id), `o` (sort: created, title, wanted … with `-` for
    descending)."""
    filterset, queryset = topic_list(filters=request.GET)
    return _page(request, queryset, _topic, filterset)


@router.get("/topics/{pk}/", response={200: schemas.Topic, **_ERRORS}, summary="One topic")
@conditional
def topic(request, pk: int):
    _filterset, queryset = topic_list(filters={})
    return _json(_topic(get_object_or_404(queryset, pk=pk)))


@router.get("/sessions/", response={200: schemas.SessionPage, **_ERRORS}, summary="Sessions")
@conditional
def sessions(
    request,
    track: str | None = None,
    season: int | None = None,
    status: list[str] = Query(None),  # noqa: B008
    page: int = 1,
):
    """Filters: `track` (slug), `season` (id), `from` and `to` (YYYY-MM-DD, inclusive, in
    the forum's time zone), `status` (repeat it for several). Meeting details only for those
    who may see them on the session page."""
    serialize, show_meeting = _session_serializer(request)
    filterset, queryset = session_api_list(filters=request.GET)
    if show_meeting:
        queryset = queryset.defer(None).defer("organiser_note")
    return _page(request, queryset, serialize, filterset)


@router.get("/sessions/{pk}/", response={200: schemas.Session, **_ERRORS}, summary="One session")
@conditional
def session(request, pk: int):
    serialize, show_meeting = _session_serializer(request)
    _filterset, queryset = session_api_list()
    if show_meeting:
        queryset = queryset.defer(None).defer("organiser_note")
    return _json(serialize(get_object_or_404(queryset, pk=pk)))


@router.get(
    "/library/items/", response={200: schemas.LibraryItemPage, **_ERRORS}, summary="Library"
)
@conditional
def library_items(
    request,
    q: str | None = None,
    season: int | None = None,
    domain: str | None = None,
    kind: str | None = None,
    presenter: str | None = None,
    tag: str | None = None,
    year: int | None = None,
    parent: int | None = None,
    top_level: bool | None = None,
    literal: str | None = None,
    page: int = 1,
):
    """Every item the caller may see, children included: `top_level=true` for the top-level
    ones only, `parent=<id>` for one item's parts. The library page's facets as filters;
    members-only items only for members. `q` also searches the field's other names for the
    concepts it names (命名实体识别 → named entity recognition, NER), listed in
    `also_searched`; `literal=1` searches the words as typed."""
    filterset, queryset = library_api_list(user=request.user, filters=request.GET)
    return _page(
        request, queryset, _item, filterset,
        extra=lambda f: {"also_searched": list(f.also_searched)},
    )  # fmt: skip


@router.get("/projects/", response={200: schemas.ProjectPage, **_ERRORS}, summary="Projects")
@conditional
def projects(request, page: int = 1):
    """The open-source projects the forum's members published."""
    queryset = OpenSourceProject.objects.prefetch_related("maintainers").order_by("position", "id")
    return _page(request, queryset, _project)
