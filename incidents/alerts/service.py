"""The alerts service: list, acknowledge, judge valid or invalid, promote to an incident, and the
rule that promotes alerts by itself.

Each action records who and when; `first_follow_up_at` keeps the earliest of them, which is what
报警5分钟跟进率 and MTTA are computed from.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from incidents import audit
from incidents.actors import AUTO_PROMOTER, Actor
from incidents.alerts.models import Alert, AlertStatus, Source
from incidents.calendar import Calendar
from incidents.db import get_or_raise, paged, utcnow
from incidents.errors import Invalid
from incidents.grading import GradingPolicy
from incidents.models import (
    LONG,
    SHORT,
    Detection,
    Incident,
    IncidentCreate,
    IncidentStatus,
    Role,
)
from incidents.service import acknowledge_if_unset, create_incident, get_incident

DESCRIPTION_ANNOTATIONS = ("description", "summary", "message")


@dataclass(frozen=True)
class AlertFilter:
    status: AlertStatus | None = None
    source: str | None = None  # a source's name
    received_from: datetime | None = None
    received_to: datetime | None = None
    followed_up: bool | None = None


def get_alert(session: Session, alert_id: int) -> Alert:
    return get_or_raise(session, Alert, alert_id)


def list_alerts(
    session: Session, criteria: AlertFilter, *, limit: int, offset: int
) -> tuple[list[Alert], int]:
    statement = (
        select(Alert)
        .where(*alert_conditions(criteria))
        .order_by(col(Alert.received_at).desc(), col(Alert.id).desc())
    )
    return paged(session, statement, limit=limit, offset=offset)


def alert_conditions(criteria: AlertFilter) -> list[Any]:
    """The filter as WHERE conditions, shared by the list and the export."""
    conditions: list[Any] = []
    if criteria.status is not None:
        conditions.append(col(Alert.status) == criteria.status)
    if criteria.source is not None:
        source_ids = select(Source.id).where(Source.name == criteria.source)
        conditions.append(col(Alert.source_id).in_(source_ids))
    if criteria.received_from is not None:
        conditions.append(col(Alert.received_at) >= criteria.received_from)
    if criteria.received_to is not None:
        conditions.append(col(Alert.received_at) < criteria.received_to)
    if criteria.followed_up is not None:
        followed = col(Alert.first_follow_up_at)
        conditions.append(followed.is_not(None) if criteria.followed_up else followed.is_(None))
    return conditions


def _followed_up(session: Session, alert: Alert, at: datetime, actor: Actor) -> None:
    if alert.first_follow_up_at is None or at < alert.first_follow_up_at:
        alert.first_follow_up_at = at
    _acknowledge_incident(session, alert, actor)


def _acknowledge_incident(session: Session, alert: Alert, actor: Actor) -> None:
    """A followed-up alert's incident was responded to (响应) when the alert was first
    followed up, unless it already was."""
    if alert.incident_id is None or alert.first_follow_up_at is None:
        return
    incident = get_incident(session, alert.incident_id)
    reason = f"first follow-up of alert {alert.id}"
    acknowledge_if_unset(session, incident, alert.first_follow_up_at, actor=actor, reason=reason)


def acknowledge(session: Session, alert_id: int, *, actor: Actor) -> Alert:
    """The first acknowledgement counts; acknowledging again changes nothing."""
    alert = get_alert(session, alert_id)
    if alert.acked_at is None:
        now = utcnow()
        alert.acked_at, alert.acked_by = now, actor.name
        _followed_up(session, alert, now, actor)
    return alert


def judge(session: Session, alert_id: int, valid: bool, note: str | None, *, actor: Actor) -> Alert:
    """Record the verdict; a later verdict replaces it but not the time of first follow-up."""
    alert = get_alert(session, alert_id)
    now = utcnow()
    alert.valid, alert.verdict_note = valid, note
    alert.verdict_at, alert.verdict_by = now, actor.name
    _followed_up(session, alert, now, actor)
    return alert


def _open_incident_for(
    session: Session, alert: Alert, actor: Actor, policy: GradingPolicy, calendar: Calendar
) -> Incident:
    source = session.get_one(Source, alert.source_id)
    data = _incident_from(alert, source)
    return create_incident(session, data, actor=actor, policy=policy, calendar=calendar)


def _incident_from(alert: Alert, source: Source) -> IncidentCreate:
    description = next(
        (alert.annotations[key] for key in DESCRIPTION_ANNOTATIONS if alert.annotations.get(key)),
        None,
    )
    # An annotation may be as long as a sender likes; the incident's fields are bounded, and a
    # value over the bound would fail the promotion (and with it an auto-promoting delivery).
    return IncidentCreate(
        title=alert.title.replace("\n", " ").strip()[:SHORT] or "alert",
        system=alert.system[:100] if alert.system else None,
        detected_at=alert.starts_at,
        detection=Detection.alert,
        source=source.name,
        description=description[:LONG] if description else None,
    )


def _link(session: Session, alert: Alert, incident: Incident, actor: Actor, now: datetime) -> None:
    alert.incident_id, alert.linked_at, alert.linked_by = incident.id, now, actor.name
    audit.record(
        session,
        incident_id=incident.id,
        actor=actor.name,
        action="alert_linked",
        new=f"alert {alert.id}: {alert.title}",
    )
    if actor.is_person:
        _followed_up(session, alert, now, actor)


def promote(
    session: Session,
    alert_id: int,
    *,
    actor: Actor,
    policy: GradingPolicy,
    calendar: Calendar,
    incident_id: int | None = None,
) -> Incident:
    """Open an incident prefilled from the alert, or link the alert to `incident_id`."""
    alert = get_alert(session, alert_id)
    if alert.incident_id is not None and alert.linked_by != AUTO_PROMOTER:
        linked = {"alert": alert_id, "incident": alert.incident_id}
        raise Invalid("incident_id", code="alert_linked", params=linked)
    if incident_id is None and alert.incident_id is not None:
        incident_id = alert.incident_id  # a person confirming the rule's link follows it up
    if incident_id is not None:
        incident = get_incident(session, incident_id)
    else:
        incident = _open_incident_for(session, alert, actor, policy, calendar)
    _link(session, alert, incident, actor, utcnow())
    return incident


def auto_promote(
    session: Session,
    alert_ids: list[int],
    *,
    severities: frozenset[str],
    window: timedelta,
    policy: GradingPolicy,
    calendar: Calendar,
) -> None:
    """Open incidents for new alerts of the chosen severities, in the caller's transaction.

    Alerts of one system within `window` of an open alert-opened incident join it instead of
    opening another, so a storm of 200 alerts is one incident, not 200.
    """
    if not severities or not alert_ids:
        return
    robot = Actor(name=AUTO_PROMOTER, role=Role.oncall)
    candidates = session.exec(
        select(Alert)
        .where(col(Alert.id).in_(alert_ids), func.lower(col(Alert.severity)).in_(severities))
        .order_by(col(Alert.starts_at))
    )
    for alert in candidates:
        incident = session.exec(
            select(Incident)
            .where(
                col(Incident.status) == IncidentStatus.open,
                col(Incident.detection) == Detection.alert,
                col(Incident.system) == alert.system
                if alert.system is not None
                else col(Incident.system).is_(None),
                col(Incident.detected_at) >= alert.starts_at - window,
                col(Incident.detected_at) <= alert.starts_at + window,
            )
            .order_by(col(Incident.detected_at).desc())
            .limit(1)
        ).first()
        if incident is None:
            incident = _open_incident_for(session, alert, robot, policy, calendar)
        _link(session, alert, incident, robot, utcnow())
