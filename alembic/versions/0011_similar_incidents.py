"""similar incidents: a trigram index of titles and root causes, kept in sync by triggers;
an index of each system's incidents by time

`incident_search` holds, per incident, its title, its root cause and its 复盘's root cause as
trigrams (incidents/similar.py reads it). SQLite: an FTS5 table with the trigram tokenizer
(SQLite ≥ 3.34). PostgreSQL: a tsvector of the trigrams with a GIN index — pg_trgm would do
under a UTF-8 LC_CTYPE only, and finds no trigram in Chinese under the C locale — beside the
incident's system and detection time, so that ranking reads no other table. Triggers keep it
in sync with `incident` and `postmortem`; the existing rows are indexed here.

On SQLite, a later revision that makes batch mode copy `incident` or `postmortem` (drop, then
rename the copy) drops these triggers with the old table: it must create them again
(tests/test_migrations.py checks they exist at head).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 15:00:00
"""

import sqlite3
from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_UPGRADE = (
    """
    CREATE VIRTUAL TABLE incident_search
    USING fts5(title, root_cause, postmortem_root_cause, tokenize = 'trigram')
    """,
    """
    INSERT INTO incident_search (rowid, title, root_cause, postmortem_root_cause)
    SELECT incident.id, incident.title, incident.root_cause, postmortem.root_cause
    FROM incident LEFT JOIN postmortem ON postmortem.incident_id = incident.id
    """,
    """
    CREATE TRIGGER incident_search_insert AFTER INSERT ON incident BEGIN
        INSERT INTO incident_search (rowid, title, root_cause)
        VALUES (new.id, new.title, new.root_cause);
    END
    """,
    """
    CREATE TRIGGER incident_search_update AFTER UPDATE OF title, root_cause ON incident BEGIN
        UPDATE incident_search SET title = new.title, root_cause = new.root_cause
        WHERE rowid = new.id;
    END
    """,
    """
    CREATE TRIGGER incident_search_delete AFTER DELETE ON incident BEGIN
        DELETE FROM incident_search WHERE rowid = old.id;
    END
    """,
    """
    CREATE TRIGGER postmortem_search_insert AFTER INSERT ON postmortem BEGIN
        UPDATE incident_search SET postmortem_root_cause = new.root_cause
        WHERE rowid = new.incident_id;
    END
    """,
    """
    CREATE TRIGGER postmortem_search_update AFTER UPDATE OF root_cause ON postmortem BEGIN
        UPDATE incident_search SET postmortem_root_cause = new.root_cause
        WHERE rowid = new.incident_id;
    END
    """,
    """
    CREATE TRIGGER postmortem_search_delete AFTER DELETE ON postmortem BEGIN
        UPDATE incident_search SET postmortem_root_cause = NULL WHERE rowid = old.incident_id;
    END
    """,
)
SQLITE_DOWNGRADE = (
    *(
        f"DROP TRIGGER IF EXISTS {table}_search_{event}"
        for table in ("incident", "postmortem")
        for event in ("insert", "update", "delete")
    ),
    "DROP TABLE IF EXISTS incident_search",
)

POSTGRESQL_UPGRADE = (
    # ASCII letters folded by translate(), not lower(): lower() depends on the locale, and the
    # query side (incidents/similar.py) folds exactly these.
    """
    CREATE FUNCTION incident_search_trigrams(value text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
        SELECT array_to_tsvector(ARRAY(
            SELECT DISTINCT substr(
                translate(value, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'),
                start, 3)
            FROM generate_series(1, char_length(value) - 2) AS start))
    $$
    """,
    """
    CREATE TABLE incident_search (
        incident_id integer PRIMARY KEY REFERENCES incident (id) ON DELETE CASCADE,
        system varchar(100),
        detected_at timestamp with time zone NOT NULL,
        document tsvector NOT NULL
    )
    """,
    "CREATE INDEX ix_incident_search_document ON incident_search USING gin (document)",
    """
    CREATE FUNCTION incident_search_refresh(target integer) RETURNS void
    LANGUAGE sql AS $$
        INSERT INTO incident_search (incident_id, system, detected_at, document)
        SELECT incident.id, incident.system, incident.detected_at,
               coalesce(incident_search_trigrams(incident.title), '')
               || coalesce(incident_search_trigrams(incident.root_cause), '')
               || coalesce(incident_search_trigrams(postmortem.root_cause), '')
        FROM incident LEFT JOIN postmortem ON postmortem.incident_id = incident.id
        WHERE incident.id = target
        ON CONFLICT (incident_id) DO UPDATE
        SET system = excluded.system, detected_at = excluded.detected_at,
            document = excluded.document
    $$
    """,
    """
    CREATE FUNCTION incident_search_after_incident() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM incident_search_refresh(NEW.id);
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE FUNCTION incident_search_after_postmortem() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP <> 'INSERT' THEN
            PERFORM incident_search_refresh(OLD.incident_id);
        END IF;
        IF TG_OP <> 'DELETE' THEN
            PERFORM incident_search_refresh(NEW.incident_id);
        END IF;
        RETURN NULL;
    END
    $$
    """,
    # A deleted incident takes its row along by the foreign key (TRUNCATE … CASCADE too).
    """
    CREATE TRIGGER incident_search_refresh
    AFTER INSERT OR UPDATE OF title, root_cause, system, detected_at ON incident
    FOR EACH ROW EXECUTE FUNCTION incident_search_after_incident()
    """,
    """
    CREATE TRIGGER incident_search_refresh
    AFTER INSERT OR DELETE OR UPDATE OF root_cause, incident_id ON postmortem
    FOR EACH ROW EXECUTE FUNCTION incident_search_after_postmortem()
    """,
    """
    INSERT INTO incident_search (incident_id, system, detected_at, document)
    SELECT incident.id, incident.system, incident.detected_at,
           coalesce(incident_search_trigrams(incident.title), '')
           || coalesce(incident_search_trigrams(incident.root_cause), '')
           || coalesce(incident_search_trigrams(postmortem.root_cause), '')
    FROM incident LEFT JOIN postmortem ON postmortem.incident_id = incident.id
    """,
)
POSTGRESQL_DOWNGRADE = (
    "DROP TRIGGER IF EXISTS incident_search_refresh ON postmortem",
    "DROP TRIGGER IF EXISTS incident_search_refresh ON incident",
    "DROP FUNCTION IF EXISTS incident_search_after_postmortem()",
    "DROP FUNCTION IF EXISTS incident_search_after_incident()",
    "DROP FUNCTION IF EXISTS incident_search_refresh(integer)",
    "DROP TABLE IF EXISTS incident_search",
    "DROP FUNCTION IF EXISTS incident_search_trigrams(text)",
)

# FTS5's trigram tokenizer came with SQLite 3.34.0.
TRIGRAM_SQLITE = (3, 34, 0)


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        statements = POSTGRESQL_UPGRADE
    else:
        if sqlite3.sqlite_version_info < TRIGRAM_SQLITE:
            raise RuntimeError(
                f"SQLite {sqlite3.sqlite_version} lacks the FTS5 trigram tokenizer of 3.34:"
                " run Stabilog on a Python built with a newer SQLite"
            )
        statements = SQLITE_UPGRADE
    for statement in statements:
        op.execute(statement)
    # A system's latest incidents without sorting all of them (incidents.models.Incident).
    op.create_index("ix_incident_system_detected_at", "incident", ["system", "detected_at"])


def downgrade() -> None:
    op.drop_index("ix_incident_system_detected_at", table_name="incident")
    dialect = op.get_context().dialect.name
    for statement in POSTGRESQL_DOWNGRADE if dialect == "postgresql" else SQLITE_DOWNGRADE:
        op.execute(statement)
