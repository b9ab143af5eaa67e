"""Filing, reading, editing and listing incidents; each change is audited in the caller's
transaction (the caller commits)."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from incidents import audit, impact
from incidents.actors import Actor
from incidents.announcements import announce_grade
from incidents.calendar import Calendar
from incidents.db import get_or_raise, paged, utcnow
from incidents.errors import Forbidden, Invalid, refuse_clearing
from incidents.grading import GradingPolicy, ImpactFacts
from incidents.models import Grade, Incident, IncidentCreate, IncidentStatus, Role
from incidents.weeks import Week

# Changing any of these can change the grade, so the policy runs again after an edit that
# touches one of them.
IMPACT_FIELDS = frozenset(impact.FACT_FIELDS)


@dataclass(frozen=True)
class IncidentFilter:
    week: Week | None = None
    detected_from: datetime | None = None
    detected_to: datetime | None = None
    grade: Grade | None = None
    system: str | None = None
    status: IncidentStatus | None = None
    text: str | None = None


def get_incident(session: Session, incident_id: int) -> Incident:
    return get_or_raise(session, Incident, incident_id)


def _settle_business_impact(incident: Incident, explicit: bool | None) -> None:
    values = {name: getattr(incident, name) for name in impact.FACT_FIELDS}
    incident.business_impact = impact.has_business_impact({**values, "business_impact": explicit})


def _check_times(incident: Incident) -> None:
    if incident.occurred_at is None:
        incident.occurred_at = incident.detected_at
    if incident.occurred_at > incident.detected_at:
        raise Invalid("occurred_at", "must not be after detected_at")
    for name in ("recovered_at", "resolved_at"):
        moment = getattr(incident, name)
        if moment is not None and moment < incident.detected_at:
            raise Invalid(name, "must not be before detected_at")


def impact_facts(incident: Incident) -> ImpactFacts:
    # business_impact is settled by now, so facts_from takes it as given.
    return impact.facts_from({name: getattr(incident, name) for name in impact.FACT_FIELDS})


def _apply_policy(
    session: Session, incident: Incident, policy: GradingPolicy, actor: Actor, calendar: Calendar
) -> None:
    """Recompute the grade unless on-call overrode it; a change of grade is audited."""
    if incident.grade_overridden:
        return
    result = policy.evaluate(impact_facts(incident))
    new_grade = Grade(result.grade) if result.grade else None
    old_grade = incident.grade
    if new_grade != old_grade and incident.id is not None:
        audit.record(
            session,
            incident_id=incident.id,
            actor=actor.name,
            action="grade",
            field="grade",
            old=incident.grade,
            new=new_grade,
            reason=f"policy: {result.reason_text}",
        )
    incident.grade = new_grade
    incident.grade_reason = result.reason_text
    if new_grade != old_grade and incident.id is not None:
        announce_grade(session, incident, calendar)


def create_incident(
    session: Session,
    data: IncidentCreate,
    *,
    actor: Actor,
    policy: GradingPolicy,
    calendar: Calendar,
) -> Incident:
    """File a graded, audited incident (announced if it is A or B)."""
    incident = Incident.model_validate(
        data, update={"created_by": actor.name, "business_impact": False}
    )
    _settle_business_impact(incident, data.business_impact)
    _check_times(incident)
    session.add(incident)
    session.flush()  # the id is needed by the audit entries below
    audit.record(session, incident_id=incident.id, actor=actor.name, action="create")
    _apply_policy(session, incident, policy, actor, calendar)
    return incident


def update_incident(
    session: Session,
    incident_id: int,
    changes: dict[str, Any],
    *,
    actor: Actor,
    policy: GradingPolicy,
    calendar: Calendar,
) -> Incident:
    """Apply a PATCH: only the fields sent are changed; a null clears an optional field."""
    incident = get_incident(session, incident_id)
    refuse_clearing(changes, ("title", "detected_at", "status", "core_system", "regulatory"))
    before = {name: getattr(incident, name) for name in changes}
    for name, value in changes.items():
        setattr(incident, name, value)
    if IMPACT_FIELDS & changes.keys():
        _settle_business_impact(incident, changes.get("business_impact"))
    if changes.get("business_impact") is not None:
        incident.needs_review = False  # a person has now said whether business was hit
    _check_times(incident)
    after = {name: getattr(incident, name) for name in changes}
    changed = audit.record_changes(
        session,
        incident_id=incident_id,
        actor=actor.name,
        action="update",
        before=before,
        after=after,
    )
    if not changed:
        return incident
    if IMPACT_FIELDS & set(changed):
        _apply_policy(session, incident, policy, actor, calendar)
    incident.updated_at = utcnow()
    return incident


def override_grade(
    session: Session,
    incident_id: int,
    grade: Grade | None,
    reason: str,
    *,
    actor: Actor,
    policy: GradingPolicy,
    calendar: Calendar,
) -> Incident:
    """Set the grade by hand (it then survives edits), or with None hand it back to the policy.

    Replacing or clearing an override someone else made needs an admin: the override is that
    person's judgement, recorded with their reason.
    """
    if not reason.strip():
        raise Invalid("reason", "an override needs a reason")
    incident = get_incident(session, incident_id)
    if incident.grade_overridden and not actor.role.at_least(Role.admin):
        owner = _override_author(session, incident_id)
        if owner is not None and owner != actor.name:
            raise Forbidden(f"the grade was overridden by {owner}; only an admin may change it")
    old_grade = incident.grade
    if grade is None:
        incident.grade_overridden = False
        _apply_policy(session, incident, policy, actor, calendar)
        new_reason = f"override cleared: {reason}"
    else:
        incident.grade_overridden = True
        incident.grade = grade
        new_reason = f"override: {reason}"
        # grade_reason holds 1,000 characters; the audit entry keeps up to 2,000 of the reason.
        incident.grade_reason = _clip(new_reason, GRADE_REASON_MAX)
    if grade is not None and grade != old_grade:
        announce_grade(session, incident, calendar)
    audit.record(
        session,
        incident_id=incident_id,
        actor=actor.name,
        action="override" if grade is not None else "override_cleared",
        field="grade",
        old=old_grade,
        new=incident.grade,
        reason=_clip(new_reason, AUDIT_REASON_MAX),
    )
    incident.updated_at = utcnow()
    return incident


GRADE_REASON_MAX = 1000  # incident.grade_reason
AUDIT_REASON_MAX = 2000  # audit_entry.reason


def _clip(text: str, width: int) -> str:
    # PostgreSQL refuses a value wider than its column; SQLite would have kept it whole.
    return text if len(text) <= width else text[: width - 1] + "…"


def _override_author(session: Session, incident_id: int) -> str | None:
    statement = (
        select(audit.AuditEntry.actor)
        .where(audit.AuditEntry.incident_id == incident_id)
        .where(audit.AuditEntry.action == "override")
        .order_by(col(audit.AuditEntry.id).desc())
        .limit(1)
    )
    return session.exec(statement).first()


def list_incidents(
    session: Session, criteria: IncidentFilter, calendar: Calendar, *, limit: int, offset: int
) -> tuple[list[Incident], int]:
    conditions = []
    if criteria.week is not None:
        conditions.append(Incident.in_week(criteria.week, calendar))
    if criteria.detected_from is not None:
        conditions.append(col(Incident.detected_at) >= criteria.detected_from)
    if criteria.detected_to is not None:
        conditions.append(col(Incident.detected_at) < criteria.detected_to)
    if criteria.grade is not None:
        conditions.append(col(Incident.grade) == criteria.grade)
    if criteria.system is not None:
        conditions.append(col(Incident.system) == criteria.system)
    if criteria.status is not None:
        conditions.append(col(Incident.status) == criteria.status)
    if criteria.text:
        pattern = f"%{_escape_like(criteria.text)}%"
        conditions.append(
            or_(
                *(
                    col(field).ilike(pattern, escape="\\")
                    for field in (Incident.title, Incident.description, Incident.remediation)
                )
            )
        )
    statement = (
        select(Incident)
        .where(*conditions)
        .order_by(col(Incident.detected_at).desc(), col(Incident.id).desc())
    )
    return paged(session, statement, limit=limit, offset=offset)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
