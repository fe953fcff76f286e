from django.urls import NoReverseMatch, reverse
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext_lazy as _

from topicshare.forum import wechat_mp
from topicshare.forum.inbox import cached_inbox_count
from topicshare.forum.models import ForumSettings

# (url name, label). Sections whose pages are not built yet are left out of the menu until
# their URL exists, so the menu never links to a page that is not there.
NAV_SECTIONS = [
    ("home", _("Home")),
    ("topics:sheet", _("Topics")),
    ("sessions:upcoming", _("Sessions")),
    ("library:index", _("Library")),
    ("join", _("Join")),
]


def _nav_items() -> list[dict]:
    items = []
    for name, label in NAV_SECTIONS:
        try:
            items.append({"name": name, "url": reverse(name), "label": label})
        except NoReverseMatch:
            continue
    return items


def forum(request) -> dict:
    return {
        "forum": SimpleLazyObject(lambda: ForumSettings.cached(request)),
        "nav_items": _nav_items(),
        # Called only where a page shows it (the organisers' navigation): one cache read.
        "inbox_count": cached_inbox_count,
        # The JS-SDK's share data inside WeChat (static/js/wechat-share.js).
        "wechat_share": wechat_mp.configured(),
    }
