"""`stabilog incident` and `stabilog token`: the same domain functions as the API."""

import typer
from sqlmodel import Session, select
from typer.testing import CliRunner

from api.cli import app
from incidents.audit import as_text
from incidents.models import Incident, IncidentCreate, Role
from tests.builders import cli_args, seed_pos_incident

runner = CliRunner()

# What differs between two filings of the same event by design: identity and bookkeeping.
BOOKKEEPING = {"id", "created_by", "created_at", "updated_at"}


def stored(session: Session, incident_id: int) -> dict:
    session.expire_all()
    incident = session.get(Incident, incident_id)
    columns = Incident.__table__.columns.keys()
    return {name: as_text(getattr(incident, name)) for name in columns if name not in BOOKKEEPING}


def test_cli_and_api_file_the_seed_event_as_the_same_record(
    cli_database, client, auth, session
) -> None:
    through_api = client.post(
        "/api/v1/incidents", json=seed_pos_incident(), headers=auth[Role.oncall]
    ).json()
    result = runner.invoke(app, cli_args(seed_pos_incident()))
    assert result.exit_code == 0, result.output
    assert "(C: failed 545 ≥ 100 → C)" in result.output
    through_cli = session.exec(select(Incident).where(Incident.id != through_api["id"])).one()
    assert through_cli.created_by.startswith("cli:")
    assert stored(session, through_cli.id) == stored(session, through_api["id"])


def test_cli_refuses_bad_input_naming_the_flag_and_stores_nothing(cli_database, session) -> None:
    result = runner.invoke(app, cli_args(seed_pos_incident(detected_at="9/77 14:42")))
    assert result.exit_code == 2
    assert "--detected-at" in result.output
    result = runner.invoke(app, cli_args(seed_pos_incident(recovered_at="2023-08-30 10:00")))
    assert result.exit_code == 2
    assert "--recovered-at: must not be before detected_at" in result.output
    assert session.exec(select(Incident)).first() is None


def test_cli_without_a_title_and_no_terminal_says_what_is_missing(cli_database) -> None:
    fields = seed_pos_incident()
    del fields["title"]
    result = runner.invoke(app, cli_args(fields))
    assert result.exit_code == 2
    assert "--title is required" in result.output


def test_cli_prompts_for_what_is_missing_when_interactive(
    cli_database, session, monkeypatch
) -> None:
    monkeypatch.setattr("api.cli.incidents.stdin_is_terminal", lambda: True)
    result = runner.invoke(
        app,
        ["incident", "file", "--system", "履约"],
        input="履约合作机构接口调用失败\n9/7 14:42\n",
    )
    assert result.exit_code == 0, result.output
    incident = session.exec(select(Incident)).one()
    assert incident.title == "履约合作机构接口调用失败"
    assert incident.detected_at.month == 9


def test_cli_list_shows_the_week(cli_database, session) -> None:
    assert runner.invoke(app, cli_args(seed_pos_incident())).exit_code == 0
    result = runner.invoke(app, ["incident", "list", "--week", "2023-W37"])
    assert result.exit_code == 0, result.output
    assert "2023-08-31 10:19\tC\t中信存管\topen" in result.output
    assert runner.invoke(app, ["incident", "list", "--week", "2023-W36"]).output.count("\t") == 0
    assert runner.invoke(app, ["incident", "list", "--week", "soon"]).exit_code == 2


def test_token_create_prints_a_working_token_once(cli_database, client) -> None:
    result = runner.invoke(app, ["token", "create", "--name", "alice", "--role", "oncall"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    assert token.startswith("stl_")
    response = client.get("/api/v1/incidents", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    again = runner.invoke(app, ["token", "create", "--name", "alice", "--role", "viewer"])
    assert again.exit_code != 0


def test_every_field_of_an_incident_can_be_filed_from_the_cli() -> None:
    # The CLI spells its options out for their help texts; this keeps them IncidentCreate's.
    command = typer.main.get_command(app).commands["incident"].commands["file"]
    # Besides: --text (快速登记, one sentence read into the fields) and --yes (file it unasked).
    options = {param.name for param in command.params}
    assert options == set(IncidentCreate.model_fields) | {"text", "yes"}
