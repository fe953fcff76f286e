"""A Zhihu column (知乎专栏) export: the column's articles with their HTML bodies.

The exporters in use write `{"title", "description", "url", "followers", "article": [...]}`
with articles `{"url", "userName", "userLink", "upvote", "title", "content", "topic":
[{"tag", "tagLink"}], "comments"}`. Exports shaped like Zhihu's API are read too: `articles`,
`id`, `author: {"name", "url_token"}`, `voteup_count`, `topics: [{"name"}]`, `created`
(epoch seconds or milliseconds, or an ISO date; a date without a zone is Beijing time).

Only the articles are imported; the column's followers and the comments name private people
and are left out.

Keys: an article is known by its Zhihu id (`id`, else the number in its /p/ URL), else by its
URL, so the same article keeps its library item whichever exporter wrote the file.

The body is sanitised here (it is shown as HTML): no scripts, styles, frames, embeds, event
handlers or non-http(s) links; links get `rel="nofollow noopener"`; Zhihu's redirect links
(link.zhihu.com/?target=…) point straight at their target; lazily loaded pictures keep their
real address, pictures without an http(s) one are dropped.
"""

import datetime
import html
import json
import re
from urllib.parse import parse_qs, quote, urlsplit

import nh3
from django.utils import timezone
from django.utils.translation import gettext as _

from library.importers.base import ImportFailed, ParsedItem, Problem
from library.models import LibraryItem

ARTICLE_LISTS = ("articles", "article")
MAX_URL = LibraryItem._meta.get_field("source_url").max_length
MAX_KEY = LibraryItem._meta.get_field("source_key").max_length
MAX_TITLE = LibraryItem._meta.get_field("title").max_length
MAX_AUTHOR = LibraryItem._meta.get_field("author_name").max_length
MAX_UPVOTES = 2_147_483_647  # PositiveIntegerField on every database

_ID_FIELDS = ("id", "articleId", "article_id")
_CONTENT_FIELDS = ("content", "content_html", "contentHtml", "html")
_UPVOTE_FIELDS = ("upvote", "upvotes", "voteup_count", "voteupCount", "likes")
_TOPIC_FIELDS = ("topic", "topics", "tags")
_DATE_FIELDS = (
    "created", "created_time", "createdTime", "created_at", "published", "published_at",
    "publishedTime", "publish_time",
)  # fmt: skip
_ARTICLE_URL = re.compile(r"^https?://(?:zhuanlan\.zhihu\.com/p|api\.zhihu\.com/articles)/(\d+)")
_IMG = re.compile(r"<img\b([^>]*)>")
_ATTRIBUTE = re.compile(r'([\w:-]+)="([^"]*)"')

ALLOWED_TAGS = {
    "a", "p", "br", "hr", "b", "strong", "i", "em", "u", "s", "del", "sub", "sup", "mark",
    "code", "pre", "blockquote", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption",
    "figure", "figcaption", "img",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "ol": {"start"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
# Removed with everything inside them; any other tag not allowed is dropped, its text kept.
REMOVED_WITH_CONTENT = {
    "script", "style", "noscript", "iframe", "object", "embed", "template", "svg", "math",
    "textarea", "select", "head", "title",
}  # fmt: skip
_SCHEMES = {"http", "https"}
_ZHIHU = ("rewrite_with_base", "https://zhuanlan.zhihu.com/")

# First pass: Zhihu's markup down to what we allow, plus the lazy pictures' real addresses.
_first_pass = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    clean_content_tags=REMOVED_WITH_CONTENT,
    attributes={**ALLOWED_ATTRIBUTES, "img": {"src", "alt", "title", "data-actualsrc"}},
    attribute_filter=lambda tag, name, value: _unwrap_redirect(value) if name == "href" else value,
    url_schemes=_SCHEMES,
    url_relative=_ZHIHU,
    link_rel=None,
)
# Second pass: the final allow-list. It checks every address again, including those that the
# first pass's attribute filter and the picture rewrite produced.
_final_pass = nh3.Cleaner(
    tags=ALLOWED_TAGS,
    clean_content_tags=REMOVED_WITH_CONTENT,
    # Only `_picture` writes these two: the first pass drops them from the source.
    attributes={**ALLOWED_ATTRIBUTES, "img": {"src", "alt", "title", "loading", "referrerpolicy"}},
    url_schemes=_SCHEMES,
    url_relative=_ZHIHU,
    link_rel="nofollow noopener",
)


def _unwrap_redirect(href: str) -> str:
    """link.zhihu.com/?target=X → X: readers go straight there, Zhihu does not track them."""
    parts = urlsplit(href)
    if parts.netloc == "link.zhihu.com":
        targets = parse_qs(parts.query).get("target")
        if targets and urlsplit(targets[0]).scheme in _SCHEMES:
            return targets[0]
    return href


def _picture(match: re.Match) -> str:
    attributes = {name: html.unescape(value) for name, value in _ATTRIBUTE.findall(match[1])}
    alt = html.escape(attributes.get("alt", ""))
    for name in ("data-actualsrc", "src"):
        address = attributes.get(name, "")
        if address.startswith(("https://", "http://")):
            return (
                f'<img src="{html.escape(address)}" alt="{alt}" loading="lazy" '
                'referrerpolicy="no-referrer">'
            )
    # A formula keeps its TeX source as text; any other picture without an address goes.
    return alt


def sanitise_html(body: str) -> str:
    return _final_pass.clean(_IMG.sub(_picture, _first_pass.clean(body)))


def _picture_link(match: re.Match) -> str:
    attributes = {name: html.unescape(value) for name, value in _ATTRIBUTE.findall(match[1])}
    address = attributes.get("src", "")
    if not address.startswith(("https://", "http://")):
        return html.escape(attributes.get("alt", ""))
    label = attributes.get("alt") or _("picture")
    return (
        f'<a href="{html.escape(address)}" class="picture-link" '
        f'rel="nofollow noopener noreferrer">[{html.escape(label)}]</a>'
    )


def pictures_as_links(body: str) -> str:
    """An article's stored HTML as the item page shows it: each picture becomes a link to
    where it is hosted. The site loads nothing from other hosts (its Content-Security-Policy
    would block the picture), and Zhihu's picture servers would see our readers."""
    return _IMG.sub(_picture_link, body)


def _first(article: dict, names: tuple[str, ...]) -> tuple[str, object]:
    for name in names:
        if article.get(name) not in (None, ""):
            return name, article[name]
    return names[0], None


def _text(value) -> str:
    return " ".join(str(value).split()) if isinstance(value, str | int) else ""


def _web_url(value) -> str:
    url = _text(value)
    if urlsplit(url).scheme in _SCHEMES and urlsplit(url).netloc and len(url) <= MAX_URL:
        return url
    return ""


def _article_url(article: dict) -> str:
    url = _web_url(article.get("url"))
    if api := re.match(r"^https?://api\.zhihu\.com/articles/(\d+)$", url):
        return f"https://zhuanlan.zhihu.com/p/{api[1]}"
    return url


def _author(article: dict) -> tuple[str, str]:
    author = article.get("author")
    if isinstance(author, dict):
        name = _text(author.get("name"))
        token = _text(author.get("url_token"))
        url = _web_url(
            f"https://www.zhihu.com/people/{quote(token)}" if token else author.get("url")
        )
        return name[:MAX_AUTHOR], url
    name = _text(article.get("userName") or article.get("author_name") or author or "")
    return name[:MAX_AUTHOR], _web_url(article.get("userLink") or article.get("author_url"))


def _tags(value) -> list[str]:
    if not isinstance(value, list):
        return []
    names = []
    for entry in value:
        if isinstance(entry, dict):
            entry = entry.get("tag") or entry.get("name") or entry.get("title")
        if name := _text(entry):
            names.append(name)
    return list(dict.fromkeys(names))


def _upvotes(value) -> int | None:
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_UPVOTES:
        return value
    raise ValueError


def _published(value) -> datetime.datetime:
    """Epoch seconds or milliseconds, or an ISO 8601 date (Beijing time if it has no zone),
    between 1990 and 2100 — anything else is not a publication date (ValueError)."""
    try:
        moment = _moment(value)
    except (OverflowError, OSError) as error:
        raise ValueError from error
    if not 1990 <= moment.year <= 2100:
        raise ValueError
    return moment


def _moment(value) -> datetime.datetime:
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 100_000_000_000 else value
        return datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)
    if isinstance(value, str):
        moment = datetime.datetime.fromisoformat(value.strip())
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment, timezone.get_default_timezone())
        return moment
    raise ValueError


def _key(article: dict, url: str) -> str:
    _name, article_id = _first(article, _ID_FIELDS)
    if isinstance(article_id, int | str) and _text(article_id):
        return _text(article_id)[:MAX_KEY]
    if number := _ARTICLE_URL.match(url):
        return number[1]
    return url[:MAX_KEY]


def _load(data: bytes | str):
    if isinstance(data, bytes):
        from library.importers.detect import read_text

        data = read_text(data)
    try:
        return _scrub(json.loads(data.removeprefix("\ufeff")))
    except json.JSONDecodeError as error:
        raise ImportFailed(
            _("The file is not valid JSON: %(error)s (line %(line)d, column %(column)d).")
            % {"error": error.msg, "line": error.lineno, "column": error.colno}
        ) from None
    except (RecursionError, ValueError):  # nested too deeply, a number with 5,000 digits
        raise ImportFailed(_("The file is not JSON that can be read.")) from None


_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _scrub(value):
    """JSON may escape lone UTF-16 surrogates (\\ud800), which no database or sanitiser
    takes: they become U+FFFD, the replacement character."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_scrub(entry) for entry in value]
    if isinstance(value, dict):
        return {_scrub(key): _scrub(entry) for key, entry in value.items()}
    return value


def parse_zhihu(data: bytes | str) -> tuple[list[ParsedItem], list[Problem]]:
    document = _load(data)
    list_name = next(
        (name for name in ARTICLE_LISTS if isinstance(document, dict) and name in document), None
    )
    if list_name is None or not isinstance(document[list_name], list):
        raise ImportFailed(
            _(
                "This JSON is not a Zhihu column export: expected an object with a list of "
                "articles under “article” or “articles”."
            )
        )
    items: list[ParsedItem] = []
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for index, article in enumerate(document[list_name]):
        where = f"$.{list_name}[{index}]"
        if not isinstance(article, dict):
            problems.append(Problem(where, _("not an article (an object was expected).")))
            continue
        title = _text(article.get("title"))
        url = _article_url(article)
        if not title:
            problems.append(Problem(f"{where}.title", _("the article has no title; skipped.")))
            continue
        if not url:
            problems.append(Problem(f"{where}.url", _("the article has no web address; skipped.")))
            continue
        key = _key(article, url)
        if key in seen:
            problems.append(
                Problem(where, _("the same article as %(other)s; skipped.") % {"other": seen[key]})
            )
            continue
        seen[key] = where
        item = _item(article, key=key, title=title, url=url, where=where, problems=problems)
        item.position = len(items)
        items.append(item)
    return items, problems


def _item(
    article: dict, *, key: str, title: str, url: str, where: str, problems: list
) -> ParsedItem:
    author_name, author_url = _author(article)
    _name, content = _first(article, _CONTENT_FIELDS)
    upvotes = published = None
    name, value = _first(article, _UPVOTE_FIELDS)
    if value is not None:
        try:
            upvotes = _upvotes(value)
        except ValueError:
            problems.append(Problem(f"{where}.{name}", _("not a number of upvotes; left out.")))
    name, value = _first(article, _DATE_FIELDS)
    if value is not None:
        try:
            published = _published(value)
        except (ValueError, OverflowError, OSError):
            problems.append(Problem(f"{where}.{name}", _("not a date; left out.")))
    _name, topics = _first(article, _TOPIC_FIELDS)
    return ParsedItem(
        key=key,
        title=title[:MAX_TITLE],
        kind=LibraryItem.Kind.ARTICLE,
        source_url=url,
        content_html=sanitise_html(content) if isinstance(content, str) else "",
        tags=_tags(topics),
        author_name=author_name,
        author_url=author_url,
        upvotes=upvotes,
        published_at=published,
        year=timezone.localtime(published).year if published else None,
    )
