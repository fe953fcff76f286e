"""Content-Security-Policy and Permissions-Policy on every response (Django 5.2 sets
neither).

The policy is the SECURE_CSP setting, in the format Django 6.0's own CSP middleware reads
(directive -> list of sources), so that upgrading means deleting this module. Our pages load
nothing from elsewhere and carry no inline script, style="" attribute or <style> block;
colours that come from the database are SVG presentation attributes (`{% swatch %}`). A
response that already has a Content-Security-Policy (uploads served with `sandbox`) keeps
its own; a view that needs one directive changed says so with @csp_update."""

import functools

from django.conf import settings


def policy_header(directives: dict[str, list[str]]) -> str:
    return "; ".join(" ".join([name, *sources]).strip() for name, sources in directives.items())


def permissions_header(features: dict[str, list[str]]) -> str:
    """{"camera": [], "clipboard-write": ["self"]} -> 'camera=(), clipboard-write=(self)'."""
    return ", ".join(f"{name}=({' '.join(allowed)})" for name, allowed in features.items())


def csp_update(directives: dict[str, list[str]]):
    """Replace these directives of SECURE_CSP on this view's responses, e.g. the slides that
    the library's own pages show in a frame: {"frame-ancestors": ["'self'"]}."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            response = view(request, *args, **kwargs)
            response.csp_update = directives
            return response

        return wrapper

    return decorator


class SecurityHeadersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # Read per response (a join of a few strings), so that override_settings applies.
        if "Content-Security-Policy" not in response:
            directives = {**settings.SECURE_CSP, **getattr(response, "csp_update", {})}
            response["Content-Security-Policy"] = policy_header(directives)
        if settings.TOPICSHARE_PERMISSIONS_POLICY and "Permissions-Policy" not in response:
            response["Permissions-Policy"] = permissions_header(
                settings.TOPICSHARE_PERMISSIONS_POLICY
            )
        return response
