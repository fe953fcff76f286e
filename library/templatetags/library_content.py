from django import template
from django.utils.safestring import mark_safe

from library.importers.zhihu import pictures_as_links

register = template.Library()


@register.filter
def article_html(content_html: str):
    """An imported article's body (sanitised when imported) for the item page."""
    return mark_safe(pictures_as_links(content_html))  # noqa: S308 — sanitised on import
