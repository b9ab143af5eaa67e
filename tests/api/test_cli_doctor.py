"""`stabilog doctor`, and the CLI refusing to start on an unusable calendar file."""

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

import api.cli.doctor
from api.cli import app
from incidents.calendar import Calendar
from incidents.schema import revisions
from incidents.settings import get_settings

runner = CliRunner()


@pytest.fixture
def team_file(tmp_path: Path) -> Path:
    path = tmp_path / "calendar.toml"
    path.write_text('[holidays]\n2023-09-12 = "封网"\n[working_days]\n2023-09-16 = ""\n', "utf-8")
    return path


@pytest.fixture
def doctor_env(cli_database: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The test database, the packaged policy, and a statutory calendar that knows every year
    (what it really knows depends on the package and today's date; one test pins both)."""
    monkeypatch.delenv("STABILOG_GRADING_POLICY", raising=False)
    monkeypatch.delenv("STABILOG_CALENDAR_FILE", raising=False)
    monkeypatch.setattr(api.cli.doctor, "statutory_years", lambda: range(2004, 2200))
    yield make_url(cli_database).render_as_string(hide_password=True)
    get_settings.cache_clear()


def use_calendar_file(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    monkeypatch.setenv("STABILOG_CALENDAR_FILE", str(path))
    get_settings.cache_clear()


def test_doctor_on_a_good_setup(doctor_env, team_file, monkeypatch) -> None:
    use_calendar_file(monkeypatch, team_file)
    _, newest = revisions(get_settings().database_url)

    result = runner.invoke(app, ["doctor"])

    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        f"ok      database: {doctor_env} at the newest revision ({newest})",
        "ok      alert tallies: 0 alerts counted",
        "ok      grading policy: incidents/grading_policy.toml (packaged default)",
        f"ok      calendar file: {team_file} ([holidays] 1, [working_days] 1)",
        "ok      statutory calendar: 2004–2199",
    ]


def test_doctor_says_none_without_a_calendar_file(doctor_env) -> None:
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 0, result.output
    assert "ok      calendar file: none" in result.stdout.splitlines()


def test_doctor_fails_on_a_missing_calendar_file(doctor_env, tmp_path, monkeypatch) -> None:
    missing = tmp_path / "absent.toml"
    use_calendar_file(monkeypatch, missing)

    result = runner.invoke(app, ["doctor"])

    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert f"FAIL    calendar file: {missing}: cannot read: No such file or directory" in lines
    assert lines[0].startswith("ok      database: ")  # the other checks still run


def test_doctor_warns_when_this_or_next_year_is_not_covered(doctor_env, monkeypatch) -> None:
    this_year = Calendar().today().year
    monkeypatch.setattr(api.cli.doctor, "statutory_years", lambda: range(2004, this_year + 1))

    result = runner.invoke(app, ["doctor"])

    assert result.exit_code == 0, result.output  # a warning, not a failure
    assert result.stdout.splitlines()[-2:] == [
        f"ok      statutory calendar: 2004–{this_year}",
        f"warning statutory calendar: {this_year + 1} not covered: its working days count"
        " Monday–Friday until chinesecalendar is upgraded (pip install -U chinesecalendar)",
    ]


def test_doctor_fails_on_a_database_not_at_the_newest_revision(
    doctor_env, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("STABILOG_DATABASE_URL", f"sqlite:///{tmp_path}/never-migrated.db")
    get_settings.cache_clear()

    result = runner.invoke(app, ["doctor"])

    assert result.exit_code == 1
    assert "at no revision, newest is " in result.stdout.splitlines()[0]


def test_doctor_fails_on_an_unreachable_database(doctor_env, monkeypatch) -> None:
    closed_port = "postgresql+psycopg://stabilog:secret@127.0.0.1:9/stabilog"
    monkeypatch.setenv("STABILOG_DATABASE_URL", closed_port)
    get_settings.cache_clear()

    result = runner.invoke(app, ["doctor"])

    assert result.exit_code == 1
    first = result.stdout.splitlines()[0]
    assert first.startswith("FAIL    database: postgresql+psycopg://stabilog:***@127.0.0.1:9/")
    assert "unreachable: " in first
    assert "secret" not in result.stdout


def test_other_commands_refuse_to_start_on_a_malformed_calendar_file(
    doctor_env, tmp_path, monkeypatch
) -> None:
    malformed = tmp_path / "calendar.toml"
    malformed.write_text('[holidays]\n2023-09-12 = "封网"\n2023-13-01 = ""\n', "utf-8")
    use_calendar_file(monkeypatch, malformed)

    result = runner.invoke(app, ["regulatory", "list"])

    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {malformed} line 3: [holidays] 2023-13-01: month")
