"""Horizontal bar charts as server-rendered SVG geometry (no JavaScript, no CDN, strict CSP:
presentation attributes only). Phone-first: each row's label on a line of its own above its
bars, values written at the end of each bar, so the chart reads at 390 px wide. The page puts
the same figures in a table right after the chart (its text alternative)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from core.kernel.money import format_euro

WIDTH = 320  # viewBox units; the SVG scales to the page width
LABEL_HEIGHT = 18
BAR_HEIGHT = 16
GAP = 4
ROW_GAP = 10
VALUE_ROOM = 120  # room right of the longest bar for its value
COLOURS = ("#6b7a8f", "#0b4f8a")  # series 1 (e.g. statute), series 2 (e.g. assumption)


@dataclass(frozen=True)
class Bar:
    y: int
    width: int
    colour: str
    value: str
    series: str


@dataclass(frozen=True)
class Row:
    label: str
    label_y: int
    bars: tuple[Bar, ...]


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    rows: tuple[Row, ...]
    series: tuple[tuple[str, str], ...]  # (name, colour) for the legend
    bar_height: int = BAR_HEIGHT


def bar_chart(
    rows: Sequence[tuple[str, Sequence[int]]], series: Sequence[str], *, money: bool = False
) -> Chart:
    """One row per label with one bar per series; bar lengths proportional to the largest
    value (negative values are drawn as empty bars with their value)."""
    largest = max((v for _label, values in rows for v in values), default=0)
    span = WIDTH - VALUE_ROOM
    y = 0
    made = []
    for label, values in rows:
        label_y = y + LABEL_HEIGHT - 4
        y += LABEL_HEIGHT
        bars = []
        for i, value in enumerate(values):
            length = round(span * value / largest) if largest > 0 and value > 0 else 0
            text = format_euro(value) if money else f"{value:,}".replace(",", ".")
            bars.append(Bar(y, max(length, 1 if value > 0 else 0), COLOURS[i % 2], text, series[i]))
            y += BAR_HEIGHT + GAP
        made.append(Row(label, label_y, tuple(bars)))
        y += ROW_GAP - GAP
    legend = tuple((name, COLOURS[i % 2]) for i, name in enumerate(series))
    return Chart(WIDTH, max(y, 1), tuple(made), legend)
