"""The audit trail: every change to an incident, who made it, when and why."""

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum

from sqlmodel import Session, col, select

from incidents.models import AuditEntry


def as_text(value: object) -> str | None:
    """A stable text form for old/new values, so the trail reads the same on every database."""
    if value is None:
        return None
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def record(
    session: Session,
    *,
    incident_id: int | None,
    actor: str,
    action: str,
    field: str | None = None,
    old: object = None,
    new: object = None,
    reason: str | None = None,
) -> AuditEntry:
    """Add an entry to the caller's transaction; it commits or rolls back with the change."""
    if incident_id is None:
        raise ValueError("an incident is flushed, and so has its id, before it is audited")
    entry = AuditEntry(
        incident_id=incident_id,
        actor=actor,
        action=action,
        field=field,
        old_value=as_text(old),
        new_value=as_text(new),
        reason=reason,
    )
    session.add(entry)
    return entry


def record_changes(
    session: Session,
    *,
    incident_id: int,
    actor: str,
    action: str,
    before: Mapping[str, object],
    after: Mapping[str, object],
    reason: str | None = None,
) -> list[str]:
    """One entry per field whose value changed; returns the names of the changed fields."""
    changed = [name for name in after if as_text(before.get(name)) != as_text(after[name])]
    for name in changed:
        record(
            session,
            incident_id=incident_id,
            actor=actor,
            action=action,
            field=name,
            old=before.get(name),
            new=after[name],
            reason=reason,
        )
    return changed


def trail(session: Session, incident_id: int) -> list[AuditEntry]:
    statement = (
        select(AuditEntry)
        .where(AuditEntry.incident_id == incident_id)
        .order_by(col(AuditEntry.at), col(AuditEntry.id))
    )
    return list(session.exec(statement))
