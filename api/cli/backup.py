"""`stabilog backup FILE` and `stabilog restore FILE` (docs/operations.md)."""

from pathlib import Path

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from api.cli.context import fail
from incidents.backup import BackupError
from incidents.backup import backup as backup_database
from incidents.backup import restore as restore_database
from incidents.db import engine_for
from incidents.settings import get_settings


def backup(
    file: Path = typer.Argument(
        ..., help="Where to write it: an SQLite file, or a pg_dump custom-format archive."
    ),
) -> None:
    """Copy the whole database to FILE while the server keeps running (SQLite's online backup;
    pg_dump on PostgreSQL)."""
    url = get_settings().database_url
    try:
        written = backup_database(engine_for(url), file)
    except (BackupError, SQLAlchemyError, OSError) as exc:
        fail(_reason(exc))
    typer.echo(f"backed up {_shown(url)} to {written} ({written.stat().st_size:,} bytes)")


def restore(
    file: Path = typer.Argument(..., help="A file written by `stabilog backup`."),
    force: bool = typer.Option(
        False, "--force", help="Replace a database that already holds tables."
    ),
) -> None:
    """Restore FILE into the configured database, which must be empty unless --force; stop
    every instance first. Exit 1 when the restored schema is not this version's newest."""
    url = get_settings().database_url
    try:
        current, newest = restore_database(engine_for(url), file, force=force)
    except (BackupError, SQLAlchemyError, OSError) as exc:
        fail(_reason(exc))
    if current != newest:
        typer.echo(
            f"restored {file} into {_shown(url)}, but it is at revision {current}, and this"
            f" version's newest is {newest}: run `stabilog migrate` (an older backup) or install"
            " the Stabilog version that wrote it",
            err=True,
        )
        raise typer.Exit(code=1)
    typer.echo(f"restored {file} into {_shown(url)}, at the newest revision ({newest})")


def _reason(exc: Exception) -> str:
    """One line: the driver's reason for a database error (never the URL), else the message."""
    if isinstance(exc, SQLAlchemyError):
        lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        return lines[0] if lines else type(exc).__name__
    return str(exc)


def _shown(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)
