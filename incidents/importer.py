"""Importing past weekly reports as stability events: previewed, reconciled, all or nothing.

Each listed event becomes one incident filed into that report's week. Importing the same report
again creates nothing: every item carries a fingerprint of (report date, its text), unique in
the database, so even two imports racing each other cannot file an item twice.

Before anything is written the import is planned (`plan_import`): every event as it would be
stored, with its grade under the policy and the text each value was read from. A dry run stops
there. The plan also reconciles the report with itself: when the report states its own counts
(事故数AB级X次，CD级Y次) and the grades computed for its events disagree, the events whose grade
is uncertain are marked for review (as an unclear business impact is), with the reason, e.g.
"report says AB 1, computed AB 0", written to their audit trail. A person then grades each on the
review page (`resolve_review`), which records an override with the reason "imported report".

The figures a report states for its week (支付成功率, 健康分, 排名) become that week's figures.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session, col, select

from incidents import audit, impact
from incidents.actors import Actor
from incidents.calendar import Calendar
from incidents.errors import Invalid
from incidents.figures import FIGURES, set_figures
from incidents.grading import GradingPolicy
from incidents.models import Grade, Incident, IncidentCreate, IncidentStatus
from incidents.report_parser import ImportedEvent, ParsedReport, parse_weekly_report
from incidents.service import create_incident, get_incident, override_grade, update_incident
from incidents.settings import Settings
from incidents.weeks import Week

UNREADABLE_SHOWN = 20
# A weekly report is a few thousand characters; a larger file is something else.
MAX_REPORT_BYTES = 1_000_000
# The audit action that carries why an imported event awaits review, and the override's reason.
REVIEW_ACTION = "import_review"
REVIEW_OVERRIDE_REASON = "imported report"
UNCLEAR_IMPACT = "业务影响待确认"
BUCKETS = {"AB": frozenset({"A", "B"}), "CD": frozenset({"C", "D"})}


@dataclass
class PlannedEvent:
    """An event as it would be stored: its values, grade and reason, and whether it is new."""

    event: ImportedEvent
    grade: str | None
    grade_reason: str  # in English; grade_hits are the rules, worded per language where shown
    exists: bool
    review_reason: str | None = None
    grade_hits: list[dict[str, Any]] | None = None

    @property
    def bucket(self) -> str | None:
        return next((name for name, grades in BUCKETS.items() if self.grade in grades), None)


@dataclass
class Reconciliation:
    """The report's own counts against the grades of its events."""

    stated: dict[str, int]
    computed: dict[str, int]

    @property
    def agrees(self) -> bool:
        return all(self.stated[name] == self.computed[name] for name in self.stated)

    @property
    def reason(self) -> str:
        """ "report says AB 1, computed AB 0", for each count that differs."""
        return "; ".join(
            f"report says {name} {self.stated[name]}, computed {name} {self.computed[name]}"
            for name in self.stated
            if self.stated[name] != self.computed[name]
        )


@dataclass
class ImportPlan:
    week: Week
    parsed: ParsedReport
    events: list[PlannedEvent]
    reconciliation: Reconciliation | None
    figures: dict[str, Decimal] = field(default_factory=dict)

    @property
    def needs_review(self) -> list[PlannedEvent]:
        return [planned for planned in self.events if planned.review_reason is not None]


@dataclass
class ImportResult:
    week: Week
    created: list[Incident]
    existing: int
    plan: ImportPlan
    dry_run: bool = False


# --- reading the file ---------------------------------------------------------------------------


def decode_report(data: bytes, *, name: str = "file") -> str:
    """The text of a report file: UTF-8 (with or without BOM) or GBK, as Chinese Windows saves it.
    Refuses (Invalid naming `name`) a file over MAX_REPORT_BYTES, binary data, another encoding."""
    if len(data) > MAX_REPORT_BYTES:
        raise Invalid(name, code="report_too_big", params={"size": f"{len(data):,}"})
    if (nul := data.find(b"\x00")) != -1:
        raise Invalid(name, code="report_binary", params={"offset": nul})
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as not_utf8:
        try:
            text = data.decode("gbk")
        except UnicodeDecodeError:
            where = {"byte": not_utf8.start}
            raise Invalid(name, code="report_encoding", params=where) from None
    if any(ord(character) < 32 and character not in "\t\n\r\f" for character in text):
        raise Invalid(name, code="report_control")
    return text


# --- planning -----------------------------------------------------------------------------------


def _incident(event: ImportedEvent, report_week: Week) -> IncidentCreate:
    return IncidentCreate(
        title=event.title,
        system=event.system,
        detected_at=event.detected_at,
        detection=event.detection,
        source=event.source,
        description=event.description,
        remediation=event.remediation,
        failed_orders=event.failed_orders,
        failed_transactions=event.failed_transactions,
        affected_users=event.affected_users,
        amount_involved_cny=event.amount_involved_cny,
        loss_cny=event.loss_cny,
        impact_minutes=event.impact_minutes,
        business_impact=event.business_impact,
        report_week=report_week.report_date,
    )


def plan_import(
    session: Session, text: str, *, policy: GradingPolicy, settings: Settings
) -> ImportPlan:
    """Everything an import would store, reading the database only to find the events imported
    already (their stored grade counts in the reconciliation). Raises Invalid when the report
    cannot be read, or one of its items cannot."""
    calendar = settings.calendar
    parsed = parse_weekly_report(text, tz=calendar.tz)
    if parsed.unreadable:
        problems = "; ".join(
            f"line {line.line_number}: {line.problem}"
            for line in parsed.unreadable[:UNREADABLE_SHOWN]
        )
        raise Invalid("body", code="report_unreadable_events", params={"problems": problems})
    if not parsed.events and not parsed.stated_counts and not parsed.stated_figures:
        raise Invalid("events", code="report_empty")
    week = calendar.week_of(parsed.report_date)
    stored = _stored(session, [event.fingerprint for event in parsed.events])
    events = [
        _planned(event, stored.get(event.fingerprint), week, policy, calendar)
        for event in parsed.events
    ]
    reconciliation = _reconcile(parsed, events)
    # A figure Stabilog keeps, and a possible one: a rate over 100% is a typo shown, not stored.
    figures = {
        name: stated.value
        for name, stated in parsed.stated_figures.items()
        if name in FIGURES and (FIGURES[name].unit != "%" or stated.value <= 100)
    }
    return ImportPlan(week, parsed, events, reconciliation, figures)


def _stored(session: Session, fingerprints: list[str]) -> dict[str, Incident]:
    if not fingerprints:
        return {}
    incidents = session.exec(
        select(Incident).where(col(Incident.import_fingerprint).in_(fingerprints))
    )
    return {incident.import_fingerprint or "": incident for incident in incidents}


def _planned(
    event: ImportedEvent,
    stored: Incident | None,
    week: Week,
    policy: GradingPolicy,
    calendar: Calendar,
) -> PlannedEvent:
    if stored is not None:
        review = UNCLEAR_IMPACT if stored.needs_review else None
        reason = stored.grade_reason or ""
        return PlannedEvent(event, stored.grade, reason, True, review, stored.grade_hits)
    values = _incident(event, week).model_dump()
    # A past report's event is over: judged on its facts, not as an outage still running.
    judged = impact.circumstances(
        {**values, "status": IncidentStatus.closed}, calendar, datetime.now(UTC)
    )
    result = policy.evaluate(impact.facts_from(values), judged)
    review = UNCLEAR_IMPACT if event.business_impact is None else None
    return PlannedEvent(event, result.grade, result.reason_text, False, review, list(result.hits))


def _reconcile(parsed: ParsedReport, events: list[PlannedEvent]) -> Reconciliation | None:
    """Compare the report's 事故数 with the computed grades; on a mismatch mark the events whose
    grade could explain it: those in a count larger than stated, or, when no count is larger
    (the report counts incidents its events were not graded as), the events with no grade."""
    if not parsed.stated_counts:
        return None
    stated = {name: int(value.value) for name, value in parsed.stated_counts.items()}
    computed = {name: sum(1 for planned in events if planned.bucket == name) for name in stated}
    reconciliation = Reconciliation(stated, computed)
    if reconciliation.agrees:
        return reconciliation
    surplus = {name for name in stated if computed[name] > stated[name]}
    for planned in events:
        uncertain = planned.bucket in surplus if surplus else planned.bucket is None
        if uncertain and not planned.exists:
            planned.review_reason = reconciliation.reason
    return reconciliation


# --- storing ------------------------------------------------------------------------------------


def import_weekly(
    session: Session,
    text: str,
    *,
    actor: Actor,
    policy: GradingPolicy,
    settings: Settings,
    dry_run: bool = False,
) -> ImportResult:
    """Plan the import and, unless `dry_run`, file its new events and set the week's figures."""
    plan = plan_import(session, text, policy=policy, settings=settings)
    existing = sum(1 for planned in plan.events if planned.exists)
    if dry_run:
        return ImportResult(plan.week, [], existing, plan, dry_run=True)
    calendar = settings.calendar
    created = []
    for planned in plan.events:
        if planned.exists:
            continue
        incident = create_incident(
            session,
            _incident(planned.event, plan.week),
            actor=actor,
            policy=policy,
            calendar=calendar,
        )
        incident.import_fingerprint = planned.event.fingerprint
        # Text that left business impact unclear, or a grade the report's own counts contradict,
        # waits for a person.
        incident.needs_review = planned.review_reason is not None
        if planned.review_reason not in (None, UNCLEAR_IMPACT):
            audit.record(
                session,
                incident_id=incident.id,
                actor=actor.name,
                action=REVIEW_ACTION,
                reason=planned.review_reason,
            )
        created.append(incident)
    if plan.figures:
        set_figures(session, plan.week, plan.figures, actor_name=actor.name)
    session.flush()
    return ImportResult(plan.week, created, existing, plan)


# --- review -------------------------------------------------------------------------------------


@dataclass
class ReviewItem:
    incident: Incident
    reason: str


def review_queue(session: Session, *, limit: int = 200) -> list[ReviewItem]:
    """Imported events awaiting a person, oldest first, each with why."""
    incidents = session.exec(
        select(Incident)
        .where(col(Incident.needs_review), col(Incident.import_fingerprint).is_not(None))
        .order_by(col(Incident.detected_at), col(Incident.id))
        .limit(limit)
    ).all()
    reasons = _review_reasons(session, [incident.id for incident in incidents if incident.id])
    return [
        ReviewItem(incident, reasons.get(incident.id or 0, UNCLEAR_IMPACT))
        for incident in incidents
    ]


def _review_reasons(session: Session, incident_ids: list[int]) -> dict[int, str]:
    if not incident_ids:
        return {}
    entries = session.exec(
        select(audit.AuditEntry)
        .where(
            col(audit.AuditEntry.incident_id).in_(incident_ids),
            audit.AuditEntry.action == REVIEW_ACTION,
        )
        .order_by(col(audit.AuditEntry.id))
    )
    return {entry.incident_id: entry.reason or "" for entry in entries if entry.incident_id}


def resolve_review(
    session: Session,
    incident_id: int,
    grade: Grade | None,
    *,
    actor: Actor,
    policy: GradingPolicy,
    calendar: Calendar,
) -> Incident:
    """A person's verdict on an imported event: a grade (an override with the reason "imported
    report"), or None for no business impact. Either way it leaves the review queue."""
    incident = get_incident(session, incident_id)
    if not incident.needs_review:
        raise Invalid("incident", code="not_awaiting_review", params={"ident": incident_id})
    if grade is None:
        incident = update_incident(
            session,
            incident_id,
            {"business_impact": False},
            actor=actor,
            policy=policy,
            calendar=calendar,
            reason=REVIEW_OVERRIDE_REASON,
        )
    else:
        incident = override_grade(
            session,
            incident_id,
            grade,
            REVIEW_OVERRIDE_REASON,
            actor=actor,
            policy=policy,
            calendar=calendar,
        )
    incident.needs_review = False
    session.flush()
    return incident
