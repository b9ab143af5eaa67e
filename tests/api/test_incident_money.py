"""资损 through the API and the CLI: 涉及金额, 资损, 追回, the net loss answered beside them, and
amount_cny, the old name of amount_involved_cny, still read for one release."""

from decimal import Decimal

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from api.cli import app
from incidents.models import AuditEntry, Incident, Role
from tests.builders import cli_args, count, file_incident, seed_pos_incident

API = "/api/v1/incidents"
MONEY = {"amount_involved_cny": "600,000.50", "loss_cny": "12,345", "recovered_cny": 345}
runner = CliRunner()


def amounts(answer: dict) -> dict[str, Decimal | None]:
    names = ("amount_involved_cny", "loss_cny", "recovered_cny", "net_loss_cny", "amount_cny")
    return {name: None if answer[name] is None else Decimal(answer[name]) for name in names}


def test_filing_with_the_money_answers_the_net_loss_and_the_old_name(client, auth) -> None:
    incident = file_incident(client, auth[Role.oncall], **MONEY)
    assert amounts(incident) == {
        "amount_involved_cny": Decimal("600000.50"),
        "loss_cny": Decimal(12345),
        "recovered_cny": Decimal(345),
        "net_loss_cny": Decimal(12000),
        "amount_cny": Decimal("600000.50"),
    }
    again = client.get(f"{API}/{incident['id']}", headers=auth[Role.viewer]).json()
    assert again == incident


@pytest.mark.parametrize(
    ("money", "net_loss"),
    [
        ({}, None),
        ({"recovered_cny": 5}, None),  # a recovery with no loss recorded yet: nothing to net
        ({"loss_cny": 100}, Decimal(100)),
        ({"loss_cny": 100, "recovered_cny": 100}, Decimal(0)),
        ({"loss_cny": "0.01", "recovered_cny": 0}, Decimal("0.01")),
    ],
)
def test_the_net_loss_is_loss_less_recovered_and_null_without_a_loss(
    client, auth, money, net_loss
) -> None:
    incident = file_incident(client, auth[Role.oncall], **money)
    assert amounts(incident)["net_loss_cny"] == net_loss


def test_patch_sets_and_clears_each_amount_and_audits_it(client, auth) -> None:
    incident = file_incident(client, auth[Role.oncall])
    url = f"{API}/{incident['id']}"
    edited = client.patch(url, json=MONEY, headers=auth[Role.oncall])
    assert edited.status_code == 200, edited.text
    assert amounts(edited.json())["net_loss_cny"] == Decimal(12000)
    recovered = client.patch(url, json={"recovered_cny": "12,345"}, headers=auth[Role.oncall])
    assert amounts(recovered.json())["net_loss_cny"] == Decimal(0)
    cleared = client.patch(
        url, json={"loss_cny": None, "recovered_cny": None}, headers=auth[Role.oncall]
    ).json()
    assert (cleared["loss_cny"], cleared["recovered_cny"], cleared["net_loss_cny"]) == (None,) * 3
    trail = client.get(f"{url}/audit", headers=auth[Role.viewer]).json()
    changed = [entry["field"] for entry in trail if entry["action"] == "update"]
    assert changed.count("loss_cny") == 2
    assert changed.count("recovered_cny") == 3
    assert changed.count("amount_involved_cny") == 1


def test_amount_cny_is_still_read_as_amount_involved_cny(client, auth, session) -> None:
    incident = file_incident(client, auth[Role.oncall], amount_cny="6,000,000")
    assert Decimal(incident["amount_involved_cny"]) == Decimal(6_000_000)
    assert incident["grade"] == "A"
    agreeing = file_incident(client, auth[Role.oncall], amount_cny=5, amount_involved_cny="5.00")
    assert Decimal(agreeing["amount_involved_cny"]) == Decimal(5)
    url = f"{API}/{incident['id']}"
    edited = client.patch(url, json={"amount_cny": "7"}, headers=auth[Role.oncall]).json()
    assert Decimal(edited["amount_involved_cny"]) == Decimal(7)
    assert Decimal(edited["amount_cny"]) == Decimal(7)
    stored = session.exec(select(Incident.amount_involved_cny).order_by(Incident.id)).all()
    assert stored == [Decimal(7), Decimal(5)]


def test_the_api_document_marks_amount_cny_deprecated(client) -> None:
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    for name in ("IncidentCreate", "IncidentUpdate", "IncidentPublic"):
        old = schemas[name]["properties"]["amount_cny"]
        assert old["deprecated"] is True, name
        assert "deprecated, removed in 0.3" in old["description"], name


@pytest.mark.parametrize(
    ("money", "field", "words"),
    [
        ({"amount_involved_cny": "-5"}, "amount_involved_cny", "must not be negative"),
        ({"loss_cny": "a lot"}, "loss_cny", "is not an amount in CNY"),
        ({"loss_cny": -1}, "loss_cny", "greater than or equal to 0"),
        ({"recovered_cny": "-0.01"}, "recovered_cny", "must not be negative"),
        ({"recovered_cny": True}, "recovered_cny", ""),
        ({"loss_cny": "1.234"}, "loss_cny", "decimal places"),
        ({"amount_cny": "-5"}, "amount_cny", "must not be negative"),
        (
            {"amount_cny": 5, "amount_involved_cny": 6},
            "amount_cny",
            "differs from amount_involved_cny",
        ),
        ({"loss_cny": 100, "recovered_cny": "100.01"}, "recovered_cny", "more than loss_cny"),
    ],
)
def test_bad_money_names_the_field_and_files_nothing(
    client, auth, session, money, field, words
) -> None:
    response = client.post(API, json=seed_pos_incident(**money), headers=auth[Role.oncall])
    assert response.status_code == 422, response.text
    errors = {error["loc"][-1]: error["msg"] for error in response.json()["detail"]}
    assert field in errors
    assert words in errors[field]
    assert count(session, Incident) == 0
    assert count(session, AuditEntry) == 0


@pytest.mark.parametrize(
    "change",
    [
        {"recovered_cny": 20_000},  # more than the 12,345 lost
        {"loss_cny": 300},  # less than the 345 recovered
        {"loss_cny": 0},
        {"amount_cny": 1, "amount_involved_cny": 2},
    ],
)
def test_a_bad_money_patch_leaves_the_incident_and_its_trail_as_they_were(
    client, auth, change
) -> None:
    incident = file_incident(client, auth[Role.oncall], **MONEY)
    url = f"{API}/{incident['id']}"
    before_trail = client.get(f"{url}/audit", headers=auth[Role.viewer]).json()
    response = client.patch(url, json=change, headers=auth[Role.oncall])
    assert response.status_code == 422, response.text
    named = response.json()["detail"][0]["loc"][-1]
    assert named == ("amount_cny" if "amount_cny" in change else "recovered_cny")
    assert client.get(url, headers=auth[Role.viewer]).json() == incident
    assert client.get(f"{url}/audit", headers=auth[Role.viewer]).json() == before_trail


def test_cli_files_the_money(cli_database, session) -> None:
    result = runner.invoke(app, cli_args(seed_pos_incident(**MONEY)))
    assert result.exit_code == 0, result.output
    incident = session.exec(select(Incident)).one()
    assert (incident.amount_involved_cny, incident.loss_cny, incident.recovered_cny) == (
        Decimal("600000.50"),
        Decimal(12345),
        Decimal(345),
    )


def test_cli_still_reads_amount_cny_but_does_not_offer_it(cli_database, session) -> None:
    result = runner.invoke(app, cli_args(seed_pos_incident(amount_cny="6,000,000")))
    assert result.exit_code == 0, result.output
    assert "--amount-cny is deprecated, removed in 0.3" in result.stderr
    assert session.exec(select(Incident.amount_involved_cny)).one() == Decimal(6_000_000)
    usage = runner.invoke(app, ["incident", "file", "--help"], env={"COLUMNS": "200"}).output
    assert "--amount-involved-cny" in usage
    assert "--loss-cny" in usage
    assert "--recovered-cny" in usage
    assert "--amount-cny " not in usage


@pytest.mark.parametrize(
    ("money", "words"),
    [
        (
            {"loss_cny": 100, "recovered_cny": 200},
            "--recovered-cny: must not be more than loss_cny",
        ),
        ({"loss_cny": "-5"}, "'-5' is not an amount in CNY: it must not be negative"),
        (
            {"amount_cny": 5, "amount_involved_cny": 6},
            "--amount-cny: differs from amount_involved_cny",
        ),
    ],
)
def test_cli_refuses_bad_money_naming_the_flag(cli_database, session, money, words) -> None:
    result = runner.invoke(app, cli_args(seed_pos_incident(**money)))
    assert result.exit_code == 2
    unboxed = " ".join(result.output.replace("│", " ").split())  # rich wraps usage errors
    assert words in unboxed, result.output
    assert session.exec(select(Incident)).first() is None
