"""Draining the outbox the domain writes (`incidents/outbox.py`): delivery with retries.

Delivery claims a row
with a lease before sending: instances never send the same row at the same time, and a row
whose sender died is taken up again when its lease runs out. A process killed between the
robot's answer and the row's update is the one way a message can go out twice; the generic
webhook's `webhook-id` lets a receiver drop that duplicate.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from sqlalchemy import Engine, and_, or_, update
from sqlmodel import Session, col, select

from incidents.db import utcnow
from incidents.outbox import Channel, Notification, NotificationStatus
from notifiers.delivery import send
from notifiers.message import ChannelConfig, DeliveryOutcome, Mention, Message

MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)
LEASE = timedelta(minutes=5)
CLAIM_BATCH = 50


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
        select(col(Notification.id))
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
            .returning(col(Notification.id))
        ).scalar_one_or_none()
        if taken is not None:
            claimed.append(taken)
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
    engine: Engine, *, client: httpx.Client, public_url: str, now: datetime | None = None
) -> DrainResult:
    """Send every message that is due; never raises for a channel's failure.

    Each claim and each outcome is committed at once: a message sent must never be sent again
    because a later one in the batch failed to record.
    """
    now = now or utcnow()
    result = DrainResult()
    with Session(engine) as session:
        claimed = _claim(session, now)
        session.commit()  # the leases, before any sending
        for notification_id in claimed:
            notification = session.get_one(Notification, notification_id)
            channel = session.get_one(Channel, notification.channel_id)
            if not channel.enabled:
                outcome = DeliveryOutcome(ok=False, retryable=False, detail="channel disabled")
            else:
                message = Message(
                    title=notification.title,
                    markdown=notification.markdown,
                    url=absolute_url(notification.url, public_url),
                    event=notification.event,
                    idempotency_key=f"stabilog-notification-{notification.id}",
                    mentions=tuple(Mention.of(stored) for stored in notification.mentions or []),
                )
                config = ChannelConfig(kind=channel.kind, url=channel.url, secret=channel.secret)
                outcome = send(message, config, client=client, now=now)
            verdict = _record(notification, outcome, now)
            setattr(result, verdict, getattr(result, verdict) + 1)
            if verdict != "sent":
                result.details.append(f"{channel.name}: {outcome.detail}")
            session.commit()
    return result


def absolute_url(url: str | None, public_url: str) -> str | None:
    """A page path of Stabilog as the address users reach it at; other URLs as they are."""
    if url is None or not url.startswith("/"):
        return url
    return public_url.rstrip("/") + url
