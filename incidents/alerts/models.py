"""Webhook sources, stored alerts and their follow-up."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, String, Text, UniqueConstraint
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
