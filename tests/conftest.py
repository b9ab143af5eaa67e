"""Shared fixtures: every database test runs on SQLite and, when a server is given, PostgreSQL.

STABILOG_TEST_POSTGRES_URL names a PostgreSQL server we may create databases on, e.g.
postgresql+psycopg://postgres@127.0.0.1:54329/postgres (`.ci/run` starts one). Under CI=true it
is required, so a misconfigured CI cannot quietly skip PostgreSQL.
"""

import os
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, SQLModel

from api.main import create_app
from incidents.db import engine_for
from incidents.models import Role
from incidents.schema import load_all_models, upgrade_to_head
from incidents.settings import Settings, get_settings
from incidents.tokens import create_token

POSTGRES_SERVER = os.environ.get("STABILOG_TEST_POSTGRES_URL")
BACKENDS = ["sqlite", "postgresql"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if POSTGRES_SERVER is None and os.environ.get("CI") == "true":
        raise pytest.UsageError("CI=true but STABILOG_TEST_POSTGRES_URL is not set")


@pytest.fixture(scope="session")
def fresh_database_url(tmp_path_factory: pytest.TempPathFactory):
    """Makes empty databases on either backend and drops them at the end of the session."""
    created: list[str] = []

    def make(backend: str) -> str:
        if backend == "sqlite":
            return f"sqlite:///{tmp_path_factory.mktemp('db') / 'stabilog.db'}"
        if POSTGRES_SERVER is None:
            pytest.skip("no PostgreSQL server (set STABILOG_TEST_POSTGRES_URL)")
        name = f"stabilog_test_{uuid.uuid4().hex[:12]}"
        with _server_admin() as admin:
            admin.execute(text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return make_url(POSTGRES_SERVER).set(database=name).render_as_string(hide_password=False)

    yield make
    if created:
        with _server_admin() as admin:
            for name in created:
                admin.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _server_admin():
    engine = create_engine(POSTGRES_SERVER, isolation_level="AUTOCOMMIT")
    return engine.connect()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, fresh_database_url) -> str:
    """A database per backend for the whole session, brought to head by the migrations."""
    url = fresh_database_url(request.param)
    upgrade_to_head(url)
    return url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = engine_for(database_url)
    yield engine
    _empty_all_tables(engine)


def _empty_all_tables(engine: Engine) -> None:
    load_all_models()
    tables = list(reversed(SQLModel.metadata.sorted_tables))
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{table.name}"' for table in tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                connection.execute(table.delete())


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url)


@pytest.fixture
def client(engine: Engine, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def auth(session: Session) -> dict[Role, dict[str, str]]:
    """Authorization headers for one token of each role."""
    headers = {}
    for role in Role:
        _, plain = create_token(session, f"{role.value}-user", role)
        session.commit()
        headers[role] = {"Authorization": f"Bearer {plain}"}
    return headers


@pytest.fixture
def cli_database(database_url: str, engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Points the CLI, which reads its settings from the environment, at the test database."""
    monkeypatch.setenv("STABILOG_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield database_url
    get_settings.cache_clear()
