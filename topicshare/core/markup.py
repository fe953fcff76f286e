"""User-written markdown to safe HTML. The only way user text becomes HTML on this site.

A render costs at most a fixed amount of work, whatever the text — not only for friendly
text. markdown-it is linear in its input except where markup repeats or pads what was written;
those places are bounded here, so that the work and the size of the HTML are proportional to
at most MAX_SOURCE_CHARS characters:

- at most MAX_SOURCE_CHARS characters are parsed: the longest text a field takes (forms and
  models refuse longer ones, topicshare/core/limits.py); anything longer is cut;
- blocks (quotes, lists) and inline markup nest at most MAX_NESTING deep; deeper text is
  dropped by markdown-it's own `maxNesting`;
- a table has at most MAX_TABLE_COLUMNS columns and a text at most MAX_TABLE_CELLS cells.
  markdown-it pads every row to the header's width, so that a wide header above many lines
  of "|" would turn two characters into a row of cells; rows beyond the budget stay text;
- the addresses and titles of links and images, which a reference definition repeats at
  every use ("[a]: <10,000 characters>" then "[a][a][a]…"), add up to at most
  MAX_LINK_CHARS characters; further links show their text only;
- a link destination is scanned by a regular expression from one bracket to the next,
  instead of markdown-it's loop over every character: at each "](" it may read up to 32
  nested parentheses ahead, which made "[![](" repeated twice as costly as other texts.

Stored markdown is rendered once, when it is saved (`RenderedMarkdown`), never per view.
tests/hostile/test_markdown_cost.py renders pathological texts of the largest allowed size
and counts the calls made and the bytes written.
"""

import re
from types import SimpleNamespace

import nh3
from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt
from markdown_it import helpers as markdown_it_helpers
from markdown_it.common.utils import unescapeAll
from markdown_it.rules_block.table import table as _markdown_it_table

from topicshare.core.limits import MARKDOWN_MAX_CHARS

MAX_SOURCE_CHARS = MARKDOWN_MAX_CHARS
MAX_NESTING = 10
MAX_TABLE_COLUMNS = 20
MAX_TABLE_CELLS = 2_000
MAX_LINK_CHARS = 2 * MAX_SOURCE_CHARS

ALLOWED_TAGS = {
    "a", "p", "br", "hr", "strong", "em", "del", "s", "code", "pre", "blockquote",
    "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
# No <img>: pictures from other hosts often do not load for our readers, and they track them.
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}

_CELLS_LEFT = "topicshare_table_cells_left"


def _bounded_table(state, start_line: int, end_line: int, silent: bool) -> bool:
    """markdown-it's table rule within the column limit and the text's budget of cells."""
    if not _markdown_it_table(state, start_line, end_line, True):
        return False
    delimiter_row = state.src[
        state.bMarks[start_line + 1] + state.tShift[start_line + 1] : state.eMarks[start_line + 1]
    ]
    columns = sum(1 for part in delimiter_row.split("|") if part.strip())
    cells_left = state.env.get(_CELLS_LEFT, MAX_TABLE_CELLS)
    body_rows = cells_left // columns - 1  # the header row is one row of the budget
    if columns > MAX_TABLE_COLUMNS or body_rows < 0:
        return False
    if silent:
        return True
    # The table ends where its budget does; the lines below are read as ordinary text.
    found = _markdown_it_table(state, start_line, min(end_line, start_line + 2 + body_rows), False)
    state.env[_CELLS_LEFT] = cells_left - columns * (1 + state.line - (start_line + 2))
    return found


def _bounded_links(state) -> None:
    """Core rule: once the addresses and titles of the text's links and images add up to
    MAX_LINK_CHARS, the further ones become their bare text."""
    chars_left = MAX_LINK_CHARS
    for block in state.tokens:
        dropped = []  # per link_open: was it dropped? (a stack, for its link_close)
        for token in block.children or ():
            if token.type in ("link_open", "image"):
                cost = sum(len(str(value)) for value in (token.attrs or {}).values())
                drop = cost > chars_left
                chars_left -= 0 if drop else cost
                if token.type == "link_open":
                    dropped.append(drop)
            elif token.type == "link_close":
                drop = dropped.pop() if dropped else False
            else:
                continue
            if drop:
                # An image's alt text is in its children; a link's text follows its opening.
                token.type, token.tag, token.nesting = "text", "", 0
                token.attrs, token.children, token.content = {}, None, ""


# What ends or nests a link destination: spaces and control characters, "\\", "(" and ")".
_DESTINATION_STOP = re.compile(r"[\x00-\x20\x7f\\()]")
_MAX_DESTINATION_PARENS = 32  # CommonMark's (and markdown-it's) limit


class _Destination:
    __slots__ = ("ok", "pos", "str")  # what markdown-it's rules read of the result

    def __init__(self):
        self.ok, self.pos, self.str = False, 0, ""


def parse_link_destination(string: str, pos: int, maximum: int) -> _Destination:
    """markdown-it's parseLinkDestination, the same result (tests/hostile/test_markdown_cost
    compares them), but jumping between the characters that matter."""
    if pos < maximum and string[pos] == "<":  # <…>: a short scan to the end of the line
        return markdown_it_helpers.parseLinkDestination(string, pos, maximum)
    result, start, level = _Destination(), pos, 0
    while pos < maximum:
        found = _DESTINATION_STOP.search(string, pos, maximum)
        if found is None:
            pos = maximum
            break
        pos = found.start()
        char = string[pos]
        if char == "\\" and pos + 1 < maximum:
            if string[pos + 1] == " ":
                break
            pos += 2
        elif char == "\\":
            pos += 1
        elif char == "(":
            level += 1
            if level > _MAX_DESTINATION_PARENS:
                return result
            pos += 1
        elif char == ")" and level:
            level -= 1
            pos += 1
        else:  # a space, a control character, or an unmatched ")"
            break
    if start == pos or level:
        return result
    result.str, result.pos, result.ok = unescapeAll(string[start:pos]), pos, True
    return result


_markdown = (
    # Raw HTML in the source is escaped, not passed through; links are limited to safe schemes.
    MarkdownIt(
        "commonmark",
        {"html": False, "linkify": False, "breaks": True, "maxNesting": MAX_NESTING},
    ).enable(["table", "strikethrough"])
)
_markdown.block.ruler.at("table", _bounded_table, {"alt": ["paragraph", "reference"]})
_markdown.core.ruler.after("inline", "bounded_links", _bounded_links)
_markdown.helpers = SimpleNamespace(
    parseLinkLabel=markdown_it_helpers.parseLinkLabel,
    parseLinkDestination=parse_link_destination,
    parseLinkTitle=markdown_it_helpers.parseLinkTitle,
)


def render_markdown(text: str) -> SafeString:
    html = _markdown.render((text or "")[:MAX_SOURCE_CHARS], {})
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(clean)  # noqa: S308 — nh3 has just sanitised it


class RenderedMarkdown:
    """Model mixin: each markdown field's sanitised HTML is stored beside it (in
    `markdown_fields`: source → HTML field) and rendered when the source is saved, so that
    pages show it without rendering. Writes that bypass save() (bulk_create) call
    `render_markdown_fields()` themselves."""

    markdown_fields: dict[str, str] = {}

    def render_markdown_fields(self, update_fields=None) -> list[str]:
        """Render the sources among `update_fields` (all when None); the HTML fields set."""
        rendered = []
        for source, target in self.markdown_fields.items():
            if update_fields is None or source in update_fields:
                setattr(self, target, str(render_markdown(getattr(self, source))))
                rendered.append(target)
        return rendered

    def save(self, *args, **kwargs):
        update_fields = kwargs.get("update_fields")
        rendered = self.render_markdown_fields(update_fields)
        if update_fields is not None and rendered:
            kwargs["update_fields"] = [*update_fields, *rendered]
        super().save(*args, **kwargs)


def render_stored_markdown(
    model, *, source: str = "summary", target: str = "summary_html", batch_size: int = 500
) -> None:
    """Fill `target` of every row of `model` from its markdown `source`: for migrations (whose
    historical models have no save() of ours) and after the renderer changed."""
    rows = model.objects.exclude(**{source: ""}).only("pk", source).order_by("pk")
    batch = []
    for row in rows.iterator(chunk_size=batch_size):
        setattr(row, target, str(render_markdown(getattr(row, source))))
        batch.append(row)
        if len(batch) == batch_size:
            model.objects.bulk_update(batch, [target])
            batch = []
    model.objects.bulk_update(batch, [target])
