"""The Django admin, signed in through allauth.

Django's admin has its own login form, which checks passwords with none of allauth's rate
limits (ACCOUNT_RATE_LIMITS: login_failed) and none of its checks (a verified address, an
inactive account's page). Here the admin checks no password itself: its login page sends to
allauth's, with `next` kept; its password page is allauth's (rate limited, too); logging out
is allauth's logout."""

from urllib.parse import urlencode

from allauth.account.views import LogoutView
from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache


class TopicShareAdminSite(admin.AdminSite):
    site_header = "TopicShare"
    site_title = "TopicShare"

    def _next_url(self, request) -> str:
        """Where to go after signing in: the admin page asked for, never another site."""
        wanted = request.GET.get(REDIRECT_FIELD_NAME, "")
        if wanted and url_has_allowed_host_and_scheme(
            wanted, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return wanted
        return reverse("admin:index", current_app=self.name)

    @method_decorator(never_cache)
    @method_decorator(login_not_required)
    def login(self, request, extra_context=None):
        """No form, no password check: a GET or a POST goes to allauth's login page (where
        the rate limits are), a signed-in member of staff goes on, anyone else is refused
        (sending them to allauth again would loop: allauth sends the signed-in back here)."""
        next_url = self._next_url(request)
        if request.user.is_authenticated:
            if self.has_permission(request):
                return HttpResponseRedirect(next_url)
            raise PermissionDenied
        query = urlencode({REDIRECT_FIELD_NAME: next_url})
        return HttpResponseRedirect(f"{reverse('account_login')}?{query}")

    def logout(self, request, extra_context=None):
        return LogoutView.as_view()(request)

    def password_change(self, request, extra_context=None):
        # The admin's form asks for the old password without a rate limit; allauth's is limited.
        return HttpResponseRedirect(reverse("account_change_password"))

    def password_change_done(self, request, extra_context=None):
        return HttpResponseRedirect(reverse("admin:index", current_app=self.name))
