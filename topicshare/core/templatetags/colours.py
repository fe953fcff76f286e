"""Colours from the database (a track's colour) on the page. The Content-Security-Policy
allows no style="" attributes, so the colour is an SVG presentation attribute instead."""

import re

from django import template
from django.utils.html import format_html

register = template.Library()

_HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
DEFAULT_COLOUR = "#94a3b8"
_SHAPES = {
    "swatch": '<circle cx="5" cy="5" r="5" fill="{}"/>',
    "stripe": '<rect width="10" height="10" fill="{}"/>',
}


@register.simple_tag
def swatch(colour: str, shape: str = "swatch"):
    """A coloured dot (`{% swatch track.colour %}`), or the coloured edge of a card
    (`{% swatch track.colour "stripe" %}`). Anything but a #rrggbb colour shows grey."""
    colour = colour if _HEX_COLOUR.fullmatch(colour or "") else DEFAULT_COLOUR
    return format_html(
        '<svg class="{}" viewBox="0 0 10 10" preserveAspectRatio="none" aria-hidden="true" '
        'focusable="false">' + _SHAPES[shape] + "</svg>",
        shape,
        colour,
    )
