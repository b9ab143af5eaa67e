"""Scheduled jobs: the weekly section, follow-up reminders, the overdue digest, the outbox.

Each job is a plain function of (engine, settings, now), so tests drive it with any clock.
A job that must happen once per slot (a week, a minute, a day) first inserts a `job_run` row
for that slot: with several instances on one database only the one whose insert lands runs
it. The outbox's own uniqueness is the second guard: a message goes to a channel once.
"""

import logging
from datetime import datetime, timedelta

import httpx
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine, delete
from sqlmodel import Session, col, select

from incidents import report
from incidents.alerts.models import Alert
from incidents.announcements import local_text, page_url
from incidents.db import dialect_insert, utcnow
from incidents.models import ActionItem, ActionItemStatus, Incident
from incidents.settings import Settings
from incidents.weeks import Week, week_of
from notifiers.base import Message, neutralise
from notifiers.delivery import shared_client
from notifiers.models import JobRun, NotificationEvent
from notifiers.outbox import DrainResult, deliver_due, enqueue

log = logging.getLogger("stabilog.jobs")

# Alerts older than this are not reminded about any more: a reminder a day late helps nobody.
REMINDER_HORIZON = timedelta(hours=24)
REMINDER_BATCH = 50
DIGEST_ITEMS = 50


def claim_slot(session: Session, job: str, slot: str) -> bool:
    """True for the one caller that records this job's run for this slot."""
    table = JobRun.__table__  # type: ignore[attr-defined]
    statement = (
        dialect_insert(session.get_bind().dialect.name)(table)
        .values(job=job, slot=slot, started_at=utcnow())
        .on_conflict_do_nothing(index_elements=["job", "slot"])
        .returning(table.c.job)
    )
    # RETURNING rather than rowcount: psycopg reports -1 for an INSERT … ON CONFLICT.
    claimed = session.execute(statement).first() is not None
    session.commit()
    return claimed


def queue_weekly_report(session: Session, week: Week, settings: Settings) -> int:
    """Queue the week's section for every channel subscribed to it (once per week)."""
    built = report.build(session, week, settings, settings.report_lang)
    heading = report.blocks(built)[0].text
    added = enqueue(
        session,
        NotificationEvent.weekly_report,
        f"weekly_report:{week.label}",
        Message(
            title=f"{heading} 稳定性周报"
            if settings.report_lang == "zh"
            else f"{heading} stability",
            markdown=report.to_markdown(built, user_text=neutralise),
            url=page_url(f"/weeks/{week.report_date.isoformat()}"),
            event=NotificationEvent.weekly_report,
        ),
    )
    session.commit()
    return added


def weekly_report_job(engine: Engine, settings: Settings, now: datetime | None = None) -> None:
    now = now or utcnow()
    week = week_of(now.astimezone(settings.tz).date(), settings.week_numbering, settings.report_day)
    with Session(engine) as session:
        if claim_slot(session, "weekly_report", week.label):
            queue_weekly_report(session, week, settings)


def follow_up_reminder_job(engine: Engine, settings: Settings, now: datetime | None = None) -> None:
    """One message listing the alerts whose follow-up window closed unanswered since last run."""
    now = now or utcnow()
    window = timedelta(minutes=settings.follow_up_minutes)
    with Session(engine) as session:
        if not claim_slot(session, "follow_up_reminder", f"{now:%Y-%m-%dT%H:%M}"):
            return
        # A row a minute adds up; a day of them is all that deduplication ever needs.
        session.execute(
            delete(JobRun).where(
                col(JobRun.job) == "follow_up_reminder",
                col(JobRun.started_at) < now - REMINDER_HORIZON,
            )
        )
        overdue = session.exec(
            select(Alert)
            .where(
                col(Alert.first_follow_up_at).is_(None),
                col(Alert.reminded_at).is_(None),
                col(Alert.received_at) <= now - window,
                col(Alert.received_at) > now - REMINDER_HORIZON,
            )
            .order_by(col(Alert.received_at))
            .limit(REMINDER_BATCH)
        ).all()
        if not overdue:
            return
        lines = [
            f"- {local_text(alert.received_at)} {neutralise(alert.title)}"
            f"（{neutralise(alert.system or '—')}）"
            for alert in overdue
        ]
        for alert in overdue:
            alert.reminded_at = now
        enqueue(
            session,
            NotificationEvent.alert_unfollowed,
            f"alert_unfollowed:{overdue[0].id}:{overdue[-1].id}:{len(overdue)}",
            Message(
                title=f"{len(overdue)}条报警超过{settings.follow_up_minutes}分钟无人跟进",
                markdown="\n".join(lines),
                url=page_url("/alerts"),
                event=NotificationEvent.alert_unfollowed,
            ),
        )
        session.commit()


def overdue_digest_job(engine: Engine, settings: Settings, now: datetime | None = None) -> None:
    """Once a day: every open action item past its due date, counted and listed."""
    now = now or utcnow()
    today = now.astimezone(settings.tz).date()
    with Session(engine) as session:
        if not claim_slot(session, "action_overdue", today.isoformat()):
            return
        open_statuses = (ActionItemStatus.open, ActionItemStatus.in_progress)
        overdue = session.exec(
            select(ActionItem, Incident.title)
            .join(Incident, col(Incident.id) == col(ActionItem.incident_id))
            .where(col(ActionItem.status).in_(open_statuses), col(ActionItem.due_date) < today)
            .order_by(col(ActionItem.due_date))
            .limit(DIGEST_ITEMS + 1)
        ).all()
        if not overdue:
            return
        lines = [
            f"- {item.due_date:%m/%d} {neutralise(item.owner)}：{neutralise(item.title)}"
            f"（{neutralise(title)}）"
            for item, title in overdue[:DIGEST_ITEMS]
        ]
        if len(overdue) > DIGEST_ITEMS:
            lines.append(f"- 另有更多逾期改进项，见 {page_url('/incidents')}")
        enqueue(
            session,
            NotificationEvent.action_overdue,
            f"action_overdue:{today.isoformat()}",
            Message(
                title=f"改进项逾期提醒：{min(len(overdue), DIGEST_ITEMS)}项",
                markdown="\n".join(lines),
                event=NotificationEvent.action_overdue,
            ),
        )
        session.commit()


def outbox_job(engine: Engine, client: httpx.Client, now: datetime | None = None) -> DrainResult:
    with Session(engine) as session:
        result = deliver_due(session, client=client, now=now)
    for detail in result.details:
        log.warning("notification not delivered: %s", detail)
    return result


def build_scheduler(engine: Engine, settings: Settings) -> BackgroundScheduler:
    """APScheduler 3 with the four jobs; a failing run is logged and the next one still runs."""
    scheduler = BackgroundScheduler(timezone=settings.tz)
    common = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}
    scheduler.add_job(
        weekly_report_job,
        CronTrigger(
            day_of_week=settings.report_day[:3], hour=settings.report_hour, timezone=settings.tz
        ),
        args=(engine, settings),
        id="weekly_report",
        **common,
    )
    scheduler.add_job(
        follow_up_reminder_job,
        IntervalTrigger(minutes=1),
        args=(engine, settings),
        id="follow_up_reminder",
        **common,
    )
    scheduler.add_job(
        overdue_digest_job,
        CronTrigger(hour=9, minute=30, timezone=settings.tz),
        args=(engine, settings),
        id="action_overdue",
        **common,
    )
    scheduler.add_job(
        outbox_job,
        IntervalTrigger(seconds=settings.outbox_interval_seconds),
        args=(engine, shared_client()),
        id="outbox",
        **common,
    )
    return scheduler
