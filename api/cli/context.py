"""What every CLI command shares: who is acting and a session on the configured database."""

import getpass
from collections.abc import Iterator
from contextlib import contextmanager

from sqlmodel import Session

from incidents.db import engine_for
from incidents.models import Role
from incidents.schema import upgrade_to_head
from incidents.service import Actor
from incidents.settings import get_settings


def cli_actor() -> Actor:
    # Whoever can run the CLI on the server can read its database anyway, so the shell acts as
    # an admin; the audit trail still says which operating-system user it was.
    return Actor(name=f"cli:{getpass.getuser()}", role=Role.admin)


def migrate_embedded_database() -> None:
    """The embedded SQLite default needs no setup step. PostgreSQL is migrated on purpose, once,
    with `stabilog migrate`, since several instances may share it."""
    url = get_settings().database_url
    if url.startswith("sqlite"):
        upgrade_to_head(url)


@contextmanager
def open_session() -> Iterator[Session]:
    migrate_embedded_database()
    with Session(engine_for(get_settings().database_url), expire_on_commit=False) as session:
        yield session
