"""The one way our read-only JSON endpoints answer: the page's filters, then a page of
results with `count`, `next` and `previous`; 400 with the errors for bad filter values."""

import functools
from collections.abc import Callable

from django.core.paginator import Paginator
from django.http import JsonResponse

API_PAGE_SIZE = 50


def filtered_json_page(request, filterset, queryset, serialize: Callable) -> JsonResponse:
    if not filterset.is_valid():
        return JsonResponse({"errors": filterset.errors.get_json_data()}, status=400)
    page = Paginator(queryset, API_PAGE_SIZE).get_page(request.GET.get("page"))

    def page_url(number: int) -> str:
        query = request.GET.copy()
        query["page"] = number
        return f"{request.path}?{query.urlencode()}"

    return JsonResponse(
        {
            "count": page.paginator.count,
            "next": page_url(page.next_page_number()) if page.has_next() else None,
            "previous": page_url(page.previous_page_number()) if page.has_previous() else None,
            "results": [serialize(obj) for obj in page],
        },
        json_dumps_params={"ensure_ascii": False},
    )


def superseded(view: Callable, successor: str) -> Callable:
    """A first-version endpoint that keeps answering as it did, and says where its
    successor is (RFC 8594's Deprecation header and a successor-version link)."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response["Deprecation"] = "true"
        response["Link"] = f'<{successor}>; rel="successor-version"'
        return response

    return wrapper
