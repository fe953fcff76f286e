"""`{% share_image session %}` / `{% share_image topic %}`: the share card's image — the
poster where the session or topic has a pack, the site's card otherwise."""

from django import template
from django.templatetags.static import static
from django.utils.html import format_html

from topicshare.core.links import absolute_url
from topicshare.forum.promotion import POSTER_SIZE, poster_path

register = template.Library()


@register.simple_tag
def share_image(subject=None):
    path = poster_path(subject) if subject is not None else None
    if path is None:
        return format_html(
            '<meta property="og:image" content="{}">', absolute_url(static("img/share.png"))
        )
    return format_html(
        '<meta property="og:image" content="{}"><meta property="og:image:width" content="{}">'
        '<meta property="og:image:height" content="{}">',
        absolute_url(path),
        *POSTER_SIZE,
    )
