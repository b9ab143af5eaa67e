"""The week page's chart geometry lives in `incidents/charts.py` since the period report's HTML
(a domain output) draws the same charts; the pages import it from here as before."""

from incidents.charts import (
    BAR_SHARE,
    BOTTOM,
    GRADES,
    HEIGHT,
    LEFT,
    PLOT_HEIGHT,
    PLOT_WIDTH,
    RIGHT,
    TOP,
    WIDTH,
    Chart,
    Column,
    Point,
    Segment,
    Series,
    Tick,
    grade_chart,
    rate_chart,
)

__all__ = [
    "BAR_SHARE",
    "BOTTOM",
    "GRADES",
    "HEIGHT",
    "LEFT",
    "PLOT_HEIGHT",
    "PLOT_WIDTH",
    "RIGHT",
    "TOP",
    "WIDTH",
    "Chart",
    "Column",
    "Point",
    "Segment",
    "Series",
    "Tick",
    "grade_chart",
    "rate_chart",
]
