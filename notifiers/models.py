"""Channels (rows, with their event subscriptions) and the outbox of messages to deliver."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from incidents.db import UTCDateTime, utcnow
from incidents.models import Moment, OneLine, moment_column


class NotificationEvent(StrEnum):
    weekly_report = "weekly_report"
    incident = "incident"  # filed or regraded A/B
    alert_unfollowed = "alert_unfollowed"
    action_overdue = "action_overdue"


class ChannelKind(StrEnum):
    dingtalk = "dingtalk"
    wecom = "wecom"
    feishu = "feishu"
    slack = "slack"
    email = "email"
    webhook = "webhook"


class Channel(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    kind: ChannelKind = Field(sa_type=String(20))
    name: str = Field(max_length=100, unique=True)
    # Robot URLs carry their access token; never answered in full (see ChannelPublic).
    url: str = Field(sa_type=Text)
    secret: str | None = Field(default=None, max_length=500)
    events: list[str] = Field(default_factory=list, sa_type=JSON)
    enabled: bool = True
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class ChannelCreate(SQLModel):
    kind: ChannelKind
    name: OneLine = Field(min_length=1, max_length=100)
    url: str = Field(min_length=1, max_length=2000)
    secret: str | None = Field(default=None, max_length=500)
    events: list[NotificationEvent] = Field(min_length=1, max_length=10)


class ChannelUpdate(SQLModel):
    enabled: bool | None = None
    events: list[NotificationEvent] | None = Field(default=None, min_length=1, max_length=10)


class ChannelPublic(SQLModel):
    id: int
    kind: ChannelKind
    name: str
    url: str  # with its query and credentials masked
    has_secret: bool
    events: list[str]
    enabled: bool
    created_at: Moment


class NotificationStatus(StrEnum):
    pending = "pending"
    sending = "sending"  # claimed by one instance until `lease_until`
    sent = "sent"
    failed = "failed"


class Notification(SQLModel, table=True):
    """One message for one channel, written in the transaction of the change that caused it."""

    __table_args__ = (UniqueConstraint("channel_id", "dedup_key", name="uq_notification_once"),)
    id: int | None = Field(default=None, primary_key=True)
    channel_id: int = Field(foreign_key="channel.id", ondelete="CASCADE")
    event: NotificationEvent = Field(sa_type=String(30))
    # What makes two notifications the same: one per event occurrence and channel, ever.
    dedup_key: str = Field(max_length=200)
    title: str = Field(max_length=300)
    markdown: str = Field(sa_type=Text)
    url: str | None = Field(default=None, sa_type=Text)
    status: NotificationStatus = Field(
        default=NotificationStatus.pending, sa_type=String(20), index=True
    )
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    lease_until: datetime | None = moment_column()
    last_error: str | None = Field(default=None, max_length=1000)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    sent_at: datetime | None = moment_column()


class NotificationPublic(SQLModel):
    id: int
    channel_id: int
    event: NotificationEvent
    dedup_key: str
    title: str
    status: NotificationStatus
    attempts: int
    next_attempt_at: Moment
    last_error: str | None
    created_at: Moment
    sent_at: Moment | None


class JobRun(SQLModel, table=True):
    """One row per scheduled job and time slot: the instance that inserts it runs the job."""

    __tablename__ = "job_run"
    job: str = Field(primary_key=True, max_length=50)
    slot: str = Field(primary_key=True, max_length=50)
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
