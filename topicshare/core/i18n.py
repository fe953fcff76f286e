"""Strings Django translates that the forum wants in its own Chinese, and the language cookie.

Django ends form labels with _(":") unless a label already ends in one of _(":?.!"): with
these catalogue entries Chinese forms read "标题：" and "你为什么想加入？" (full-width
punctuation counts as an ending too) instead of "标题:" and "你为什么想加入？:"."""

from django.conf import settings
from django.utils.translation import gettext_noop

LABEL_SUFFIX = gettext_noop(":")
LABEL_ENDINGS = gettext_noop(":?.!")


def set_language_cookie(response, language: str) -> None:
    """The language cookie exactly as Django's language switch sets it: every attribute from
    the LANGUAGE_COOKIE_* settings (Secure in production)."""
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.LANGUAGE_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
