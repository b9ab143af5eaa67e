"""Idempotent form posts: each post of a page form claims the digest of its key and body first.

The first post of a digest claims it and acts; when it ends in a result (a redirect), the result
is kept. An identical post meanwhile finds the claim: still being handled, it waits for the
result; handled, it is led to the same result. A post that ends without a result (refused, or
failed) releases its claim, so a retry acts again. Kept in the database, so several instances
behind one address agree; a claim is kept for a day.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, delete, select

from incidents.db import dialect_insert, utcnow
from incidents.models import FormKey

KEPT = timedelta(days=1)
# A claim without a result this old belongs to a post whose process died: it is taken over.
ABANDONED = timedelta(minutes=2)


def digest_of(key: str, path: str, body: bytes) -> str:
    """The same key with another body is another post: a form changed and sent again files anew."""
    hashed = hashlib.sha256()
    for part in (key.encode(), path.encode(), body):
        hashed.update(len(part).to_bytes(8, "big"))
        hashed.update(part)
    return hashed.hexdigest()


@dataclass(frozen=True)
class Claim:
    """`claimed`: this post acts. Otherwise `location` is the first post's result, or None while
    the first post is still being handled."""

    claimed: bool
    location: str | None = None


def claim(session: Session, digest: str, path: str, *, now: datetime | None = None) -> Claim:
    now = now or utcnow()
    session.execute(delete(FormKey).where(col(FormKey.claimed_at) < now - KEPT))
    table = FormKey.__table__  # type: ignore[attr-defined]
    inserted = session.execute(
        dialect_insert(session.get_bind().dialect.name)(table)
        .values(digest=digest, path=path, location=None, claimed_at=now)
        .on_conflict_do_nothing(index_elements=["digest"])
        .returning(table.c.digest)  # a row only when this call inserted it
    ).first()
    if inserted is not None:
        return Claim(claimed=True)
    existing = session.exec(select(FormKey).where(FormKey.digest == digest)).one_or_none()
    if existing is None:  # released between the insert and the read: ask again
        return claim(session, digest, path, now=now)
    if existing.location is None and existing.claimed_at < now - ABANDONED:
        existing.claimed_at = now
        return Claim(claimed=True)
    return Claim(claimed=False, location=existing.location)


def finish(session: Session, digest: str, location: str | None) -> None:
    """Keep the result of a claimed post, or release the claim when it had none."""
    key = session.get(FormKey, digest)
    if key is None:
        return
    if location is None:
        session.delete(key)
    else:
        key.location = location
