"""Chart geometry: the week page's two charts (drawn by `api/web/templates/charts.html`) and
the period report's, drawn here as self-contained SVG readable in black and white.

Counts and rates come from `incidents.metrics`; this module only places them on a canvas, so
the page needs no chart library and no script to show a chart.
"""

import math
from dataclasses import dataclass

from markupsafe import escape

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


def value_chart(
    title: str, labels: list[str], series: list[tuple[str, str, list[float | None]]], unit: str
) -> Chart:
    """Lines of values from 0 to a round top (minutes of MTTR); None breaks the line."""
    count = len(labels)
    highest = max((v for _, _, values in series for v in values if v is not None), default=0.0)
    top_value = _round_top(highest)
    drawn = []
    for name, label, values in series:
        lines: list[str] = []
        current: list[str] = []
        points = []
        for index, value in enumerate(values):
            if value is None:
                if current:
                    lines.append(" ".join(current))
                current = []
                continue
            x, y = round(_slot(index, count), 1), round(_y(value, top_value), 1)
            current.append(f"{x},{y}")
            points.append(Point(x, y, f"{labels[index]} {label}: {value:.1f}{unit}"))
        if current:
            lines.append(" ".join(current))
        drawn.append(Series(name, label, tuple(lines), tuple(points)))
    ticks = tuple(
        Tick(round(_y(v, top_value), 1), f"{v:g}{unit}") for v in (0, top_value / 2, top_value)
    )
    return Chart(title, _columns(labels), ticks, series=tuple(drawn))


def _round_top(highest: float) -> float:
    """The smallest of 1, 2, 5 × 10ⁿ at or above `highest` (at least 2), so ticks read well."""
    if highest <= 2:
        return 2
    power = 10 ** math.floor(math.log10(highest))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= highest)


# --- horizontal bars: availability against its target, the noisiest alert rules ---------------

BAR_ROW = 26
LABEL_WIDTH = 190
LABEL_CHARACTERS = 14  # longer labels are cut with … (the table beneath has them whole)


@dataclass(frozen=True)
class HBar:
    label: str
    y: float
    width: float  # the bar's length
    marker: float | None  # x of a target line across the bar, if any
    text: str  # the figure written after the bar


@dataclass(frozen=True)
class HBarChart:
    title: str
    bars: tuple[HBar, ...]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LABEL_WIDTH


def hbar_chart(
    title: str, rows: list[tuple[str, float, float | None, str]], *, scale_to: float | None = None
) -> HBarChart:
    """One bar per (label, value, marker value or None, text); the longest bar or marker (or
    `scale_to`) fills two thirds of the width, leaving room for the text."""
    longest = max([scale_to or 0.0] + [max(v, m or 0.0) for _, v, m, _ in rows], default=0.0)
    span = (WIDTH - LABEL_WIDTH - RIGHT) * 2 / 3
    unit = span / longest if longest else 0.0
    bars = tuple(
        HBar(
            label=label if len(label) <= LABEL_CHARACTERS else label[: LABEL_CHARACTERS - 1] + "…",
            y=TOP + index * BAR_ROW,
            width=round(value * unit, 1),
            marker=None if marker is None else round(LABEL_WIDTH + marker * unit, 1),
            text=text,
        )
        for index, (label, value, marker, text) in enumerate(rows)
    )
    return HBarChart(title, bars, height=TOP + BOTTOM + BAR_ROW * max(len(rows), 1))


# --- self-contained SVG: black-and-white readable -----------------------------------------------
# The period report's HTML is read offline and printed: fills are patterns, lines have their own
# dashes and marks, and every figure is also written in the table beneath the chart.

_PATTERNS = (
    "<defs>"
    '<pattern id="p-B" width="6" height="6" patternUnits="userSpaceOnUse"'
    ' patternTransform="rotate(45)"><rect width="6" height="6" fill="#fff"/>'
    '<line x1="0" y1="0" x2="0" y2="6" stroke="#000" stroke-width="3"/></pattern>'
    '<pattern id="p-C" width="6" height="6" patternUnits="userSpaceOnUse">'
    '<rect width="6" height="6" fill="#fff"/><circle cx="3" cy="3" r="1.3" fill="#000"/>'
    "</pattern></defs>"
)
GRADE_FILLS = {"A": "#000", "B": "url(#p-B)", "C": "url(#p-C)", "D": "#fff"}
LINE_DASHES = ("", "6 3", "2 3")


def _axes_svg(chart: Chart) -> list[str]:
    parts = []
    for tick in chart.ticks:
        parts.append(
            f'<line x1="{chart.left}" x2="{chart.right_edge}" y1="{tick.y}" y2="{tick.y}"'
            ' stroke="#bbb" stroke-width="0.5"/>'
            f'<text x="{chart.left - 4}" y="{tick.y + 4}" text-anchor="end"'
            f' font-size="10">{escape(tick.label)}</text>'
        )
    step = max(1, math.ceil(len(chart.columns) / 14))  # at most 14 labels fit under the axis
    for index, column in enumerate(chart.columns):
        if index % step == 0:
            parts.append(
                f'<text x="{column.x}" y="{chart.baseline + 16}" text-anchor="middle"'
                f' font-size="10">{escape(column.label)}</text>'
            )
    return parts


def _legend(entries: list[str]) -> str:
    return f'<text x="{LEFT}" y="{TOP - 2}" font-size="10">{escape("  ".join(entries))}</text>'


def chart_svg(chart: Chart, element_id: str) -> str:
    """A grade chart (patterned stacked bars, counts written in them) or a line chart (each
    series its own dash and mark)."""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{escape(element_id)}"'
        f' viewBox="0 0 {chart.width} {chart.height + TOP}" role="img"'
        f' aria-label="{escape(chart.title)}" font-family="sans-serif">',
        _PATTERNS,
        f'<g transform="translate(0 {TOP})">',
        *_axes_svg(chart),
    ]
    for s in chart.segments:
        parts.append(
            f'<rect x="{s.x}" y="{s.y}" width="{s.width}" height="{s.height}"'
            f' fill="{GRADE_FILLS[s.grade]}" stroke="#000" stroke-width="0.8">'
            f"<title>{escape(s.title)}</title></rect>"
        )
        if s.height >= 11:
            parts.append(
                f'<text x="{s.x + s.width / 2:.1f}" y="{s.y + s.height / 2 + 4:.1f}"'
                f' text-anchor="middle" font-size="9" fill="{"#fff" if s.grade == "A" else "#000"}"'
                f' stroke="{"#000" if s.grade in ("B", "C") else "none"}" stroke-width="0.2"'
                f' paint-order="stroke">{s.grade}{s.count}</text>'
            )
    for index, series in enumerate(chart.series):
        dash = LINE_DASHES[index % len(LINE_DASHES)]
        for line in series.lines:
            parts.append(
                f'<polyline points="{line}" fill="none" stroke="#000" stroke-width="1.6"'
                f' stroke-dasharray="{dash}"/>'
            )
        for point in series.points:
            shape = (
                f'<circle cx="{point.x}" cy="{point.y}" r="3" fill="#000">'
                if index % 2 == 0
                else f'<rect x="{point.x - 3}" y="{point.y - 3}" width="6" height="6" fill="#fff"'
                ' stroke="#000">'
            )
            parts.append(shape + f"<title>{escape(point.title)}</title>" + shape_end(index))
    parts.append("</g>")
    if chart.segments:
        parts.append(_legend(["A ■", "B ▨", "C ⠿", "D □"]))
    elif chart.series:
        marks = ("● ——", "■ - -", "● ···")
        parts.append(
            _legend([f"{s.label} {marks[i % len(marks)]}" for i, s in enumerate(chart.series)])
        )
    parts.append("</svg>")
    return "".join(parts)


def shape_end(index: int) -> str:
    return "</circle>" if index % 2 == 0 else "</rect>"


def hbar_svg(chart: HBarChart, element_id: str) -> str:
    """Labelled bars, each with its figure written after it; a target is a dashed line."""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{escape(element_id)}"'
        f' viewBox="0 0 {chart.width} {chart.height}" role="img"'
        f' aria-label="{escape(chart.title)}" font-family="sans-serif">',
        _PATTERNS,
    ]
    for bar in chart.bars:
        middle = bar.y + BAR_ROW / 2
        parts.append(
            f'<text x="{chart.left - 6}" y="{middle + 4}" text-anchor="end"'
            f' font-size="11">{escape(bar.label)}</text>'
            f'<rect x="{chart.left}" y="{bar.y + 5}" width="{bar.width}" height="{BAR_ROW - 10}"'
            ' fill="url(#p-B)" stroke="#000" stroke-width="0.8"/>'
        )
        end = chart.left + bar.width
        if bar.marker is not None:
            parts.append(
                f'<line x1="{bar.marker}" x2="{bar.marker}" y1="{bar.y + 2}"'
                f' y2="{bar.y + BAR_ROW - 2}" stroke="#000" stroke-width="2"'
                ' stroke-dasharray="3 2"/>'
            )
            end = max(end, bar.marker)
        parts.append(
            f'<text x="{end + 6:.1f}" y="{middle + 4}" font-size="11">{escape(bar.text)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
