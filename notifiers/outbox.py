"""The outbox: messages written with the change that caused them, then delivered with retries.

A message is one row per (channel, dedup_key), unique in the database, so one event reaches a
channel once however often it is enqueued, by however many instances. Delivery claims a row
with a lease before sending: instances never send the same row at the same time, and a row
whose sender died is taken up again when its lease runs out. A process killed between the
robot's answer and the row's update is the one way a message can go out twice; the generic
webhook's `webhook-id` lets a receiver drop that duplicate.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from sqlalchemy import and_, or_, update
from sqlmodel import Session, col, func, select

from incidents.db import dialect_insert, utcnow
from incidents.errors import NotFound
from notifiers.base import ChannelConfig, DeliveryOutcome, Message
from notifiers.delivery import send
from notifiers.models import (
    Channel,
    Notification,
    NotificationEvent,
    NotificationStatus,
)

MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)
LEASE = timedelta(minutes=5)
CLAIM_BATCH = 50


def enqueue(session: Session, event: NotificationEvent, dedup_key: str, message: Message) -> int:
    """Add the message for every enabled channel subscribed to `event`, in the caller's
    transaction; a (channel, dedup_key) already queued is left as it is. Returns rows added."""
    channels = session.exec(select(Channel).where(col(Channel.enabled).is_(True))).all()
    subscribed = [channel.id for channel in channels if event in channel.events]
    if not subscribed:
        return 0
    table = Notification.__table__  # type: ignore[attr-defined]
    statement = (
        dialect_insert(session.get_bind().dialect.name)(table)
        .values(
            [
                {
                    "channel_id": channel_id,
                    "event": event,
                    "dedup_key": dedup_key,
                    "title": message.title[:300],
                    "markdown": message.markdown,
                    "url": message.url,
                    "status": NotificationStatus.pending,
                    "attempts": 0,
                    "next_attempt_at": utcnow(),
                    "created_at": utcnow(),
                }
                for channel_id in subscribed
            ]
        )
        .on_conflict_do_nothing(index_elements=["channel_id", "dedup_key"])
        .returning(table.c.id)
    )
    return len(session.execute(statement).all())


@dataclass
class DrainResult:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    details: list[str] = field(default_factory=list)


def _due(now: datetime):
    return or_(
        and_(
            col(Notification.status) == NotificationStatus.pending,
            col(Notification.next_attempt_at) <= now,
        ),
        and_(
            col(Notification.status) == NotificationStatus.sending,
            col(Notification.lease_until) < now,
        ),
    )


def _claim(session: Session, now: datetime) -> list[int]:
    candidates = session.exec(
        select(Notification.id)
        .where(_due(now))
        .order_by(col(Notification.next_attempt_at), col(Notification.id))
        .limit(CLAIM_BATCH)
    ).all()
    claimed = []
    for notification_id in candidates:
        taken = session.execute(
            update(Notification)
            .where(col(Notification.id) == notification_id, _due(now))
            .values(status=NotificationStatus.sending, lease_until=now + LEASE)
        )
        if taken.rowcount == 1:
            claimed.append(notification_id)
    session.commit()
    return claimed


def _backoff(attempts: int, outcome: DeliveryOutcome) -> timedelta:
    wait = min(FIRST_RETRY * 2 ** (attempts - 1), LONGEST_RETRY)
    if outcome.retry_after:
        wait = max(wait, timedelta(seconds=outcome.retry_after))
    return wait


def _record(notification: Notification, outcome: DeliveryOutcome, now: datetime) -> str:
    notification.attempts += 1
    notification.lease_until = None
    if outcome.ok:
        notification.status, notification.sent_at, notification.last_error = (
            NotificationStatus.sent,
            now,
            None,
        )
        return "sent"
    notification.last_error = outcome.detail[:1000]
    if outcome.retryable and notification.attempts < MAX_ATTEMPTS:
        notification.status = NotificationStatus.pending
        notification.next_attempt_at = now + _backoff(notification.attempts, outcome)
        return "retrying"
    notification.status = NotificationStatus.failed
    return "failed"


def deliver_due(
    session: Session, *, client: httpx.Client, now: datetime | None = None
) -> DrainResult:
    """Send every message that is due; never raises for a channel's failure."""
    now = now or utcnow()
    result = DrainResult()
    for notification_id in _claim(session, now):
        notification = session.get(Notification, notification_id)
        channel = session.get(Channel, notification.channel_id)
        if not channel.enabled:
            outcome = DeliveryOutcome(ok=False, retryable=False, detail="channel disabled")
        else:
            message = Message(
                title=notification.title,
                markdown=notification.markdown,
                url=notification.url,
                event=notification.event,
                idempotency_key=f"stabilog-notification-{notification.id}",
            )
            config = ChannelConfig(kind=channel.kind, url=channel.url, secret=channel.secret)
            outcome = send(message, config, client=client, now=now)
        verdict = _record(notification, outcome, now)
        setattr(result, verdict, getattr(result, verdict) + 1)
        if verdict != "sent":
            result.details.append(f"{channel.name}: {outcome.detail}")
        session.commit()
    return result


def list_notifications(
    session: Session, status: NotificationStatus | None, *, limit: int, offset: int
) -> tuple[list[Notification], int]:
    conditions = [] if status is None else [col(Notification.status) == status]
    total = session.exec(select(func.count()).select_from(Notification).where(*conditions)).one()
    page = session.exec(
        select(Notification)
        .where(*conditions)
        .order_by(col(Notification.id).desc())
        .limit(limit)
        .offset(offset)
    )
    return list(page), total


def retry(session: Session, notification_id: int) -> Notification:
    """Queue a failed (or any unsent) message again, with a fresh count of attempts."""
    notification = session.get(Notification, notification_id)
    if notification is None:
        raise NotFound("notification", notification_id)
    if notification.status != NotificationStatus.sent:
        notification.status = NotificationStatus.pending
        notification.attempts = 0
        notification.next_attempt_at = utcnow()
        notification.lease_until = None
        session.commit()
        session.refresh(notification)
    return notification


def backlog(session: Session) -> int:
    return session.exec(
        select(func.count())
        .select_from(Notification)
        .where(
            col(Notification.status).in_([NotificationStatus.pending, NotificationStatus.sending])
        )
    ).one()
