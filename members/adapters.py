from urllib.parse import quote

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.urls import reverse

from members.services import user_start_as_audience
from topicshare.core.links import absolute_url, current_site, on_site


class AccountAdapter(DefaultAccountAdapter):
    """allauth, with every link in its mails on TOPICSHARE_SITE_URL (topicshare/core/links.py):
    by default it builds them from the request's Host header."""

    def save_user(self, request, user, form, commit=True):
        user = super().save_user(request, user, form, commit=commit)
        if commit:
            user_start_as_audience(user=user)
        return user

    def get_email_confirmation_url(self, request, emailconfirmation) -> str:
        return absolute_url(reverse("account_confirm_email", args=[emailconfirmation.key]))

    def get_reset_password_from_key_url(self, key: str) -> str:
        path = reverse("account_reset_password_from_key", kwargs={"uidb36": "UID", "key": "KEY"})
        return absolute_url(path.replace("UID-KEY", quote(key)))

    def send_mail(self, template_prefix: str, email: str, context: dict) -> None:
        # The links allauth builds elsewhere (signup_url, password_reset_url …) and the site's
        # name in its templates ("Hello from …") come from the request too: move them here.
        context = {
            key: on_site(value) if key.endswith("_url") and isinstance(value, str) else value
            for key, value in context.items()
        }
        context["current_site"] = current_site()
        super().send_mail(template_prefix, email, context)


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    def save_user(self, request, sociallogin, form=None):
        user = super().save_user(request, sociallogin, form=form)
        user_start_as_audience(user=user)
        return user
