"""Filing, reading, editing and listing incidents; each change is audited in the caller's
transaction (the caller commits)."""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from incidents import audit, impact, milestones, regulatory, teams
from incidents.actors import ESCALATION, Actor
from incidents.announcements import announce_grade
from incidents.calendar import Calendar
from incidents.db import get_or_raise, paged, utcnow
from incidents.errors import Forbidden, Invalid, refuse_clearing
from incidents.grading import GradeResult, GradingPolicy, ImpactFacts
from incidents.messages import Message
from incidents.models import (
    LEGACY_REGULATORY_TRIGGER,
    Grade,
    Incident,
    IncidentCreate,
    IncidentStatus,
    Role,
)
from incidents.timeparse import CLOCK_SLACK
from incidents.weeks import REPORT_WEEK_REACH, Week

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
    team: str | None = None
    status: IncidentStatus | None = None
    text: str | None = None


def get_incident(session: Session, incident_id: int) -> Incident:
    return get_or_raise(session, Incident, incident_id)


def _settle_business_impact(incident: Incident, explicit: bool | None) -> None:
    values = {name: getattr(incident, name) for name in impact.FACT_FIELDS}
    incident.business_impact = impact.has_business_impact({**values, "business_impact": explicit})


def _check_times(incident: Incident, written: Collection[str]) -> None:
    """The milestones in order; `written` are the fields this change set."""
    if incident.occurred_at is None:
        incident.occurred_at = incident.detected_at
    milestones.check_order(milestones.times_of(incident), written)


def acknowledge_if_unset(
    session: Session, incident: Incident, at: datetime, *, actor: Actor, reason: str
) -> bool:
    """Set 响应 (acknowledged_at) to `at` when it is empty and `at` keeps the milestones in
    order; audited. Done by people's first responses (an entry on the timeline, a follow-up of a
    linked alert), which it never refuses: a time out of order is simply not taken."""
    if incident.acknowledged_at is not None or incident.id is None:
        return False
    if not milestones.fits(incident, milestones.Milestone.acknowledged, at):
        return False
    incident.acknowledged_at = at
    audit.record(
        session,
        incident_id=incident.id,
        actor=actor.name,
        action="auto_acknowledge",
        field="acknowledged_at",
        new=at,
        reason=reason,
    )
    incident.updated_at = utcnow()
    return True


def _refuse_future_times(incident: Incident, now: datetime, calendar: Calendar) -> None:
    """A filed time past now (and its slack) is refused: a wrong date is likelier than an
    incident logged before it happens. IncidentCreate.confirm_future lets it through."""
    times = milestones.times_of(incident)
    # 发现时间 first: an occurrence left out was set to it, and the one typed is to be named.
    for name in sorted(times, key=lambda name: name != "detected_at"):
        moment = times[name]
        if moment is not None and moment > now + CLOCK_SLACK:
            when = {
                "moment": f"{calendar.local(moment):%Y-%m-%d %H:%M}",
                "now": f"{calendar.local(now):%Y-%m-%d %H:%M}",
            }
            raise Invalid(name, code="in_future", params=when)


def _check_report_week(incident: Incident, calendar: Calendar) -> None:
    """The week it is reported in is at most REPORT_WEEK_REACH from the week it was detected."""
    if incident.report_week is None:
        return
    reported = calendar.week_of(incident.report_week)
    detected = calendar.week_at(incident.detected_at)
    if abs(reported.monday - detected.monday) > REPORT_WEEK_REACH:
        weeks = {
            "week": incident.report_week,
            "week_label": reported.label,
            "weeks": REPORT_WEEK_REACH.days // 7,
            "detected": f"{calendar.local(incident.detected_at):%Y-%m-%d %H:%M}",
            "detected_label": detected.label,
        }
        raise Invalid("report_week", code="report_week_far", params=weeks)


def _check_money(incident: Incident) -> None:
    loss, recovered = incident.loss_cny, incident.recovered_cny
    if loss is not None and recovered is not None and recovered > loss:
        raise Invalid("recovered_cny", code="not_more_than", params={"other": "loss_cny"})


def impact_facts(incident: Incident) -> ImpactFacts:
    # business_impact is settled by now, so facts_from takes it as given.
    return impact.facts_from({name: getattr(incident, name) for name in impact.FACT_FIELDS})


def _grading(
    incident: Incident, policy: GradingPolicy, calendar: Calendar, now: datetime | None = None
) -> GradeResult:
    state = {
        name: getattr(incident, name)
        for name in ("status", "detected_at", "recovered_at", "mitigated_at")
    }
    judged = impact.circumstances(state, calendar, now or utcnow())
    return policy.evaluate(impact_facts(incident), judged)


def _apply_policy(
    session: Session,
    incident: Incident,
    policy: GradingPolicy,
    actor: Actor,
    calendar: Calendar,
    result: GradeResult | None = None,
) -> None:
    """Recompute the grade unless on-call overrode it (a change of grade is audited and
    announced), and open the regulator's clock when a trigger fired, override or not."""
    result = result or _grading(incident, policy, calendar)
    incident.regulatory = bool(result.triggers)
    if result.triggers:
        regulatory.open_report(session, incident, result.triggers, policy=policy, calendar=calendar)
    if incident.grade_overridden:
        return
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
    incident.grade_hits = list(result.hits)
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
    """File a graded, audited incident (announced if it is A or B); without a team it takes its
    system's (incidents/teams.py)."""
    incident = Incident.model_validate(
        # Both are settled below from the facts; the input's `regulatory` is a deprecated tick.
        data,
        update={"created_by": actor.name, "business_impact": False, "regulatory": False},
    )
    incident.regulatory_triggers = _ticked_triggers(
        data.regulatory_triggers, data.regulatory, policy
    )
    if incident.team is None:
        incident.team = teams.team_of(session, incident.system)
    _settle_business_impact(incident, data.business_impact)
    _check_times(incident, milestones.MILESTONE_FIELDS)
    if not data.confirm_future:
        _refuse_future_times(incident, utcnow(), calendar)
    _check_report_week(incident, calendar)
    _check_money(incident)
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
    reason: str | None = None,
) -> Incident:
    """Apply a PATCH: only the fields sent are changed; a null clears an optional field.
    `reason` goes in the audit entries (why a change not typed as a PATCH was made)."""
    incident = get_incident(session, incident_id)
    refuse_clearing(changes, ("title", "detected_at", "status", "core_system"))
    if "regulatory_triggers" in changes or changes.get("regulatory"):
        ticked = changes.get("regulatory_triggers", incident.regulatory_triggers) or []
        changes["regulatory_triggers"] = _ticked_triggers(ticked, changes.get("regulatory"), policy)
    changes.pop("regulatory", None)  # answered from the triggers, never set by hand
    if "system" in changes and "team" not in changes:
        new_team = teams.team_for_new_system(session, incident, changes["system"])
        if new_team is not None:
            changes["team"] = new_team
    before = {name: getattr(incident, name) for name in changes}
    for name, value in changes.items():
        setattr(incident, name, value)
    if IMPACT_FIELDS & changes.keys():
        _settle_business_impact(incident, changes.get("business_impact"))
    if changes.get("business_impact") is not None:
        incident.needs_review = False  # a person has now said whether business was hit
    _check_times(incident, changes.keys())
    if {"report_week", "detected_at"} & changes.keys():
        _check_report_week(incident, calendar)
    _check_money(incident)
    after = {name: getattr(incident, name) for name in changes}
    changed = audit.record_changes(
        session,
        incident_id=incident_id,
        actor=actor.name,
        action="update",
        before=before,
        after=after,
        reason=reason,
    )
    if not changed:
        return incident
    if IMPACT_FIELDS & set(changed):
        _apply_policy(session, incident, policy, actor, calendar)
    incident.updated_at = utcnow()
    return incident


def _ticked_triggers(
    ticked: list[str], legacy_regulatory: bool | None, policy: GradingPolicy
) -> list[str]:
    """The triggers a person ticked, known to the policy, each once; the deprecated
    `regulatory: true` ticks other_major_event."""
    names = list(dict.fromkeys(ticked))
    if legacy_regulatory:
        if policy.trigger(LEGACY_REGULATORY_TRIGGER) is None:
            raise Invalid(
                "regulatory",
                code="regulatory_deprecated",
                params={"trigger": LEGACY_REGULATORY_TRIGGER},
            )
        names = list(dict.fromkeys([*names, LEGACY_REGULATORY_TRIGGER]))
    unknown = policy.unknown_trigger(names)
    if unknown is not None:
        params = {"name": unknown, "known": policy.trigger_names, "titles": policy.trigger_titles}
        raise Invalid("regulatory_triggers", code="unknown_trigger", params=params)
    return names


def regrade_open_incidents(
    session: Session, now: datetime, *, policy: GradingPolicy, calendar: Calendar
) -> int:
    """Judge every open, unrecovered incident as of `now`: the ones an escalation or a trigger
    now catches rise (audited and announced like any regrading). Returns how many changed."""
    actor = Actor(name=ESCALATION, role=Role.oncall)
    open_incidents = session.exec(
        select(Incident).where(
            col(Incident.status) == IncidentStatus.open,
            col(Incident.recovered_at).is_(None),
            col(Incident.mitigated_at).is_(None),
            col(Incident.detected_at) >= now - impact.ONGOING_FOR,
        )
    ).all()
    changed = 0
    for incident in open_incidents:
        result = _grading(incident, policy, calendar, now)
        rises = not incident.grade_overridden and result.grade != incident.grade
        if rises or (result.triggers and not incident.regulatory):
            _apply_policy(session, incident, policy, actor, calendar, result)
            incident.updated_at = now
            changed += 1
    return changed


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
        raise Invalid("reason", code="override_reason")
    incident = get_incident(session, incident_id)
    if incident.grade_overridden and not actor.role.at_least(Role.admin):
        owner = _override_author(session, incident_id)
        if owner is not None and owner != actor.name:
            raise Forbidden(Message("override_owner", {"owner": owner}))
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
        incident.grade_hits = [{"rule": "override", "reason": reason, "grade": grade.value}]
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
    statement = (
        select(Incident)
        .where(*incident_conditions(criteria, calendar))
        .order_by(col(Incident.detected_at).desc(), col(Incident.id).desc())
    )
    return paged(session, statement, limit=limit, offset=offset)


def incident_conditions(criteria: IncidentFilter, calendar: Calendar) -> list[Any]:
    """The filter as WHERE conditions, shared by the list and the export."""
    conditions: list[Any] = []
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
    if criteria.team is not None:
        conditions.append(col(Incident.team) == criteria.team)
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
    return conditions


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
