"""故障积分 and the system → team mapping over the API, from the shell, and as a page."""

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.cli import app
from incidents.models import Role
from tests.builders import file_incident

runner = CliRunner()
SEPTEMBER = {"from": "2023-09-01", "to": "2023-10-01"}
IN_SEPTEMBER = {"detected_at": "2023-09-07 10:19", "report_week": None}


def test_a_mapped_system_puts_its_incidents_points_on_its_team(
    client: TestClient, auth: dict[Role, dict[str, str]]
) -> None:
    refused = client.put(
        "/api/v1/system-teams/中信存管", json={"team": "存管组"}, headers=auth[Role.oncall]
    )
    assert refused.status_code == 403
    mapped = client.put(
        "/api/v1/system-teams/中信存管", json={"team": "存管组"}, headers=auth[Role.admin]
    )
    assert mapped.status_code == 200, mapped.text
    assert mapped.json()["team"] == "存管组"

    incident = file_incident(client, auth[Role.oncall], **IN_SEPTEMBER)  # 545 failed: C
    assert incident["team"] == "存管组"
    file_incident(client, auth[Role.oncall], team="风控组", failed_orders=5_000, **IN_SEPTEMBER)

    answer = client.get("/api/v1/scoreboard", params=SEPTEMBER, headers=auth[Role.viewer])
    assert answer.status_code == 200, answer.text
    board = answer.json()
    assert board["points"] == {"A": 10, "B": 5, "C": 2, "D": 1, "regulatory": 5,
                               "missed_one_five_ten": 1}  # fmt: skip
    assert [(t["name"], t["points"], t["by_grade"]) for t in board["teams"]] == [
        ("风控组", 5, {"A": 0, "B": 1, "C": 0, "D": 0}),
        ("存管组", 2, {"A": 0, "B": 0, "C": 1, "D": 0}),
    ]
    assert [(s["name"], s["points"], s["incidents"]) for s in board["systems"]] == [
        ("中信存管", 7, 2)
    ]
    assert board["start"].startswith("2023-09-01T00:00:00+08:00")

    listed = client.get("/api/v1/system-teams", headers=auth[Role.viewer]).json()
    assert [(row["system"], row["team"]) for row in listed] == [("中信存管", "存管组")]
    assert (
        client.delete("/api/v1/system-teams/中信存管", headers=auth[Role.admin]).status_code == 204
    )
    missing = client.get("/api/v1/system-teams/中信存管", headers=auth[Role.viewer])
    assert missing.status_code == 404


def test_the_scoreboard_refuses_half_a_window_and_reads_a_period(
    client: TestClient, auth: dict[Role, dict[str, str]]
) -> None:
    viewer = auth[Role.viewer]
    half = client.get("/api/v1/scoreboard", params={"from": "2023-09-01"}, headers=viewer)
    assert half.status_code == 422
    assert half.json()["detail"][0]["loc"][-1] == "to"
    backwards = client.get(
        "/api/v1/scoreboard", params={"from": "2023-10-01", "to": "2023-09-01"}, headers=viewer
    )
    assert backwards.status_code == 422
    quarter = client.get("/api/v1/scoreboard", params={"period": "2023-Q3"}, headers=viewer)
    assert quarter.status_code == 200, quarter.text
    assert quarter.json()["end"].startswith("2023-10-01T00:00:00+08:00")
    assert client.get("/api/v1/scoreboard").status_code == 401


def test_teams_and_the_scoreboard_from_the_shell(cli_database) -> None:
    mapped = runner.invoke(app, ["team", "map", "中信存管", "存管组"])
    assert mapped.exit_code == 0, mapped.output
    assert "中信存管 → 存管组 (0 incidents given the team)" in mapped.stdout
    assert runner.invoke(app, ["team", "list"]).stdout == "中信存管\t存管组\n"
    filed = runner.invoke(
        app,
        ["incident", "file", "--title", "POS付款单失败", "--system", "中信存管",
         "--detected-at", "2023-09-07 10:00", "--failed-orders", "545"],
    )  # fmt: skip
    assert filed.exit_code == 0, filed.output
    runner.invoke(
        app,
        ["incident", "file", "--title", "风控误拦截", "--system", "风控", "--team", "风控组",
         "--detected-at", "2023-09-08 10:00", "--failed-orders", "5000"],
    )  # fmt: skip

    shown = runner.invoke(app, ["scoreboard", "--from", "2023-09-01", "--to", "2023-10-01"])

    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert lines[0] == "故障积分 2023-09-01 00:00 – 2023-10-01 00:00"
    assert lines[2] == "风控组\t5\t1\t0\t1\t0\t0\t0\t0"
    assert lines[3] == "存管组\t2\t1\t0\t0\t1\t0\t0\t0"
    assert "中信存管\t2\t1\t0\t0\t1\t0\t0\t0" in lines
    refused = runner.invoke(app, ["scoreboard", "--from", "2023-09-01"])
    assert refused.exit_code == 2
    assert "--to: give both from and to" in refused.output
    assert runner.invoke(app, ["team", "unmap", "中信存管"]).exit_code == 0
    assert runner.invoke(app, ["team", "unmap", "中信存管"]).exit_code == 1
