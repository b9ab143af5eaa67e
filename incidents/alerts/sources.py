"""Webhook sources: created with an unguessable key, listed, disabled, their key rotated."""

import secrets

from sqlalchemy import Connection, Row, bindparam
from sqlmodel import Session, col, select

from incidents.alerts.models import Source, SourceCreate, SourceKind
from incidents.db import get_or_raise
from incidents.errors import Invalid, refuse_clearing

# Kinds whose senders sign their calls: without a secret there is nothing to check them with.
KINDS_NEEDING_SECRET = frozenset({SourceKind.jiankongbao, SourceKind.generic})


def _new_key() -> str:
    return secrets.token_urlsafe(24)


def webhook_path(source: Source) -> str:
    return f"/api/v1/webhooks/{source.kind}/{source.key}"


def create_source(session: Session, data: SourceCreate) -> Source:
    if data.kind in KINDS_NEEDING_SECRET and not data.secret:
        raise Invalid("secret", f"a {data.kind} source needs the secret its sender signs with")
    if session.exec(select(Source).where(Source.name == data.name)).first() is not None:
        raise Invalid("name", f"a source named {data.name!r} exists already")
    source = Source.model_validate(data, update={"key": _new_key()})
    session.add(source)
    session.flush()  # the id is answered to the caller
    return source


def get_source(session: Session, source_id: int) -> Source:
    return get_or_raise(session, Source, source_id)


def list_sources(session: Session) -> list[Source]:
    return list(session.exec(select(Source).order_by(col(Source.id))))


def update_source(session: Session, source_id: int, changes: dict[str, object]) -> Source:
    source = get_source(session, source_id)
    new_name = changes.get("name")
    if new_name is not None and new_name != source.name:
        clash = session.exec(select(Source).where(Source.name == new_name)).first()
        if clash is not None:
            raise Invalid("name", f"a source named {new_name!r} exists already")
    refuse_clearing(changes, changes.keys())  # a source has no optional field to clear
    for name, value in changes.items():
        setattr(source, name, value)
    return source


def rotate_key(session: Session, source_id: int) -> Source:
    """A new webhook URL; the old one stops working at once."""
    source = get_source(session, source_id)
    source.key = _new_key()
    return source


_sources = Source.__table__  # type: ignore[attr-defined]
# Built once, in Core: this runs on every webhook delivery, the hottest path of the service.
_ENABLED_SOURCE_BY_KEY = select(_sources).where(
    _sources.c.key == bindparam("key"),
    _sources.c.kind == bindparam("kind"),
    _sources.c.enabled.is_(True),
)


def source_for_webhook(connection: Connection, kind: str, key: str) -> Row | None:
    """The enabled source behind a webhook URL, or None: unknown and disabled look the same."""
    return connection.execute(_ENABLED_SOURCE_BY_KEY, {"key": key, "kind": kind}).first()
