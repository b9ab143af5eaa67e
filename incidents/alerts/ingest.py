"""Storing a delivery's alert events: each occurrence once, repeats counted, resolutions closing.

An occurrence is (source, fingerprint, starts_at): senders repeat a firing alert with the same
start, and a re-firing after resolution carries a new one. The database's unique constraint on
that triple, used through INSERT … ON CONFLICT, keeps concurrent deliveries of the same alert
from storing it twice without any lock in Python.
"""

import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Connection, Engine, Row, Table, and_, select, update
from sqlmodel import Session

from incidents.alerts import parse_delivery_full, tally
from incidents.alerts.event import AlertEvent, Delivery
from incidents.alerts.models import Alert, AlertStatus
from incidents.alerts.noise import NoiseRules, join_or_start_storm, mark_flapping
from incidents.alerts.service import auto_promote
from incidents.alerts.silences import Holding, holding, silence_for
from incidents.alerts.sources import SourceCache, changed_sources
from incidents.alerts.writer import Batch, GroupCommitWriter
from incidents.db import dialect_insert, utcnow
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
    # The fingerprints of new firing occurrences no silence holds: flapping is counted on them.
    new_unsilenced_firing: list[str] = field(default_factory=list)
    silenced: int = 0
    flapping_notices: int = 0
    storm_id: int | None = None


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
    ).returning(
        table.c.id, table.c.repeat_count, table.c.fingerprint, table.c.status, table.c.silence_id
    )


# Widths of the alert columns filled from free-form labels: PostgreSQL refuses a longer value
# (SQLite would keep it), and a sender whose delivery is refused drops the alert.
SEVERITY_MAX = 50
SYSTEM_MAX = 100


def _clip(value: str | None, width: int) -> str | None:
    return value if value is None or len(value) <= width else value[: width - 1] + "…"


def _row(
    source: SourceRow, event: AlertEvent, now: datetime, silences: list[Holding]
) -> dict[str, Any]:
    row = {
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
    # Only a new occurrence takes the silence: the upsert leaves a stored one's column alone.
    row["silence_id"] = silence_for(silences, row)
    return row


def _latest_per_occurrence(events: Iterable[AlertEvent]) -> list[AlertEvent]:
    # One statement must not touch the same row twice (PostgreSQL refuses), so a delivery that
    # names an occurrence twice keeps its last word on it. Sorting makes concurrent deliveries
    # lock shared rows in the same order, which keeps PostgreSQL from deadlocking them.
    latest: dict[tuple[str, datetime], AlertEvent] = {}
    for event in events:
        latest[(event.fingerprint, event.starts_at)] = event
    return [latest[occurrence] for occurrence in sorted(latest)]


def ingest(
    connection: Connection,
    source: SourceRow,
    events: list[AlertEvent],
    *,
    rules: NoiseRules | None = None,
    now: datetime | None = None,
) -> IngestResult:
    """Store one delivery in the caller's transaction (the caller commits, then answers 2xx).

    New occurrences are matched against the silences holding the source now (read once per
    delivery); then the new firing ones are checked for flapping and the delivery for a storm
    (incidents/alerts/noise.py), which may queue one notice each.
    """
    now = now or utcnow()
    rules = rules or NoiseRules()
    silences = holding(connection, source.id, now, rules.calendar) if events else []
    result = store_events(connection, source, events, now, silences)
    tally.add_arrivals(connection, result.new_alert_ids)
    apply_noise_rules(connection, source, result, now, rules)
    return result


def store_events(
    connection: Connection,
    source: SourceRow,
    events: list[AlertEvent],
    now: datetime,
    silences: list[Holding],
) -> IngestResult:
    """The storing half of `ingest`: upserts and resolutions, new occurrences silenced."""
    result = IngestResult()
    unique_events = _latest_per_occurrence(events)
    firing = [event for event in unique_events if event.status == AlertStatus.firing]
    resolved = [event for event in unique_events if event.status == AlertStatus.resolved]
    _upsert(connection, source, firing, now, silences, result, count_repeats_only_while_firing=True)
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
    _upsert(
        connection,
        source,
        still_unmatched,
        now,
        silences,
        result,
        count_repeats_only_while_firing=False,
    )
    return result


def apply_noise_rules(
    connection: Connection,
    source: SourceRow,
    result: IngestResult,
    now: datetime,
    rules: NoiseRules,
) -> None:
    """The noise half of `ingest`: flapping for the new firing occurrences, then the storm.

    Given the results of several deliveries merged, it treats them as one delivery: flapping
    counts every occurrence in the window whichever delivery brought it, and a storm is joined
    or started by the source's new alerts of the last minute.
    """
    result.flapping_notices = mark_flapping(
        connection, source, result.new_unsilenced_firing, now, rules
    )
    result.storm_id = join_or_start_storm(connection, source, result.new_alert_ids, now, rules)


def _upsert(
    connection: Connection,
    source: SourceRow,
    events: list[AlertEvent],
    now: datetime,
    silences: list[Holding],
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
        rows = [
            _row(source, event, now, silences) for event in events[start : start + INSERT_BATCH]
        ]
        for alert_id, repeat_count, fingerprint, status, silence_id in connection.execute(
            statement, rows
        ):
            if repeat_count > 0:
                result.repeats += 1
                continue
            result.new += 1
            result.new_alert_ids.append(alert_id)
            if silence_id is not None:
                result.silenced += 1
            elif status == AlertStatus.firing:
                result.new_unsilenced_firing.append(fingerprint)


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


class StaleSource(Exception):
    """The source changed (key rotated, disabled, edited) after it was cached: look it up again."""


@dataclass(frozen=True)
class Arrival:
    """A delivery parsed and authenticated, waiting for the writer."""

    source: SourceRow
    events: list[AlertEvent]
    truncated_by_sender: int
    settings: Settings
    policy: GradingPolicy


def _refuse_stale_sources(
    connection: Connection, arrivals: Sequence[Arrival]
) -> list[BaseException | None]:
    changed = changed_sources(connection, [arrival.source for arrival in arrivals])
    return [StaleSource() if arrival.source.id in changed else None for arrival in arrivals]


@dataclass
class Stored:
    """A delivery stored in a batch not yet committed."""

    arrival: Arrival
    result: IngestResult
    # Its new alerts are in the tallies already (counted before an auto-promotion changed them).
    tallied: bool = False

    def counts(self) -> dict[str, int]:
        """The delivery's answer."""
        return {
            "received": len(self.arrival.events),
            "new": self.result.new,
            "repeats": self.result.repeats,
            "resolved": self.result.resolved,
            "truncated_by_sender": self.arrival.truncated_by_sender,
        }


def _store(batch: Batch[Arrival], arrival: Arrival) -> Stored:
    """One delivery's rows and auto-promotion; the tallies (unless it promoted) and the noise
    rules wait for `_finish_batch`."""
    settings = arrival.settings
    # Every delivery of a batch shares its moment, so the silences holding a source then are
    # read once a batch.
    silences = batch.memo.get(("silences", arrival.source.id))
    if silences is None and arrival.events:
        silences = holding(batch.connection, arrival.source.id, batch.now, settings.calendar)
        batch.memo[("silences", arrival.source.id)] = silences
    result = store_events(
        batch.connection, arrival.source, arrival.events, batch.now, silences or []
    )
    promoting = bool(result.new_alert_ids and settings.auto_promoted_severities)
    if promoting:
        # Counted as they arrived, before the promotion changes them (docs/architecture.md,
        # "Alert tallies"); the others are counted once a batch, in `_finish_batch`.
        tally.add_arrivals(batch.connection, result.new_alert_ids)
        with Session(bind=batch.connection) as session:
            auto_promote(
                session,
                result.new_alert_ids,
                severities=settings.auto_promoted_severities,
                window=timedelta(minutes=settings.auto_promote_window_minutes),
                policy=arrival.policy,
                calendar=settings.calendar,
            )
            session.flush()
    return Stored(arrival, result, tallied=promoting)


def _finish_batch(batch: Batch[Arrival], stored: Sequence[Stored]) -> None:
    """The batch's new alerts counted in the tallies in one statement, then flapping and
    storms once per source a batch, as if its deliveries were one.

    Per delivery, the storm's count of the source's last minute was most of a delivery's cost
    when alerts pour in — exactly when batches are large.
    """
    arrived = [i for one in stored if not one.tallied for i in one.result.new_alert_ids]
    tally.add_arrivals(batch.connection, arrived)
    merged: dict[tuple[int, int], tuple[Arrival, IngestResult]] = {}
    for one in stored:
        # Deliveries of one source share the rules unless handed different settings.
        group = (one.arrival.source.id, id(one.arrival.settings))
        _, result = merged.setdefault(group, (one.arrival, IngestResult()))
        result.new_alert_ids += one.result.new_alert_ids
        result.new_unsilenced_firing += one.result.new_unsilenced_firing
    for arrival, result in merged.values():
        rules = NoiseRules.of(arrival.settings)
        apply_noise_rules(batch.connection, arrival.source, result, batch.now, rules)


class DeliveryReceiver:
    """One database's webhook path: its cached sources and its group-commit writer."""

    def __init__(self, engine: Engine) -> None:
        self.sources = SourceCache(engine)
        self.writer: GroupCommitWriter[Arrival, Stored] = GroupCommitWriter(
            engine,
            _store,
            check=_refuse_stale_sources,
            finish=_finish_batch,
        )

    def submit(
        self,
        source: SourceRow,
        kind: str,
        delivery: Delivery,
        settings: Settings,
        policy: GradingPolicy,
    ) -> "Future[Stored]":
        """Parse and authenticate (raising SignatureError or Invalid), then queue the write.

        The future gives the stored delivery once it is committed, or raises StaleSource.
        """
        parsed = parse_delivery_full(kind, replace(delivery, secret=source.secret))
        arrival = Arrival(source, parsed.events, parsed.truncated_alerts, settings, policy)
        return self.writer.submit(arrival)


_receivers: dict[Engine, DeliveryReceiver] = {}
_receivers_lock = threading.Lock()

# Tries of a delivery whose source changed under it: each looks the source up afresh, so only
# a source edited again between the lookup and the commit takes another.
SOURCE_ATTEMPTS = 3


def receiver_for(engine: Engine) -> DeliveryReceiver:
    """The process's receiver for this engine, so every request shares one writer."""
    with _receivers_lock:
        receiver = _receivers.get(engine)
        if receiver is None:
            receiver = _receivers[engine] = DeliveryReceiver(engine)
        return receiver


def receive_delivery(
    engine: Engine,
    *,
    kind: str,
    key: str,
    delivery: Delivery,
    settings: Settings,
    policy: GradingPolicy,
) -> dict[str, int] | None:
    """Authenticate, parse and store one webhook delivery, blocking until it is committed.

    None when no enabled source has this key. The caller answers 2xx only after this returns,
    that is after the commit, so a delivery the sender saw succeed is never lost. The HTTP route
    does the same without blocking a thread (api/routes/webhooks.py).
    """
    receiver = receiver_for(engine)
    attempts_left = SOURCE_ATTEMPTS
    while True:
        source = receiver.sources.cached(kind, key) or receiver.sources.load(kind, key)
        if source is None:
            return None
        try:
            return receiver.submit(source, kind, delivery, settings, policy).result().counts()
        except StaleSource:
            receiver.sources.forget(kind, key)
            attempts_left -= 1
            if not attempts_left:
                raise
