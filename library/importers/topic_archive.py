"""The archive of past shares in the forum's README ("九、TopicShare 分享 Topic 管理").

What the parser understands:
- Only the archive section is read: the `#`/`##` heading that names it ("… Topic 管理",
  "archive", "往期…") up to the next heading of its level. Without such a heading the whole
  file is read (a file that is just an archive), but the lists of `#`/`##` sections that have
  no season heading in them are other parts of a README and are passed over quietly. Tables
  of contents (links to `#anchors` only), fenced code and HTML comments are skipped.
- Season headings: `### Topic 7`, `### 初期` (also "Season 2", "第3期", "2021 秋季").
- Domain headings: `#### Topic 5 >> 自然语言处理` (the season part also opens that season), or
  any heading deeper than the open season (`#### 推荐系统`); a heading deeper still is a
  sub-theme. `自然语言处理 之 文本匹配` is the domain 自然语言处理 with the sub-theme 文本匹配.
  A non-season heading not deeper than the season closes the season.
- Items are numbered list lines (`1.`, `1)`, `1、`); lines that follow an item without a blank
  line continue it (a title wrapped onto the next line). An item is
  `[Title](link)` or plain text, then 【】 blocks in any order: presenters `【杨夕】` (empty
  `【】` allowed), labelled links `【[论文](url)】` / `【[paper](url)】` /
  `【[视频分享](url) 提取码：g1ky 】` (the code may come without a label), and notes such as
  `【视频有需要找负责人拿，谢谢】`.
- Indented numbered (or bulleted) lines are the related papers of the item above them.

The title's link of a talk is its slides when it points to a PDF or PowerPoint file, otherwise
its source (an article, a notes page). A paper's link is its paper when it is a PDF.

Keys are positions: "Topic 5/自然语言处理/4", its 2nd paper "Topic 5/自然语言处理/4/2". Items
are counted, not read by their written number, so "1." on every line works too.

Problems (with the line number) for lines that look like items but cannot be read: unclosed
brackets, no title, an item outside any season, a link that is not http(s), a relative link
without a base address, values longer than the library stores. Only input that is not text
raises ImportFailed.
"""

import re
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from urllib.parse import unquote, urljoin, urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.translation import gettext as _

from library.importers.base import Heading, ImportFailed, ParsedItem, Problem
from library.models import LibraryItem
from members.placeholders import NAME_MAX_LENGTH
from sessions.models import Season, Track

MAX_TITLE = LibraryItem._meta.get_field("title").max_length
MAX_URL = LibraryItem._meta.get_field("slides_url").max_length
MAX_SUB_THEME = LibraryItem._meta.get_field("sub_theme").max_length
MAX_SEASON = Season._meta.get_field("label").max_length
MAX_DOMAIN = Track._meta.get_field("name_zh").max_length

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_RULE = re.compile(r"^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$")
_NUMBERED = re.compile(
    r"^(?P<indent>[ \t]*)\d{1,4}(?:[.)．](?:[ \t]+|(?=[\[【]))|、[ \t]*)(?P<rest>.*)$"
)
_BULLET = re.compile(r"^(?P<indent>[ \t]*)[-*+][ \t]+(?P<rest>.*)$")
_ARCHIVE_HEADING = re.compile(
    r"topic\s*管理|archive|往期|历史分享|past\s+(?:topics|talks|shares|sessions)", re.IGNORECASE
)
_SEASON = re.compile(
    r"^(?:(?P<word>topic|season)\s*(?P<number>\d{1,3})"
    r"|第\s*[0-9一二三四五六七八九十百]{1,4}\s*[期季届轮]"
    r"|初期|早期|前期"
    r"|(?:19|20)\d\d\s*年?\s*(?:[春夏秋冬]季?|上半年|下半年|Q[1-4])?)$",
    re.IGNORECASE,
)
_TRAILING_PARENTHESIS = re.compile(r"\s*[（(][^（()）]*[)）]$")
_ARROW = re.compile(r"\s*(?:>>|»|》|→)\s*")
_SUB_THEME = re.compile(r"\s*之\s*")
_NUMBERING = re.compile(
    r"^(?:\d+(?:\.\d+)*[.、．)]|\d+(?:\.\d+)+|[一二三四五六七八九十]+[、.．])\s*"
)
_INLINE_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_TAG = re.compile(r"</?[a-zA-Z][^>]*>")
_EMPHASIS = re.compile(r"\*\*|__|`|~~")
_NAME_SEPARATORS = re.compile(r"\s*[、,，;；/&＆]\s*")
_PRESENTER_PREFIX = re.compile(
    r"^(?:主讲人?|分享人|分享者|讲者|presenters?|speakers?|by)\s*[:：]\s*", re.IGNORECASE
)
_CODE = re.compile(
    r"^(?:(?:提取码|提取密码|密码|访问码|code|pwd|password|passcode)\s*[:：]?\s*)?"
    r"([A-Za-z0-9]{2,20})$",
    re.IGNORECASE,
)
_LABELLED_CODE = re.compile(
    r"^(?:提取码|提取密码|密码|访问码|code|pwd|password|passcode)\s*[:：]?\s*([A-Za-z0-9]{2,20})$",
    re.IGNORECASE,
)
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_SENTENCE_MARKS = re.compile(r"[。！？!?：:“”\"]")
# Words of a remark, not of a name ("视频有需要找负责人拿，谢谢", "资料整理中，稍后上传").
_NOTE_WORDS = (
    "视频", "谢谢", "联系", "需要", "负责人", "请", "稍后", "上传", "整理", "后续", "补充",
    "资料", "链接", "下载", "群", "暂", "video", "contact", "please", "later", "soon",
)  # fmt: skip
_NOBODY = {"无", "暂无", "待定", "未定", "未知", "tbd", "tba", "n/a", "none", "-", "—"}

_LINK_ROLES = {
    **dict.fromkeys(["论文", "原文", "论文原文", "论文地址", "论文链接", "paper", "pdf"], "paper"),
    **dict.fromkeys(
        ["视频", "视频分享", "视频回放", "回放", "录像", "录屏", "录播", "video", "recording"],
        "recording",
    ),
    **dict.fromkeys(["ppt", "pptx", "slides", "slide", "课件", "幻灯片", "讲义"], "slides"),
    **dict.fromkeys(["笔记", "文章", "博客", "blog", "article", "notes"], "source"),
}
_SLIDES_SUFFIXES = {".pdf", ".ppt", ".pptx", ".pps", ".ppsx", ".key", ".odp"}
_POWERPOINT_SUFFIXES = _SLIDES_SUFFIXES - {".pdf"}
_is_web_address = URLValidator(schemes=["http", "https"])


# A line of a table of contents: links to headings of the same file only. Not an item.
_CONTENTS_ENTRY = ParsedItem(key="", title="")
# 【】 inside 【】 deeper than this is not a README someone wrote by hand.
_MAX_NESTING = 20


class _Unreadable(Exception):
    """One item line cannot be read; the message is for the user."""


@dataclass
class _Link:
    text: str
    target: str


@dataclass
class _Block:
    parts: list = field(default_factory=list)  # str, _Link and _Block, in order


@dataclass
class _Open:
    """An item that may still receive children."""

    indent: int
    key: str
    children: int = 0


def parse_topic_archive(text: str, *, base_url: str = "") -> tuple[list[ParsedItem], list[Problem]]:
    """The items of the archive in `text`, in file order, and the problems found on the way."""
    return _Parser(_as_text(text), base_url=base_url).run()


def _as_text(text) -> str:
    if isinstance(text, bytes | bytearray):
        try:
            text = bytes(text).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ImportFailed(_("The file is not UTF-8 text.")) from exc
    if not isinstance(text, str):
        raise ImportFailed(_("The archive must be text."))
    if "\x00" in text:
        raise ImportFailed(_("The file is binary, not text."))
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    return _without_comments(text)


def _without_comments(text: str) -> str:
    """Commented-out markdown is not shown, so it is not imported. The newlines stay, so line
    numbers stay right; an unclosed comment is left as it is (linear even then)."""
    pieces, position = [], 0
    while (start := text.find("<!--", position)) != -1:
        end = text.find("-->", start + 4)
        if end == -1:
            break
        pieces += [text[position:start], "\n" * text.count("\n", start, end)]
        position = end + 3
    return "".join(pieces) + text[position:]


def _indent(whitespace: str) -> int:
    return len(whitespace.expandtabs(4))


def _plain(text: str) -> str:
    text = _INLINE_LINK.sub(r"\1", text)
    text = _EMPHASIS.sub("", _TAG.sub(" ", text))
    text = re.sub(r"\\(.)", r"\1", text)
    return " ".join(text.split())


def _heading_parts(text: str) -> list[str]:
    """Split "Topic 5 >> 自然语言处理" into ["Topic 5", "自然语言处理"], numbering dropped."""
    return [part for part in _ARROW.split(_NUMBERING.sub("", text)) if part]


def _heading_season(text: str) -> str:
    parts = _heading_parts(text)
    return _season_label(parts[0]) if parts else ""


def _season_label(text: str) -> str:
    text = _TRAILING_PARENTHESIS.sub("", text)
    match = _SEASON.match(text)
    if not match:
        return ""
    if match["word"]:
        return f"{match['word'].capitalize()} {int(match['number'])}"
    return " ".join(text.split())


class _Parser:
    def __init__(self, text: str, *, base_url: str):
        self.lines = text.split("\n")
        self.base_url = base_url.strip()
        self.items: list[ParsedItem] = []
        self.problems: list[Problem] = []
        self.season = ""
        self.season_level = 0
        self.domain = ""
        self.domain_level = 0
        self.sub_theme = ""
        self.open: list[_Open] = []
        self.counters: dict[tuple[str, str], int] = {}
        self.keys: set[str] = set()
        self.quiet: set[int] = set()

    # ---- the file ----------------------------------------------------------------------

    def run(self) -> tuple[list[ParsedItem], list[Problem]]:
        region = self._archive_region()
        if region is None:  # a file that is just an archive, maybe with a title and notes
            index, end = 0, len(self.lines)
            self.quiet = self._sections_without_seasons()
        else:
            index, end = region
        while index < end:
            index = self._line(index, end)
        return self.items, self.problems

    def _visible(self, start: int, end: int):
        """(index, line) outside fenced code."""
        fence = ""
        for index in range(start, end):
            line = self.lines[index]
            match = _FENCE.match(line)
            if fence:
                if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence):
                    fence = ""
                continue
            if match:
                fence = match.group(1)
                continue
            yield index, line

    def _archive_region(self) -> tuple[int, int] | None:
        """The lines of the section that names itself the archive, if there is one."""
        start = level = None
        for index, line in self._visible(0, len(self.lines)):
            heading = Heading.match(line)
            if not heading:
                continue
            if start is not None and len(heading.group(1)) <= level:
                return start, index
            named = _ARCHIVE_HEADING.search(_plain(heading.group(2)))
            if start is None and len(heading.group(1)) <= 2 and named:
                start, level = index + 1, len(heading.group(1))
        return None if start is None else (start, len(self.lines))

    def _sections_without_seasons(self) -> set[int]:
        """The lines of top-level sections (`#`, `##`) that have no season heading: the other
        parts of a README, whose lists are not items."""
        quiet: set[int] = set()
        section: list[int] = []
        has_season = False
        for index, line in self._visible(0, len(self.lines)):
            heading = Heading.match(line)
            season = bool(heading and _heading_season(_plain(heading.group(2))))
            if heading and len(heading.group(1)) <= 2 and not season:
                quiet.update(() if has_season else section)
                section, has_season = [], False
            section.append(index)
            has_season = has_season or season
        quiet.update(() if has_season else section)
        return quiet

    def _line(self, index: int, end: int) -> int:
        """Handle the line at `index`; the index of the next line to read."""
        line = self.lines[index]
        fence = _FENCE.match(line)
        if fence:
            return self._after_fence(index, end, fence.group(1))
        heading = Heading.match(line)
        if heading:
            self.open.clear()
            self._heading(index, len(heading.group(1)), _plain(heading.group(2)))
            return index + 1
        if not line.strip():
            return index + 1
        numbered = _NUMBERED.match(line)
        bullet = None if numbered or _RULE.match(line) else _BULLET.match(line)
        match = numbered or bullet
        if match:
            indent = _indent(match["indent"])
            if bullet and not (self.open and indent >= self.open[0].indent + 2):
                self.open.clear()  # a list of its own (a table of contents, remarks)
                return index + 1
            following = index + 1
            parts = [match["rest"]]
            while following < end and self._continues(self.lines[following]):
                parts.append(self.lines[following].strip())
                following += 1
            self._item(index + 1, indent, " ".join(parts))
            return following
        if _indent(line[: len(line) - len(line.lstrip())]) < 2:
            self.open.clear()  # a paragraph ends the list
        return index + 1

    def _after_fence(self, index: int, end: int, fence: str) -> int:
        for following in range(index + 1, end):
            match = _FENCE.match(self.lines[following])
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence):
                return following + 1
        return end

    @staticmethod
    def _continues(line: str) -> bool:
        return bool(
            line.strip()
            and not Heading.match(line)
            and not _FENCE.match(line)
            and not _RULE.match(line)
            and not _NUMBERED.match(line)
            and not _BULLET.match(line)
        )

    def _problem(self, number: int, message: str) -> None:
        self.problems.append(Problem(_("line %(number)d") % {"number": number}, message))

    # ---- headings ----------------------------------------------------------------------

    def _heading(self, number: int, level: int, text: str) -> None:
        line = number + 1
        parts = _heading_parts(text)
        if not parts:
            return
        label = _season_label(parts[0])
        if len(parts) == 1 and label:
            self._open_season(line, label, level)
        elif len(parts) == 1 and self.season and self.domain and level > self.domain_level:
            self._set_domain(line, self.domain, parts[0], level=self.domain_level)
        elif len(parts) == 1 and self.season and level > self.season_level:
            self._set_domain(line, *_SUB_THEME.split(parts[0], maxsplit=1), level=level)
        elif len(parts) > 1 and label:
            if label != self.season or level <= self.season_level:
                self._open_season(line, label, level - 1)
            domain = _SUB_THEME.split(parts[1], maxsplit=1)
            self._set_domain(line, *domain, *parts[2:], level=level)
        elif len(parts) > 1 and self.season and level > self.season_level:
            self._set_domain(line, *parts, level=level)  # "NLP >> 文本匹配" under a season
        else:
            self.season = self.domain = self.sub_theme = ""

    def _open_season(self, line: int, label: str, level: int) -> None:
        self.season = self._fit(
            line,
            label,
            MAX_SEASON,
            _("the season is longer than %(limit)d characters; it is cut short."),
        )
        self.season_level = level
        self.domain = self.sub_theme = ""

    def _set_domain(self, line: int, domain: str, *sub_themes: str, level: int) -> None:
        self.domain_level = level
        self.domain = self._fit(
            line,
            domain.strip(),
            MAX_DOMAIN,
            _("the domain is longer than %(limit)d characters; it is cut short."),
        )
        sub_theme = " / ".join(part.strip() for part in sub_themes if part.strip())
        self.sub_theme = self._fit(
            line,
            sub_theme,
            MAX_SUB_THEME,
            _("the sub-theme is longer than %(limit)d characters; it is cut short."),
        )

    def _fit(self, line: int, value: str, limit: int, message: str) -> str:
        """`value`, cut to `limit` characters with a problem (`message` takes %(limit)d)."""
        if len(value) <= limit:
            return value
        self._problem(line, message % {"limit": limit})
        return value[:limit].rstrip()

    # ---- items -------------------------------------------------------------------------

    def _item(self, line: int, indent: int, content: str) -> None:
        while self.open and indent < self.open[-1].indent + 2:
            self.open.pop()
        parent = self.open[-1] if self.open else None
        item = self._read_item(line, content, parent)
        if item is None or item is _CONTENTS_ENTRY:
            # Its sub-items must not become sub-items of the item before it.
            self.open.append(_Open(indent=indent, key=""))
            return
        self.items.append(item)
        self.open.append(_Open(indent=indent, key=item.key))

    def _read_item(self, line: int, content: str, parent: _Open | None) -> ParsedItem | None:
        """The item on this line; None (with a problem) if it cannot be read.

        An unreadable item still takes its place in the numbering, so that mending it later
        does not give the items after it other keys."""
        try:
            parts, error = _parse_inline(content), ""
        except _Unreadable as exc:
            parts, error = [], str(exc)
        links = [part for part in _walk(parts) if isinstance(part, _Link)]
        if links and all(link.target.strip().startswith("#") for link in links):
            return _CONTENTS_ENTRY
        if not self.season:
            if line - 1 not in self.quiet:
                self._problem(line, _("a numbered item outside any season heading; skipped."))
            return None
        if parent is not None and not parent.key:
            self._problem(line, _("belongs to an item that was skipped; skipped."))
            return None
        if parent is None:
            counter = (self.season, self.domain)
            self.counters[counter] = self.counters.get(counter, 0) + 1
            segments = [self.season, self.domain, str(self.counters[counter])]
            key = "/".join(_key_part(segment) for segment in segments if segment)
        else:
            parent.children += 1
            key = f"{parent.key}/{parent.children}"
        if key in self.keys:  # only a contrived file gets here: keys escape "/" in names
            self._problem(line, _("the same position as an earlier item; skipped."))
            return None
        self.keys.add(key)
        if error:
            self._problem(line, error)
            return None
        item = ParsedItem(
            key=key,
            title="",
            kind=LibraryItem.Kind.PAPER if parent else LibraryItem.Kind.TALK,
            season=self.season,
            domain=self.domain,
            sub_theme=self.sub_theme,
            parent_key=parent.key if parent else "",
            position=len(self.items) + 1,
        )
        return item if self._fill(line, item, parts) else None

    def _fill(self, line: int, item: ParsedItem, parts: list) -> bool:
        """Set the fields of `item` from the parsed line; False if it has no title."""
        first_block = next((i for i, p in enumerate(parts) if isinstance(p, _Block)), len(parts))
        title_parts, rest = parts[:first_block], parts[first_block:]
        title = _text(title_parts)
        title_link = next((part for part in title_parts if isinstance(part, _Link)), None)
        notes: list[str] = []
        if not title and rest and _is_title_block(rest[0]):
            # 【[【关于 实体关系联合抽取】 那些你不知道的事](url)】: the whole title in a block
            title_parts, rest = rest[0].parts, rest[1:]
            title = _text(title_parts)
            title_link = next(part for part in title_parts if isinstance(part, _Link))
        if not title:
            self._problem(line, _("the item has no title; skipped."))
            return False
        item.title = self._fit(
            line,
            title,
            MAX_TITLE,
            _("the title is longer than %(limit)d characters; it is cut short."),
        )
        if title_link:
            url = self._url(line, title_link.target)
            if url:
                is_paper = item.kind == LibraryItem.Kind.PAPER
                setattr(item, _title_link_field(url, paper=is_paper), url)
        for part in rest:
            if isinstance(part, _Block):
                self._block(line, item, part, notes)
            elif part.strip():
                notes.append(" ".join(part.split()))
        item.note = "\n".join(notes)
        return True

    def _block(self, line: int, item: ParsedItem, block: _Block, notes: list[str]) -> None:
        links = [part for part in block.parts if isinstance(part, _Link)]
        text = _text([part for part in block.parts if not isinstance(part, _Link)])
        if not links:
            self._plain_block(item, text, notes)
            return
        has_recording = False
        for link in links:
            role = _LINK_ROLES.get(link.text.strip(" :：").lower())
            url = self._url(line, link.target)
            name = {"paper": "paper_url", "recording": "recording_url"}.get(role, "")
            name = name or {"slides": "slides_url", "source": "source_url"}.get(role, "")
            if url and name and not getattr(item, name):
                setattr(item, name, url)
                has_recording = has_recording or role == "recording"
            elif url:
                notes.append(f"{link.text}: {url}" if link.text else url)
        code = _CODE.match(text) if has_recording else None
        if code:
            item.extraction_code = code.group(1)
        elif text:
            notes.append(text)

    def _plain_block(self, item: ParsedItem, text: str, notes: list[str]) -> None:
        code = _LABELLED_CODE.match(text)
        if code and not item.extraction_code:
            item.extraction_code = code.group(1)
            return
        names = _PRESENTER_PREFIX.sub("", text)
        if not names or names.lower() in _NOBODY:
            return
        people = [name.lstrip("@").strip() for name in _NAME_SEPARATORS.split(names)]
        people = [name for name in people if name]
        if not people or not all(_looks_like_a_name(name) for name in people):
            notes.append(text)
            return
        for name in people:
            if name not in item.presenters:
                item.presenters.append(name)

    def _url(self, line: int, target: str) -> str:
        """The absolute http(s) address of a link target, or "" (with a problem) if there is
        none to keep."""
        target = target.strip()
        if target.startswith("<") and ">" in target:
            target = target[1 : target.index(">")].strip()
        else:
            target = target.split()[0] if target.split() else ""
        if not target or target.startswith("#"):
            return ""
        try:
            relative = not urlsplit(target).scheme
            if relative and self.base_url:
                target = urljoin(self.base_url, target)
        except ValueError:  # "http://[::1" and the like
            relative = False
        if relative and not self.base_url:
            self._problem(
                line,
                _("“%(url)s” is a relative link and no base address was given; left out.")
                % {"url": target},
            )
            return ""
        if len(target) > MAX_URL:
            self._problem(
                line,
                _("a link is longer than %(limit)d characters; left out.") % {"limit": MAX_URL},
            )
            return ""
        try:
            _is_web_address(target)
        except ValidationError:
            self._problem(
                line,
                _("“%(url)s” is not a web address (http or https); left out.") % {"url": target},
            )
            return ""
        return target


def _key_part(value: str) -> str:
    return value.replace("%", "%25").replace("/", "%2F")


def _walk(parts: list):
    for part in parts:
        if isinstance(part, _Block):
            yield from _walk(part.parts)
        else:
            yield part


def _text(parts: list) -> str:
    pieces = []
    for part in parts:
        if isinstance(part, _Link):
            pieces.append(part.text)
        elif isinstance(part, _Block):
            pieces.append(f"【{_text(part.parts)}】")
        else:
            pieces.append(part)
    return _plain("".join(pieces))


def _is_title_block(part) -> bool:
    if not isinstance(part, _Block):
        return False
    links = [p for p in part.parts if isinstance(p, _Link)]
    return bool(links) and links[0].text.strip(" :：").lower() not in _LINK_ROLES


def _title_link_field(url: str, *, paper: bool) -> str:
    suffix = PurePosixPath(unquote(urlsplit(url).path)).suffix.lower()
    if paper:
        if suffix == ".pdf":
            return "paper_url"
        return "slides_url" if suffix in _POWERPOINT_SUFFIXES else "source_url"
    return "slides_url" if suffix in _SLIDES_SUFFIXES else "source_url"


def _looks_like_a_name(name: str) -> bool:
    lowered = name.lower()
    return (
        len(name) <= NAME_MAX_LENGTH
        and len(_CJK.findall(name)) <= 6
        and len(name.split()) <= 4
        and not _SENTENCE_MARKS.search(name)
        and not any(word in lowered for word in _NOTE_WORDS)
    )


# ---- inline markdown: links and 【】 blocks ------------------------------------------------


def _parse_inline(text: str) -> list:
    parts, _end = _parse_parts(text, 0, closing="", depth=0)
    return parts


def _parse_parts(text: str, position: int, *, closing: str, depth: int) -> tuple[list, int]:
    """Text, links and 【】 blocks from `position` up to `closing` (or the end)."""
    if depth > _MAX_NESTING:
        raise _Unreadable(_("“【” inside “【” too deeply; skipped."))
    parts: list = []
    plain: list[str] = []

    def flush():
        if plain:
            parts.append("".join(plain))
            plain.clear()

    while position < len(text):
        char = text[position]
        if char == "\\" and position + 1 < len(text):
            plain.append(text[position : position + 2])
            position += 2
        elif closing and char == closing:
            flush()
            return parts, position + 1
        elif char == "[":
            end = _matching(text, position, "[", "]")
            if end is None:
                raise _Unreadable(_("a “[” is never closed; skipped."))
            if end + 1 < len(text) and text[end + 1] == "(":
                target_end = _matching(text, end + 1, "(", ")")
                if target_end is None:
                    raise _Unreadable(_("the “(” of a link is never closed; skipped."))
                flush()
                label = text[position + 1 : end]
                parts.append(_Link(text=_plain(label), target=text[end + 2 : target_end]))
                position = target_end + 1
            else:  # bracketed text such as "[ACL2019]"
                plain.append(text[position : end + 1])
                position = end + 1
        elif char == "【":
            flush()
            inner, position = _parse_parts(text, position + 1, closing="】", depth=depth + 1)
            parts.append(_Block(inner))
        else:
            plain.append(char)
            position += 1
    if closing:
        raise _Unreadable(_("a “【” is never closed; skipped."))
    flush()
    return parts, position


def _matching(text: str, start: int, opening: str, closing: str) -> int | None:
    depth = 0
    position = start
    while position < len(text):
        char = text[position]
        if char == "\\":
            position += 2
            continue
        if char == opening:
            depth += 1
        elif char == closing:
            depth -= 1
            if depth == 0:
                return position
        position += 1
    return None
