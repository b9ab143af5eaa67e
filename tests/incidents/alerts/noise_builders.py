"""Alerts stored the way a webhook delivery stores them, at a moment the test chooses."""

from datetime import UTC, datetime

from sqlalchemy import Engine, select
from sqlmodel import Session

from incidents.alerts.event import AlertEvent
from incidents.alerts.ingest import IngestResult, ingest
from incidents.alerts.models import Source, SourceCreate, SourceKind
from incidents.alerts.noise import NoiseRules
from incidents.alerts.sources import create_source

STARTED = datetime(2023, 9, 7, 6, 0, tzinfo=UTC)


def a_source(engine: Engine, name: str = "prometheus") -> int:
    with Session(engine) as session:
        source = create_source(session, SourceCreate(kind=SourceKind.alertmanager, name=name))
        session.commit()
        assert source.id is not None
        return source.id


def an_event(
    fingerprint: str,
    *,
    status: str = "firing",
    starts_at: datetime = STARTED,
    **labels: str,
) -> AlertEvent:
    return AlertEvent(
        fingerprint=fingerprint,
        status=status,  # type: ignore[arg-type]
        title=f"{labels.get('alertname', 'PayGatewayErrors')} on {fingerprint}",
        severity=labels.get("severity"),
        labels={"alertname": "PayGatewayErrors", **labels},
        annotations={},
        starts_at=starts_at,
        ends_at=None,
        url=None,
        raw={},
    )


def deliver(
    engine: Engine,
    source_id: int,
    *events: AlertEvent,
    now: datetime,
    rules: NoiseRules | None = None,
) -> IngestResult:
    """One delivery in one transaction, as `receive_delivery` stores it."""
    table = Source.__table__  # type: ignore[attr-defined]
    with engine.connect() as connection, connection.begin():
        source = connection.execute(select(table).where(table.c.id == source_id)).one()
        return ingest(connection, source, list(events), rules=rules, now=now)
