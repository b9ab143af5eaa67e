"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from incidents.db import engine_for
from incidents.schema import load_all_models


def test_upgrade_from_empty_to_head_matches_the_models(database_url: str) -> None:
    load_all_models()
    with engine_for(database_url).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []
