"""All configuration, read once from the environment (prefix STABILOG_) or a .env file."""

from functools import cache, lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from incidents.calendar import Calendar, TeamDays, Weekday, load_team_days


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STABILOG_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///./stabilog.db"
    # The calendar's three settings; read them through `calendar`, which the domain is handed.
    timezone: str = "Asia/Shanghai"
    week_numbering: Literal["jan1", "iso"] = "jan1"
    report_day: Weekday = "saturday"
    report_lang: Literal["zh", "en"] = "zh"
    follow_up_minutes: int = Field(default=5, ge=1, le=1440)
    # How long the acknowledge link in an escalation message works (its signing secret is a row
    # of the database, shared by every instance: incidents/ack_links.py).
    ack_link_hours: int = Field(default=24, ge=1, le=168)
    grading_policy: Path | None = None
    # The team's own holidays, 封网 freeze days and extra working days (docs/calendar.md), on top
    # of the statutory calendar; none when not set.
    calendar_file: Path | None = None
    # Requests larger than this are refused with 413 before any parsing; 5 MiB holds a full
    # Alertmanager group of 5,000 alerts, the most one delivery may carry.
    max_body_bytes: int = Field(default=5 * 1_048_576, ge=1024)
    # Where users reach this service; printed in front of webhook paths and linked in messages.
    public_url: str = "http://127.0.0.1:8000"
    # Alerts of these severities open (or join) an incident by themselves, comma-separated,
    # e.g. "critical,P0"; empty turns the rule off.
    auto_promote_severities: str = ""
    # Auto-promoted alerts for the same system within this many minutes share one open incident.
    auto_promote_window_minutes: int = Field(default=30, ge=1, le=1440)
    # Noise (docs/silences.md): a fingerprint firing more than `flapping_transitions` times in
    # `flapping_minutes` is flapping (one notice, then quiet until it settles for as long); more
    # than `storm_alerts_per_minute` new alerts from one source in a minute is a storm.
    flapping_transitions: int = Field(default=4, ge=1, le=1000)
    flapping_minutes: int = Field(default=60, ge=1, le=1440)
    storm_alerts_per_minute: int = Field(default=50, ge=1, le=100_000)
    # Webhook deliveries accepted per source and minute (bursts of a sixth of it), per instance;
    # beyond it a sender gets 429 with Retry-After and retries, as Alertmanager and Grafana do.
    webhook_rate_per_minute: int = Field(default=1200, ge=1)
    # The weekly section is sent on the report day at this hour (STABILOG_TIMEZONE).
    report_hour: int = Field(default=18, ge=0, le=23)
    # `stabilog serve` runs the scheduled jobs in-process unless this is false (then run
    # `stabilog scheduler` somewhere; several may run, each job slot still runs once).
    scheduler: bool = True
    outbox_interval_seconds: int = Field(default=15, ge=1, le=3600)
    # Period reports: each system's availability target in percent, against which the downtime
    # budget is counted, and the hours [start, end) on the team's clock that count as after hours
    # for alerts (non-working days count whole).
    availability_target: float = Field(default=99.99, gt=0, le=100)
    after_hours_start: int = Field(default=23, ge=0, le=23)
    after_hours_end: int = Field(default=8, ge=0, le=23)
    host: str = "127.0.0.1"
    port: int = 8000
    # Logs: "text" for a terminal, "json" (one object a line) for a log collector; the access
    # log writes one line per request (webhook keys redacted) unless turned off.
    log_format: Literal["text", "json"] = "text"
    access_log: bool = True
    # The nightly backup (docs/operations.md): off unless a directory is set; it runs at this
    # hour (STABILOG_TIMEZONE) and keeps the newest `backup_keep` files there.
    backup_dir: Path | None = None
    backup_keep: int = Field(default=7, ge=1)
    backup_hour: int = Field(default=2, ge=0, le=23)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        Calendar(timezone=value)  # raises ValueError naming an unknown zone
        return value

    @property
    def auto_promoted_severities(self) -> frozenset[str]:
        return frozenset(
            part.strip().lower() for part in self.auto_promote_severities.split(",") if part.strip()
        )

    @property
    def calendar(self) -> Calendar:
        """Raises `CalendarFileError` for an unusable calendar file: the app and the CLI refuse to
        start with it."""
        team = _team_days(self.calendar_file)
        return Calendar(
            self.timezone,
            self.week_numbering,
            self.report_day,
            team_holidays=frozenset(team.holidays),
            team_working_days=frozenset(team.working_days),
        )


@cache  # the file is read once per process (a refused file is read again): edits need a restart
def _team_days(path: Path | None) -> TeamDays:
    return load_team_days(path)


@lru_cache
def get_settings() -> Settings:
    return Settings()
