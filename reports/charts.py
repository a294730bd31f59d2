"""Charts as inline SVG, laid out here and drawn by reports/_chart.html.

No JavaScript and no inline style (the Content-Security-Policy forbids both): colours
are SVG presentation attributes, so a chart looks the same in the page, in print and
with the stylesheet missing; reports.css only sizes and themes around them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.formats import number_format

# The site's palette (static/nattillsyn/site.css), as fills.
COLOURS = {
    "ok": "#4caf7a",
    "warn": "#e0a030",
    "danger": "#e25555",
    "accent": "#7fb2ff",
    "muted": "#6b7580",
    "violet": "#6b4fc9",
}

WIDTH = 640
HEIGHT = 220
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 12, 34


@dataclass
class Rect:
    x: float
    y: float
    width: float
    height: float
    fill: str
    css: str
    title: str


@dataclass
class Label:
    x: float
    y: float
    text: str
    anchor: str = "middle"


@dataclass
class Chart:
    title: str
    width: int = WIDTH
    height: int = HEIGHT
    rects: list[Rect] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    gridlines: list[tuple[float, float, float, float]] = field(default_factory=list)
    legend: list[tuple[str, str, str]] = field(default_factory=list)  # (fill, css, name)

    @property
    def empty(self) -> bool:
        return not self.rects


def _number(value: float | Decimal, places: int = 0) -> str:
    return number_format(value, decimal_pos=places, use_l10n=True)


def _axis(chart: Chart, top_value: float, suffix: str) -> None:
    plot_height = chart.height - TOP - BOTTOM
    for fraction in (0, 0.5, 1):
        y = chart.height - BOTTOM - plot_height * fraction
        chart.gridlines.append((LEFT, y, chart.width - RIGHT, y))
        chart.labels.append(Label(LEFT - 4, y + 4, f"{_number(top_value * fraction)}{suffix}", anchor="end"))


def stacked_bars(
    title: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, str, Sequence[float]]],
    *,
    top_value: float | None = None,
    suffix: str = "",
    label_every: int = 1,
) -> Chart:
    """Vertical bars, one per category, each stacked from ``series`` = (name, colour, values)."""
    legend = [(COLOURS[colour], colour, name) for name, colour, _values in series] if len(series) > 1 else []
    chart = Chart(title=title, legend=legend)
    if not categories:
        return chart
    totals = [sum(float(values[index]) for _name, _colour, values in series) for index in range(len(categories))]
    top = top_value or max(max(totals), 1)
    _axis(chart, top, suffix)
    plot_width = chart.width - LEFT - RIGHT
    plot_height = chart.height - TOP - BOTTOM
    slot = plot_width / len(categories)
    bar_width = max(slot * 0.72, 1)
    for index, category in enumerate(categories):
        x = LEFT + slot * index + (slot - bar_width) / 2
        base = float(chart.height - BOTTOM)
        for name, colour, values in series:
            value = float(values[index])
            if value <= 0:
                continue
            height = plot_height * value / top
            base -= height
            shown = _number(value, 1 if suffix else 0)
            chart.rects.append(
                Rect(
                    round(x, 1),
                    round(base, 1),
                    round(bar_width, 1),
                    round(height, 1),
                    COLOURS[colour],
                    colour,
                    f"{category}: {name} {shown}{suffix}",
                )
            )
        if index % label_every == 0:
            chart.labels.append(Label(round(x + bar_width / 2, 1), chart.height - BOTTOM + 14, category))
    return chart


def bars(
    title: str,
    points: Sequence[tuple[str, float | Decimal | None]],
    *,
    colour: str = "accent",
    top_value: float | None = None,
    suffix: str = "",
    label_every: int = 1,
) -> Chart:
    """One series of vertical bars; a missing value (None) leaves a gap."""
    return stacked_bars(
        title,
        [label for label, _value in points],
        [(title, colour, [float(value or 0) for _label, value in points])],
        top_value=top_value,
        suffix=suffix,
        label_every=label_every,
    )


def horizontal_bars(title: str, points: Sequence[tuple[str, int]], *, colour: str = "danger") -> Chart:
    """Labelled horizontal bars, largest first, e.g. escalations by cause."""
    row = 26
    chart = Chart(title=title, height=TOP + row * max(len(points), 1) + 8)
    if not points:
        return chart
    label_width = 230
    top = max(max(value for _label, value in points), 1)
    plot_width = chart.width - label_width - RIGHT - 50
    for index, (label, value) in enumerate(points):
        y = TOP + row * index
        width = plot_width * value / top
        chart.labels.append(Label(label_width - 6, y + 15, label, anchor="end"))
        chart.rects.append(
            Rect(label_width, y + 3, round(max(width, 1), 1), row - 8, COLOURS[colour], colour, f"{label}: {value}")
        )
        chart.labels.append(Label(round(label_width + width + 6, 1), y + 15, _number(value), anchor="start"))
    return chart
