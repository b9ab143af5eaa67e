"""Webhook sources, stored alerts and their follow-up."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, String, Text, UniqueConstraint, false
from sqlmodel import Field, SQLModel

from incidents.db import UTCDateTime, utcnow
from incidents.models import SHORT, Moment, OneLine, WriteModel, moment_column


class SourceKind(StrEnum):
    jiankongbao = "jiankongbao"
    alertmanager = "alertmanager"
    grafana = "grafana"
    generic = "generic"


class Source(SQLModel, table=True):
    """A configured monitoring system; its unguessable key is the webhook URL's credential."""

    id: int | None = Field(default=None, primary_key=True)
    kind: SourceKind = Field(sa_type=String(20))
    name: str = Field(max_length=100, unique=True)
    key: str = Field(max_length=64, unique=True)
    # Kept in clear: HMAC and 监控宝's md5 need the secret itself to check a signature.
    secret: str | None = Field(default=None, max_length=200)
    # The label naming the business system of an alert, used when it is promoted.
    system_label: str = Field(default="service", max_length=100)
    enabled: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class SourceCreate(WriteModel):
    kind: SourceKind
    name: OneLine = Field(min_length=1, max_length=100)
    secret: str | None = Field(default=None, min_length=8, max_length=200)
    system_label: str = Field(default="service", min_length=1, max_length=100)


class SourceUpdate(WriteModel):
    name: OneLine | None = Field(default=None, min_length=1, max_length=100)
    enabled: bool | None = None
    system_label: str | None = Field(default=None, min_length=1, max_length=100)


class SourcePublic(SQLModel):
    id: int
    kind: SourceKind
    name: str
    system_label: str
    enabled: bool
    has_secret: bool
    webhook_path: str
    created_at: Moment


class AlertStatus(StrEnum):
    firing = "firing"
    resolved = "resolved"


class Silence(SQLModel, table=True):
    """Holds back the messages of matching alerts while active (docs/silences.md).

    One-off: active from `starts_at` to `ends_at`. Recurring (`weekdays` set): active inside
    `window_start`–`window_end` on those weekdays of the team's clock, between `starts_at` and
    `ends_at`. Never deleted: expiring sets `ends_at` to now, so the alerts a silence held keep
    pointing at it and past follow-up rates stay what they were.
    """

    id: int | None = Field(default=None, primary_key=True)
    # None: alerts of every source.
    source_id: int | None = Field(default=None, foreign_key="source.id")
    # [{"name": "service", "op": "=~", "value": "pay-.*"}, …]; every matcher must hold.
    matchers: list[dict[str, str]] = Field(default_factory=list, sa_type=JSON)
    starts_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    ends_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    # ISO weekdays (1 Monday … 7 Sunday) and "HH:MM" on the team's clock; a window whose end
    # is not after its start runs past midnight into the next day.
    weekdays: list[int] | None = Field(default=None, sa_type=JSON)
    window_start: str | None = Field(default=None, max_length=5)
    window_end: str | None = Field(default=None, max_length=5)
    reason: str = Field(max_length=500)
    created_by: str = Field(max_length=SHORT)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    expired_by: str | None = Field(default=None, max_length=SHORT)


class AlertStorm(SQLModel, table=True):
    """More new alerts from one source in a minute than the storm threshold: one notice for all.

    The storm lasts while its source keeps sending new alerts at least once a minute; every new
    alert of the source meanwhile joins it (`alert.storm_id`). Written once, when it starts:
    concurrent deliveries joining a storm must not queue for one row.
    """

    __tablename__ = "alert_storm"
    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="source.id")
    started_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    # The alerts of the minute that made it a storm, as its notice said; more join it later.
    announced_alerts: int = 0
    # The most frequent "name=value" label pairs of the alerts that started the storm.
    top_labels: list[list[Any]] = Field(default_factory=list, sa_type=JSON)


class Alert(SQLModel, table=True):
    """One occurrence of an alert: a fingerprint firing from `starts_at` until resolved.

    Repeated deliveries of the occurrence only bump `last_seen_at` and `repeat_count`; firing
    again after resolution starts a new occurrence with a new `starts_at`.
    """

    __table_args__ = (
        UniqueConstraint("source_id", "fingerprint", "starts_at", name="uq_alert_occurrence"),
        # Covers every follow-up figure of a window, so metrics read the index, not the wide
        # rows (labels, annotations, raw payload); it replaces a plain received_at index.
        Index(
            "ix_alert_received_follow_up",
            "received_at",
            "first_follow_up_at",
            "valid",
            "incident_id",
            "silence_id",
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    # No index of its own: the occurrence constraint (source_id, fingerprint, …) serves lookups
    # by source, and every index is paid for on the webhook path.
    source_id: int = Field(foreign_key="source.id")
    fingerprint: str = Field(max_length=255)
    status: AlertStatus = Field(sa_type=String(20))
    title: str = Field(max_length=300)
    severity: str | None = Field(default=None, max_length=50)
    system: str | None = Field(default=None, max_length=100)
    labels: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    annotations: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    url: str | None = Field(default=None, sa_type=Text)
    starts_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    ends_at: datetime | None = moment_column()
    # Arrival is when Stabilog first heard of the occurrence: the follow-up clock starts here.
    received_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    last_seen_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    repeat_count: int = 0
    resolved_at: datetime | None = moment_column()
    acked_at: datetime | None = moment_column()
    acked_by: str | None = Field(default=None, max_length=SHORT)
    valid: bool | None = None
    verdict_note: str | None = Field(default=None, max_length=2000)
    verdict_at: datetime | None = moment_column()
    verdict_by: str | None = Field(default=None, max_length=SHORT)
    incident_id: int | None = Field(default=None, foreign_key="incident.id", index=True)
    linked_at: datetime | None = moment_column()
    linked_by: str | None = Field(default=None, max_length=SHORT)
    # The earliest of ack, verdict and link, kept so follow-up rates are one SQL aggregate.
    first_follow_up_at: datetime | None = moment_column()
    # When the team was reminded that nobody followed this alert up; reminded once.
    reminded_at: datetime | None = moment_column()
    raw: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    # Noise (incidents/alerts/noise.py): a silenced, flapping or storm alert is stored and shown
    # like any other but pages nobody. Set when the occurrence arrives (a silence made later
    # also takes the alerts still firing); no index of their own, every index costs ingest.
    silence_id: int | None = Field(default=None, foreign_key="silence.id")
    flapping: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    storm_id: int | None = Field(default=None, foreign_key="alert_storm.id")


class AlertPublic(SQLModel):
    id: int
    source_id: int
    fingerprint: str
    status: AlertStatus
    title: str
    severity: str | None
    system: str | None
    labels: dict[str, str]
    annotations: dict[str, str]
    url: str | None
    starts_at: Moment
    ends_at: Moment | None
    received_at: Moment
    last_seen_at: Moment
    repeat_count: int
    resolved_at: Moment | None
    acked_at: Moment | None
    acked_by: str | None
    valid: bool | None
    verdict_note: str | None
    verdict_at: Moment | None
    verdict_by: str | None
    incident_id: int | None
    linked_at: Moment | None
    linked_by: str | None
    first_follow_up_at: Moment | None
    silence_id: int | None
    flapping: bool
    storm_id: int | None


class Verdict(WriteModel):
    valid: bool
    note: str | None = Field(default=None, max_length=2000)


class Promotion(WriteModel):
    incident_id: int | None = Field(
        default=None,
        ge=1,
        le=2**31 - 1,  # ids are PostgreSQL `integer`s: a larger one would fail the query
        description="link to this incident instead of opening a new one",
    )


# The tallies of the alerts (their tables, and the session hooks that keep them as alerts
# change) are registered whenever an Alert can be written.
import incidents.alerts.tally  # noqa: E402, F401
