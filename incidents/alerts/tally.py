"""Running tallies of the alerts, so a period's alert figures read hours, not every alert.

A year holds millions of alerts; the follow-up rates, MTTA, the noisiest rules and the alerts
after hours of a window are sums over its alerts. Two tables keep those sums as alerts arrive
and are followed up (docs/architecture.md, "Alert tallies"):

- `alert_hour`: per UTC hour of arrival, rule and silenced-or-not, how many alerts arrived,
  were followed up (with the sum of their follow-up seconds), concluded, judged and judged
  valid;
- `alert_follow_up`: per UTC day of arrival and follow-up time in whole seconds (rounded up),
  how many unsilenced alerts were followed up that fast: MTTA percentiles, and "followed up
  within N minutes" for any N.

Both are kept in the same transaction as the change to the alert: a change is counted as its
alert's contribution after it less its contribution before, each computed in SQL from the alert
row by the same expressions the figures are defined by, so the tallies cannot disagree with
the rows. New alerts are added by the webhook path (`add_arrivals`, once per batch), changes
made through the ORM by the session hooks below, and bulk UPDATEs by their callers (`remove`
before, `add` after). `rebuild` recounts everything (after a bulk load); `agreement` compares
the totals (`stabilog doctor`).

A window is read as its whole hours (or days) from the tallies plus its ragged edges from the
alerts themselves: every window of the team's whole-hour time zone is whole hours; a zone half
an hour off UTC reads half an hour of alerts at each end.
"""

import math
from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from itertools import accumulate
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    delete,
    event,
    func,
    inspect,
    or_,
    true,
    union_all,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import UOWTransaction
from sqlmodel import Field, SQLModel, col, select

from incidents.alerts.models import Alert
from incidents.db import INDEX_TYPE, MOMENT_TYPE, count_if, dialect_insert, values_table
from incidents.sqltime import ceil_seconds, epoch_units, seconds_between

HOUR = 3600
DAY = 86400
RULE_MAX = 300  # as long as a title: an alertname label may be any length


class AlertHour(SQLModel, table=True):
    """The alerts that arrived in one UTC hour, of one rule, silenced or not."""

    __tablename__ = "alert_hour"
    hour: int = Field(primary_key=True)  # hours since 1970-01-01 00:00 UTC
    rule: str = Field(primary_key=True, max_length=RULE_MAX)
    silenced: bool = Field(primary_key=True)
    alerts: int = 0
    followed: int = 0
    follow_up_seconds: float = 0.0
    concluded: int = 0  # judged, or linked to an incident
    judged: int = 0
    valid: int = 0


class AlertFollowUp(SQLModel, table=True):
    """Unsilenced alerts that arrived in one UTC day and were followed up in `seconds` (rounded
    up to the whole second)."""

    __tablename__ = "alert_follow_up"
    day: int = Field(primary_key=True)  # days since 1970-01-01 UTC
    seconds: int = Field(primary_key=True)
    alerts: int = 0


def alert_rule() -> Any:
    """An alert's rule: its `alertname` label when it has one (Alertmanager, Grafana), else its
    title — titles often carry the instance or a value, which would split one rule in many."""
    return func.substr(
        func.coalesce(col(Alert.labels)["alertname"].as_string(), col(Alert.title)), 1, RULE_MAX
    )


def follow_up_seconds() -> Any:
    return seconds_between(col(Alert.first_follow_up_at), col(Alert.received_at))


def _measured(*where: Any, joined: Any = None) -> Any:
    """Per alert `where` selects (joined to `joined`, a table of windows, when given): the
    tally keys and what is summed. A subquery, so the grouping below names plain columns: an
    expression with bound parameters (the rule's label name) would not match itself in a
    GROUP BY on PostgreSQL."""
    seconds = follow_up_seconds()
    columns: list[Any] = [
        epoch_units(col(Alert.received_at), HOUR).label("hour"),
        epoch_units(col(Alert.received_at), DAY).label("day"),
        alert_rule().label("rule"),
        col(Alert.silence_id).is_not(None).label("silenced"),
        seconds.label("seconds"),
        ceil_seconds(seconds).label("whole_seconds"),
        col(Alert.valid).label("valid"),
        col(Alert.incident_id).label("incident_id"),
    ]
    query: Any = select(*columns, *(joined.c if joined is not None else ()))
    if joined is not None:
        query = query.select_from(joined).join(Alert, _received_in(joined))
    return query.where(*where).subquery("measured")


def _hour_sums(alerts: Any, sign: int = 1) -> dict[str, Any]:
    """alert_hour's figures as aggregates over `_measured` alerts, by their definitions."""
    valid = alerts.c.valid
    return {
        "alerts": sign * func.count(),
        "followed": sign * func.count(alerts.c.seconds),
        "follow_up_seconds": sign * func.coalesce(func.sum(alerts.c.seconds), 0.0),
        "concluded": sign * count_if(or_(valid.is_not(None), alerts.c.incident_id.is_not(None))),
        "judged": sign * count_if(valid.is_not(None)),
        "valid": sign * count_if(valid.is_(True)),
    }


# The alert columns the tallies are computed from.
TALLIED = (
    "received_at",
    "labels",
    "title",
    "first_follow_up_at",
    "valid",
    "incident_id",
    "silence_id",
)


# --- keeping the tallies -------------------------------------------------------------------------


@cache
def _upserts(dialect: str, sign: int, *, every_alert: bool = False) -> tuple[Any, Any]:
    """The two statements that add (sign 1) or take away (sign −1) the contribution of the
    alerts whose ids the expanding parameter `ids` names (of every alert, for `rebuild`):
    built once, so SQLAlchemy compiles them once — the webhook path runs one per batch.

    Rows are upserted in key order (the SELECT is ordered), so two transactions tallying into
    the same hours lock them in the same order and cannot deadlock on PostgreSQL."""
    insert = dialect_insert(dialect)
    alerts = _measured(
        true() if every_alert else col(Alert.id).in_(bindparam("ids", expanding=True))
    )
    keys = (alerts.c.hour, alerts.c.rule, alerts.c.silenced)
    sums = _hour_sums(alerts, sign)
    by_hour = select(*keys, *sums.values()).group_by(*keys).order_by(*keys)
    statement = insert(AlertHour).from_select(["hour", "rule", "silenced", *sums], by_hour)
    table = AlertHour.__table__  # type: ignore[attr-defined]
    hours = statement.on_conflict_do_update(
        index_elements=["hour", "rule", "silenced"],
        set_={name: table.c[name] + statement.excluded[name] for name in sums},
    )
    day_keys = (alerts.c.day, alerts.c.whole_seconds)
    by_day = (
        select(*day_keys, sign * func.count())
        .where(alerts.c.seconds.is_not(None), alerts.c.silenced.is_(False))
        .group_by(*day_keys)
        .order_by(*day_keys)
    )
    statement = insert(AlertFollowUp).from_select(["day", "seconds", "alerts"], by_day)
    by_seconds = AlertFollowUp.__table__  # type: ignore[attr-defined]
    days = statement.on_conflict_do_update(
        index_elements=["day", "seconds"],
        set_={"alerts": by_seconds.c.alerts + statement.excluded.alerts},
    )
    return hours, days


# Ids per statement: far below SQLite's bound on parameters.
CHUNK = 1000


def _apply(
    connection: Connection, alert_ids: Sequence[int], sign: int, *, follow_ups: bool = True
) -> None:
    """Tally `sign` × these alerts; without `follow_ups`, into alert_hour only (alerts known
    to have no follow-up yet)."""
    hours, days = _upserts(connection.dialect.name, sign)
    for start in range(0, len(alert_ids), CHUNK):
        ids = {"ids": list(alert_ids[start : start + CHUNK])}
        connection.execute(hours, ids)
        if follow_ups:
            connection.execute(days, ids)


def add(connection: Connection, alert_ids: Sequence[int]) -> None:
    """Count these alerts (new ones, or ones `remove` took away before a change)."""
    _apply(connection, alert_ids, 1)


def add_arrivals(connection: Connection, alert_ids: Sequence[int]) -> None:
    """Count alerts that have just arrived: nobody has followed them up yet."""
    _apply(connection, alert_ids, 1, follow_ups=False)


def remove(connection: Connection, alert_ids: Sequence[int]) -> None:
    """Take these alerts' present contribution away, before changing them."""
    _apply(connection, alert_ids, -1)


def rebuild(connection: Connection) -> None:
    """Recount both tallies from every alert (after a bulk load, or rows edited by hand)."""
    connection.execute(delete(AlertHour))
    connection.execute(delete(AlertFollowUp))
    for statement in _upserts(connection.dialect.name, 1, every_alert=True):
        connection.execute(statement)


@dataclass(frozen=True)
class Agreement:
    """The tallies' totals against the alerts': equal unless alerts changed behind them (stored
    by a release older than the tallies, or edited by hand in SQL)."""

    alerts: int
    tallied_alerts: int
    follow_ups: int  # unsilenced alerts followed up
    tallied_follow_ups: int

    @property
    def agrees(self) -> bool:
        return (self.alerts, self.follow_ups) == (self.tallied_alerts, self.tallied_follow_ups)


def agreement(connection: Connection) -> Agreement:
    hours = AlertHour.__table__  # type: ignore[attr-defined]
    days = AlertFollowUp.__table__  # type: ignore[attr-defined]
    followed = and_(col(Alert.first_follow_up_at).is_not(None), col(Alert.silence_id).is_(None))
    alerts, follow_ups = connection.execute(
        select(func.count(), count_if(followed)).select_from(Alert)
    ).one()
    tallied_alerts = connection.execute(select(func.coalesce(func.sum(hours.c.alerts), 0))).scalar()
    tallied_follow_ups = connection.execute(
        select(func.coalesce(func.sum(days.c.alerts), 0))
    ).scalar()
    return Agreement(
        int(alerts), int(tallied_alerts or 0), int(follow_ups), int(tallied_follow_ups or 0)
    )


def _tallied_changes(session: OrmSession) -> tuple[list[Alert], list[int]]:
    """The ORM's pending changes to counted columns: (new alerts, ids of changed ones)."""
    new = [item for item in session.new if isinstance(item, Alert)]
    changed = [
        item.id
        for item in (*session.dirty, *session.deleted)
        if isinstance(item, Alert)
        and item.id is not None
        and any(getattr(inspect(item).attrs, name).history.has_changes() for name in TALLIED)
    ]
    return new, changed


PENDING = "alert_tally_pending"


@event.listens_for(OrmSession, "before_flush")
def _before_flush(session: OrmSession, _: UOWTransaction, __: Any) -> None:
    new, changed = _tallied_changes(session)
    if changed:
        remove(session.connection(), changed)
    if new or changed:
        session.info[PENDING] = (new, changed)


@event.listens_for(OrmSession, "after_flush")
def _after_flush(session: OrmSession, _: UOWTransaction) -> None:
    pending = session.info.pop(PENDING, None)
    if pending is None:
        return
    new, changed = pending
    deleted = {item.id for item in session.deleted if isinstance(item, Alert)}
    ids = [item.id for item in new if item.id is not None]
    ids += [alert_id for alert_id in changed if alert_id not in deleted]
    add(session.connection(), ids)


# --- reading them --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlertCounts:
    """A window's alerts by the follow-up definitions (DESIGN.md), silenced ones apart."""

    alerts: int  # unsilenced: the follow-up rates' denominator
    silenced: int
    followed: int
    follow_up_seconds: float
    in_time: int  # followed up within the follow-up minutes
    concluded: int
    judged: int
    valid: int


def _epoch(moment: datetime) -> float:
    return moment.timestamp()  # aware: the moment itself, whatever its zone


def _moment(units: int, unit: int) -> datetime:
    return datetime.fromtimestamp(units * unit, UTC)


@dataclass(frozen=True)
class _Split:
    """A window [start, end) as whole `unit`s [first, stop) and the ragged pieces around them."""

    first: int
    stop: int
    edges: tuple[tuple[datetime, datetime], ...]


def split(start: datetime, end: datetime, unit: int) -> _Split:
    begin, finish = _epoch(start), _epoch(end)
    first, stop = math.ceil(begin / unit), math.floor(finish / unit)
    if first >= stop:
        return _Split(0, 0, ((start, end),) if begin < finish else ())
    edges = []
    if begin < first * unit:
        edges.append((start, _moment(first, unit)))
    if stop * unit < finish:
        edges.append((_moment(stop, unit), end))
    return _Split(first, stop, tuple(edges))


def _union(parts: list[Any]) -> Any:
    """The rows of every part (one part alone needs no UNION)."""
    return union_all(*parts) if len(parts) > 1 else parts[0]


def _units_table(ranges: Sequence[tuple[int, int, int]]) -> Any:
    """(index, first, stop) rows to join tally rows to by a range of hours or days."""
    return values_table(
        "units", [("index", INDEX_TYPE), ("first", INDEX_TYPE), ("stop", INDEX_TYPE)], ranges
    )


def _edges_table(pieces: Sequence[tuple[int, datetime, datetime]]) -> Any:
    """(index, opens, closes) rows: the ragged pieces of each window, read from the alerts."""
    return values_table(
        "edges", [("index", INDEX_TYPE), ("opens", MOMENT_TYPE), ("closes", MOMENT_TYPE)], pieces
    )


def _received_in(edges: Any) -> ColumnElement[bool]:
    received = col(Alert.received_at)
    return and_(received >= edges.c.opens, received < edges.c.closes)


def counts(
    session: Any, windows: Sequence[tuple[datetime, datetime]], follow_up_minutes: int
) -> list[AlertCounts]:
    """Each window's AlertCounts, all windows in four grouped queries: whole hours from
    alert_hour and whole days from alert_follow_up, the edges from the alerts."""
    names = ("alerts", "followed", "follow_up_seconds", "concluded", "judged", "valid")
    totals = [dict.fromkeys((*names, "silenced", "in_time"), 0.0) for _ in windows]

    def collect(rows: Iterable[Any]) -> None:
        for index, silenced, *values in rows:
            target = totals[int(index)]
            if silenced:
                target["silenced"] += values[0]
            else:
                for name, value in zip(names, values, strict=True):
                    target[name] += value or 0

    hours = [split(start, end, HOUR) for start, end in windows]
    whole = [(i, s.first, s.stop) for i, s in enumerate(hours) if s.first < s.stop]
    if whole:
        units = _units_table(whole)
        tally = AlertHour.__table__  # type: ignore[attr-defined]
        collect(
            session.execute(
                select(
                    units.c.index,
                    tally.c.silenced,
                    *(func.sum(tally.c[name]) for name in names),
                )
                .select_from(units)
                .join(tally, and_(tally.c.hour >= units.c.first, tally.c.hour < units.c.stop))
                .group_by(units.c.index, tally.c.silenced)
            )
        )
    ragged = [(i, a, b) for i, s in enumerate(hours) for a, b in s.edges]
    if ragged:
        alerts = _measured(joined=_edges_table(ragged))
        keys = (alerts.c.index, alerts.c.silenced)
        collect(session.execute(select(*keys, *_hour_sums(alerts).values()).group_by(*keys)))
    for index, in_time in enumerate(followed_within(session, windows, follow_up_minutes * 60)):
        totals[index]["in_time"] = in_time
    return [
        AlertCounts(
            alerts=int(t["alerts"]),
            silenced=int(t["silenced"]),
            followed=int(t["followed"]),
            follow_up_seconds=float(t["follow_up_seconds"]),
            in_time=int(t["in_time"]),
            concluded=int(t["concluded"]),
            judged=int(t["judged"]),
            valid=int(t["valid"]),
        )
        for t in totals
    ]


def followed_within(
    session: Any, windows: Sequence[tuple[datetime, datetime]], limit_seconds: int
) -> list[int]:
    """Per window, the unsilenced alerts first followed up at most `limit_seconds` after they
    arrived (a whole number: ⌈s⌉ ≤ limit exactly when s ≤ limit)."""
    found = [0] * len(windows)
    days = [split(start, end, DAY) for start, end in windows]
    whole = [(i, s.first, s.stop) for i, s in enumerate(days) if s.first < s.stop]
    if whole:
        units = _units_table(whole)
        tally = AlertFollowUp.__table__  # type: ignore[attr-defined]
        rows = session.execute(
            select(units.c.index, func.sum(tally.c.alerts))
            .select_from(units)
            .join(tally, and_(tally.c.day >= units.c.first, tally.c.day < units.c.stop))
            .where(tally.c.seconds <= limit_seconds)
            .group_by(units.c.index)
        )
        for index, number in rows:
            found[int(index)] += int(number or 0)
    ragged = [(i, a, b) for i, s in enumerate(days) for a, b in s.edges]
    if ragged:
        alerts = _measured(joined=_edges_table(ragged))
        rows = session.execute(
            select(alerts.c.index, func.count())
            .where(alerts.c.silenced.is_(False), alerts.c.seconds <= limit_seconds)
            .group_by(alerts.c.index)
        )
        for index, number in rows:
            found[int(index)] += int(number)
    return found


def follow_up_percentiles(
    session: Any, start: datetime, end: datetime, shares: Sequence[float]
) -> list[int] | None:
    """Nearest-rank percentiles (the value at rank ⌈p × n⌉) of the window's follow-up times
    of unsilenced alerts, in whole seconds rounded up; None when none was followed up."""
    days = split(start, end, DAY)
    parts: list[Any] = []
    tally = AlertFollowUp.__table__  # type: ignore[attr-defined]
    if days.first < days.stop:
        parts.append(
            select(tally.c.seconds.label("seconds"), tally.c.alerts.label("alerts")).where(
                tally.c.day >= days.first, tally.c.day < days.stop
            )
        )
    if days.edges:
        alerts = _measured(joined=_edges_table([(0, a, b) for a, b in days.edges]))
        parts.append(
            select(alerts.c.whole_seconds.label("seconds"), func.count().label("alerts"))
            .where(alerts.c.silenced.is_(False), alerts.c.seconds.is_not(None))
            .group_by(alerts.c.whole_seconds)
        )
    if not parts:
        return None
    merged = _union(parts).subquery()
    histogram = session.execute(
        select(merged.c.seconds, func.sum(merged.c.alerts))
        .group_by(merged.c.seconds)
        .having(func.sum(merged.c.alerts) > 0)
        .order_by(merged.c.seconds)
    ).all()
    # The value at rank r is the first whose running count reaches r.
    reached = list(accumulate(int(number) for _, number in histogram))
    if not reached:
        return None
    ranks = [max(1, math.ceil(share * reached[-1])) for share in shares]
    return [int(histogram[bisect_left(reached, rank)][0]) for rank in ranks]


@dataclass(frozen=True)
class RuleCount:
    rule: str
    alerts: int  # silenced ones too: every alert the rule raised
    judged: int
    valid: int


def loudest_rules(session: Any, start: datetime, end: datetime, limit: int) -> list[RuleCount]:
    """The `limit` rules with the most alerts in the window (ties by name)."""
    hours = split(start, end, HOUR)
    tally = AlertHour.__table__  # type: ignore[attr-defined]
    parts: list[Any] = []
    if hours.first < hours.stop:
        parts.append(
            select(
                tally.c.rule.label("rule"),
                tally.c.alerts.label("alerts"),
                tally.c.judged.label("judged"),
                tally.c.valid.label("valid"),
            ).where(tally.c.hour >= hours.first, tally.c.hour < hours.stop)
        )
    if hours.edges:
        alerts = _measured(joined=_edges_table([(0, a, b) for a, b in hours.edges]))
        sums = _hour_sums(alerts)
        parts.append(
            select(
                alerts.c.rule.label("rule"),
                sums["alerts"].label("alerts"),
                sums["judged"].label("judged"),
                sums["valid"].label("valid"),
            ).group_by(alerts.c.rule)
        )
    if not parts:
        return []
    merged = _union(parts).subquery()
    alerts = func.sum(merged.c.alerts)
    rows = session.execute(
        select(merged.c.rule, alerts, func.sum(merged.c.judged), func.sum(merged.c.valid))
        .group_by(merged.c.rule)
        .having(alerts > 0)
        .order_by(alerts.desc(), merged.c.rule)
        .limit(limit)
    ).all()
    return [RuleCount(str(rule), int(n), int(j), int(v)) for rule, n, j, v in rows]


def arrived_in(session: Any, spans: Sequence[tuple[datetime, datetime]]) -> int:
    """Every alert (silenced too) that arrived in one of the disjoint `spans`."""
    if not spans:
        return 0
    pieces = [split(start, end, HOUR) for start, end in spans]
    total = 0
    whole = [(i, s.first, s.stop) for i, s in enumerate(pieces) if s.first < s.stop]
    if whole:
        units = _units_table(whole)
        tally = AlertHour.__table__  # type: ignore[attr-defined]
        total += session.execute(
            select(func.coalesce(func.sum(tally.c.alerts), 0))
            .select_from(units)
            .join(tally, and_(tally.c.hour >= units.c.first, tally.c.hour < units.c.stop))
        ).scalar_one()
    ragged = [(i, a, b) for i, s in enumerate(pieces) for a, b in s.edges]
    if ragged:
        edges = _edges_table(ragged)
        total += session.execute(
            select(func.count()).select_from(edges).join(Alert, _received_in(edges))
        ).scalar_one()
    return int(total)
