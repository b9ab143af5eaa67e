"""What the incident page and the filing form add around an incident: the alerts linked to it,
its change history, whether its status lags its own times, and whether an incident being filed
was most likely filed a moment ago by someone else."""

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from incidents import audit, similar
from incidents.alerts.models import Alert
from incidents.models import AuditEntry, Incident, IncidentStatus

# A like title on the same system filed within the hour is most likely the same event filed by a
# colleague a moment ago: the form says so. A hint only; filing it anyway stays possible.
DUPLICATE_WINDOW = timedelta(hours=1)
DUPLICATE_SIMILARITY = 0.5  # share of the typed text's trigrams found in the earlier incident
LINKED_ALERTS_SHOWN = 50


def duplicate_facts(
    session: Session, item: similar.SimilarIncident, now: datetime
) -> dict[str, Any]:
    """The filing form's 'possible duplicate of #N' for one similar incident: nothing to add
    for most, the incident's number and how long ago it was filed for a likely duplicate."""
    if not item.same_system or item.similarity < DUPLICATE_SIMILARITY:
        return {}
    incident = session.get(Incident, item.id)
    if incident is None or now - incident.created_at > DUPLICATE_WINDOW:
        return {}
    minutes = max(0, int((now - incident.created_at).total_seconds() // 60))
    return {"id": item.id, "possible_duplicate": True, "filed_minutes_ago": minutes}


def linked_alerts(session: Session, incident_id: int) -> list[Alert]:
    """The alerts promoted into or linked to the incident, the first received first."""
    statement = (
        select(Alert)
        .where(Alert.incident_id == incident_id)
        .order_by(col(Alert.received_at), col(Alert.id))
        .limit(LINKED_ALERTS_SHOWN)
    )
    return list(session.exec(statement))


def history(session: Session, incident_id: int) -> list[AuditEntry]:
    """Every recorded change, the newest first: what a reader of the page asks about."""
    return list(reversed(audit.trail(session, incident_id)))


def status_lags(incident: Incident) -> bool:
    """Mitigated or restored by its own times, yet still 处理中: the page offers to move it on."""
    return incident.status == IncidentStatus.open and (
        incident.mitigated_at is not None or incident.recovered_at is not None
    )
