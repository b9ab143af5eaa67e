"""API tokens: printed once at creation, kept only as a digest, checked on every call."""

import hashlib
import secrets

from sqlmodel import Session, col, select

from incidents.actors import Actor
from incidents.db import get_or_raise, utcnow
from incidents.errors import Invalid
from incidents.models import ApiToken, Role

TOKEN_PREFIX = "stl_"


def digest(token: str) -> str:
    # A token carries 256 random bits, so a fast digest is safe here: there is nothing to
    # brute-force, and a slow KDF would cost every API call.
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, name: str, role: Role) -> tuple[ApiToken, str]:
    """Returns the stored row and the plain token, which is shown once and never kept."""
    if session.exec(select(ApiToken).where(ApiToken.name == name)).first() is not None:
        raise Invalid("name", code="token_name_taken", params={"name": name})
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name, role=role, token_hash=digest(plain))
    session.add(token)
    session.flush()  # the id is answered to the caller
    return token, plain


def authenticate(session: Session, plain: str) -> Actor | None:
    """Who a live token belongs to; None for an unknown or revoked token."""
    statement = select(ApiToken.name, ApiToken.role).where(
        ApiToken.token_hash == digest(plain), col(ApiToken.revoked_at).is_(None)
    )
    found = session.exec(statement).first()
    return None if found is None else Actor(name=found[0], role=Role(found[1]))


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.exec(select(ApiToken).order_by(col(ApiToken.id))))


def revoke_token(session: Session, token_id: int) -> ApiToken:
    token = get_or_raise(session, ApiToken, token_id)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
    return token
