"""Geometry of the week page's two charts, drawn as plain SVG by `templates/charts.html`.

Counts and rates come from `incidents.metrics`; this module only places them on a canvas, so
the page needs no chart library and no script to show a chart.
"""

import math
from dataclasses import dataclass

from incidents.metrics import Rate

WIDTH = 640
HEIGHT = 220
LEFT, RIGHT, TOP, BOTTOM = 36, 8, 12, 26
PLOT_WIDTH = WIDTH - LEFT - RIGHT
PLOT_HEIGHT = HEIGHT - TOP - BOTTOM
BAR_SHARE = 0.6  # of each week's slot; the rest is the gap between bars
GRADES = ("A", "B", "C", "D")


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class Column:
    x: float  # centre of the week's slot
    label: str


@dataclass(frozen=True)
class Segment:
    x: float
    y: float
    width: float
    height: float
    grade: str
    count: int
    title: str


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    title: str


@dataclass(frozen=True)
class Series:
    name: str  # the CSS class of the line
    label: str
    lines: tuple[str, ...]  # SVG polyline points, broken where a week has no denominator
    points: tuple[Point, ...]


@dataclass(frozen=True)
class Chart:
    title: str
    columns: tuple[Column, ...]
    ticks: tuple[Tick, ...]
    segments: tuple[Segment, ...] = ()
    series: tuple[Series, ...] = ()
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right_edge: int = WIDTH - RIGHT
    baseline: int = HEIGHT - BOTTOM


def _slot(index: int, count: int) -> float:
    return LEFT + PLOT_WIDTH * (index + 0.5) / count


def _y(value: float, top_value: float) -> float:
    return TOP + PLOT_HEIGHT * (1 - value / top_value)


def grade_chart(title: str, labels: list[str], by_grade: list[dict[str, int]]) -> Chart:
    """Stacked bars: one per week, A at the bottom."""
    count = len(labels)
    highest = max((sum(counts.get(g, 0) for g in GRADES) for counts in by_grade), default=0)
    top_value = max(2, math.ceil(highest / 2) * 2)  # even, so the middle tick is whole
    bar_width = PLOT_WIDTH / max(count, 1) * BAR_SHARE
    segments = []
    for index, (label, counts) in enumerate(zip(labels, by_grade, strict=True)):
        stacked = 0
        for grade in GRADES:
            n = counts.get(grade, 0)
            if not n:
                continue
            y_top = _y(stacked + n, top_value)
            segments.append(
                Segment(
                    x=round(_slot(index, count) - bar_width / 2, 1),
                    y=round(y_top, 1),
                    width=round(bar_width, 1),
                    height=round(_y(stacked, top_value) - y_top, 1),
                    grade=grade,
                    count=n,
                    title=f"{label} {grade}: {n}",
                )
            )
            stacked += n
    ticks = tuple(Tick(round(_y(v, top_value), 1), str(v)) for v in (0, top_value // 2, top_value))
    return Chart(title, _columns(labels), ticks, segments=tuple(segments))


def rate_chart(title: str, labels: list[str], series: list[tuple[str, str, list[Rate]]]) -> Chart:
    """Lines of rates in percent, 0–100 %; a week without a denominator breaks the line."""
    count = len(labels)
    drawn = []
    for name, label, rates in series:
        lines: list[str] = []
        current: list[str] = []
        points = []
        for index, rate in enumerate(rates):
            if rate.value is None:
                if current:
                    lines.append(" ".join(current))
                current = []
                continue
            x, y = round(_slot(index, count), 1), round(_y(rate.value, 1.0), 1)
            current.append(f"{x},{y}")
            shown = f"{rate.value * 100:.1f}% ({rate.numerator}/{rate.denominator})"
            points.append(Point(x, y, f"{labels[index]} {label}: {shown}"))
        if current:
            lines.append(" ".join(current))
        drawn.append(Series(name, label, tuple(lines), tuple(points)))
    ticks = tuple(Tick(round(_y(v / 100, 1.0), 1), f"{v}%") for v in (0, 50, 100))
    return Chart(title, _columns(labels), ticks, series=tuple(drawn))


def _columns(labels: list[str]) -> tuple[Column, ...]:
    return tuple(
        Column(round(_slot(index, len(labels)), 1), label) for index, label in enumerate(labels)
    )
