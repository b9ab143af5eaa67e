"""What every CLI command shares: who is acting and a session on the configured database."""

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import NoReturn

import typer
from pydantic import ValidationError
from sqlmodel import Session

from api.web.i18n import field_label
from incidents.actors import Actor
from incidents.db import engine_for
from incidents.errors import Forbidden, Invalid, NotFound
from incidents.grading import GradingPolicy, load_policy
from incidents.messages import Lang, from_pydantic, part_text
from incidents.models import Role, parse_amount
from incidents.schema import upgrade_to_head
from incidents.settings import get_settings


def cli_actor() -> Actor:
    # Whoever can run the CLI on the server can read its database anyway, so the shell acts as
    # an admin; the audit trail still says which operating-system user it was.
    return Actor(name=f"cli:{getpass.getuser()}", role=Role.admin)


def current_policy() -> GradingPolicy:
    return load_policy(get_settings().grading_policy)


def migrate_embedded_database() -> None:
    """The embedded SQLite default needs no setup step. PostgreSQL is migrated on purpose, once,
    with `stabilog migrate`, since several instances may share it."""
    url = get_settings().database_url
    if url.startswith("sqlite"):
        upgrade_to_head(url)


# Fields whose flag is not their name: a list is given one value per flag, so the flag is
# the singular.
FLAGS = {"regulatory_triggers": "--trigger"}


def flag(field: str) -> str:
    return FLAGS.get(field, "--" + field.replace("_", "-"))


def read_amount(text: str) -> Decimal:
    """`typer.Option(parser=read_amount)`: money read as the API reads it (6,000,000 included); an
    unreadable amount is a usage error saying why."""
    try:
        return parse_amount(text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def cli_lang() -> Lang:
    """The locale's language, as POSIX picks it (LC_ALL, then LC_MESSAGES, then LANG): zh_* is
    Chinese, anything else English."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def said(message: str) -> str:
    """A message, coded or plain, in the locale's language."""
    lang = cli_lang()
    return part_text(message, lang, field_label(lang))


def fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


@contextmanager
def reported() -> Iterator[None]:
    """Bad input and domain refusals as one line naming the flag, exit status 2 (1: not found),
    instead of a traceback."""
    try:
        yield
    except ValidationError as exc:
        fail(
            "; ".join(
                f"{flag(str(error['loc'][0]))}: {said(from_pydantic(error))}"
                for error in exc.errors()
            )
        )
    except Invalid as exc:
        fail("; ".join(f"{flag(field)}: {said(message)}" for field, message in exc.problems))
    except Forbidden as exc:  # the shell is an admin, but a reviewer must be one named
        fail(said(exc.message))
    except NotFound as exc:
        typer.echo(f"error: {said(exc.message)}", err=True)
        raise typer.Exit(code=1) from exc


@contextmanager
def open_session() -> Iterator[Session]:
    """One transaction per command: committed when the command's work is done, rolled back
    whole when it raised (domain functions never commit; see docs/architecture.md)."""
    with reported():
        migrate_embedded_database()
        with Session(engine_for(get_settings().database_url), expire_on_commit=False) as session:
            yield session
            session.commit()
