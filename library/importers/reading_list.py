"""A categorised markdown reading list: headings are categories, list items are articles.

What the parser understands (the forum's reading lists are hand-written and loose):
- Headings of any level (`#` to `######`, up to three spaces before them) open a category.
  Numbering and trailing punctuation are dropped ("### 3.2 召回：" is the category "召回"). An
  item's tags are its heading path, outermost first ("推荐", "召回"). A heading that is the first
  of the file and the only one of its level is the document's title, not a category.
- An article is a list item (`-`, `*`, `+`, `1.`, `1)`, `1、`) or a line that starts with a
  markdown link. Its link is the first `[title](url)` in it, else a bare URL in it, else a
  bare URL on the line after it.
- The reader's comment (the note) is the text after the link plus the lines that follow the
  item (indented or not, also after blank lines) up to the next item or heading. Nested list
  items without a link are part of the comment; with a link they are articles of their own.
  Text in a section before its first item is the section's introduction and is skipped, so
  are fenced code and HTML comments.
- A title ending in a date like "-201904" gives the year.

Keys: an item is known by its URL, so reordering or renumbering the file, or moving an article
to another section, updates the same library item. A URL listed twice is one article with the
tags of both places. Changing an article's URL makes a new item (the old one stays).

Problems (the article is skipped): no link, a relative link without a base URL, a link that
is not http(s), a link longer than the library stores.
"""

import hashlib
import re
from urllib.parse import urljoin, urlsplit

from django.utils.translation import gettext as _

from library.importers.base import Heading, ParsedItem, Problem
from library.models import LibraryItem

MAX_URL = LibraryItem._meta.get_field("source_url").max_length
MAX_KEY = LibraryItem._meta.get_field("source_key").max_length
MAX_TITLE = LibraryItem._meta.get_field("title").max_length

_LIST_ITEM = re.compile(r"^(\s*)(?:[-*+]|\d{1,4}[.)、．])\s+(.*)$")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_TASK_BOX = re.compile(r"^\[[ xX]\]\s+")
# [text](url) or [text](<url> "title"); one level of parentheses inside the URL (Wikipedia).
_LINK = re.compile(
    r"(?<!!)\[(?P<text>[^\]]*)\]\(\s*<?(?P<url>[^\s()<>]*(?:\([^\s()]*\)[^\s()<>]*)*)>?"
    r"(?:\s+[\"'][^\"']*[\"'])?\s*\)"
)
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
# Chinese punctuation ends a bare URL; so do the closing brackets that wrap one.
_BARE_URL = re.compile(r"<?(https?://[^\s<>\"'，。；、）】》]+)>?")
_BARE_URL_LINE = re.compile(r"^\s*<?(https?://[^\s<>]+?)>?\s*$")
_NUMBERING = re.compile(r"^(?:\d+(?:\.\d+)*[.、．)]?|[一二三四五六七八九十百]+[、.．])\s*")
_EMPHASIS = re.compile(r"\*\*|__|`|~~")
_YEAR_SUFFIX = re.compile(r"[-_ ]((?:19|20)\d\d)(?:0[1-9]|1[0-2])?(?:\d\d)?\s*$")
# Link texts that say nothing about the article: the text before the link is its title.
_GENERIC_LINK_TEXTS = {"", "link", "链接", "原文", "地址", "here", "点击", "pdf", "paper", "论文"}
_TRAILING_PUNCTUATION = " \t:：;；,，。.-—|"


class _Item:
    def __init__(self, *, line: int, indent: int, tags: list[str], body: str):
        self.line = line
        self.indent = indent
        self.tags = tags
        self.title, self.url, rest = _split_item(body)
        self.note_lines: list[str] = [rest] if rest else []


def _plain(text: str) -> str:
    """Markdown inline text as plain text: images dropped, links as "text (url)"."""
    text = _IMAGE.sub("", text)
    text = _LINK.sub(lambda m: f"{m['text']} ({m['url']})" if m["text"] else m["url"], text)
    text = _EMPHASIS.sub("", text)
    return " ".join(text.split())


def _split_item(body: str) -> tuple[str, str, str]:
    """(title, url, rest of the line) of one item's first line."""
    body = _TASK_BOX.sub("", body.strip())
    link = _LINK.search(body)
    if link:
        before = _plain(body[: link.start()]).strip(_TRAILING_PUNCTUATION)
        after = _plain(body[link.end() :]).strip(_TRAILING_PUNCTUATION)
        text = _plain(link["text"])
        if text.lower() in _GENERIC_LINK_TEXTS or text.startswith(("http://", "https://")):
            if before:
                return before, link["url"], after
            return text or link["url"], link["url"], after
        return text, link["url"], " ".join(part for part in (before, after) if part)
    bare = _BARE_URL.search(body)
    if bare:
        before = _plain(body[: bare.start()]).strip(_TRAILING_PUNCTUATION)
        after = _plain(body[bare.end() :]).strip(_TRAILING_PUNCTUATION)
        return before or bare[1], bare[1], after
    return _plain(body).strip(_TRAILING_PUNCTUATION), "", ""


def _category(heading: str) -> str:
    text = _plain(heading).strip()
    category = _NUMBERING.sub("", text).strip(_TRAILING_PUNCTUATION)
    return category or text


def _key(url: str) -> str:
    if len(url) <= MAX_KEY:
        return url
    digest = hashlib.sha256(url.encode()).hexdigest()[:32]
    return f"{url[: MAX_KEY - len(digest) - 1]}#{digest}"


def _title_heading_line(lines: list[str]) -> int | None:
    """The line of the document's title heading, if it has one (see the module docstring)."""
    headings = [(number, len(m[1])) for number, m in _headings(lines)]
    if not headings:
        return None
    first_line, first_level = headings[0]
    if sum(1 for _line, level in headings if level == first_level) == 1:
        return first_line
    return None


def _headings(lines: list[str]):
    in_fence = False
    for number, line in enumerate(lines, start=1):
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
            continue
        if not in_fence and (match := Heading.match(line)):
            yield number, match


def parse_reading_list(text: str, *, base_url: str = "") -> tuple[list[ParsedItem], list[Problem]]:
    """Articles of a markdown reading list; `base_url` resolves relative links."""
    # Comments are dropped with their text, keeping the line numbers.
    text = _COMMENT.sub(lambda m: "\n" * m[0].count("\n"), text)
    lines = text.splitlines()
    title_line = _title_heading_line(lines)
    headings = dict(_headings(lines))
    path: list[tuple[int, str]] = []  # (level, category) of the enclosing headings
    raw_items: list[_Item] = []
    current: _Item | None = None
    in_fence = False

    for number, line in enumerate(lines, start=1):
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        if number in headings:
            current = None
            if number != title_line:
                level = len(headings[number][1])
                while path and path[-1][0] >= level:
                    path.pop()
                path.append((level, _category(headings[number][2])))
            continue
        if not line.strip() or _IMAGE.fullmatch(line.strip()):
            continue
        tags = [category for _level, category in path]
        list_item = _LIST_ITEM.match(line)
        if list_item:
            indent, body = len(list_item[1].expandtabs(4)), list_item[2]
            nested = current is not None and indent > current.indent
            if nested and not (_LINK.search(body) or _BARE_URL.search(body)):
                current.note_lines.append(_plain(body))
                continue
            current = _Item(line=number, indent=indent, tags=tags, body=body)
            raw_items.append(current)
        elif _LINK.match(line.strip()):
            current = _Item(
                line=number, indent=len(line) - len(line.lstrip()), tags=tags, body=line
            )
            raw_items.append(current)
        elif current is not None:
            bare = _BARE_URL_LINE.match(line)
            if bare and not current.url:
                current.url = bare[1]
            elif note := _plain(line):
                current.note_lines.append(note)

    return _parsed(raw_items, base_url=base_url)


def _parsed(raw_items: list[_Item], *, base_url: str) -> tuple[list[ParsedItem], list[Problem]]:
    items: dict[str, ParsedItem] = {}
    problems: list[Problem] = []
    for raw in raw_items:
        where = _("line %(number)d") % {"number": raw.line}
        url, problem = _absolute_url(raw.url, base_url=base_url, title=raw.title)
        if problem:
            problems.append(Problem(where, problem))
            continue
        note = "\n".join(raw.note_lines)
        key = _key(url)
        if key in items:
            known = items[key]
            known.tags += [tag for tag in raw.tags if tag not in known.tags]
            if note and note not in known.note:
                known.note = f"{known.note}\n{note}" if known.note else note
            continue
        year = _YEAR_SUFFIX.search(raw.title)
        items[key] = ParsedItem(
            key=key,
            title=(raw.title or url)[:MAX_TITLE],
            kind=LibraryItem.Kind.ARTICLE,
            source_url=url,
            note=note,
            tags=list(dict.fromkeys(raw.tags)),
            year=int(year[1]) if year else None,
            position=len(items),
        )
    return list(items.values()), problems


def _absolute_url(url: str, *, base_url: str, title: str) -> tuple[str, str]:
    """(the absolute URL, "") or ("", why the article is skipped)."""
    if not url:
        return "", _("“%(title)s” has no link; skipped.") % {"title": title}
    if not urlsplit(url).scheme:
        if not base_url:
            return "", _(
                "“%(title)s” links to “%(url)s”, a relative address; give a base URL to import it."
            ) % {"title": title, "url": url}
        url = urljoin(base_url, url)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "", _("“%(title)s”: “%(url)s” is not a web address; skipped.") % {
            "title": title,
            "url": url,
        }
    if len(url) > MAX_URL:
        return "", _("“%(title)s”: the link is longer than %(max)d characters; skipped.") % {
            "title": title,
            "max": MAX_URL,
        }
    return url, ""
