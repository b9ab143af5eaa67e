"""The migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import bindparam, inspect, text
from sqlmodel import Session, SQLModel, select

from alembic import command
from incidents.db import UTCDateTime, engine_for
from incidents.models import ActionItem, AuditEntry, Grade, Incident
from incidents.schema import alembic_config, include_name, load_all_models
from incidents.similar import SEARCH_TABLE, SEARCH_TABLES, SimilarQuery, find_similar
from tests.conftest import BACKENDS, _empty_all_tables


def test_upgrade_from_empty_to_head_matches_the_models(database_url: str) -> None:
    load_all_models()
    with engine_for(database_url).connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": include_name}
        )
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


def test_the_similar_incident_index_and_its_triggers_exist(database_url: str) -> None:
    # Revision 0011's objects, which the comparison above leaves out. A later revision that
    # makes SQLite's batch mode copy `incident` or `postmortem` drops the triggers: this fails.
    with engine_for(database_url).connect() as connection:
        if connection.dialect.name == "postgresql":
            tables = "SELECT tablename FROM pg_tables WHERE starts_with(tablename, 'incident_s')"
            search_tables = {SEARCH_TABLE}
            triggers = (
                "SELECT event_object_table || '.' || event_manipulation"
                " FROM information_schema.triggers WHERE trigger_name = 'incident_search_refresh'"
            )
            expected = {
                "incident.INSERT",
                "incident.UPDATE",
                "postmortem.INSERT",
                "postmortem.UPDATE",
                "postmortem.DELETE",
            }
            index = "SELECT indexdef FROM pg_indexes WHERE tablename = 'incident_search'"
            assert any("USING gin" in row for row in connection.exec_driver_sql(index).scalars())
        else:
            tables = (
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND substr(name, 1, 10) = 'incident_s'"
            )
            triggers = "SELECT tbl_name || '.' || name FROM sqlite_master WHERE type = 'trigger'"
            expected = {
                f"{table}.{table}_search_{event}"
                for table in ("incident", "postmortem")
                for event in ("insert", "update", "delete")
            }
            fts = "SELECT sql FROM sqlite_master WHERE name = 'incident_search'"
            assert "tokenize = 'trigram'" in connection.exec_driver_sql(fts).scalar_one()
            search_tables = set(SEARCH_TABLES)  # the FTS5 table and its shadow tables
        # Exactly the tables include_name leaves out of the comparison with the models.
        assert set(connection.exec_driver_sql(tables).scalars()) == search_tables
        assert expected <= set(connection.exec_driver_sql(triggers).scalars())


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_similar_incident_revision_indexes_existing_incidents(
    backend: str, fresh_database_url
) -> None:
    url = fresh_database_url(backend)
    command.upgrade(alembic_config(url), "0010")
    engine = engine_for(url)
    at = bindparam("at", datetime(2023, 9, 7, 6, 42, tzinfo=UTC), UTCDateTime)
    with engine.begin() as connection:
        for number, title in ((1, "银联代付接口超时"), (2, "清算批量任务失败")):
            connection.execute(
                text(
                    "INSERT INTO incident (id, title, system, detected_at, core_system,"
                    " regulatory, regulatory_triggers, status, business_impact, grade_overridden,"
                    " needs_review, created_by, created_at, updated_at) VALUES (:id, :title,"
                    " '出金', :at, false, false, '[]', 'open', false, false, false, 'test', :at,"
                    " :at)"
                ).bindparams(at, id=number, title=title),
            )
        connection.execute(
            text(
                "INSERT INTO postmortem (incident_id, root_cause, five_whys, reviewers, status,"
                " updated_at) VALUES (2, '消息队列积压', '[]', '[]', 'draft', :at)"
            ).bindparams(at)
        )
    command.upgrade(alembic_config(url), "head")
    with Session(engine) as session:
        by_title = find_similar(session, SimilarQuery(title="银联代付通道超时"))
        by_cause = find_similar(session, SimilarQuery(root_cause="消息队列积压"))
    assert [(item.id, item.similarity) for item in by_title] == [(1, 0.333)]
    assert [(item.id, item.root_cause) for item in by_cause] == [(2, "消息队列积压")]
    command.downgrade(alembic_config(url), "0010")
    with engine.connect() as connection:
        assert not inspect(connection).has_table(SEARCH_TABLE)
        # SQLite drops the triggers with the table: an insert must not reach for it.
        connection.execute(text("DELETE FROM incident"))
    engine.dispose()


def test_emptying_the_tables_between_tests_empties_the_index(engine, session) -> None:
    # tests/conftest.py deletes (SQLite: the triggers follow) or truncates with CASCADE
    # (PostgreSQL: the index's foreign key follows) every table after each test.
    session.add(Incident(title="银联代付接口超时", detected_at=datetime.now(UTC), created_by="t"))
    session.commit()
    _empty_all_tables(engine)
    with engine.connect() as connection:
        left = connection.execute(text(f"SELECT count(*) FROM {SEARCH_TABLE}")).scalar_one()
    assert left == 0


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_verification_revision_keeps_every_action_item(
    backend: str, fresh_database_url
) -> None:
    # 0010: an item `done` under the old rules was closed by them, so it becomes `verified` as of
    # its closed_at (nobody verified it: verified_by stays empty, the audit trail says why); open
    # and not-doing items keep their status; the verifier is the 复盘's owner, else the
    # incident's.
    url = fresh_database_url(backend)
    command.upgrade(alembic_config(url), "0009")
    engine = engine_for(url)
    at = datetime(2023, 9, 7, 6, 42, tzinfo=UTC)
    closed = datetime(2023, 9, 14, 10, 0, tzinfo=UTC)
    created = bindparam("at", at, UTCDateTime)
    with engine.begin() as connection:
        for incident_id, owner in ((1, "'李四'"), (2, "NULL")):
            connection.execute(
                text(
                    "INSERT INTO incident (id, title, detected_at, core_system, regulatory, status,"
                    " business_impact, grade, grade_overridden, created_by, created_at,"
                    f" updated_at, owner, regulatory_triggers) VALUES ({incident_id}, '渠道超时',"
                    f" :at, false, false, 'open', true, 'C', false, 'migration-test', :at, :at,"
                    f" {owner}, '[]')"
                ).bindparams(created)
            )
        connection.execute(
            text(
                "INSERT INTO postmortem (incident_id, five_whys, status, reviewers, updated_at,"
                " owner) VALUES (2, '[]', 'draft', '[]', :at, '复盘负责人')"
            ).bindparams(created)
        )
        for item_id, incident_id, status, closed_at, reason in (
            (1, 1, "done", closed, None),
            (2, 1, "open", None, None),
            (3, 1, "not_doing", closed, "银行侧改造覆盖"),
            (4, 2, "done", closed, None),
        ):
            connection.execute(
                text(
                    "INSERT INTO action_item (id, incident_id, title, type, owner, due_date,"
                    " status, not_doing_reason, closed_at, created_at) VALUES (:id, :incident,"
                    " '加监控', 'detect', '王五', '2023-09-15', :status, :reason, :closed, :at)"
                ).bindparams(
                    created,
                    bindparam("closed", closed_at, UTCDateTime),
                    id=item_id,
                    incident=incident_id,
                    status=status,
                    reason=reason,
                )
            )
    command.upgrade(alembic_config(url), "head")
    with Session(engine) as session:
        items = {item.id: item for item in session.exec(select(ActionItem))}
        trail = session.exec(select(AuditEntry).order_by(AuditEntry.id)).all()
    engine.dispose()
    assert {key: item.status for key, item in items.items()} == {
        1: "verified",
        2: "open",
        3: "not_doing",
        4: "verified",
    }
    assert items[1].closed_at == items[1].verified_at == closed
    assert items[1].verified_by is None
    assert items[2].verified_at is None
    assert items[3].not_doing_reason == "银行侧改造覆盖"
    assert {key: item.verifier for key, item in items.items()} == {
        1: "李四",
        2: "李四",
        3: "李四",
        4: "复盘负责人",
    }
    assert [(e.incident_id, e.action, e.old_value, e.new_value) for e in trail] == [
        (1, "action_item:1", "done", "verified"),
        (2, "action_item:4", "done", "verified"),
    ]


@pytest.mark.parametrize("backend", BACKENDS)
def test_upgrading_keeps_what_hangs_off_an_incident(backend: str, fresh_database_url) -> None:
    # SQLite migrations copy the incident table and drop the old one; with foreign keys on, that
    # drop would cascade to the incident's timeline, action items and postmortem.
    url = fresh_database_url(backend)
    command.upgrade(alembic_config(url), "0005")
    engine = engine_for(url)  # the app's engine: foreign keys on
    at = bindparam("at", datetime(2023, 9, 7, 6, 42, tzinfo=UTC), UTCDateTime)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO incident (id, title, detected_at, core_system, regulatory, status,"
                " business_impact, grade_overridden, created_by, created_at, updated_at)"
                " VALUES (1, '渠道超时', :at, false, false, 'open', true, false, 't', :at, :at)"
            ).bindparams(at)
        )
        connection.execute(
            text(
                "INSERT INTO timeline_entry (incident_id, at, text, key_event, author)"
                " VALUES (1, :at, '发现', false, 't')"
            ).bindparams(at)
        )
        connection.execute(
            text(
                "INSERT INTO action_item (incident_id, title, type, owner, due_date, status,"
                " created_at) VALUES (1, '加监控', 'detect', '王五', '2023-09-20', 'open', :at)"
            ).bindparams(at)
        )
        connection.execute(
            text(
                "INSERT INTO postmortem (incident_id, five_whys, status, reviewers, updated_at)"
                " VALUES (1, '[]', 'draft', '[]', :at)"
            ).bindparams(at)
        )
    command.upgrade(alembic_config(url), "head")
    with engine.connect() as connection:
        counts = {
            table: connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in ("incident", "timeline_entry", "action_item", "postmortem")
        }
    engine.dispose()
    assert counts == {"incident": 1, "timeline_entry": 1, "action_item": 1, "postmortem": 1}
