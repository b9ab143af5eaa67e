"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import bindparam, text
from sqlmodel import Session, SQLModel, select

from alembic import command
from incidents.db import UTCDateTime, engine_for
from incidents.models import Grade, Incident
from incidents.schema import alembic_config, load_all_models
from tests.conftest import BACKENDS


def test_upgrade_from_empty_to_head_matches_the_models(database_url: str) -> None:
    load_all_models()
    with engine_for(database_url).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []


def test_the_report_week_index_is_partial(database_url: str) -> None:
    # Autogenerate does not compare WHERE clauses, so the migration's hand-written part is
    # checked here: a full index would make SQLite walk every NULL for a week's incidents.
    with engine_for(database_url).connect() as connection:
        if connection.dialect.name == "postgresql":
            query = "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_incident_report_week'"
        else:
            query = "SELECT sql FROM sqlite_master WHERE name = 'ix_incident_report_week'"
        definition = connection.exec_driver_sql(query).scalar_one()
    assert "WHERE" in definition.upper()
    assert "report_week IS NOT NULL" in definition.replace("(", "").replace(")", "")


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_money_revision_keeps_every_amount(backend: str, fresh_database_url) -> None:
    # amount_cny became amount_involved_cny (0007): renamed in place, so an incident graded on
    # its amount before the upgrade keeps both after it.
    url = fresh_database_url(backend)
    command.upgrade(alembic_config(url), "0005")
    engine = engine_for(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO incident (title, detected_at, amount_cny, core_system, regulatory,"
                " status, business_impact, grade, grade_overridden, created_by, created_at,"
                " updated_at) VALUES ('渠道超时', :at, 600000.50, false, false, 'open', true, 'C',"
                " false, 'migration-test', :at, :at)"
            ).bindparams(bindparam("at", datetime(2023, 9, 7, 6, 42, tzinfo=UTC), UTCDateTime)),
        )
    command.upgrade(alembic_config(url), "head")
    with Session(engine) as session:
        incident = session.exec(select(Incident)).one()
    engine.dispose()
    assert incident.amount_involved_cny == Decimal("600000.50")
    assert (incident.loss_cny, incident.recovered_cny) == (None, None)
    assert incident.grade == Grade.C


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_regulatory_revision_names_the_trigger_of_every_reportable_incident(
    backend: str, fresh_database_url
) -> None:
    # `regulatory = true` became named triggers (0008): a reportable incident keeps its grade and
    # is marked with the catch-all trigger; the others tick none.
    url = fresh_database_url(backend)
    command.upgrade(alembic_config(url), "0005")
    engine = engine_for(url)
    with engine.begin() as connection:
        for title, regulatory, grade in (("监管报送事项", "true", "A"), ("渠道超时", "false", "C")):
            connection.execute(
                text(
                    "INSERT INTO incident (title, detected_at, core_system, regulatory, status,"
                    " business_impact, grade, grade_overridden, created_by, created_at,"
                    f" updated_at) VALUES (:title, :at, false, {regulatory}, 'open', true,"
                    f" '{grade}', false, 'migration-test', :at, :at)"
                ).bindparams(
                    bindparam("at", datetime(2023, 9, 7, 6, 42, tzinfo=UTC), UTCDateTime),
                    title=title,
                ),
            )
    command.upgrade(alembic_config(url), "head")
    with Session(engine) as session:
        kept = {
            incident.title: (incident.regulatory_triggers, incident.regulatory, incident.grade)
            for incident in session.exec(select(Incident))
        }
    engine.dispose()
    assert kept == {
        "监管报送事项": (["other_major_event"], True, Grade.A),
        "渠道超时": ([], False, Grade.C),
    }
