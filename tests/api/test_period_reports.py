"""The period report through the API and the CLI; its figures: test_period_report.py."""

import json

import pytest
from typer.testing import CliRunner

from api.cli import app
from incidents.models import Role
from tests.builders import seed_pos_incident

runner = CliRunner()
REPORTS = "/api/v1/reports"


@pytest.fixture
def seeded(client, auth) -> None:
    body = seed_pos_incident()
    assert client.post("/api/v1/incidents", json=body, headers=auth[Role.oncall]).status_code == 201


@pytest.mark.parametrize(
    ("period", "counted"),
    [
        ("2023-09", "事故总数：0（上期 1）"),  # the seed was detected on 2023-08-31
        ("2023-Q3", "事故总数：1（上期 0）"),
        ("2023-H2", "事故总数：1（上期 0）"),
        ("2023", "事故总数：1（上期 0）"),
        ("2023-07-01..2023-09-30", "事故总数：1（上期 0）"),
    ],
)
def test_every_form_answers(client, auth, seeded, period, counted) -> None:
    response = client.get(f"{REPORTS}/{period}", headers=auth[Role.viewer])
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/markdown")
    assert counted in response.text


def test_formats_and_languages(client, auth, seeded) -> None:
    viewer = auth[Role.viewer]
    shown = client.get(f"{REPORTS}/2023-Q3?format=json&lang=en", headers=viewer).json()
    assert shown["lang"] == "en"
    assert shown["current"]["incidents_by_grade"]["C"] == 1
    assert shown["previous"]["period"]["label"] == "2023-Q2"
    assert shown["markdown"].startswith("# Stability report 2023-Q3")
    page = client.get(f"{REPORTS}/2023-Q3?format=html", headers=viewer)
    assert page.headers["content-type"].startswith("text/html")
    assert 'id="chart-period-grades"' in page.text


@pytest.mark.parametrize(
    "period", ["2023-13", "2023-Q9", "soon", "2023-09-30..2023-07-01", "2015-01-01..2023-01-01"]
)
def test_bad_periods_are_422_naming_period(client, auth, period) -> None:
    response = client.get(f"{REPORTS}/{period}", headers=auth[Role.viewer])
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][-1] == "period"


def test_the_weekly_route_still_answers(client, auth, seeded) -> None:
    response = client.get(f"{REPORTS}/weekly/2023-W37", headers=auth[Role.viewer])
    assert response.status_code == 200
    assert response.text.startswith("# 第37周 2023-09-09\n")


def test_period_needs_a_token(client) -> None:
    assert client.get(f"{REPORTS}/2023-Q3").status_code == 401


def test_cli_period_report(cli_database, client, auth, seeded) -> None:
    result = runner.invoke(app, ["report", "period", "2023-Q3", "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("# Stability report 2023-Q3 (2023-07-01 to 2023-09-30)\n")
    result = runner.invoke(app, ["report", "period", "2023-Q3", "--format", "json"])
    assert json.loads(result.output)["current"]["incidents"] == 1
    result = runner.invoke(app, ["report", "period", "2023-Q5"])
    assert result.exit_code == 2
    assert "period" in result.output
