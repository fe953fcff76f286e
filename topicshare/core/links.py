"""Absolute links to the forum: built from TOPICSHARE_SITE_URL, never from a request's Host
header. E-mails (ours and allauth's), chat messages, .ics files and feeds all use these, so a
forged or merely different Host can never end up in a link someone else receives."""

from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings


def site_url() -> str:
    """The site's origin, e.g. "https://forum.example.org" (no trailing slash)."""
    return settings.TOPICSHARE_SITE_URL.rstrip("/")


def absolute_url(path: str) -> str:
    """`path` ("/sessions/1/") on the site; an address that is already absolute is kept."""
    return site_url() + path if path.startswith("/") else path


def on_site(url: str) -> str:
    """`url` with its scheme and host replaced by the site's: for links a library built from
    the request (allauth's sign-up and password-reset links)."""
    parts = urlsplit(url)
    return absolute_url(urlunsplit(("", "", parts.path or "/", parts.query, parts.fragment)))


@dataclass(frozen=True)
class Site:
    """What templates expect of django.contrib.sites' Site (allauth's "Hello from …")."""

    domain: str
    name: str


def current_site() -> Site:
    host = urlsplit(site_url()).netloc
    return Site(domain=host, name=host)
