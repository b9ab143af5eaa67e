"""`stabilog backup` / `stabilog restore` and the nightly backup job, on SQLite and PostgreSQL."""

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlmodel import Session, col, select
from typer.testing import CliRunner

import incidents.backup
from alembic import command
from api.cli import app
from api.scheduler import build_scheduler
from incidents.backup import SUFFIXES, BackupError, backup, prune, restore
from incidents.db import engine_for
from incidents.grading import load_policy
from incidents.jobs import JobRun, backup_job
from incidents.models import Incident
from incidents.schema import alembic_config, revisions
from incidents.settings import Settings, get_settings
from tests.builders import file_in_domain, seed_pos_incident

runner = CliRunner()


def incident_ids(engine: Engine) -> list[int]:
    with Session(engine) as session:
        return list(session.exec(select(Incident.id).order_by(col(Incident.id))).all())


def file_incidents(engine: Engine, how_many: int) -> list[int]:
    with Session(engine, expire_on_commit=False) as session:
        return [file_in_domain(session, **seed_pos_incident()).id for _ in range(how_many)]


def test_a_backup_under_writes_restores_every_row_committed_before_it(
    engine: Engine, fresh_database_url, tmp_path: Path
) -> None:
    committed: list[int] = []  # appended only once the commit returned
    stop = threading.Event()
    failures: list[BaseException] = []

    def keep_filing() -> None:
        try:
            with Session(engine, expire_on_commit=False) as session:
                while not stop.is_set():
                    committed.append(file_in_domain(session, **seed_pos_incident()).id)
        except BaseException as exc:  # surfaced in the test's thread below
            failures.append(exc)

    writer = threading.Thread(target=keep_filing)
    writer.start()
    try:
        while len(committed) < 30 and writer.is_alive():
            stop.wait(0.01)
        before_backup = list(committed)
        backup(engine, tmp_path / "backup")
        stop.wait(0.2)  # the writer goes on after the copy, and none of that may reach it
    finally:
        stop.set()
        writer.join()
    assert failures == []

    target = engine_for(fresh_database_url(engine.dialect.name))
    current, newest = restore(target, tmp_path / "backup")

    restored = incident_ids(target)
    assert current == newest
    assert set(before_backup) <= set(restored)
    # One snapshot: the rows committed up to one moment, in order, with no gaps.
    assert restored == committed[: len(restored)]
    assert len(committed) > len(before_backup)  # the backup really ran under writes


def test_restore_refuses_a_database_with_tables_unless_forced(
    engine: Engine, fresh_database_url, tmp_path: Path
) -> None:
    kept = file_incidents(engine, 2)
    backup(engine, tmp_path / "backup")
    file_incidents(engine, 1)  # after the backup: --force must take the database back

    with pytest.raises(BackupError, match="not empty"):
        restore(engine, tmp_path / "backup")
    restore(engine, tmp_path / "backup", force=True)

    assert incident_ids(engine) == kept
    assert revisions(engine.url.render_as_string(hide_password=False))[0] is not None


def test_a_backup_of_the_other_database_kind_is_refused(engine: Engine, tmp_path: Path) -> None:
    other = b"PGDMP" if engine.dialect.name == "sqlite" else b"SQLite format 3\x00"
    (tmp_path / "other").write_bytes(other + bytes(100))
    with pytest.raises(BackupError, match="is not"):
        restore(engine, tmp_path / "other", force=True)


def test_without_pg_dump_it_says_how_to_run_it(
    fresh_database_url, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = make_url(fresh_database_url("postgresql")).set(password="s3cret-pw")
    engine = engine_for(url.render_as_string(hide_password=False))
    monkeypatch.setattr(incidents.backup, "_find", lambda tool: None)
    with pytest.raises(BackupError) as refused:
        backup(engine, tmp_path / "backup")
    message = str(refused.value)
    assert f"pg_dump --format=custom --file={tmp_path / 'backup'} 'postgresql://" in message
    assert "s3cret-pw" not in message  # it goes in PGPASSWORD, never on a command line
    assert not (tmp_path / "backup").exists()


def test_the_cli_backs_up_and_restores_into_an_empty_database(
    cli_database: str, engine: Engine, fresh_database_url, tmp_path, monkeypatch
) -> None:
    kept = file_incidents(engine, 3)
    made = runner.invoke(app, ["backup", str(tmp_path / "nightly")])
    assert made.exit_code == 0, made.output
    assert made.stdout.startswith("backed up ")

    refused = runner.invoke(app, ["restore", str(tmp_path / "nightly")])
    assert refused.exit_code == 2
    assert "not empty" in refused.stderr
    assert "--force" in refused.stderr

    empty = fresh_database_url(engine.dialect.name)
    monkeypatch.setenv("STABILOG_DATABASE_URL", empty)
    get_settings.cache_clear()
    restored = runner.invoke(app, ["restore", str(tmp_path / "nightly")])
    assert restored.exit_code == 0, restored.output
    assert "at the newest revision" in restored.stdout
    assert incident_ids(engine_for(empty)) == kept


def test_the_nightly_job_backs_up_once_a_night_and_keeps_the_newest(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    nightly = settings.model_copy(update={"backup_dir": tmp_path, "backup_keep": 2})
    (tmp_path / "notes.txt").write_text("not a backup")
    first = datetime(2026, 3, 1, 18, 0, tzinfo=UTC)  # 02:00 on 3/2 in Asia/Shanghai

    for night in range(3):
        backup_job(engine, nightly, now=first + timedelta(days=night))
    backup_job(engine, nightly, now=first + timedelta(days=2, minutes=5))  # same night again

    suffix = SUFFIXES[engine.dialect.name]
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "notes.txt",
        f"stabilog-20260302T180000Z{suffix}",
        f"stabilog-20260303T180000Z{suffix}",
    ]


def test_without_a_backup_dir_the_job_does_nothing(engine: Engine, settings: Settings) -> None:
    assert settings.backup_dir is None
    backup_job(engine, settings, now=datetime(2026, 3, 1, 18, 0, tzinfo=UTC))
    # and claims no slot, so turning it on later that night still backs up
    with Session(engine) as session:
        assert session.exec(select(JobRun).where(JobRun.job == "backup")).all() == []


def test_prune_keeps_the_newest_and_leaves_other_files(tmp_path: Path) -> None:
    names = [
        "stabilog-20260101T020000Z.sqlite3",
        "stabilog-20260103T020000Z.pgdump",
        "stabilog-20260102T020000Z.sqlite3",
        "stabilog-20260104T020000Z.sqlite3.partial",
        "stabilog-copy.sqlite3",
    ]
    for name in names:
        (tmp_path / name).write_bytes(b"")
    removed = prune(tmp_path, keep=2)
    assert [path.name for path in removed] == ["stabilog-20260101T020000Z.sqlite3"]
    assert len(list(tmp_path.iterdir())) == 4


def test_the_scheduler_runs_the_backup_nightly_only_when_a_directory_is_set(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    def jobs(settings: Settings) -> dict[str, str]:
        scheduler = build_scheduler(engine, settings, load_policy(None))
        return {job.id: str(job.trigger) for job in scheduler.get_jobs()}

    assert "backup" not in jobs(settings)
    nightly = jobs(settings.model_copy(update={"backup_dir": tmp_path, "backup_hour": 3}))
    assert "hour='3'" in nightly["backup"]


def test_restoring_an_older_schema_says_to_migrate(
    cli_database: str, engine: Engine, fresh_database_url, tmp_path, monkeypatch
) -> None:
    older = fresh_database_url(engine.dialect.name)
    scripts = ScriptDirectory.from_config(alembic_config(older))
    previous = scripts.get_revision(scripts.get_current_head()).down_revision
    assert isinstance(previous, str)
    command.upgrade(alembic_config(older), previous)
    backup(engine_for(older), tmp_path / "older")

    monkeypatch.setenv("STABILOG_DATABASE_URL", fresh_database_url(engine.dialect.name))
    get_settings.cache_clear()
    restored = runner.invoke(app, ["restore", str(tmp_path / "older")])

    assert restored.exit_code == 1
    assert f"it is at revision {previous}" in restored.stderr
    assert "run `stabilog migrate`" in restored.stderr


def test_the_cli_says_why_in_one_line_when_the_file_cannot_be_written(
    cli_database: str, tmp_path: Path
) -> None:
    (tmp_path / "a-file").write_text("")
    refused = runner.invoke(app, ["backup", str(tmp_path / "a-file" / "backup")])
    assert refused.exit_code == 2
    assert refused.stderr.startswith("error: ")
    assert len(refused.stderr.splitlines()) == 1
