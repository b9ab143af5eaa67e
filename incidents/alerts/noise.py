"""Noise: which alerts may call a person, and the two checks that find noise as alerts arrive.

A silenced alert (a maintenance window the team declared, `incidents/alerts/silences.py`), a
flapping one (its check fires and resolves over and over) or one of a storm (one root cause, a
flood of alerts) is stored and shown like any other, but pages nobody: the team hears of a
flapping check or a storm once, by its own notice (`alert_flapping`, `alert_storm`), and of a
silenced alert not at all. Both checks run inside the delivery's transaction (ingest), in SQL
over the few rows of the last minutes.
"""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Connection, Row, and_, bindparam, func, insert, select, update
from sqlmodel import Session, col
from sqlmodel import select as sqlmodel_select

from incidents.alerts.models import Alert, AlertStorm
from incidents.calendar import Calendar
from incidents.db import get_or_raise, paged
from incidents.outbox import NotificationEvent, announce, neutralise
from incidents.settings import Settings

STORM_WINDOW = timedelta(minutes=1)
# The first key of the PostgreSQL advisory lock that picks which delivery starts a storm (the
# second is the source's id); any constant no other lock of ours uses.
STORM_LOCK = 15_015
TOP_LABELS = 5


def pages_on_call() -> ColumnElement[bool]:
    """SQL condition: the alert is none of silenced, flapping or part of a storm."""
    return and_(
        col(Alert.silence_id).is_(None),
        col(Alert.storm_id).is_(None),
        col(Alert.flapping).is_(False),
    )


def is_noise(alert: Alert) -> bool:
    """The same rule for one loaded alert."""
    return alert.silence_id is not None or alert.storm_id is not None or alert.flapping


@dataclass(frozen=True)
class NoiseRules:
    """The thresholds of docs/silences.md and the calendar weekly silences are read on."""

    calendar: Calendar = field(default_factory=Calendar)
    flapping_transitions: int = 4
    flapping_minutes: int = 60
    storm_alerts_per_minute: int = 50

    @classmethod
    def of(cls, settings: Settings) -> "NoiseRules":
        return cls(
            settings.calendar,
            settings.flapping_transitions,
            settings.flapping_minutes,
            settings.storm_alerts_per_minute,
        )


_alerts = Alert.__table__  # type: ignore[attr-defined]
_storms = AlertStorm.__table__  # type: ignore[attr-defined]


# --- flapping ---------------------------------------------------------------------------------

# Per fingerprint of the delivery: occurrences arrived since, how many marked flapping, the
# first one. Built once: it runs for every delivery with a new firing alert.
_FIRINGS = (
    select(
        _alerts.c.fingerprint,
        func.count(),
        func.count().filter(_alerts.c.flapping.is_(True)),
        func.min(_alerts.c.id),
    )
    .where(
        _alerts.c.source_id == bindparam("source_id"),
        _alerts.c.received_at >= bindparam("since"),
        _alerts.c.fingerprint.in_(bindparam("fingerprints", expanding=True)),
    )
    .group_by(_alerts.c.fingerprint)
)


def mark_flapping(
    connection: Connection,
    source: Row[Any],
    fingerprints: Sequence[str],
    now: datetime,
    rules: NoiseRules,
) -> int:
    """Mark the fingerprints that just fired (not silenced) and flap; returns notices queued.

    A fingerprint flaps when it fired (a new occurrence arrived: each one after the first means
    a resolution between) more than N times in the last M minutes. Those occurrences are marked
    and one notice goes out; until it settles (no occurrence marked flapping arrived in the last
    M minutes) each new occurrence is marked quietly. Then the count starts afresh, and so may
    a notice. Arrival times, not the sender's start times, so a sender's clock cannot hide it.
    """
    if not fingerprints:
        return 0
    since = now - timedelta(minutes=rules.flapping_minutes)
    same_source = _alerts.c.source_id == source.id
    fired = _alerts.c.received_at >= since
    counts = connection.execute(
        _FIRINGS,
        {"source_id": source.id, "since": since, "fingerprints": sorted(set(fingerprints))},
    ).all()
    quiet = [row[0] for row in counts if row[2] > 0]
    starting = [
        (row[0], row[1], row[3])
        for row in counts
        if row[2] == 0 and row[1] > rules.flapping_transitions
    ]
    flapping = quiet + [fingerprint for fingerprint, _, _ in starting]
    if not flapping:
        return 0
    # Rows another delivery holds are skipped, not waited for: waiting while holding this
    # delivery's rows could deadlock; a skipped one is a repeat that the next firing marks.
    marked = connection.execute(
        select(_alerts.c.id)
        .where(same_source, fired, _alerts.c.fingerprint.in_(flapping))
        .with_for_update(skip_locked=True)
    ).scalars()
    connection.execute(update(_alerts).where(_alerts.c.id.in_(list(marked))).values(flapping=True))
    if not starting:
        return 0
    with Session(bind=connection) as session:
        for fingerprint, fired_count, first_id in starting:
            newest_id, title = connection.execute(
                select(_alerts.c.id, _alerts.c.title)
                .where(same_source, _alerts.c.fingerprint == fingerprint)
                .order_by(_alerts.c.id.desc())
                .limit(1)
            ).one()
            announce(
                session,
                NotificationEvent.alert_flapping,
                # The episode's first occurrence in the window: concurrent deliveries agree on it.
                f"alert_flapping:{source.id}:{first_id}",
                title=f"报警抖动：{title}"[:300],
                markdown=(
                    f"**{neutralise(title)}**（{neutralise(source.name)}）"
                    f"{rules.flapping_minutes}分钟内触发{fired_count}次，已标记为抖动；"
                    f"在它平稳{rules.flapping_minutes}分钟之前不再通知。"
                ),
                path=f"/alerts/{newest_id}",
            )
        session.flush()
    return len(starting)


# --- storms -----------------------------------------------------------------------------------


def join_or_start_storm(
    connection: Connection,
    source: Row[Any],
    new_alert_ids: Sequence[int],
    now: datetime,
    rules: NoiseRules,
) -> int | None:
    """Put this delivery's new (unsilenced) alerts into the source's storm, or start one.

    A storm is open while its source's alerts keep joining it, a minute apart at most; new
    alerts join it. Without one, more than K new alerts from the source in the last minute start
    a storm: those alerts join it and one `alert_storm` notice says how many and which labels.
    Returns the storm's id, or None when there is none.

    Concurrent deliveries never wait for each other here: joining writes only this delivery's
    own rows, and starting marks the minute's other alerts skipping any another delivery has
    locked (they page as they would have; the next ones join).
    """
    if not new_alert_ids:
        return None
    storm_id = _open_storm(connection, source.id, now)
    if storm_id is None:
        arrived = _arrived_last_minute(connection, source.id, now)
        if arrived <= rules.storm_alerts_per_minute or not _may_start(connection, source.id):
            return None
        storm_id = _open_storm(connection, source.id, now)  # one started while we counted
        if storm_id is None:
            return _start_storm(connection, source, now)
    connection.execute(
        update(_alerts)
        .where(_alerts.c.id.in_(new_alert_ids), _alerts.c.silence_id.is_(None))
        .values(storm_id=storm_id)
    )
    return storm_id


# `source_id + 0` keeps the planners off the occurrence index (source_id, fingerprint, …), which
# would walk every alert the source ever sent: the last minute is a short range of `received_at`.
_OF_SOURCE = (_alerts.c.source_id + 0) == bindparam("source_id")
_SINCE = _alerts.c.received_at > bindparam("since")
# Built once: they run for every delivery with a new alert. The open storm is the one the
# source's latest stormy alert of the last minute joined: read newest first, during a storm the
# first row answers, where counting the minute would read every one of its thousands of alerts.
_OPEN_STORM = (
    select(_alerts.c.storm_id)
    .where(_SINCE, _OF_SOURCE, _alerts.c.storm_id.is_not(None))
    .order_by(_alerts.c.received_at.desc())
    .limit(1)
)
_ARRIVED = select(func.count()).where(_SINCE, _OF_SOURCE, _alerts.c.silence_id.is_(None))


def _open_storm(connection: Connection, source_id: int, now: datetime) -> int | None:
    window = {"source_id": source_id, "since": now - STORM_WINDOW}
    return connection.execute(_OPEN_STORM, window).scalar()


def _arrived_last_minute(connection: Connection, source_id: int, now: datetime) -> int:
    window = {"source_id": source_id, "since": now - STORM_WINDOW}
    return int(connection.execute(_ARRIVED, window).scalar_one())


def _may_start(connection: Connection, source_id: int) -> bool:
    """Whether this transaction is the one to start the source's storm. On PostgreSQL a
    transaction-scoped advisory lock, tried without waiting: a delivery that waited here while
    holding its alert rows could deadlock with the one starting it. SQLite has one writer."""
    if connection.dialect.name != "postgresql":
        return True
    return bool(
        connection.execute(select(func.pg_try_advisory_xact_lock(STORM_LOCK, source_id))).scalar()
    )


def _start_storm(connection: Connection, source: Row[Any], now: datetime) -> int | None:
    rows = connection.execute(
        select(_alerts.c.id, _alerts.c.labels, _alerts.c.received_at)
        .where(_SINCE, _OF_SOURCE, _alerts.c.silence_id.is_(None), _alerts.c.storm_id.is_(None))
        .with_for_update(skip_locked=True),
        {"source_id": source.id, "since": now - STORM_WINDOW},
    ).all()
    if not rows:  # every one is held by other deliveries: the next delivery starts it
        return None
    pairs = Counter(f"{name}={value}" for row in rows for name, value in (row.labels or {}).items())
    top = [[pair, count] for pair, count in pairs.most_common(TOP_LABELS)]
    storm_id = connection.execute(
        insert(_storms)
        .values(
            source_id=source.id,
            started_at=min(row.received_at for row in rows),
            announced_alerts=len(rows),
            top_labels=top,
        )
        .returning(_storms.c.id)
    ).scalar_one()
    ids = [row.id for row in rows]
    for start in range(0, len(ids), 500):
        connection.execute(
            update(_alerts)
            .where(_alerts.c.id.in_(ids[start : start + 500]))
            .values(storm_id=storm_id)
        )
    labels_text = "\n".join(f"- {neutralise(str(pair))}：{count}条" for pair, count in top)
    with Session(bind=connection) as session:
        announce(
            session,
            NotificationEvent.alert_storm,
            f"alert_storm:{storm_id}",
            title=f"报警风暴：{source.name} 1分钟内{len(rows)}条新报警"[:300],
            markdown=(
                f"**{neutralise(source.name)}** 1分钟内发来{len(rows)}条新报警，"
                "合并为一次风暴通知；风暴持续期间的新报警不再逐条通知。\n\n"
                f"最常见的标签：\n{labels_text or '- （无）'}"
            ),
            path=f"/alerts?storm={storm_id}",
        )
        session.flush()
    return storm_id


# --- the inbox --------------------------------------------------------------------------------


@dataclass
class StormRow:
    """A storm as the inbox shows it: one row, expanding to (the first of) its alerts."""

    storm: AlertStorm
    matching: int  # its alerts the inbox's filter lets through
    alerts: list[Alert]


def inbox_alerts(
    session: Session, conditions: Sequence[Any], *, limit: int, offset: int
) -> tuple[list[Alert], int]:
    """A page of the alerts outside storms, newest first (storms are rows of their own)."""
    statement = (
        sqlmodel_select(Alert)
        .where(*conditions, col(Alert.storm_id).is_(None))
        .order_by(col(Alert.received_at).desc(), col(Alert.id).desc())
    )
    return paged(session, statement, limit=limit, offset=offset)


def storm_alerts(
    session: Session, storm_id: int, *, limit: int, offset: int
) -> tuple[AlertStorm, list[Alert], int]:
    """A page of one storm's alerts, newest first."""
    storm = get_or_raise(session, AlertStorm, storm_id)
    statement = (
        sqlmodel_select(Alert)
        .where(col(Alert.storm_id) == storm_id)
        .order_by(col(Alert.received_at).desc(), col(Alert.id).desc())
    )
    alerts, total = paged(session, statement, limit=limit, offset=offset)
    return storm, alerts, total


def inbox_storms(
    session: Session, conditions: Sequence[Any], *, limit: int = 10, preview: int = 20
) -> list[StormRow]:
    """The latest storms with alerts the filter lets through, each with its first alerts."""
    counted = session.exec(
        sqlmodel_select(col(Alert.storm_id), func.count())
        .where(*conditions, col(Alert.storm_id).is_not(None))
        .group_by(col(Alert.storm_id))
        .order_by(col(Alert.storm_id).desc())
        .limit(limit)
    ).all()
    rows = []
    for storm_id, matching in counted:
        alerts = session.exec(
            sqlmodel_select(Alert)
            .where(*conditions, col(Alert.storm_id) == storm_id)
            .order_by(col(Alert.id))
            .limit(preview)
        ).all()
        storm = get_or_raise(session, AlertStorm, storm_id)
        rows.append(StormRow(storm, matching, list(alerts)))
    return rows
