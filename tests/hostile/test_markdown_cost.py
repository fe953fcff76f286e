"""The cost of rendering markdown is bounded for any text, not only for friendly ones.

Pathological texts of the largest size a field accepts (topicshare.core.limits.MARKDOWN_MAX_CHARS)
are rendered, and the work is counted, not timed: the Python calls made (cProfile counts
them in C, deterministically) and the bytes written. A timing is printed for information
(`pytest -s`). Each shape is a known way to make a markdown parser work hard or write much:
brackets that open links and images, emphasis runs, nesting, wide tables and tables of
empty rows (which markdown-it pads to the header's width), entities, references repeated
at every use, long link destinations, many list levels.
"""

import cProfile
import pstats
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from markdown_it import helpers as markdown_it_helpers

from topicshare.core.limits import MARKDOWN_MAX_CHARS
from topicshare.core.markup import (
    MAX_TABLE_CELLS,
    MAX_TABLE_COLUMNS,
    parse_link_destination,
    render_markdown,
)

# Hypothesis's caches go to the temporary directory, not into the project.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "topicshare-hypothesis")

MAX = MARKDOWN_MAX_CHARS
# The worst shapes a random search around these found cost about 155 calls per character
# ("[![](](![!" repeated: every bracket opens a link or an image whose label and destination
# are read ahead). A render of the largest text then makes about 3 million calls.
CALLS_PER_CHAR = 200
# Link-dense text is the most verbose: "[](a)" becomes an <a> with rel="…", ~10 bytes per
# byte of input.
BYTES_PER_CHAR = 12


def fill(unit: str, prefix: str = "") -> str:
    """`prefix`, then `unit` repeated, cut to exactly MAX characters."""
    body = unit * ((MAX - len(prefix)) // len(unit) + 1)
    return (prefix + body)[:MAX]


def long_url(length: int) -> str:
    return "https://example.org/" + "x" * (length - 20)


SHAPES = {
    "open-brackets": fill("["),
    "close-brackets": fill("]"),
    "open-images": fill("!["),
    "bracket-image-destination": fill("[![]("),
    "nested-link-labels": fill("[[](!"),
    "bracket-image-pairs": fill("[![](](![!"),
    "bracket-emphasis": fill("[*"),
    "link-destination-parens": fill("(", "[a]("),
    "nested-links": fill("[[[[[[[[[[a](b)"),
    "emphasis-run": fill("*a"),
    "underscore-run": fill("_a"),
    "mixed-emphasis": fill("*_"),
    "emphasis-and-strong": fill("*a **b "),
    "strikethrough-run": fill("~~a"),
    "backtick-runs": "".join("`" * n + " " for n in range(1, 400))[:MAX].ljust(MAX, "`"),
    "unclosed-code-spans": fill("`a "),
    "deep-blockquote": fill(">"),
    "blockquote-lines": fill("> " * 30 + "a\n"),
    "deep-list": fill("- "),
    "nested-list-lines": "".join("  " * level + "- a\n" for level in range(400))[:MAX],
    "ordered-list-levels": "".join("   " * level + "1. a\n" for level in range(400))[:MAX],
    "quote-list-mix": fill("> - 1. "),
    "named-entities": fill("&amp;"),
    "numeric-entities": fill("&#x1F600;"),
    "unknown-entities": fill("&notanentity;"),
    "wide-table": fill("a|", "|" + "a|" * 2000 + "\n|" + "-|" * 2000 + "\n"),
    "table-of-empty-rows": fill("|\n", "|" + "a|" * 500 + "\n|" + "-|" * 500 + "\n"),
    "many-small-tables": fill("|a|b|c|d|\n|-|-|-|-|\n" + "|\n" * 50 + "\n"),
    "reference-repeated": fill("[r]", f"[r]: {long_url(9_000)}\n\n"),
    "reference-title-repeated": fill("[r]", f'[r]: /u "{"t" * 9_000}"\n\n'),
    "image-reference-repeated": fill("![r]", f"[r]: {long_url(9_000)}\n\n"),
    "many-reference-definitions": "".join(f"[r{n}]: /u{n}\n" for n in range(2_000))[:MAX],
    "reference-chain": fill("[a][b]", "[a]: /a\n[b]: /b\n\n"),
    "links-dense": fill("[](a)"),
    "autolinks": fill("<https://a.example>"),
    "wide-character-link": fill("中", "[a]("),
    "html-like": fill("<a "),
    "angles": fill("<"),
    "backslashes": fill("\\"),
    "line-breaks": fill("a\n"),
    "headings": fill("# a\n"),
    "thematic-breaks": fill("***\n"),
    "setext-headings": fill("a\n=\n"),
    "fenced-code-fences": fill("```\n"),
}


def _work(text: str) -> tuple[int, int, float]:
    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    html = render_markdown(text)
    profile.disable()
    elapsed = time.perf_counter() - started
    return pstats.Stats(profile).total_calls, len(html), elapsed


@pytest.mark.parametrize("shape", SHAPES, ids=list(SHAPES))
def test_render_work_is_bounded_at_the_largest_allowed_size(shape):
    text = SHAPES[shape]
    assert len(text) == MAX

    calls, size, elapsed = _work(text)

    print(f"{shape}: {calls} calls, {size} bytes, {elapsed:.2f} s (profiled)")
    assert calls <= CALLS_PER_CHAR * MAX
    assert size <= BYTES_PER_CHAR * MAX


@pytest.mark.parametrize("unit", ["[", "[![](", "|\n", "[r]"])
def test_text_beyond_the_limit_costs_no_more_than_the_limit(unit):
    """The preview once rendered 1.5 million "[" that no form had checked."""
    huge = unit * (1_500_000 // len(unit))

    calls, size, _elapsed = _work(huge)

    assert calls <= CALLS_PER_CHAR * MAX
    assert size <= BYTES_PER_CHAR * MAX
    assert render_markdown(huge) == render_markdown(huge[:MAX])


def _table(columns: int, rows: int) -> str:
    header = "|" + "".join(f"h{n}|" for n in range(columns))
    return "\n".join([header, "|" + "-|" * columns, *(["|"] * rows)])


def test_table_rows_stop_at_the_cell_budget():
    html = str(render_markdown(_table(columns=10, rows=5_000)))

    cells = html.count("<td>") + html.count("<th>")
    assert cells == MAX_TABLE_CELLS
    assert html.count("<table>") == 1


def test_tables_share_one_cell_budget():
    html = str(render_markdown("\n\n".join([_table(columns=10, rows=150)] * 3)))

    assert html.count("<td>") + html.count("<th>") <= MAX_TABLE_CELLS
    assert html.count("<table>") == 2  # the third one is left as text


def test_a_table_wider_than_the_limit_stays_text():
    assert "<table>" in render_markdown(_table(columns=MAX_TABLE_COLUMNS, rows=2))
    assert "<table>" not in render_markdown(_table(columns=MAX_TABLE_COLUMNS + 1, rows=2))


def test_repeated_references_stop_adding_addresses_but_keep_their_text():
    url = long_url(5_000)
    html = str(render_markdown(f"[r]: {url}\n\n" + "[paper][r] " * 100))

    assert html.count(url) == 8  # 8 × 5,000 characters fill the budget of 40,000
    assert html.count("paper") == 100


def test_ordinary_markdown_renders_as_before():
    text = (
        "## 动机\n\n为什么值得读：**注意力**就是一切，*真的*。\n\n"
        "- 结构\n- 损失函数\n  1. 交叉熵\n\n"
        "> 引用 [论文](https://arxiv.org/abs/1706.03762) 与 [参考][ref]\n\n"
        "| 模型 | BLEU |\n|---|---:|\n| Transformer | 28.4 |\n| LSTM | 25.9 |\n\n"
        "`code` &amp; &copy;\n\n[ref]: https://example.org/ref\n"
    )

    html = str(render_markdown(text))

    assert "<h2>动机</h2>" in html
    assert "<strong>注意力</strong>" in html and "<em>真的</em>" in html
    assert "<li>结构</li>" in html and "<ol>" in html
    assert '<a href="https://arxiv.org/abs/1706.03762" rel="noopener noreferrer nofollow">' in html
    assert '<a href="https://example.org/ref" rel="noopener noreferrer nofollow">参考</a>' in html
    assert "<td>Transformer</td>" in html and "<th>BLEU</th>" in html
    assert "<code>code</code>" in html
    assert "&amp;" in html and "©" in html


def test_strikethrough_survives_the_sanitiser():
    # markdown-it writes <s>; the sanitiser used to drop it, so ~~text~~ lost its meaning.
    assert "<s>旧的结论</s>" in str(render_markdown("~~旧的结论~~ 新的结论"))


@settings(max_examples=3_000, deadline=None, database=None)
@given(
    st.text(alphabet="ab()\\ <>\n\t\x01\x7f中", max_size=40),
    st.integers(min_value=0, max_value=40),
    st.integers(min_value=0, max_value=40),
)
def test_the_fast_link_destination_parser_agrees_with_markdown_it(text, start, length):
    pos = min(start, len(text))
    maximum = min(pos + length, len(text))

    ours = parse_link_destination(text, pos, maximum)
    theirs = markdown_it_helpers.parseLinkDestination(text, pos, maximum)

    assert (ours.ok, ours.pos, ours.str) == (theirs.ok, theirs.pos, theirs.str)
