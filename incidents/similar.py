"""Similar past incidents — "this happened before" — found by the databases' own text search.

Every incident's title, root cause and its 复盘's root cause are indexed as trigrams (every run of
three characters): Chinese has no spaces between words, so word-based full-text search finds
nothing in it, while trigrams need no dictionary. Migration 0011 builds the index as the table
`incident_search`, kept in sync by triggers on `incident` and `postmortem`:

- SQLite: an FTS5 table with the `trigram` tokenizer (SQLite ≥ 3.34), a row per incident;
- PostgreSQL: a row per incident holding a tsvector of its trigrams, GIN-indexed. Not pg_trgm:
  pg_trgm keeps only the characters the database's LC_CTYPE calls alphanumeric, so under the C
  locale (`.ci/postgres`, and many production clusters) it extracts no trigram from Chinese.

Ranking, best first:

1. the same system (when one is given), then the other systems;
2. similarity: the share of the query's trigrams found in the incident's text — for the title
   typed and for the root cause typed (if any) separately, the better of the two, so a long
   root cause cannot drown a matching title. From another system, an incident needs at least
   `MIN_SIMILARITY` to be shown; of the same system, every incident qualifies;
3. the most recent detection (then the highest id).

A query shorter than three characters has no trigram: it falls back to the same system only,
most recent first. The shares are counted exactly on both databases, so both rank alike.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    bindparam,
    case,
    column,
    func,
    literal,
    or_,
    text,
    union_all,
)
from sqlalchemy.types import Float, Integer, String
from sqlmodel import Session, SQLModel, col, select

from incidents.db import UTCDateTime, get_or_raise
from incidents.models import Grade, Incident, Moment, Postmortem, RootCauseCategory

# The index of migration 0011 and, on SQLite, the shadow tables FTS5 keeps beside it. Not models:
# incidents/schema.py leaves exactly these out when the schema is compared with the models.
SEARCH_TABLE = "incident_search"
SEARCH_TABLES = frozenset(
    {SEARCH_TABLE}
    | {f"{SEARCH_TABLE}_{shadow}" for shadow in ("data", "idx", "content", "docsize", "config")}
)

TRIGRAM = 3
# pg_trgm's default similarity threshold: below it, a title shares a word or two by chance.
MIN_SIMILARITY = 0.3
# A query's cost grows with its trigrams (bench/README.md): 24 cover a title of 26 characters,
# or a root cause's first clause, which carries its gist.
MAX_TRIGRAMS = 24
DEFAULT_LIMIT = 5
MAX_LIMIT = 20


class SimilarIncident(SQLModel):
    """An earlier incident like the one being filed or read."""

    id: int
    title: str
    system: str | None
    grade: Grade | None
    detected_at: Moment
    root_cause: str | None = None  # the 复盘's, else the incident's own
    root_cause_category: RootCauseCategory | None = None
    remediation: str | None = None
    same_system: bool
    similarity: float  # 0–1: the share of the query's trigrams found in its text


@dataclass(frozen=True)
class SimilarQuery:
    title: str = ""
    system: str | None = None
    root_cause: str = ""
    exclude: int | None = None  # the incident itself, when it is already filed
    before: datetime | None = None  # only incidents detected before this


def trigrams(value: str) -> list[str]:
    """The distinct trigrams of `value` in order, at most MAX_TRIGRAMS: runs of white space read
    as one space, ASCII letters in lower case (as the index folds them). A NUL, which no text
    stored in PostgreSQL holds, reads as a space too."""
    folded = " ".join(value.replace("\x00", " ").split()).translate(_ASCII_LOWER)
    found: dict[str, None] = {}
    for start in range(len(folded) - TRIGRAM + 1):
        found.setdefault(folded[start : start + TRIGRAM])
        if len(found) == MAX_TRIGRAMS:
            break
    return list(found)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def find_similar(
    session: Session, query: SimilarQuery, *, limit: int = DEFAULT_LIMIT
) -> list[SimilarIncident]:
    """Up to `limit` earlier incidents like `query`, best first (see the module's ranking)."""
    system = (query.system or "").strip() or None
    if system is not None and "\x00" in system:
        system = None  # PostgreSQL keeps no NUL in text: no incident is of this system
    parts = [part for part in (trigrams(query.title), trigrams(query.root_cause)) if part]
    if system is None and not parts:
        return []
    dialect = session.get_bind().dialect.name
    # The system's latest incidents and the best of those sharing a trigram with the query,
    # then the best of both: one incident in both counts with its similarity.
    tiers = []
    if system is not None:
        tiers.append(_latest_of_system(system, query, limit))
    if parts:
        tiers.append(
            _most_similar(system, _scored(dialect, parts).subquery("scored"), query, limit)
        )
    ranked = union_all(*(select(tier.subquery().c) for tier in tiers)).subquery()
    similarity = func.max(ranked.c.similarity)
    same_system = func.max(ranked.c.same_system)
    statement = (
        select(ranked.c.id, similarity, same_system)
        .group_by(ranked.c.id)
        .order_by(
            same_system.desc(),
            similarity.desc(),
            func.max(ranked.c.detected_at).desc(),
            ranked.c.id.desc(),
        )
        .limit(limit)
    )
    with _index_scans_only(session, dialect == "postgresql" and bool(parts)):
        rows = session.exec(statement).all()
    return _details(session, [(row[0], float(row[1]), bool(row[2])) for row in rows])


@contextmanager
def _index_scans_only(session: Session, needed: bool) -> Iterator[None]:
    """PostgreSQL estimates an OR of many trigrams as if they were independent — a root cause's
    two dozen as 60 % of all incidents where 13 % hold one — and then scans the whole index
    table, evaluating the query on every row (10-15 × slower than the GIN index). Sequential
    scans are off for this one statement: set for the transaction, then set back."""
    if not needed:
        yield
        return
    was = session.exec(select(func.set_config("enable_seqscan", "off", True))).one()
    yield
    # Not in a `finally`: after an error the transaction is aborted and rolls back, which
    # discards this transaction-local setting by itself (and refuses any statement meanwhile).
    session.exec(select(func.set_config("enable_seqscan", was, True)))


def similar_to(
    session: Session, incident_id: int, *, limit: int = DEFAULT_LIMIT
) -> list[SimilarIncident]:
    """The earlier incidents like this one: by its system, its title and its root causes."""
    incident = get_or_raise(session, Incident, incident_id)
    postmortem = session.get(Postmortem, incident_id)
    causes = (incident.root_cause, postmortem.root_cause if postmortem else None)
    query = SimilarQuery(
        title=incident.title,
        system=incident.system,
        root_cause=" ".join(cause for cause in causes if cause),
        exclude=incident_id,
        before=incident.detected_at,
    )
    return find_similar(session, query, limit=limit)


def _wanted(query: SimilarQuery, incident_id: Any, detected_at: Any) -> list[ColumnElement[bool]]:
    wanted = []
    if query.exclude is not None:
        wanted.append(incident_id != query.exclude)
    if query.before is not None:
        wanted.append(detected_at < query.before)
    return wanted


def _latest_of_system(system: str, query: SimilarQuery, limit: int) -> Any:
    """The system's latest incidents, read in order from ix_incident_system_detected_at: all
    there is for a text too short to search, and what follows the similar ones when few are."""
    incident_id, detected_at = col(Incident.id), col(Incident.detected_at)
    return (
        select(
            incident_id,
            detected_at,
            literal(0.0, Float).label("similarity"),
            literal(1).label("same_system"),
        )
        .where(col(Incident.system) == system, *_wanted(query, incident_id, detected_at))
        .order_by(detected_at.desc(), incident_id.desc())
        .limit(limit)
    )


def _most_similar(system: str | None, scored: Any, query: SimilarQuery, limit: int) -> Any:
    """The incidents sharing a trigram with the query, ranked: of the same system any, of the
    others (or of none) those at least MIN_SIMILARITY alike."""
    same_system = literal(0) if system is None else case((scored.c.system == system, 1), else_=0)
    return (
        select(
            scored.c.id, scored.c.detected_at, scored.c.similarity, same_system.label("same_system")
        )
        .where(
            or_(same_system == 1, scored.c.similarity >= MIN_SIMILARITY),
            *_wanted(query, scored.c.id, scored.c.detected_at),
        )
        .order_by(
            text("same_system DESC"),
            scored.c.similarity.desc(),
            scored.c.detected_at.desc(),
            scored.c.id.desc(),
        )
        .limit(limit)
    )


def _scored(dialect: str, parts: Sequence[list[str]]) -> Any:
    """(id, system, detected_at, similarity) of every incident sharing a trigram with the query;
    `parts` are the title's and the root cause's trigrams, each scored on its own, the better
    share wins."""
    if dialect == "postgresql":
        return _scored_postgresql(parts)
    return _scored_sqlite(parts)


def _scored_sqlite(parts: Sequence[list[str]]) -> Any:
    # One FTS5 lookup per distinct trigram, each row tagged with the parts the trigram is in;
    # counting the rows per incident gives how many of each part's trigrams its text holds.
    # A single MATCH with OR would need bm25() over every match (2-3 × slower) and is no share.
    distinct = list(dict.fromkeys(gram for part in parts for gram in part))
    lookups = " UNION ALL ".join(
        f"SELECT rowid AS id, {', '.join(_flag(gram, part, n) for n, part in enumerate(parts))}"
        f" FROM {SEARCH_TABLE} WHERE {SEARCH_TABLE} MATCH :gram_{index}"
        for index, gram in enumerate(distinct)
    )
    shares = [f"CAST(sum(part_{n}) AS REAL) / {len(part)}" for n, part in enumerate(parts)]
    best = shares[0] if len(shares) == 1 else f"max({', '.join(shares)})"
    scores = (
        text(f"SELECT id, {best} AS similarity FROM ({lookups}) GROUP BY id")
        .bindparams(**{f"gram_{index}": _phrase(gram) for index, gram in enumerate(distinct)})
        .columns(column("id", Integer), column("similarity", Float))
        .subquery("scores")
    )
    return select(
        scores.c.id, col(Incident.system), col(Incident.detected_at), scores.c.similarity
    ).join_from(scores, Incident, col(Incident.id) == scores.c.id)


def _flag(gram: str, part: list[str], n: int) -> str:
    return f"{int(gram in part)} AS part_{n}"


def _phrase(gram: str) -> str:
    """An FTS5 string: the trigram in double quotes, its own double quotes doubled."""
    return '"' + gram.replace('"', '""') + '"'


def _scored_postgresql(parts: Sequence[list[str]]) -> Any:
    # The index row carries the incident's system and detection time, so ranking reads no
    # other table. ts_rank of a document without positions against an OR of lexemes is the
    # same constant per lexeme found, divided by the lexemes asked: against the query's own
    # lexemes it is the whole, so the ratio times the count is the number found — an integer,
    # made exact by round().
    shares = [
        f"round(ts_rank('{{1,1,1,1}}', document, CAST(:query_{n} AS tsquery))"
        f" / ts_rank('{{1,1,1,1}}', array_to_tsvector(CAST(:terms_{n} AS text[])),"
        f" CAST(:query_{n} AS tsquery)) * {len(part)}) / {len(part)}"
        for n, part in enumerate(parts)
    ]
    best = shares[0] if len(shares) == 1 else f"greatest({', '.join(shares)})"
    everything = list(dict.fromkeys(gram for part in parts for gram in part))
    statement = text(
        f"SELECT incident_id AS id, system, detected_at,"
        f" CAST({best} AS double precision) AS similarity"
        f" FROM {SEARCH_TABLE} WHERE document @@ CAST(:anything AS tsquery)"
    ).bindparams(
        bindparam("anything", _tsquery(everything)),
        *(bindparam(f"query_{n}", _tsquery(part)) for n, part in enumerate(parts)),
        *(bindparam(f"terms_{n}", part) for n, part in enumerate(parts)),
    )
    return statement.columns(
        column("id", Integer),
        column("system", String),
        column("detected_at", UTCDateTime),
        column("similarity", Float),
    )


def _tsquery(grams: list[str]) -> str:
    """An OR of the trigrams as tsquery text: each quoted, its quotes and backslashes doubled."""
    return " | ".join("'" + gram.replace("\\", "\\\\").replace("'", "''") + "'" for gram in grams)


def _details(session: Session, ranked: list[tuple[int, float, bool]]) -> list[SimilarIncident]:
    if not ranked:
        return []
    found = {
        incident.id: (incident, postmortem)
        for incident, postmortem in session.exec(
            select(Incident, Postmortem)
            .outerjoin(Postmortem, col(Postmortem.incident_id) == col(Incident.id))
            .where(col(Incident.id).in_([incident_id for incident_id, _, _ in ranked]))
        )
    }
    shown = []
    for incident_id, similarity, same_system in ranked:
        incident, postmortem = found[incident_id]
        cause = postmortem.root_cause if postmortem and postmortem.root_cause else None
        shown.append(
            SimilarIncident(
                id=incident_id,
                title=incident.title,
                system=incident.system,
                grade=incident.grade,
                detected_at=incident.detected_at,
                root_cause=cause or incident.root_cause,
                root_cause_category=postmortem.root_cause_category if postmortem else None,
                remediation=incident.remediation,
                same_system=same_system,
                similarity=round(similarity, 3),
            )
        )
    return shown
