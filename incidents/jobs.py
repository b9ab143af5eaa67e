"""Scheduled jobs of the domain: the weekly section, follow-up reminders, action item reminders.

Each job is a plain function of (engine, settings, now), so tests drive it with any clock, and
each opens and commits its own transactions. A job that must happen once per slot (a week, a
minute, a day) first claims a `job_run` row for that slot: with several instances on one
database only the one whose insert lands runs it. The outbox's own uniqueness is the second
guard: a message goes to a channel once. When they run is the scheduler's business (`api/`).
"""

from datetime import datetime, timedelta

from sqlalchemy import Engine, delete
from sqlmodel import Field, Session, SQLModel, col, select

from incidents import action_items, backup, escalation, regulatory, report, scoreboard
from incidents.alerts.models import Alert
from incidents.alerts.noise import pages_on_call
from incidents.announcements import local_text
from incidents.db import UTCDateTime, dialect_insert, utcnow
from incidents.grading import GradingPolicy
from incidents.outbox import NotificationEvent, announce, neutralise
from incidents.service import regrade_open_incidents
from incidents.settings import Settings
from incidents.weeks import Week

# Alerts older than this are not reminded about any more: a reminder a day late helps nobody.
REMINDER_HORIZON = timedelta(hours=24)
REMINDER_BATCH = 50


class JobRun(SQLModel, table=True):
    """One row per scheduled job and time slot: the instance that inserts it runs the job."""

    __tablename__ = "job_run"
    job: str = Field(primary_key=True, max_length=50)
    slot: str = Field(primary_key=True, max_length=50)
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def claim_slot(engine: Engine, job: str, slot: str) -> bool:
    """True for the one caller that records this job's run for this slot.

    The claim is committed on its own before the job's work: a second instance must see it at
    once, and a job that then fails is not retried for the same slot by another instance.
    """
    table = JobRun.__table__  # type: ignore[attr-defined]
    statement = (
        dialect_insert(engine.dialect.name)(table)
        .values(job=job, slot=slot, started_at=utcnow())
        .on_conflict_do_nothing(index_elements=["job", "slot"])
        .returning(table.c.job)
    )
    with engine.begin() as connection:
        # RETURNING rather than rowcount: psycopg reports -1 for an INSERT … ON CONFLICT.
        return connection.execute(statement).first() is not None


def forget_old_slots(session: Session, job: str, now: datetime) -> None:
    """A job claiming a slot a minute adds up rows; a day of them is all deduplication needs."""
    session.execute(
        delete(JobRun).where(
            col(JobRun.job) == job, col(JobRun.started_at) < now - REMINDER_HORIZON
        )
    )


def queue_weekly_report(
    session: Session, week: Week, settings: Settings, policy: GradingPolicy
) -> int:
    """Queue the week's section for every channel subscribed to it (once per week)."""
    built = report.build(session, week, settings, settings.report_lang, targets=policy.targets)
    heading = report.blocks(built)[0].text
    return announce(
        session,
        NotificationEvent.weekly_report,
        f"weekly_report:{week.label}",
        title=f"{heading} 稳定性周报" if settings.report_lang == "zh" else f"{heading} stability",
        markdown=report.to_markdown(built, user_text=neutralise),
        path=f"/weeks/{week.report_date.isoformat()}",
    )


def weekly_report_job(
    engine: Engine, settings: Settings, policy: GradingPolicy, now: datetime | None = None
) -> None:
    week = settings.calendar.week_at(now or utcnow())
    if claim_slot(engine, "weekly_report", week.label):
        with Session(engine) as session:
            queue_weekly_report(session, week, settings, policy)
            session.commit()


def follow_up_reminder_job(engine: Engine, settings: Settings, now: datetime | None = None) -> None:
    """One message listing the alerts whose follow-up window closed unanswered since last run."""
    now = now or utcnow()
    window = timedelta(minutes=settings.follow_up_minutes)
    if not claim_slot(engine, "follow_up_reminder", f"{now:%Y-%m-%dT%H:%M}"):
        return
    with Session(engine) as session:
        forget_old_slots(session, "follow_up_reminder", now)
        overdue = session.exec(
            select(Alert)
            .where(
                col(Alert.first_follow_up_at).is_(None),
                col(Alert.reminded_at).is_(None),
                pages_on_call(),  # silenced, flapping and storm alerts send nothing
                col(Alert.received_at) <= now - window,
                col(Alert.received_at) > now - REMINDER_HORIZON,
            )
            .order_by(col(Alert.received_at))
            .limit(REMINDER_BATCH)
        ).all()
        if not overdue:
            session.commit()
            return
        lines = [
            f"- {local_text(alert.received_at, settings.calendar)} {neutralise(alert.title)}"
            f"（{neutralise(alert.system or '—')}）"
            for alert in overdue
        ]
        for alert in overdue:
            alert.reminded_at = now
        announce(
            session,
            NotificationEvent.alert_unfollowed,
            f"alert_unfollowed:{overdue[0].id}:{overdue[-1].id}:{len(overdue)}",
            title=f"{len(overdue)}条报警超过{settings.follow_up_minutes}分钟无人跟进",
            markdown="\n".join(lines),
            path="/alerts",
        )
        session.commit()


def action_item_reminder_job(
    engine: Engine, settings: Settings, now: datetime | None = None
) -> None:
    """Once a working day: action items due in two working days or today are reminded, each
    once per kind; on the first working day of a week (Monday, unless it is a holiday), every
    overdue item is listed per owner. Days off remind nobody."""
    now = now or utcnow()
    calendar = settings.calendar
    today = calendar.today(now)
    if not calendar.is_working_day(today):
        return
    if not claim_slot(engine, "action_reminders", today.isoformat()):
        return
    monday = today - timedelta(days=today.weekday())
    weekly = claim_slot(engine, "action_overdue_week", monday.isoformat())
    with Session(engine) as session:
        action_items.announce_due(session, today, calendar)
        if weekly:
            action_items.announce_overdue(session, today, f"week-of-{monday.isoformat()}")
        session.commit()


def clock_job(
    engine: Engine, settings: Settings, policy: GradingPolicy, now: datetime | None = None
) -> None:
    """Once a minute: open incidents judged as of now (escalations, the interruption trigger)
    and the regulator's deadlines announced, in one transaction."""
    now = now or utcnow()
    if not claim_slot(engine, "clocks", f"{now:%Y-%m-%dT%H:%M}"):
        return
    with Session(engine) as session:
        forget_old_slots(session, "clocks", now)
        calendar = settings.calendar
        regrade_open_incidents(session, now, policy=policy, calendar=calendar)
        regulatory.announce_clock(session, now, policy=policy, calendar=calendar)
        session.commit()


def scoreboard_job(
    engine: Engine, settings: Settings, policy: GradingPolicy, now: datetime | None = None
) -> None:
    """Once an hour: teams whose 故障积分 this month reached their red line are announced, each
    once a month (the outbox's dedup key, so a second instance or run adds nothing). A job, not
    a check at grading: points also come from a 1-5-10 miss or a regulatory report, and a red
    line lowered in the policy must be noticed without a new incident."""
    now = now or utcnow()
    if not policy.scoreboard.red_lines:
        return
    if not claim_slot(engine, "scoreboard", f"{now:%Y-%m-%dT%H}"):
        return
    with Session(engine) as session:
        forget_old_slots(session, "scoreboard", now)
        calendar = settings.calendar
        scoreboard.announce_red_lines(
            session, calendar.today(now), policy=policy, calendar=calendar
        )
        session.commit()


def backup_job(engine: Engine, settings: Settings, now: datetime | None = None) -> None:
    """Once a night, when STABILOG_BACKUP_DIR is set: a backup of the database there, and only
    the newest STABILOG_BACKUP_KEEP backups kept (docs/operations.md)."""
    now = now or utcnow()
    if settings.backup_dir is None:
        return
    night = settings.calendar.today(now).isoformat()
    if claim_slot(engine, "backup", night):
        backup.backup_into(engine, settings.backup_dir, keep=settings.backup_keep, now=now)
        # Recorded apart from the claim, so /metrics tells a backup written from one attempted.
        claim_slot(engine, "backup_written", night)


def escalation_job(engine: Engine, settings: Settings, now: datetime | None = None) -> None:
    """Once a minute: each alert's next due escalation step, queued for its channel. The step's
    row (unique per alert and step) is the guard across instances; the slot saves the work."""
    now = now or utcnow()
    if not claim_slot(engine, "escalation", f"{now:%Y-%m-%dT%H:%M}"):
        return
    with Session(engine) as session:
        forget_old_slots(session, "escalation", now)
        escalation.escalate_due(
            session,
            now,
            calendar=settings.calendar,
            link_ttl=timedelta(hours=settings.ack_link_hours),
        )
        session.commit()
