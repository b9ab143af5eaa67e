"""The database schema: which models make it up, and bringing a database to the newest revision."""

from pathlib import Path

from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from alembic import command
from incidents.db import engine_for
from incidents.similar import SEARCH_TABLES

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def load_all_models() -> None:
    """Import every module that defines tables, so SQLModel.metadata holds the whole schema."""
    import incidents.alerts.models
    import incidents.alerts.tally
    import incidents.jobs
    import incidents.models
    import incidents.outbox
    import incidents.regulatory
    import incidents.teams  # noqa: F401


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's filter of reflected names: the similar-incident index of revision 0011 (and the
    shadow tables FTS5 keeps for it on SQLite) is no model, so comparing the database with the
    models — autogenerate, tests/test_migrations.py — leaves exactly those tables out."""
    return not (type_ == "table" and name in SEARCH_TABLES)


def alembic_config(database_url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.attributes["configure_logger"] = False
    return config


def upgrade_to_head(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "head")


def revisions(database_url: str) -> tuple[str | None, str | None]:
    """The database's revision (None: never migrated) and the newest one; connecting raises
    SQLAlchemy's error when the database is unreachable."""
    newest = ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    with engine_for(database_url).connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    return current, newest
