"""API tokens: printed once at creation, kept only as a digest, checked on every call."""

import hashlib
import secrets

from sqlmodel import Session, col, select

from incidents.db import utcnow
from incidents.errors import Invalid, NotFound
from incidents.models import ApiToken, Role

TOKEN_PREFIX = "stl_"


def digest(token: str) -> str:
    # A token carries 256 random bits, so a fast digest is safe here: there is nothing to
    # brute-force, and a slow KDF would cost every API call.
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, name: str, role: Role) -> tuple[ApiToken, str]:
    """Returns the stored row and the plain token, which is shown once and never kept."""
    if session.exec(select(ApiToken).where(ApiToken.name == name)).first() is not None:
        raise Invalid("name", f"a token named {name!r} exists already")
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(name=name, role=role, token_hash=digest(plain))
    session.add(token)
    session.commit()
    session.refresh(token)
    return token, plain


def authenticate(session: Session, plain: str) -> ApiToken | None:
    statement = select(ApiToken).where(
        ApiToken.token_hash == digest(plain), col(ApiToken.revoked_at).is_(None)
    )
    return session.exec(statement).first()


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.exec(select(ApiToken).order_by(col(ApiToken.id))))


def revoke_token(session: Session, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound("token", token_id)
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.commit()
        session.refresh(token)
    return token
