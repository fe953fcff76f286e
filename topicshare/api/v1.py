"""The /api/v1/ instance: its routers, the docs page (django-ninja's own Swagger UI, served
from our static files) and one error shape for every refusal."""

from django.core.exceptions import PermissionDenied, RequestDataTooBig, ValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import NinjaAPI, Swagger
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from sessions.topics.services import TopicError
from topicshare.api import writes  # noqa: F401 — registers the writes on the router
from topicshare.api.auth import ApiRefusal
from topicshare.api.reads import router as reads

api = NinjaAPI(
    title="TopicShare API",
    version="1",
    description=(
        "The forum's topics, sessions and library, and what members do in them. Reads are "
        "open (each answer holds what the caller may see); writes need a write-scope personal "
        "API token (`Authorization: Bearer tsk_…`, made on the profile page) or a signed-in "
        "session with its CSRF token. Errors are `{code, message}` in the caller's language "
        "(Accept-Language)."
    ),
    urls_namespace="api-v1",
    docs=Swagger(settings={"defaultModelsExpandDepth": 0}),
    docs_url="/docs/",
    openapi_url="/openapi.json",
)
api.add_router("/", reads)


def _error(request, status: int, code: str, message: str, *, errors=None, headers=None):
    body = {"code": code, "message": message}
    if errors:
        body["errors"] = errors
    response = api.create_response(request, body, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


@api.exception_handler(ApiRefusal)
def refused(request, refusal: ApiRefusal):
    return _error(request, refusal.status, refusal.code, refusal.message,
                  errors=refusal.errors, headers=refusal.headers)  # fmt: skip


@api.exception_handler(NinjaValidationError)
def invalid(request, error: NinjaValidationError):
    errors: dict[str, list[str]] = {}
    for item in error.errors:
        field = str(item.get("loc", ["", "?"])[-1])
        errors.setdefault(field, []).append(str(item.get("msg", ""))[:200])
    return _error(request, 400, "bad_request", _("Some values cannot be used."), errors=errors)


@api.exception_handler(Http404)
def not_found(request, error):
    return _error(request, 404, "not_found", _("There is nothing at this address."))


@api.exception_handler(AuthenticationError)
def unauthenticated(request, error):
    return _error(request, 401, "not_signed_in", _("Sign in, or send a personal API token."))


@api.exception_handler(PermissionDenied)
def forbidden(request, error):
    message = str(error) or _("You may not do this.")
    return _error(request, 403, "forbidden", message)


@api.exception_handler(TopicError)
def refused_by_the_service(request, error):
    """The service's own reason, as the page shows it (full group, RSVPs closed …)."""
    return _error(request, 409, "refused", str(error))


@api.exception_handler(ValidationError)
def invalid_model(request, error: ValidationError):
    errors = error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}
    return _error(request, 400, "invalid", _("Please correct the errors below."), errors=errors)


@api.exception_handler(RequestDataTooBig)
def too_big(request, error):
    return _error(request, 413, "too_big", _("The request is too large."))


@api.exception_handler(HttpError)
def http_error(request, error: HttpError):
    """ninja's own refusals (a body that is not JSON, a throttle)."""
    if error.status_code == 400:
        return _error(request, 400, "bad_request", _("The request body is not valid JSON."))
    return _error(request, error.status_code, "error", str(error)[:200])
