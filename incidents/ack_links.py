"""Acknowledge from the phone: a signed, expiring link in each escalation message.

The link is `/ack/<alert>.<step>.<expires>.<signature>`, the signature an HMAC-SHA256 with the
server's secret over the alert id, the step and the expiry (Unix seconds): no login, nothing
guessable, nothing that outlives its hours. The secret is a row of the database, made on first
use: it survives restarts and every instance on the database signs and checks with the same one,
with nothing to configure. Each link acknowledges once and gives one verdict; a reused, expired
or forged link changes nothing and says which it is (using one: `incidents/escalation.py`).
"""

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from sqlmodel import Field, Session, SQLModel, select

from incidents.db import UTCDateTime, dialect_insert, utcnow
from incidents.errors import DomainError

SECRET_NAME = "ack_link"


class ServerSecret(SQLModel, table=True):
    __tablename__ = "server_secret"
    name: str = Field(primary_key=True, max_length=50)
    value: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class AckLinkUse(SQLModel, table=True):
    """A link that was used: its first use wins (the primary key), whichever instance served it."""

    __tablename__ = "ack_link_use"
    signature: str = Field(primary_key=True, max_length=64)
    alert_id: int = Field(foreign_key="alert.id", index=True, ondelete="CASCADE")
    step: int
    used_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    judged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Refusal(StrEnum):
    forged = "forged"  # not a link we signed (or one damaged on the way)
    expired = "expired"
    used = "used"


class AckLinkRefused(DomainError):
    def __init__(self, refusal: Refusal, alert_id: int | None = None) -> None:
        super().__init__(refusal.value)
        self.refusal = refusal
        self.alert_id = alert_id


@dataclass(frozen=True)
class AckLink:
    alert_id: int
    step: int
    expires_at: datetime
    signature: str


def link_secret(session: Session) -> bytes:
    """The server's signing secret; the first caller on a new database makes it."""
    table = ServerSecret.__table__  # type: ignore[attr-defined]
    session.execute(
        dialect_insert(session.get_bind().dialect.name)(table)
        .values(name=SECRET_NAME, value=secrets.token_urlsafe(32), created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["name"])
    )
    value = session.exec(select(ServerSecret.value).where(ServerSecret.name == SECRET_NAME)).one()
    return value.encode()


def _signature(secret: bytes, alert_id: int, step: int, expires: int) -> str:
    digest = hmac.new(secret, f"ack:{alert_id}:{step}:{expires}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")


def link_path(secret: bytes, alert_id: int, step: int, expires_at: datetime) -> str:
    expires = int(expires_at.timestamp())
    return f"/ack/{alert_id}.{step}.{expires}.{_signature(secret, alert_id, step, expires)}"


def read_token(secret: bytes, token: str, now: datetime) -> AckLink:
    """The link's parts once its signature and expiry hold; AckLinkRefused otherwise."""
    parts = token.split(".")
    if len(parts) != 4 or not all(part.isdigit() for part in parts[:3]) or len(parts[0]) > 10:
        raise AckLinkRefused(Refusal.forged)
    alert_id, step, expires = (int(part) for part in parts[:3])
    if not hmac.compare_digest(parts[3], _signature(secret, alert_id, step, expires)):
        raise AckLinkRefused(Refusal.forged)
    expires_at = datetime.fromtimestamp(expires, UTC)
    if now >= expires_at:
        raise AckLinkRefused(Refusal.expired, alert_id)
    return AckLink(alert_id, step, expires_at, parts[3])
