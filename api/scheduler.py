"""When the scheduled jobs run: APScheduler 3 in the server's process (`stabilog serve`) or on
its own (`stabilog scheduler`). The jobs themselves are the domain's (`incidents/jobs.py`) and
the outbox drain is the notifiers'; this module only wires them to clocks."""

import logging
from datetime import datetime

import httpx
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from incidents.grading import GradingPolicy
from incidents.jobs import (
    action_item_reminder_job,
    backup_job,
    clock_job,
    escalation_job,
    follow_up_reminder_job,
    scoreboard_job,
    weekly_report_job,
)
from incidents.settings import Settings
from notifiers.delivery import shared_client
from notifiers.drain import DrainResult, deliver_due

log = logging.getLogger("stabilog.jobs")

# Action item reminders go out at the start of the working day (the job skips days off).
ACTION_REMINDER_HOUR, ACTION_REMINDER_MINUTE = 9, 30


def outbox_job(
    engine: Engine, client: httpx.Client, settings: Settings, now: datetime | None = None
) -> DrainResult:
    result = deliver_due(engine, client=client, public_url=settings.public_url, now=now)
    for detail in result.details:
        log.warning("notification not delivered: %s", detail)
    return result


def build_scheduler(
    engine: Engine, settings: Settings, policy: GradingPolicy
) -> BackgroundScheduler:
    """Every scheduled job; a failing run is logged and the next one still runs."""
    tz = settings.calendar.tz
    scheduler = BackgroundScheduler(timezone=tz)
    common = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 300}
    scheduler.add_job(
        weekly_report_job,
        CronTrigger(day_of_week=settings.report_day[:3], hour=settings.report_hour, timezone=tz),
        args=(engine, settings, policy),
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
        escalation_job,
        IntervalTrigger(minutes=1),
        args=(engine, settings),
        id="escalation",
        **common,
    )
    scheduler.add_job(
        clock_job,
        IntervalTrigger(minutes=1),
        args=(engine, settings, policy),
        id="clocks",
        **common,
    )
    scheduler.add_job(
        action_item_reminder_job,
        CronTrigger(hour=ACTION_REMINDER_HOUR, minute=ACTION_REMINDER_MINUTE, timezone=tz),
        args=(engine, settings),
        id="action_reminders",
        **common,
    )
    scheduler.add_job(
        scoreboard_job,
        IntervalTrigger(hours=1),
        args=(engine, settings, policy),
        id="scoreboard",
        **common,
    )
    scheduler.add_job(
        outbox_job,
        IntervalTrigger(seconds=settings.outbox_interval_seconds),
        args=(engine, shared_client(), settings),
        id="outbox",
        **common,
    )
    if settings.backup_dir is not None:
        scheduler.add_job(
            backup_job,
            CronTrigger(hour=settings.backup_hour, timezone=tz),
            args=(engine, settings),
            id="backup",
            **common,
        )
    return scheduler
