"""Filing, reading, editing and listing incidents; each write is one transaction with its audit."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_
from sqlmodel import Session, col, select

from incidents import audit
from incidents.announcements import announce_grade
from incidents.db import utcnow
from incidents.errors import Forbidden, Invalid, NotFound
from incidents.grading import GradingPolicy, ImpactFacts
from incidents.models import Grade, Incident, IncidentCreate, IncidentStatus, Role
from incidents.settings import get_settings
from incidents.weeks import Week

# Changing any of these can change the grade, so the policy runs again after an edit that
# touches one of them.
IMPACT_FIELDS = frozenset(
    {
        "business_impact",
        "failed_orders",
        "failed_transactions",
        "amount_cny",
        "core_system",
        "regulatory",
        "impact_minutes",
        "occurred_at",
        "recovered_at",
    }
)
QUANTIFIED_IMPACT_FIELDS = ("failed_orders", "failed_transactions", "amount_cny", "impact_minutes")


@dataclass(frozen=True)
class Actor:
    """Who is acting: a token's name and role, or the CLI's operating-system user."""

    name: str
    role: Role


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
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise NotFound("incident", incident_id)
    return incident


def has_business_impact(
    explicit: bool | None, quantities: Mapping[str, object], regulatory: bool
) -> bool:
    """An explicit answer wins; otherwise any failed order or transaction, amount, impact minute
    or regulatory relevance means business was hit. An on-call who writes "545 failed orders"
    but forgets the flag still has an incident."""
    if explicit is not None:
        return explicit
    return regulatory or any((quantities.get(name) or 0) > 0 for name in QUANTIFIED_IMPACT_FIELDS)


def _settle_business_impact(incident: Incident, explicit: bool | None) -> None:
    quantities = {name: getattr(incident, name) for name in QUANTIFIED_IMPACT_FIELDS}
    incident.business_impact = has_business_impact(explicit, quantities, incident.regulatory)


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
    return ImpactFacts(
        business_impact=incident.business_impact,
        failed_orders=incident.failed_orders,
        failed_transactions=incident.failed_transactions,
        amount_cny=incident.amount_cny,
        core_system=incident.core_system,
        regulatory=incident.regulatory,
        impact_minutes=incident.impact_minutes,
        occurred_at=incident.occurred_at,
        recovered_at=incident.recovered_at,
    )


def _apply_policy(
    session: Session, incident: Incident, policy: GradingPolicy, actor: Actor
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
        announce_grade(session, incident)


def add_incident(
    session: Session, data: IncidentCreate, *, actor: Actor, policy: GradingPolicy
) -> Incident:
    """Add a graded, audited incident to the caller's transaction without committing it."""
    incident = Incident.model_validate(
        data, update={"created_by": actor.name, "business_impact": False}
    )
    _settle_business_impact(incident, data.business_impact)
    _check_times(incident)
    session.add(incident)
    session.flush()  # the id is needed by the audit entries below
    audit.record(session, incident_id=incident.id, actor=actor.name, action="create")
    _apply_policy(session, incident, policy, actor)
    return incident


def create_incident(
    session: Session, data: IncidentCreate, *, actor: Actor, policy: GradingPolicy
) -> Incident:
    incident = add_incident(session, data, actor=actor, policy=policy)
    session.commit()
    session.refresh(incident)
    return incident


def update_incident(
    session: Session,
    incident_id: int,
    changes: dict[str, Any],
    *,
    actor: Actor,
    policy: GradingPolicy,
) -> Incident:
    """Apply a PATCH: only the fields sent are changed; a null clears an optional field."""
    incident = get_incident(session, incident_id)
    for required in ("title", "detected_at", "status", "core_system", "regulatory"):
        if required in changes and changes[required] is None:
            raise Invalid(required, "cannot be cleared")
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
        session.rollback()
        return incident
    if IMPACT_FIELDS & set(changed):
        _apply_policy(session, incident, policy, actor)
    incident.updated_at = utcnow()
    session.commit()
    session.refresh(incident)
    return incident


def override_grade(
    session: Session,
    incident_id: int,
    grade: Grade | None,
    reason: str,
    *,
    actor: Actor,
    policy: GradingPolicy,
) -> Incident:
    """Set the grade by hand (it then survives edits), or with None hand it back to the policy.

    Replacing or clearing an override someone else made needs an admin: the override is that
    person's judgement, recorded with their reason.
    """
    if not reason.strip():
        raise Invalid("reason", "an override needs a reason")
    incident = get_incident(session, incident_id)
    if incident.grade_overridden and actor.role != Role.admin:
        owner = _override_author(session, incident_id)
        if owner is not None and owner != actor.name:
            raise Forbidden(f"the grade was overridden by {owner}; only an admin may change it")
    old_grade = incident.grade
    if grade is None:
        incident.grade_overridden = False
        _apply_policy(session, incident, policy, actor)
        new_reason = f"override cleared: {reason}"
    else:
        incident.grade_overridden = True
        incident.grade = grade
        new_reason = f"override: {reason}"
        # grade_reason holds 1,000 characters; the audit entry keeps up to 2,000 of the reason.
        incident.grade_reason = _clip(new_reason, GRADE_REASON_MAX)
    if grade is not None and grade != old_grade:
        announce_grade(session, incident)
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
    session.commit()
    session.refresh(incident)
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


def in_week(week: Week) -> ColumnElement[bool]:
    """Detected in the week, or filed into its report by `report_week` (which then wins)."""
    start, end = week.window(get_settings().tz)
    detected_in_week = (col(Incident.detected_at) >= start) & (col(Incident.detected_at) < end)
    return or_(
        col(Incident.report_week).is_(None) & detected_in_week,
        col(Incident.report_week).between(week.monday, week.sunday),
    )


def list_incidents(
    session: Session, criteria: IncidentFilter, *, limit: int, offset: int
) -> tuple[list[Incident], int]:
    conditions = []
    if criteria.week is not None:
        conditions.append(in_week(criteria.week))
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
    total = session.exec(select(func.count()).select_from(Incident).where(*conditions)).one()
    page = session.exec(
        select(Incident)
        .where(*conditions)
        .order_by(col(Incident.detected_at).desc(), col(Incident.id).desc())
        .limit(limit)
        .offset(offset)
    )
    return list(page), total


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
