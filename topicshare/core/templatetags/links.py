"""`{{ path|absolute_path }}`: the address on the site (TOPICSHARE_SITE_URL), for what is read
outside the site — share cards (Open Graph) — where a path is not enough."""

from django import template

from topicshare.core.links import absolute_url

register = template.Library()


@register.filter
def absolute_path(path: str) -> str:
    return absolute_url(path) if path else ""
