"""Time arithmetic in SQL that reads the same on SQLite and PostgreSQL.

Durations and local dates are aggregated in the database (DESIGN.md: aggregates in SQL), but the
two dialects spell time arithmetic differently: SQLite stores our UTC times as text and counts
in julian days, PostgreSQL has timestamptz and intervals. These constructs compile to each.
"""

from typing import Any

from sqlalchemy import Date, Float, Integer
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


class epoch_units(FunctionElement[int]):  # noqa: N801
    """epoch_units(moment, unit_seconds): whole units (hours, days) since 1970-01-01 UTC, the
    key of a tally row, comparable as an integer on both dialects."""

    type = Integer()
    inherit_cache = True
    name = "epoch_units"


@compiles(epoch_units, "sqlite")
def _epoch_units_sqlite(element: epoch_units, compiler: Any, **kw: Any) -> str:
    moment, unit = (compiler.process(arg, **kw) for arg in element.clauses)
    # strftime('%s') is whole seconds; dividing integers floors them (moments after 1970).
    return f"(CAST(strftime('%s', {moment}) AS INTEGER) / {unit})"


@compiles(epoch_units, "postgresql")
def _epoch_units_postgresql(element: epoch_units, compiler: Any, **kw: Any) -> str:
    moment, unit = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"CAST(floor(EXTRACT(EPOCH FROM {moment}) / {unit}) AS INTEGER)"


class ceil_seconds(FunctionElement[int]):  # noqa: N801
    """ceil_seconds(seconds): the whole number of seconds at or above (SQLite may lack ceil())."""

    type = Integer()
    inherit_cache = True
    name = "ceil_seconds"


@compiles(ceil_seconds, "sqlite")
def _ceil_seconds_sqlite(element: ceil_seconds, compiler: Any, **kw: Any) -> str:
    (seconds,) = (compiler.process(arg, **kw) for arg in element.clauses)
    # CAST truncates toward zero; one more when something was cut off above it.
    return f"(CAST({seconds} AS INTEGER) + ({seconds} > CAST({seconds} AS INTEGER)))"


@compiles(ceil_seconds, "postgresql")
def _ceil_seconds_postgresql(element: ceil_seconds, compiler: Any, **kw: Any) -> str:
    (seconds,) = (compiler.process(arg, **kw) for arg in element.clauses)
    return f"CAST(ceil({seconds}) AS INTEGER)"
