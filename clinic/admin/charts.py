"""Stacked bar charts laid out on the server: this module places the shapes, no Flask.

`templates/admin/_chart.html` draws the result as inline SVG, so the dashboard needs
no script and no third-party library, and the strict CSP holds.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

# Each colour has at least 4.5:1 contrast against white (WCAG 1.4.11 asks 3:1 of graphics);
# white gaps between stacked segments keep neighbours apart whatever their colours.
PALETTE = ("#0b5d61", "#b3261e", "#1f4fd1", "#7a4b00", "#6b2c91", "#2e6b12", "#4a5559")
WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 48, 28, 28, 40
BAR_SHARE = 0.64  # of each week's band; the rest is the gap between bars


@dataclass(frozen=True)
class Series:
    """One coloured part of every bar: a clinic or an article."""

    name: str
    values: tuple[int, ...]
    colour: str

    @property
    def total(self) -> int:
        return sum(self.values)


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    width: float
    height: float
    colour: str


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str


@dataclass(frozen=True)
class BarChart:
    """Everything the template needs to draw one chart and its table."""

    title: str
    description: str
    unit: str
    categories: tuple[str, ...]
    series: tuple[Series, ...]
    totals: tuple[int, ...]
    rects: tuple[Rect, ...]
    grid: tuple[Label, ...]
    x_labels: tuple[Label, ...]
    total_labels: tuple[Label, ...]
    width: int = WIDTH
    height: int = HEIGHT
    plot_left: int = LEFT
    plot_right: int = WIDTH - RIGHT
    plot_bottom: int = HEIGHT - BOTTOM

    @property
    def rows(self) -> list[tuple[str, list[int], int]]:
        """Return (category, one value per series, total) for the data table."""
        return [
            (category, [s.values[i] for s in self.series], self.totals[i])
            for i, category in enumerate(self.categories)
        ]


def nice_step(maximum: int, ticks: int = 4) -> int:
    """Return a whole step of 1, 2 or 5 times a power of ten giving about `ticks` gridlines."""
    raw = max(maximum, 1) / ticks
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if raw <= m * magnitude)
    return max(1, round(step))


def stacked_bars(
    title: str, unit: str, categories: Sequence[str], series: Sequence[tuple[str, Sequence[int]]]
) -> BarChart:
    """Lay out one stacked bar per category, each split by series, with a y axis of `unit`."""
    coloured = tuple(
        Series(name, tuple(values), PALETTE[i % len(PALETTE)])
        for i, (name, values) in enumerate(series)
    )
    totals = tuple(sum(s.values[i] for s in coloured) for i in range(len(categories)))
    step = nice_step(max(totals, default=0))
    top = step * max(1, math.ceil(max(totals, default=0) / step))
    band = (WIDTH - LEFT - RIGHT) / max(len(categories), 1)

    def y_of(value: float) -> float:
        return round(HEIGHT - BOTTOM - value / top * (HEIGHT - TOP - BOTTOM), 1)

    middle = [round(LEFT + (i + 0.5) * band, 1) for i in range(len(categories))]
    return BarChart(
        title=title,
        description=describe(unit, categories, coloured, totals),
        unit=unit,
        categories=tuple(categories),
        series=coloured,
        totals=totals,
        rects=_segments(coloured, middle, band * BAR_SHARE, y_of),
        grid=tuple(Label(LEFT, y_of(v), str(v)) for v in range(0, top + 1, step)),
        x_labels=tuple(
            Label(x, HEIGHT - BOTTOM + 20, c) for x, c in zip(middle, categories, strict=True)
        ),
        total_labels=tuple(
            Label(x, y_of(total) - 6, str(total))
            for x, total in zip(middle, totals, strict=True)
            if total
        ),
    )


def _segments(series: Sequence[Series], middle: list[float], bar: float, y_of) -> tuple:
    """Stack each category's values from the axis upwards, one rectangle per non-zero value."""
    rects = []
    for index, centre in enumerate(middle):
        below = 0
        for part in series:
            value = part.values[index]
            if value:
                y = y_of(below + value)
                x = round(centre - bar / 2, 1)
                rects.append(Rect(x, y, round(bar, 1), round(y_of(below) - y, 1), part.colour))
                below += value
    return tuple(rects)


def describe(
    unit: str, categories: Sequence[str], series: Sequence[Series], totals: Sequence[int]
) -> str:
    """Say in one or two sentences what the chart shows, for its SVG <desc>."""
    if not categories:
        return f"No {unit} to show."
    span = f"{len(categories)} weeks from {categories[0]} to {categories[-1]}"
    total = sum(totals)
    if not total:
        return f"No {unit} in the {span}."
    parts = ", ".join(f"{s.name} {s.total}" for s in sorted(series, key=lambda s: -s.total))
    busiest = categories[max(range(len(totals)), key=totals.__getitem__)]
    return (
        f"{_count(total, unit)} in the {span}: {parts}. "
        f"The busiest week began {busiest}, with {max(totals)}."
    )


def _count(number: int, unit: str) -> str:
    return f"{number} {unit.removesuffix('s') if number == 1 else unit}"
