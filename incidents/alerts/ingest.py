"""Storing a delivery's alert events: each occurrence once, repeats counted, resolutions closing.

An occurrence is (source, fingerprint, starts_at): senders repeat a firing alert with the same
start, and a re-firing after resolution carries a new one. The database's unique constraint on
that triple, used through INSERT … ON CONFLICT, keeps concurrent deliveries of the same alert
from storing it twice without any lock in Python.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Connection, Engine, Row, Table, and_, select, update
from sqlmodel import Session

from incidents.alerts import parse_delivery_full
from incidents.alerts.event import AlertEvent, Delivery
from incidents.alerts.models import Alert, AlertStatus
from incidents.alerts.service import auto_promote
from incidents.alerts.sources import source_for_webhook
from incidents.db import dialect_insert, one_writer_at_a_time, utcnow
from incidents.grading import GradingPolicy
from incidents.settings import Settings

# A `source` row as read on the webhook path (id, kind, secret, system_label …).
SourceRow = Row

# Rows per INSERT statement: well under SQLite's 32,766 bound parameters at ~20 per row.
INSERT_BATCH = 500


@dataclass
class IngestResult:
    new: int = 0
    repeats: int = 0
    resolved: int = 0
    new_alert_ids: list[int] = field(default_factory=list)


@cache
def _upsert_statement(dialect: str, *, only_while_firing: bool) -> Any:
    """INSERT … ON CONFLICT (occurrence) DO UPDATE, built once so SQLAlchemy compiles it once.

    Executed with a list of rows it becomes one multi-row INSERT per batch ("insertmanyvalues"),
    still returning each stored row's id and repeat count.
    """
    table: Table = Alert.__table__  # type: ignore[attr-defined]
    statement = dialect_insert(dialect)(table)
    return statement.on_conflict_do_update(
        index_elements=["source_id", "fingerprint", "starts_at"],
        set_={
            "last_seen_at": statement.excluded.last_seen_at,
            "repeat_count": table.c.repeat_count + 1,
        },
        # A late firing repeat of an occurrence that has since resolved must not count.
        where=(table.c.status == AlertStatus.firing) if only_while_firing else None,
    ).returning(table.c.id, table.c.repeat_count)


# Widths of the alert columns filled from free-form labels: PostgreSQL refuses a longer value
# (SQLite would keep it), and a sender whose delivery is refused drops the alert.
SEVERITY_MAX = 50
SYSTEM_MAX = 100


def _clip(value: str | None, width: int) -> str | None:
    return value if value is None or len(value) <= width else value[: width - 1] + "…"


def _row(source: SourceRow, event: AlertEvent, now: datetime) -> dict[str, Any]:
    return {
        "source_id": source.id,
        "fingerprint": event.fingerprint,
        "status": event.status,
        "title": event.title,
        "severity": _clip(event.severity, SEVERITY_MAX),
        "system": _clip(event.labels.get(source.system_label), SYSTEM_MAX),
        "labels": event.labels,
        "annotations": event.annotations,
        "url": event.url,
        "starts_at": event.starts_at,
        "ends_at": event.ends_at,
        "received_at": now,
        "last_seen_at": now,
        "repeat_count": 0,
        "resolved_at": now if event.status == AlertStatus.resolved else None,
        "raw": event.raw,
    }


def _latest_per_occurrence(events: Iterable[AlertEvent]) -> list[AlertEvent]:
    # One statement must not touch the same row twice (PostgreSQL refuses), so a delivery that
    # names an occurrence twice keeps its last word on it. Sorting makes concurrent deliveries
    # lock shared rows in the same order, which keeps PostgreSQL from deadlocking them.
    latest: dict[tuple[str, datetime], AlertEvent] = {}
    for event in events:
        latest[(event.fingerprint, event.starts_at)] = event
    return [latest[occurrence] for occurrence in sorted(latest)]


def ingest(connection: Connection, source: SourceRow, events: list[AlertEvent]) -> IngestResult:
    """Store one delivery in the caller's transaction (the caller commits, then answers 2xx)."""
    now = utcnow()
    result = IngestResult()
    unique_events = _latest_per_occurrence(events)
    firing = [event for event in unique_events if event.status == AlertStatus.firing]
    resolved = [event for event in unique_events if event.status == AlertStatus.resolved]
    _upsert(connection, source, firing, now, result, count_repeats_only_while_firing=True)
    still_unmatched = []
    for event in resolved:
        outcome = _resolve(connection, source, event, now)
        if outcome == "closed":
            result.resolved += 1
        elif outcome == "repeat":
            result.repeats += 1
        else:
            still_unmatched.append(event)
    # A resolution whose firing we never saw (we were down, or it predates the source) is
    # still an alert that happened; it is stored already resolved.
    _upsert(connection, source, still_unmatched, now, result, count_repeats_only_while_firing=False)
    return result


def _upsert(
    connection: Connection,
    source: SourceRow,
    events: list[AlertEvent],
    now: datetime,
    result: IngestResult,
    *,
    count_repeats_only_while_firing: bool,
) -> None:
    if not events:
        return
    statement = _upsert_statement(
        connection.dialect.name, only_while_firing=count_repeats_only_while_firing
    )
    for start in range(0, len(events), INSERT_BATCH):
        rows = [_row(source, event, now) for event in events[start : start + INSERT_BATCH]]
        for alert_id, repeat_count in connection.execute(statement, rows):
            if repeat_count == 0:
                result.new += 1
                result.new_alert_ids.append(alert_id)
            else:
                result.repeats += 1


def _resolve(connection: Connection, source: SourceRow, event: AlertEvent, now: datetime) -> str:
    """Close the open occurrences of the fingerprint that began no later than this notice.

    Returns "closed", "repeat" (the occurrence was closed by an earlier copy of this notice —
    监控宝's recovery may carry its own time rather than the fault's) or "unmatched".
    """
    table: Table = Alert.__table__  # type: ignore[attr-defined]
    same_series = and_(
        table.c.source_id == source.id,
        table.c.fingerprint == event.fingerprint,
        table.c.starts_at <= event.starts_at,
    )
    closed = connection.execute(
        update(table)
        .where(same_series, table.c.status == AlertStatus.firing)
        .values(
            status=AlertStatus.resolved,
            ends_at=event.ends_at or now,
            resolved_at=now,
            last_seen_at=now,
        )
    )
    if closed.rowcount > 0:
        return "closed"
    latest_resolved = (
        select(table.c.id)
        .where(same_series, table.c.status == AlertStatus.resolved)
        .order_by(table.c.starts_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    repeated = connection.execute(
        update(table)
        .where(table.c.id == latest_resolved)
        .values(last_seen_at=now, repeat_count=table.c.repeat_count + 1)
    )
    return "repeat" if repeated.rowcount > 0 else "unmatched"


def receive_delivery(
    engine: Engine,
    *,
    kind: str,
    key: str,
    delivery: Delivery,
    settings: Settings,
    policy: GradingPolicy,
) -> dict[str, int] | None:
    """Authenticate, parse and store one webhook delivery in one transaction.

    None when no enabled source has this key. The caller answers 2xx only after this returns,
    that is after the commit, so a delivery the sender saw succeed is never lost. Core rather
    than ORM on this path: it runs for every alert every monitoring system sends. Looking the
    source up and parsing happen before the writer's turn, so writers queue only for the write.
    """
    with engine.connect() as connection:
        source = source_for_webhook(connection, kind, key)
        connection.rollback()  # the read is done; the write below is a transaction of its own
        if source is None:
            return None
        parsed = parse_delivery_full(kind, replace(delivery, secret=source.secret))
        with one_writer_at_a_time(engine), connection.begin():
            result = ingest(connection, source, parsed.events)
            if result.new_alert_ids and settings.auto_promoted_severities:
                with Session(bind=connection) as session:
                    auto_promote(
                        session,
                        result.new_alert_ids,
                        severities=settings.auto_promoted_severities,
                        window=timedelta(minutes=settings.auto_promote_window_minutes),
                        policy=policy,
                        calendar=settings.calendar,
                    )
                    session.flush()
    return {
        "received": len(parsed.events),
        "new": result.new,
        "repeats": result.repeats,
        "resolved": result.resolved,
        "truncated_by_sender": parsed.truncated_alerts,
    }
