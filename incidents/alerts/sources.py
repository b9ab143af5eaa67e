"""Webhook sources: created with an unguessable key, listed, disabled, their key rotated."""

import secrets
from collections.abc import Sequence

from sqlalchemy import Connection, Engine, Row, bindparam
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
        raise Invalid("secret", code="source_needs_secret", params={"kind": data.kind})
    if session.exec(select(Source).where(Source.name == data.name)).first() is not None:
        raise Invalid("name", code="source_name_taken", params={"name": data.name})
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
            raise Invalid("name", code="source_name_taken", params={"name": new_name})
    refuse_clearing(changes, changes.keys())  # a source has no optional field to clear
    for name, value in changes.items():
        setattr(source, name, value)
    forget_cached_sources()
    return source


def rotate_key(session: Session, source_id: int) -> Source:
    """A new webhook URL; the old one stops working at once."""
    source = get_source(session, source_id)
    source.key = _new_key()
    forget_cached_sources()
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


# Bumped by every change to a source in this process; a cache that saw an older value drops
# everything it holds. Changes made by other processes are caught by `changed_sources`.
_generation = 0


def forget_cached_sources() -> None:
    global _generation
    _generation += 1


class SourceCache:
    """The enabled sources of one database by (kind, key), so a delivery needs no lookup.

    Only found sources are kept (an unknown key costs a lookup every time rather than a slot),
    at most MAX_ENTRIES of them. The cache may be stale: another instance may have rotated a key
    or disabled a source. It is made exact by the writer, which checks every batch's sources
    with `changed_sources` in the batch's own transaction, so a delivery is stored only under a
    source row that is current when it commits; a stale one is looked up again.
    """

    MAX_ENTRIES = 1024

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._rows: dict[tuple[str, str], Row] = {}
        self._generation = _generation

    def cached(self, kind: str, key: str) -> Row | None:
        if self._generation != _generation:
            self._generation = _generation
            self._rows = {}
        return self._rows.get((kind, key))

    def load(self, kind: str, key: str) -> Row | None:
        """The source from the database (None when unknown or disabled), kept when found."""
        generation = _generation
        with self.engine.connect() as connection:
            row = source_for_webhook(connection, kind, key)
            connection.rollback()
        # A change in this process during the read may have been missed by it: keep nothing.
        if row is not None and generation == _generation:
            if len(self._rows) >= self.MAX_ENTRIES:
                self._rows = {}
            self._rows[(kind, key)] = row
        return row

    def forget(self, kind: str, key: str) -> None:
        self._rows.pop((kind, key), None)


_SOURCES_BY_ID = select(_sources).where(_sources.c.id.in_(bindparam("ids", expanding=True)))


def changed_sources(connection: Connection, rows: Sequence[Row]) -> set[int]:
    """The ids among `rows` whose source is no longer exactly that row, or no longer enabled."""
    current = {
        row.id: row
        for row in connection.execute(_SOURCES_BY_ID, {"ids": sorted({row.id for row in rows})})
    }
    return {
        row.id
        for row in rows
        if row.id not in current or current[row.id] != row or not current[row.id].enabled
    }
