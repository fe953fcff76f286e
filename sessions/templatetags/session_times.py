"""How a session's time reads on every page: "start–end" in the forum's time zone, marked up so
that static/js/localtime.js can add the viewer's own time when their zone differs."""

import datetime
import zoneinfo

from django import template
from django.conf import settings
from django.utils.dateformat import format as date_format
from django.utils.html import format_html
from django.utils.translation import gettext as _

register = template.Library()

FORMATS = {"long": "Y-m-d D H:i", "short": "m-d D H:i"}


def start_end_text(start: datetime.datetime, end: datetime.datetime, *, style: str = "long") -> str:
    """ "2026-12-05 Sat 20:30–22:00" in the forum's time zone; the end carries its date when
    the session runs past midnight."""
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    start, end = start.astimezone(zone), end.astimezone(zone)
    start_text = date_format(start, FORMATS.get(style, FORMATS["long"]))
    end_text = date_format(end, "H:i" if end.date() == start.date() else "m-d H:i")
    return f"{start_text}–{end_text}"


@register.filter
def start_end(session, style: str = "long"):
    """`{{ session|start_end }}` or `{{ session|start_end:"short" }}`: a <time> element with
    the start and end in Asia/Shanghai; the viewer's own time follows it (by script) when it
    differs."""
    if session is None or not getattr(session, "start", None):
        return ""
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    return format_html(
        '<time class="start-end" datetime="{}" data-end="{}" data-local'
        ' data-local-label="{}" title="{}">{}</time>',
        session.start.astimezone(zone).isoformat(),
        session.end.astimezone(zone).isoformat(),
        _("your time: "),
        settings.TIME_ZONE,
        start_end_text(session.start, session.end, style=style),
    )


@register.filter
def webcal(url: str) -> str:
    """An https:// (or http://) feed address as webcal://, which calendar apps open as a
    subscription."""
    for scheme in ("https://", "http://"):
        if url.startswith(scheme):
            return "webcal://" + url[len(scheme) :]
    return url


@register.filter
def holds(container, key) -> bool:
    """`{% if rsvped|holds:personal_arg %}`: a set of ids against an id given as text (the
    argument of a {% personal %} hole is text)."""
    return str(key) in {str(item) for item in container or ()}
