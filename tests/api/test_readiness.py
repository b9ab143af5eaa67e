"""/readyz: ready only when the database answers and is at the newest revision; /healthz stays
the liveness check."""

import pytest
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from alembic import command
from api.main import create_app
from incidents.schema import alembic_config
from incidents.settings import Settings
from tests.conftest import BACKENDS


def test_a_migrated_database_is_ready(client: TestClient) -> None:
    answer = client.get("/readyz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ready", "checks": {"database": "ok", "schema": "ok"}}


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_database_one_revision_behind_is_not_ready(backend: str, fresh_database_url) -> None:
    url = fresh_database_url(backend)
    scripts = ScriptDirectory.from_config(alembic_config(url))
    newest = scripts.get_current_head()
    previous = scripts.get_revision(newest).down_revision
    assert isinstance(previous, str)
    command.upgrade(alembic_config(url), previous)

    with TestClient(create_app(Settings(database_url=url))) as client:
        not_ready = client.get("/readyz")
        alive = client.get("/healthz")

    assert not_ready.status_code == 503
    assert not_ready.json() == {
        "status": "not ready",
        "failed": "schema",
        "checks": {
            "database": "ok",
            "schema": f"at revision {previous}, newest is {newest}: run stabilog migrate",
        },
    }
    assert alive.status_code == 200  # alive: restarting it would not help, migrating does


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_database_never_migrated_is_not_ready(backend: str, fresh_database_url) -> None:
    with TestClient(create_app(Settings(database_url=fresh_database_url(backend)))) as client:
        answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.json()["checks"]["schema"].startswith("never migrated, newest is ")


def test_an_unreachable_database_is_neither_ready_nor_alive(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'no-such-directory' / 'stabilog.db'}"
    with TestClient(create_app(Settings(database_url=url))) as client:
        not_ready = client.get("/readyz")
        alive = client.get("/healthz")
    assert not_ready.status_code == 503
    assert not_ready.json()["failed"] == "database"
    assert not_ready.json()["checks"]["database"].startswith("unavailable: unable to open")
    assert alive.status_code == 503


def test_a_database_migrated_by_a_newer_release_keeps_the_old_instances_ready(
    client: TestClient, engine: Engine
) -> None:
    # Migrate, then roll: between the two, the instances not yet rolled must keep serving.
    with engine.begin() as connection:
        (current,) = connection.execute(text("SELECT version_num FROM alembic_version")).one()
        connection.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    try:
        answer = client.get("/readyz")
    finally:
        with engine.begin() as connection:
            connection.execute(
                text("UPDATE alembic_version SET version_num = :current"), {"current": current}
            )
    assert answer.status_code == 200
    assert answer.json()["checks"]["schema"] == (
        f"ok: revision 9999_from_the_future is a newer release's, this one's is {current}"
    )
