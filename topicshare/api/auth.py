"""Who calls /api/v1/: a personal API token (`Authorization: Bearer tsk_…`), else the browser
session, else nobody. Reads are open to all (each answer shows what that caller may see);
writes need a write-scope token, or a signed-in session whose request carries its CSRF token —
a token is not sent by a browser by itself, a session cookie is."""

from django.contrib.auth.models import AnonymousUser
from django.utils import translation
from django.utils.translation import gettext as _
from ninja.security.base import AuthBase
from ninja.utils import check_csrf

from members.api_tokens import api_token_authenticate, api_token_rate_limited

BEARER = "bearer "
# No token is longer; anything longer is refused before it is looked at.
MAX_HEADER = 200


class ApiRefusal(Exception):
    """Answered as {"code", "message"} with `status` (topicshare/api/v1.py)."""

    def __init__(
        self, status: int, code: str, message: str, *, headers: dict | None = None,
        errors: dict | None = None,
    ):  # fmt: skip
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers, self.errors = headers or {}, errors


def _token(request):
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    if len(header) > MAX_HEADER or not header.lower().startswith(BEARER):
        raise ApiRefusal(
            401, "bad_credentials", _("Send a personal API token as “Bearer <token>”.")
        )
    token = api_token_authenticate(header[len(BEARER) :].strip())
    if token is None:
        raise ApiRefusal(401, "bad_credentials", _("This API token is unknown or revoked."))
    if api_token_rate_limited(token):
        raise ApiRefusal(
            429, "rate_limited", _("Too many requests with this token: wait a minute."),
            headers={"Retry-After": "60"},
        )  # fmt: skip
    return token


class Caller(AuthBase):
    """Any caller: the token's owner, the signed-in person, or an anonymous one. Sets
    request.user to the token's owner, so permissions read the same way as on the pages."""

    openapi_type = "http"
    openapi_scheme = "bearer"

    def __init__(self, *, write: bool = False):
        self.write = write
        super().__init__()

    def __call__(self, request):
        token = _token(request)
        if token is not None:
            request.user = token.user
            request.api_token = token
            # A program seldom says which language it reads: then the owner's, as in e-mails.
            if "Accept-Language" not in request.headers and token.user.preferred_language:
                translation.activate(token.user.preferred_language)
                request.LANGUAGE_CODE = translation.get_language()
            if self.write and not token.allows_write:
                raise ApiRefusal(
                    403, "read_only_token", _("This API token may only read: make a write token.")
                )
            return token.user
        user = getattr(request, "user", None) or AnonymousUser()
        if not self.write:
            return user
        if not user.is_authenticated:
            raise ApiRefusal(401, "not_signed_in", _("Sign in, or send a write API token."))
        if check_csrf(request) is not None:
            raise ApiRefusal(
                403, "csrf_failed", _("The request lacks its CSRF token: reload the page.")
            )
        return user
