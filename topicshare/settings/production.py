"""Production: secrets from the environment, HTTPS everywhere, PostgreSQL and Redis.

Passes `manage.py check --deploy` with no warnings."""

from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured
from django.http.request import validate_host

from .base import *  # noqa: F403
from .base import STORAGES, env

DEBUG = False
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
if not SECRET_KEY:
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY is not set. Production settings refuse to start without a secret "
        "key: set DJANGO_SECRET_KEY to a long random string (for example the output of "
        "`python -c 'import secrets; print(secrets.token_urlsafe(50))'`)."
    )
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost"])

# Every link in e-mails, chat messages, calendar files and feeds is built from this one
# setting (topicshare/core/links.py), never from a request's Host header.
TOPICSHARE_SITE_URL = env.str("TOPICSHARE_SITE_URL", default="").strip()
if not TOPICSHARE_SITE_URL:
    raise ImproperlyConfigured(
        "TOPICSHARE_SITE_URL is not set. Production settings refuse to start without the "
        "address people open the forum at, e.g. https://forum.example.org: every link in "
        "e-mails, chat messages and calendar files is built from it."
    )
_site = urlsplit(TOPICSHARE_SITE_URL)
if (
    _site.scheme not in ("http", "https")
    or not _site.hostname
    or "@" in _site.netloc
    or _site.path not in ("", "/")
    or _site.query
    or _site.fragment
):
    raise ImproperlyConfigured(
        f"TOPICSHARE_SITE_URL must be the site's origin, such as https://forum.example.org "
        f"(a scheme and a host, optionally a port; no path, query or user name), not "
        f"{TOPICSHARE_SITE_URL!r}."
    )
_site_host = f"[{_site.hostname}]" if ":" in _site.hostname else _site.hostname
if not validate_host(_site_host, ALLOWED_HOSTS):
    raise ImproperlyConfigured(
        f"The host of TOPICSHARE_SITE_URL ({_site.hostname}) is not in DJANGO_ALLOWED_HOSTS: "
        f"the links in e-mails would lead to a page that refuses the request."
    )

# Uploads as base.py chose them (local disk, or the object store when S3_BUCKET is set).
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# TLS is terminated by the reverse proxy in front of gunicorn.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
# Load balancers and the compose health check probe over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
LANGUAGE_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=True)

TOPICSHARE_DEMO_ALLOWED = False
# Whatever the environment says: chat webhooks never reach loopback or private networks.
TOPICSHARE_WEBHOOKS_ALLOW_PRIVATE = False
