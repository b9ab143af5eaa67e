"""The outbox's write side: channels and the events they subscribe to, and the messages the
domain queues for them in the transaction of the change that caused them.

Delivery (rendering per channel, signing, sending, retrying) is `notifiers/`; it reads what is
written here. A message is one row per (channel, dedup_key), unique in the database, so one event
reaches a channel once however often it is announced, by however many instances.
"""

import re
from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, String, Text, UniqueConstraint
from sqlmodel import Field, Session, SQLModel, col, func, select

from incidents.db import UTCDateTime, dialect_insert, get_or_raise, paged, utcnow
from incidents.models import Moment, OneLine, WriteModel, moment_column


class NotificationEvent(StrEnum):
    weekly_report = "weekly_report"
    incident = "incident"  # filed or regraded A/B
    alert_unfollowed = "alert_unfollowed"
    action_overdue = "action_overdue"  # a weekly digest of overdue action items, per owner
    action_item = "action_item"  # an action item filed or moved to another status
    action_due = "action_due"  # an action item due in 2 working days, or today
    regulatory = "regulatory"  # a trigger fired; the report is due soon; it is overdue
    scoreboard = "scoreboard"  # a team's 故障积分 reached its red line this month (once a month)
    alert_flapping = "alert_flapping"  # a fingerprint fires and resolves over and over (once)
    alert_storm = "alert_storm"  # many new alerts from one source in a minute: one notice
    escalation = "escalation"  # a step of an alert's escalation policy, to the step's channel


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


class ChannelCreate(WriteModel):
    kind: ChannelKind
    name: OneLine = Field(min_length=1, max_length=100)
    url: str = Field(min_length=1, max_length=2000)
    secret: str | None = Field(default=None, max_length=500)
    # Every event once at most: the bound grows with the events, never below them.
    events: list[NotificationEvent] = Field(min_length=1, max_length=len(NotificationEvent))


class ChannelUpdate(WriteModel):
    enabled: bool | None = None
    events: list[NotificationEvent] | None = Field(
        default=None, min_length=1, max_length=len(NotificationEvent)
    )


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
    # People the robot @-mentions so their phone rings (RotaMember.mention(): name, mobile, ids).
    mentions: list[dict[str, str]] = Field(default_factory=list, sa_type=JSON)
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


# --- text -------------------------------------------------------------------------------------

_MARKUP_LOOKALIKES = str.maketrans({"<": "＜", ">": "＞", "[": "［", "]": "］", "@": "＠"})
_LINE_START_MARKUP = re.compile(r"^([ \t]*)([#>])", re.MULTILINE)


def neutralise(text: str) -> str:
    """User text made inert in every channel's Markdown dialect.

    Full-width look-alikes instead of backslashes or entities, because the robots disagree on
    which escapes they honour, and a Chinese reader sees nothing odd in ［］＜＞＠. Replacing `<`
    and `>` stops HTML (`<font>`, `<script>`), WeCom `<@user>`, Feishu `<at …>`, Slack
    `<!channel>` and `<url|text>`; replacing the brackets stops `[text](url)` and images;
    replacing every `@` stops `@all` / `@所有人` / `@here`; a line-leading `#` or `>` would
    open a heading or a quote. Idempotent, so text escaped twice reads the same.
    """
    text = text.translate(_MARKUP_LOOKALIKES)
    return _LINE_START_MARKUP.sub(lambda m: m[1] + ("＃" if m[2] == "#" else "＞"), text)


# --- queueing ---------------------------------------------------------------------------------


def announce(
    session: Session,
    event: NotificationEvent,
    dedup_key: str,
    *,
    title: str,
    markdown: str,
    path: str | None = None,
    channel_id: int | None = None,
    mentions: list[dict[str, str]] | None = None,
) -> int:
    """Queue one message for every enabled channel subscribed to `event`, in the caller's
    transaction; a (channel, dedup_key) already queued is left as it is. Returns rows added.

    With `channel_id`, the message goes to that one channel (if enabled) whatever it subscribes
    to: an escalation step names its channel. `mentions` are the people it @-mentions.

    `title` is plain text; `markdown` is trusted, so every piece of user text in it has gone
    through `neutralise`. `path` is a page of Stabilog (`/incidents/5`): delivery puts
    STABILOG_PUBLIC_URL in front, so a changed address reaches messages still waiting.
    """
    enabled = select(Channel).where(col(Channel.enabled).is_(True))
    if channel_id is not None:
        enabled = enabled.where(col(Channel.id) == channel_id)
    channels = session.exec(enabled).all()
    subscribed = [
        channel.id for channel in channels if channel_id is not None or event in channel.events
    ]
    if not subscribed:
        return 0
    table = Notification.__table__  # type: ignore[attr-defined]
    now = utcnow()
    statement = (
        dialect_insert(session.get_bind().dialect.name)(table)
        .values(
            [
                {
                    "channel_id": target,
                    "event": event,
                    "dedup_key": dedup_key,
                    "title": title[:300],
                    "markdown": markdown,
                    "url": path,
                    "mentions": mentions or [],
                    "status": NotificationStatus.pending,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                }
                for target in subscribed
            ]
        )
        .on_conflict_do_nothing(index_elements=["channel_id", "dedup_key"])
        .returning(table.c.id)
    )
    return len(session.execute(statement).all())


# --- reading and re-queueing ------------------------------------------------------------------


def list_notifications(
    session: Session, status: NotificationStatus | None, *, limit: int, offset: int
) -> tuple[list[Notification], int]:
    conditions = [] if status is None else [col(Notification.status) == status]
    statement = select(Notification).where(*conditions).order_by(col(Notification.id).desc())
    return paged(session, statement, limit=limit, offset=offset)


def retry(session: Session, notification_id: int) -> Notification:
    """Queue a failed (or any unsent) message again, with a fresh count of attempts."""
    notification = get_or_raise(session, Notification, notification_id)
    if notification.status != NotificationStatus.sent:
        notification.status = NotificationStatus.pending
        notification.attempts = 0
        notification.next_attempt_at = utcnow()
        notification.lease_until = None
    return notification


def backlog(session: Session) -> int:
    waiting = (NotificationStatus.pending, NotificationStatus.sending)
    return session.exec(
        select(func.count()).select_from(Notification).where(col(Notification.status).in_(waiting))
    ).one()
