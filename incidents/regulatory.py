"""The regulator's clock: a report record for every incident a regulatory trigger fired on, due
a fixed time after occurrence, and the register an auditor asks for.

A trigger (grading policy, `[regulatory.triggers]`) forces grade A and opens the incident's one
report, in the transaction of the change that fired it, announcing it at once (`regulatory`
event). A minute job announces a report not yet made 30 minutes before it is due and again when
it is overdue; each notice once, across instances (a `job_run` slot per minute, a column per
notice, and the outbox's dedup key).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import JSON, String
from sqlmodel import Field, Session, SQLModel, col, select

from incidents import audit
from incidents.actors import Actor
from incidents.calendar import Calendar
from incidents.db import UTCDateTime, get_or_raise, paged, utcnow
from incidents.errors import Invalid
from incidents.grading import GradingPolicy
from incidents.models import SHORT, Incident, Moment, OneLine, WriteModel, moment_column
from incidents.outbox import NotificationEvent, announce, neutralise

# The notice before the deadline goes out this long before it.
WARNING_AHEAD = timedelta(minutes=30)


class ReportChannel(StrEnum):
    phone = "phone"
    email = "email"
    fax = "fax"
    system = "system"  # the regulator's reporting system


class ClockState(StrEnum):
    open = "open"  # not reported, not due yet
    overdue = "overdue"
    reported_on_time = "reported_on_time"
    reported_late = "reported_late"


class RegulatoryReport(SQLModel, table=True):
    __tablename__ = "regulatory_report"
    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", unique=True, ondelete="CASCADE")
    # Every trigger that has fired on the incident, in the order they first fired.
    triggers: list[str] = Field(default_factory=list, sa_type=JSON)
    opened_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    due_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    reported_at: datetime | None = moment_column()
    reported_by: str | None = Field(default=None, max_length=SHORT)
    channel: ReportChannel | None = Field(default=None, sa_type=String(20))
    reference: str | None = Field(default=None, max_length=200)
    written_report_due: datetime = Field(sa_type=UTCDateTime, nullable=False)
    written_report_at: datetime | None = moment_column()
    warned_at: datetime | None = moment_column()  # the notice before the deadline was queued
    overdue_notified_at: datetime | None = moment_column()


class RegulatoryReportRecord(WriteModel):
    """What a person records once the regulator has been told (and later, the written report)."""

    reported_at: Moment | None = Field(
        default=None, description="when the regulator was told; now when left out"
    )
    channel: ReportChannel | None = None
    reference: OneLine | None = Field(default=None, max_length=200)
    written_report_at: Moment | None = None


class RegulatoryReportPublic(SQLModel):
    id: int
    incident_id: int
    incident_title: str
    grade: str | None
    triggers: list[str]
    opened_at: Moment
    due_at: Moment
    reported_at: Moment | None
    reported_by: str | None
    channel: ReportChannel | None
    reference: str | None
    written_report_due: Moment
    written_report_at: Moment | None
    state: ClockState
    # Minutes left while open, minutes past the deadline while overdue or when reported late.
    minutes: int | None


@dataclass(frozen=True)
class Clock:
    state: ClockState
    minutes: int | None


def clock(report: RegulatoryReport, now: datetime) -> Clock:
    """Where a report stands against its deadline."""
    if report.reported_at is not None:
        late = (report.reported_at - report.due_at) // timedelta(minutes=1)
        if report.reported_at <= report.due_at:
            return Clock(ClockState.reported_on_time, None)
        return Clock(ClockState.reported_late, late)
    if now < report.due_at:
        return Clock(ClockState.open, -((now - report.due_at) // timedelta(minutes=1)))
    return Clock(ClockState.overdue, (now - report.due_at) // timedelta(minutes=1))


def public(report: RegulatoryReport, incident: Incident, now: datetime) -> RegulatoryReportPublic:
    state = clock(report, now)
    return RegulatoryReportPublic.model_validate(
        report,
        update={
            "incident_title": incident.title,
            "grade": incident.grade,
            "state": state.state,
            "minutes": state.minutes,
        },
    )


def open_report(
    session: Session,
    incident: Incident,
    triggers: tuple[str, ...],
    *,
    policy: GradingPolicy,
    calendar: Calendar,
) -> RegulatoryReport:
    """The incident's report, opened (and announced) the first time a trigger fires; a trigger
    firing later is added to it. The clock never moves: it runs from the occurrence."""
    report = session.exec(
        select(RegulatoryReport).where(RegulatoryReport.incident_id == incident.id)
    ).first()
    if report is not None:
        added = [name for name in triggers if name not in report.triggers]
        if added:
            report.triggers = [*report.triggers, *added]
        return report
    assert incident.id is not None  # graded after its first flush
    started = incident.occurred_at or incident.detected_at
    clock_rules = policy.regulatory
    written_due_day = calendar.working_days_after(
        calendar.local_date(started), clock_rules.written_report_working_days
    )
    report = RegulatoryReport(
        incident_id=incident.id,
        triggers=list(triggers),
        due_at=started + timedelta(minutes=clock_rules.report_within_minutes),
        # The end of the due day on the team's clock, so "due 9/14" means all of 9/14.
        written_report_due=calendar.day_start(written_due_day + timedelta(days=1))
        - timedelta(seconds=1),
    )
    session.add(report)
    session.flush()
    _announce(session, report, incident, policy, calendar, "opened")
    return report


def _announce(
    session: Session,
    report: RegulatoryReport,
    incident: Incident,
    policy: GradingPolicy,
    calendar: Calendar,
    notice: str,
) -> None:
    titles = [
        trigger.title if (trigger := policy.trigger(name)) else name for name in report.triggers
    ]
    due = f"{calendar.local(report.due_at):%Y-%m-%d %H:%M}"
    headline = {
        "opened": f"【监管报送】{incident.title}：须在 {due} 前报告",
        "due_soon": f"【监管报送将到期】{incident.title}：{due} 到期，尚未报告",
        "overdue": f"【监管报送已逾期】{incident.title}：{due} 已到期，尚未报告",
    }[notice]
    lines = [
        f"- 触发：{neutralise('；'.join(titles))}",
        f"- 报告时限：{due}",
        f"- 书面报告：{calendar.local(report.written_report_due):%Y-%m-%d} 前",
        f"- 事故等级：{incident.grade or '—'}",
    ]
    announce(
        session,
        NotificationEvent.regulatory,
        f"regulatory:{report.id}:{notice}",
        title=headline,
        markdown="\n".join(lines),
        path=f"/regulatory#report-{report.id}",
    )


def record(
    session: Session, report_id: int, data: RegulatoryReportRecord, *, actor: Actor
) -> RegulatoryReport:
    """Record that (and how) the regulator was told, and later the written report. The first
    record marks the report made (at `reported_at`, by default now, by the actor)."""
    report = get_or_raise(session, RegulatoryReport, report_id)
    changes = data.model_dump(exclude_unset=True)
    if report.reported_at is None or "reported_at" in changes:
        changes["reported_at"] = changes.get("reported_at") or utcnow()
        changes["reported_by"] = actor.name
    incident = session.get_one(Incident, report.incident_id)
    reported_at: datetime = changes.get("reported_at") or report.reported_at or utcnow()
    if reported_at < (incident.occurred_at or incident.detected_at):
        raise Invalid("reported_at", code="not_before_occurred")
    written = changes.get("written_report_at")
    if written is not None and written < reported_at:
        raise Invalid("written_report_at", code="not_before", params={"other": "reported_at"})
    before = {name: getattr(report, name) for name in changes}
    for name, value in changes.items():
        setattr(report, name, value)
    audit.record_changes(
        session,
        incident_id=report.incident_id,
        actor=actor.name,
        action="regulatory_report",
        before=before,
        after={name: getattr(report, name) for name in changes},
    )
    return report


def register(
    session: Session, *, limit: int, offset: int
) -> tuple[list[tuple[RegulatoryReport, Incident]], int]:
    """Every report, newest deadline first, each with its incident."""
    statement = select(RegulatoryReport).order_by(
        col(RegulatoryReport.due_at).desc(), col(RegulatoryReport.id).desc()
    )
    reports, total = paged(session, statement, limit=limit, offset=offset)
    ids = [report.incident_id for report in reports]
    incidents = {
        incident.id: incident
        for incident in session.exec(select(Incident).where(col(Incident.id).in_(ids)))
    }
    return [(report, incidents[report.incident_id]) for report in reports], total


def announce_clock(
    session: Session, now: datetime, *, policy: GradingPolicy, calendar: Calendar
) -> int:
    """Queue the notice before the deadline and the overdue notice, each once per report, for
    reports not yet made. Returns how many notices were queued."""
    unreported = select(RegulatoryReport, Incident).join(
        Incident, col(Incident.id) == col(RegulatoryReport.incident_id)
    )
    due_soon = session.exec(
        unreported.where(
            col(RegulatoryReport.reported_at).is_(None),
            col(RegulatoryReport.warned_at).is_(None),
            col(RegulatoryReport.due_at) <= now + WARNING_AHEAD,
            col(RegulatoryReport.due_at) > now,
        )
    ).all()
    overdue = session.exec(
        unreported.where(
            col(RegulatoryReport.reported_at).is_(None),
            col(RegulatoryReport.overdue_notified_at).is_(None),
            col(RegulatoryReport.due_at) <= now,
        )
    ).all()
    for report, incident in due_soon:
        report.warned_at = now
        _announce(session, report, incident, policy, calendar, "due_soon")
    for report, incident in overdue:
        # Past the deadline the warning is moot: it is never sent after the overdue notice.
        report.warned_at = report.warned_at or now
        report.overdue_notified_at = now
        _announce(session, report, incident, policy, calendar, "overdue")
    return len(due_soon) + len(overdue)
