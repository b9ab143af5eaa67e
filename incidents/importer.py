"""Importing past weekly reports (the seed's format) as stability events, all or nothing.

Each listed event becomes one incident filed into that report's week. Importing the same report
again creates nothing: every item carries a fingerprint of (report date, its text), unique in
the database, so even two imports racing each other cannot file an item twice.
"""

from dataclasses import dataclass

from sqlmodel import Session, col, select

from incidents.actors import Actor
from incidents.errors import Invalid
from incidents.grading import GradingPolicy
from incidents.models import Incident, IncidentCreate
from incidents.report_parser import ImportedEvent, parse_weekly_report
from incidents.service import create_incident
from incidents.settings import Settings
from incidents.weeks import Week

UNREADABLE_SHOWN = 20


@dataclass
class ImportResult:
    week: Week
    created: list[Incident]
    existing: int


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
        impact_minutes=event.impact_minutes,
        business_impact=event.business_impact,
        report_week=report_week.report_date,
    )


def import_weekly(
    session: Session, text: str, *, actor: Actor, policy: GradingPolicy, settings: Settings
) -> ImportResult:
    calendar = settings.calendar
    parsed = parse_weekly_report(text, tz=calendar.tz)
    if parsed.unreadable:
        problems = "; ".join(
            f"line {line.line_number}: {line.problem}"
            for line in parsed.unreadable[:UNREADABLE_SHOWN]
        )
        raise Invalid("body", f"nothing imported; unreadable events: {problems}")
    week = calendar.week_of(parsed.report_date)
    fingerprints = [event.fingerprint for event in parsed.events]
    known = set(
        session.exec(
            select(Incident.import_fingerprint).where(
                col(Incident.import_fingerprint).in_(fingerprints)
            )
        )
    )
    created = []
    for event in parsed.events:
        if event.fingerprint in known:
            continue
        incident = create_incident(
            session, _incident(event, week), actor=actor, policy=policy, calendar=calendar
        )
        # Text that left business impact unclear stays ungraded until a person decides.
        incident.needs_review = event.business_impact is None
        incident.import_fingerprint = event.fingerprint
        known.add(event.fingerprint)
        created.append(incident)
    session.flush()
    return ImportResult(week=week, created=created, existing=len(parsed.events) - len(created))
