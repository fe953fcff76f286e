"""Server-side SVG bar charts: no JavaScript and nothing from a CDN, readable in any
language because every label is text we translate. Horizontal bars, so that long Chinese
titles fit on the left."""

from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

PALETTE = ["#2563eb", "#f59e0b", "#10b981", "#ef4444", "#8b5cf6", "#14b8a6", "#64748b", "#ec4899"]


@dataclass
class Series:
    name: str
    values: list[int]
    colour: str = ""


def colour_series(series: list[Series]) -> list[Series]:
    """Give each series without a colour one from the palette (legends need it too)."""
    for index, one in enumerate(series):
        one.colour = one.colour or PALETTE[index % len(PALETTE)]
    return series


def _short(text: str, limit: int = 16) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bar_chart(
    *,
    title: str,
    labels: list[str],
    series: list[Series],
    stacked: bool = False,
    width: int = 560,
    label_width: int = 170,
) -> SafeString:
    """One row per label; with several series the bars sit side by side in the row
    (grouped) or end to end (stacked). Each bar has a <title> tooltip with its figure."""
    colour_series(series)
    grouped = len(series) > 1 and not stacked
    bar_height = 10 if grouped else 16
    row_height = (bar_height * len(series) + 8) if grouped else 24
    totals = [
        sum(one.values[i] for one in series) if stacked else max(one.values[i] for one in series)
        for i in range(len(labels))
    ]
    largest = max(totals, default=0) or 1
    area = width - label_width - 44
    height = max(row_height * len(labels), row_height) + 8
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for row, label in enumerate(labels):
        top = 4 + row * row_height
        parts.append(
            f'<text x="{label_width - 8}" y="{top + row_height / 2}" text-anchor="end" '
            f'dominant-baseline="middle"><title>{escape(label)}</title>'
            f"{escape(_short(label))}</text>"
        )
        x = label_width
        for index, one in enumerate(series):
            value = one.values[row]
            length = round(area * value / largest, 1)
            y = top + (index * bar_height if grouped else (row_height - bar_height) / 2)
            if value:
                parts.append(
                    f'<rect x="{x}" y="{y}" width="{max(length, 1)}" height="{bar_height - 1}" '
                    f'fill="{one.colour}"><title>{escape(label)} · {escape(one.name)}: '
                    f"{value}</title></rect>"
                )
            if stacked:
                x += length
            elif grouped:
                parts.append(
                    f'<text x="{x + length + 4}" y="{y + bar_height / 2}" '
                    f'dominant-baseline="middle" font-size="10">{value}</text>'
                )
        if not grouped:
            parts.append(
                f'<text x="{label_width + (area * totals[row] / largest) + 4}" '
                f'y="{top + row_height / 2}" dominant-baseline="middle">{totals[row]}</text>'
            )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 — every text above is escaped
