"""Time arithmetic in SQL that reads the same on SQLite and PostgreSQL.

Durations and local dates are aggregated in the database (DESIGN.md: aggregates in SQL), but the
two dialects spell time arithmetic differently: SQLite stores our UTC times as text and counts
in julian days, PostgreSQL has timestamptz and intervals. These constructs compile to each.
"""

from typing import Any

from sqlalchemy import Date, Float
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement


class seconds_between(FunctionElement[float]):  # noqa: N801 - reads like the SQL function it is
    """seconds_between(later, earlier): later − earlier in seconds, as a float."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between, "sqlite")
def _seconds_between_sqlite(element: seconds_between, compiler: Any, **kw: Any) -> str:
    later, earlier = (compiler.process(arg, **kw) for arg in element.clauses)
    # Julian days carry ~10 µs of float error; rounding to ms keeps "exactly 5 minutes" at 300.
    return f"round((julianday({later}) - julianday({earlier})) * 86400.0, 3)"


@compiles(seconds_between, "postgresql")
def _seconds_between_postgresql(element: seconds_between, compiler: Any, **kw: Any) -> str:
    later, earlier = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"EXTRACT(EPOCH FROM ({later} - {earlier}))"


class local_date(FunctionElement[Any]):  # noqa: N801
    """local_date(moment, offset_seconds): the calendar date of a UTC moment at a fixed offset.

    A fixed offset, not a zone: the team's zone (Asia/Shanghai) has no daylight saving, and a
    zone with it is off by at most an hour around the change, which only matters for an action
    item closed in that hour of its due date.
    """

    type = Date()
    inherit_cache = True
    name = "local_date"


@compiles(local_date, "sqlite")
def _local_date_sqlite(element: local_date, compiler: Any, **kw: Any) -> str:
    moment, offset = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"date({moment}, ({offset}) || ' seconds')"


@compiles(local_date, "postgresql")
def _local_date_postgresql(element: local_date, compiler: Any, **kw: Any) -> str:
    moment, offset = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"CAST(({moment} AT TIME ZONE 'UTC') + make_interval(secs => {offset}) AS DATE)"
