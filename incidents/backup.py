"""Backups of the whole database, and restoring one into an empty database.

SQLite: the online backup API copies the database in one step while holding a read transaction,
so the copy is the snapshot of one moment even while the server keeps writing (in WAL mode a
reader never blocks the writer). PostgreSQL: `pg_dump` in its custom format, which also reads one
snapshot, and `pg_restore`; both are PostgreSQL's own client tools, run as subprocesses since no
library reproduces them. They live here rather than in the CLI because the nightly job
(`incidents.jobs.backup_job`) makes the same backup.
"""

import os
import re
import shutil
import sqlite3
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import URL

from incidents.schema import revisions

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_CUSTOM_MAGIC = b"PGDMP"
SUFFIXES = {"sqlite": ".sqlite3", "postgresql": ".pgdump"}
# Debian installs each major's tools here; /usr/bin/pg_dump is a wrapper that picks one.
DEBIAN_PG_BIN = Path("/usr/lib/postgresql")


class BackupError(Exception):
    """A backup or restore that cannot be made; the message says why and what to do."""


def backup(engine: Engine, path: Path) -> Path:
    """A consistent copy of the whole database in `path` (written under a temporary name and
    renamed, so a crash never leaves a truncated file under the real one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    if engine.dialect.name == "sqlite":
        _sqlite_backup(engine, partial)
    else:
        _run(
            "pg_dump",
            ["--format=custom", f"--file={partial}", _libpq_url(engine.url)],
            engine.url,
            how=f"pg_dump --format=custom --file={path} '{_libpq_url(engine.url)}'",
        )
    partial.replace(path)
    return path


def restore(engine: Engine, path: Path, *, force: bool = False) -> tuple[str | None, str | None]:
    """Replace the database's contents with the backup in `path`: refused when the database
    holds any table unless `force`. Returns the restored database's Alembic revision and the
    newest one this code knows, for the caller to judge (equal: ready to serve)."""
    _check_format(engine, path)
    tables = inspect(engine).get_table_names()
    if tables and not force:
        raise BackupError(
            f"the database is not empty ({len(tables)} tables); restoring would replace them:"
            " restore into an empty database, or use --force"
        )
    if engine.dialect.name == "sqlite":
        _sqlite_restore(engine, path)
    else:
        if tables:
            with engine.begin() as connection:
                connection.execute(text("DROP SCHEMA public CASCADE"))
                connection.execute(text("CREATE SCHEMA public"))
        command = [
            "--no-owner",  # the objects belong to whoever restores, not the dump's roles
            "--no-acl",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={_libpq_url(engine.url)}",
            str(path),
        ]
        how = f"pg_restore {' '.join(command[:-2])} --dbname='{_libpq_url(engine.url)}' {path}"
        _run("pg_restore", command, engine.url, how=how)
    engine.dispose()  # pooled connections may cache what the restore replaced
    return revisions(engine.url.render_as_string(hide_password=False))


def backup_name(dialect_name: str, now: datetime) -> str:
    """stabilog-20260301T020000Z.sqlite3: names sort by time, which is how pruning reads them."""
    return f"stabilog-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}{SUFFIXES[dialect_name]}"


def backup_into(engine: Engine, directory: Path, *, keep: int, now: datetime) -> Path:
    """The nightly backup: a new file in `directory`, then only the newest `keep` kept."""
    made = backup(engine, directory / backup_name(engine.dialect.name, now))
    prune(directory, keep)
    return made


def prune(directory: Path, keep: int) -> list[Path]:
    """Delete all but the newest `keep` backups in `directory`; other files are left alone."""
    ours = sorted(
        path
        for path in directory.glob("stabilog-*")
        if path.suffix in SUFFIXES.values() and re.fullmatch(r"stabilog-\d{8}T\d{6}Z", path.stem)
    )
    removed = ours[:-keep] if keep > 0 else ours
    for path in removed:
        path.unlink()
    return removed


def _sqlite_backup(engine: Engine, target_path: Path) -> None:
    pooled = engine.raw_connection()
    try:
        target = sqlite3.connect(target_path)
        try:
            pooled.driver_connection.backup(target)  # type: ignore[union-attr]
            # One self-contained file: no -wal beside it to forget when copying it away.
            target.execute("PRAGMA journal_mode=DELETE")
        finally:
            target.close()
    finally:
        pooled.close()


def _sqlite_restore(engine: Engine, path: Path) -> None:
    source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        pooled = engine.raw_connection()
        try:
            target = pooled.driver_connection
            source.backup(target)  # type: ignore[arg-type]
            target.execute("PRAGMA journal_mode=WAL")  # type: ignore[union-attr]
        finally:
            pooled.close()
    finally:
        source.close()


def _check_format(engine: Engine, path: Path) -> None:
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    with path.open("rb") as file:
        head = file.read(len(SQLITE_MAGIC))
    if engine.dialect.name == "sqlite" and not head.startswith(SQLITE_MAGIC):
        raise BackupError(f"{path} is not an SQLite backup, and the database is SQLite")
    if engine.dialect.name == "postgresql" and not head.startswith(PG_CUSTOM_MAGIC):
        raise BackupError(
            f"{path} is not a pg_dump custom-format file, and the database is PostgreSQL"
        )


def _libpq_url(url: URL) -> str:
    """postgresql://user@host:port/db, as libpq reads it; the password goes in PGPASSWORD so
    it never shows in the process list."""
    without_password = URL.create(
        "postgresql", url.username, None, url.host, url.port, url.database, url.query
    )  # not url.set(password=None): set() leaves a field given as None unchanged
    return without_password.render_as_string(hide_password=False)


def _run(tool: str, arguments: list[str], url: URL, *, how: str) -> None:
    executable = _find(tool)
    if executable is None:
        raise BackupError(
            f"{tool} not found: install PostgreSQL's client tools of the server's major version"
            f" or newer (Debian: postgresql-client-15), or run it yourself: {how}"
        )
    environment = dict(os.environ)
    if url.password is not None:
        environment["PGPASSWORD"] = str(url.password)
    finished = subprocess.run(
        [executable, *arguments], env=environment, capture_output=True, text=True, check=False
    )
    if finished.returncode != 0:
        raise BackupError(f"{tool} failed: {finished.stderr.strip()}")


def _find(tool: str) -> str | None:
    """On PATH first; else the newest major in Debian's layout."""
    on_path = shutil.which(tool)
    if on_path is not None:
        return on_path
    installed = [path for path in DEBIAN_PG_BIN.glob(f"*/bin/{tool}") if path.parts[-3].isdigit()]
    if not installed:
        return None
    return str(max(installed, key=lambda path: int(path.parts[-3])))
