"""Engines and sessions for the embedded SQLite default and for PostgreSQL."""

from collections.abc import Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, DateTime, Integer, case, event, func, literal, union_all
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeDecorator, TypeEngine
from sqlmodel import Session, SQLModel, create_engine, select
from sqlmodel.sql.expression import SelectOfScalar

from incidents.errors import NotFound

Row = TypeVar("Row", bound=SQLModel)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in UTC on the way in and out.

    SQLite keeps no offset and hands back naive values; PostgreSQL's timestamptz hands back the
    session's zone. Normalising here keeps every datetime in the domain aware and in UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} would be stored without its zone")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _tune_sqlite(dbapi_connection: object, connection_record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    # WAL lets the web pages read while a webhook delivery writes; the busy timeout turns
    # writer contention into a short wait instead of "database is locked".
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    # WAL with NORMAL loses no committed transaction on a process crash, only on power loss.
    cursor.execute("PRAGMA synchronous=NORMAL")

    cursor.close()


def make_engine(database_url: str) -> Engine:
    if database_url.startswith("sqlite"):
        engine = create_engine(database_url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _tune_sqlite)
        return engine
    return create_engine(database_url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def dialect_insert(dialect_name: str) -> Any:
    """The INSERT construct with ON CONFLICT for the dialect (both spell it the same way)."""
    return (postgresql if dialect_name == "postgresql" else sqlite).insert


@lru_cache
def engine_for(database_url: str) -> Engine:
    """One engine (and pool) per database for the life of the process."""
    return make_engine(database_url)


def get_or_raise(session: Session, model: type[Row], ident: object) -> Row:
    """The row with this primary key, or NotFound naming the table (`incident 7 not found`)."""
    row = session.get(model, ident)
    if row is None:
        raise NotFound(_what(model), ident)
    return row


def _what(model: type[SQLModel]) -> str:
    return str(model.__tablename__).replace("_", " ")


Found = TypeVar("Found")


def paged(
    session: Session, statement: SelectOfScalar[Found], *, limit: int, offset: int
) -> tuple[list[Found], int]:
    """One page of an ordered query, and how many rows the whole query has."""
    total = session.exec(select(func.count()).select_from(statement.order_by(None).subquery()))
    page = session.exec(statement.limit(limit).offset(offset))
    return list(page), total.one()


def computed_once(session: Session, query: Any) -> Any:
    """`query` as a subquery whose rows are each computed once. SQLite would flatten it into the
    aggregate around it and compute an expression once per use — seconds_between's two
    julianday() parses for the count, the mean and the comparison alike —, which an OFFSET
    prevents (a year's alert aggregate 1.8 s → 0.8 s). PostgreSQL computes it once anyway, and
    an OFFSET would keep it from aggregating in parallel."""
    if session.get_bind().dialect.name == "sqlite":
        query = query.offset(0)
    return query.subquery()


# One instance of each type for every literal of a values table: SQLAlchemy keys its statement
# cache by each literal's type, and a type made anew per value cost ~40 µs to key (0.13 s for
# the windows of a year's review).
INDEX_TYPE = Integer()
MOMENT_TYPE = UTCDateTime()


def values_table(
    name: str, columns: Sequence[tuple[str, TypeEngine[Any]]], rows: Sequence[Sequence[Any]]
) -> Any:
    """`rows` of literal values as a subquery with these columns (a UNION ALL of SELECTs:
    SQLite reads no VALUES list with named columns)."""
    selects = [
        select(
            *(
                literal(value, type_).label(column)
                for (column, type_), value in zip(columns, row, strict=True)
            )
        )
        for row in rows
    ]
    return (union_all(*selects) if len(selects) > 1 else selects[0]).subquery(name)


def windows_table(bounds: Sequence[tuple[datetime, datetime]]) -> Any:
    """[opens, closes) windows as rows (index, opens, closes), to join rows to by a range: each
    window is then one range scan of an index, where a CASE over the windows would test every
    row against each (a year's alerts against 53 weeks)."""
    return values_table(
        "windows",
        [("index", INDEX_TYPE), ("opens", MOMENT_TYPE), ("closes", MOMENT_TYPE)],
        [(index, opens, closes) for index, (opens, closes) in enumerate(bounds)],
    )


def count_if(condition: ColumnElement[bool]) -> Any:
    """The rows of an aggregate for which `condition` holds (0, not NULL, over no rows)."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)
