"""Exports people open in Excel: `GET /api/v1/export/…` and `stabilog export`."""

import csv
import io
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session
from typer.testing import CliRunner

from api.cli import app
from incidents.alerts.models import Alert, AlertStatus, Source, SourceKind
from incidents.calendar import DEFAULT_CALENDAR
from incidents.exports import ALERT_COLUMNS, INCIDENT_COLUMNS
from incidents.models import Role
from tests.builders import file_incident, seed_pos_incident

runner = CliRunner()


def read_csv(body: bytes) -> list[dict[str, str]]:
    assert body.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read UTF-8"
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def read_xlsx(body: bytes) -> list[list[object]]:
    book = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
    return [list(row) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True)]


def add_alerts(session: Session, *titles: str) -> None:
    source = Source(kind=SourceKind.alertmanager, name="prod-am", key="k" * 32)
    session.add(source)
    session.flush()
    received = datetime(2023, 9, 7, 6, 42, tzinfo=UTC)  # 14:42 in Shanghai
    for number, title in enumerate(titles):
        at = received + timedelta(minutes=number)
        session.add(
            Alert(
                source_id=source.id,
                fingerprint=f"fp{number}",
                status=AlertStatus.firing,
                title=title,
                starts_at=at,
                received_at=at,
                last_seen_at=at,
                first_follow_up_at=at + timedelta(minutes=2) if number == 0 else None,
            )
        )
    session.commit()


def test_incidents_csv_has_a_bom_chinese_text_and_local_times(client: TestClient, auth) -> None:
    file_incident(client, auth[Role.oncall])
    response = client.get("/api/v1/export/incidents", headers=auth[Role.viewer])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = read_csv(response.content)
    assert list(rows[0]) == list(INCIDENT_COLUMNS)
    assert rows[0]["title"] == seed_pos_incident()["title"]
    assert rows[0]["system"] == "中信存管"
    assert rows[0]["detected_at"] == "2023-08-31 10:19:00"  # as typed, in the team's zone
    assert rows[0]["failed_orders"] == "545"


def test_filters_apply_and_an_empty_export_has_the_header_only(client: TestClient, auth) -> None:
    file_incident(client, auth[Role.oncall])
    file_incident(
        client, auth[Role.oncall], title="网联快捷支付成功率下跌", system="收单", report_week=None
    )
    viewer = auth[Role.viewer]
    rows = read_csv(client.get("/api/v1/export/incidents?system=收单", headers=viewer).content)
    assert [row["title"] for row in rows] == ["网联快捷支付成功率下跌"]
    rows = read_csv(client.get("/api/v1/export/incidents?week=2023-W37", headers=viewer).content)
    assert [row["system"] for row in rows] == ["中信存管"]  # filed into the 9/9 report week
    empty = client.get("/api/v1/export/incidents?q=不存在的", headers=viewer)
    assert empty.content.decode("utf-8-sig").splitlines() == [",".join(INCIDENT_COLUMNS)]
    sheet = read_xlsx(
        client.get("/api/v1/export/incidents?q=无&format=xlsx", headers=viewer).content
    )
    assert sheet == [list(INCIDENT_COLUMNS)]


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/export/incidents?week=2023-W99", "week"),
        ("/api/v1/export/incidents?grade=E", "grade"),
        ("/api/v1/export/incidents?from=tomorrowish", "from"),
        ("/api/v1/export/alerts?status=burning", "status"),
        ("/api/v1/export/action-items?overdue=perhaps", "overdue"),
        ("/api/v1/export/incidents?format=pdf", "format"),
    ],
)
def test_a_bad_filter_is_the_lists_422(client: TestClient, auth, path: str, field: str) -> None:
    response = client.get(path, headers=auth[Role.viewer])
    assert response.status_code == 422, response.text
    assert field in str(response.json()["detail"])


def test_viewer_may_export_and_no_token_is_401(client: TestClient, auth) -> None:
    assert client.get("/api/v1/export/alerts").status_code == 401
    assert client.get("/api/v1/export/action-items", headers=auth[Role.viewer]).status_code == 200


def test_alerts_xlsx_opens_with_openpyxl_and_has_the_rows(
    client: TestClient, auth, session: Session
) -> None:
    add_alerts(session, "履约 接口错误率高于1%", '=HYPERLINK("http://evil")')
    response = client.get("/api/v1/export/alerts?format=xlsx", headers=auth[Role.viewer])
    assert response.status_code == 200, response.text
    header, *rows = read_xlsx(response.content)
    assert header == ["id", "source", *ALERT_COLUMNS[1:]]
    by_title = {row[header.index("title")]: row for row in rows}
    assert set(by_title) == {
        "履约 接口错误率高于1%",
        '=HYPERLINK("http://evil")',
    }  # text, not a formula
    first = by_title["履约 接口错误率高于1%"]
    assert first[header.index("source")] == "prod-am"
    assert first[header.index("received_at")] == datetime(2023, 9, 7, 14, 42)
    followed = client.get("/api/v1/export/alerts?followed_up=false", headers=auth[Role.viewer])
    titles = [row["title"] for row in read_csv(followed.content)]
    assert titles == ['\'=HYPERLINK("http://evil")']  # defused for Excel


def test_cli_writes_the_file(cli_database, client: TestClient, auth, tmp_path: Path) -> None:
    file_incident(client, auth[Role.oncall])
    output = tmp_path / "incidents.csv"
    result = runner.invoke(
        app, ["export", "incidents", "--output", str(output), "--system", "中信存管"]
    )
    assert result.exit_code == 0, result.output
    assert [row["system"] for row in read_csv(output.read_bytes())] == ["中信存管"]
    workbook = tmp_path / "items.xlsx"
    result = runner.invoke(app, ["export", "action-items", "--format", "xlsx", "-o", str(workbook)])
    assert result.exit_code == 0, result.output
    assert read_xlsx(workbook.read_bytes())[0][0] == "id"
    refused = runner.invoke(app, ["export", "incidents", "-o", str(output), "--grade", "E"])
    assert refused.exit_code == 2
    assert "--grade" in refused.output


def test_action_items_export_by_owner_with_dates_as_excel_dates(client: TestClient, auth) -> None:
    incident = file_incident(client, auth[Role.oncall])
    due = DEFAULT_CALENDAR.today() + timedelta(days=7)
    for owner in ("王五", "李四"):
        body = {"title": "到账通知字段变更监控", "owner": owner, "verifier": "张三"}
        body["due_date"] = due.isoformat()
        url = f"/api/v1/incidents/{incident['id']}/action-items"
        assert client.post(url, json=body, headers=auth[Role.admin]).status_code == 201
    viewer = auth[Role.viewer]
    rows = read_csv(client.get("/api/v1/export/action-items?owner=王五", headers=viewer).content)
    assert [(row["owner"], row["due_date"], row["status"]) for row in rows] == [
        ("王五", due.isoformat(), "open")
    ]
    xlsx = client.get("/api/v1/export/action-items?format=xlsx&owner=李四", headers=viewer)
    header, row = read_xlsx(xlsx.content)
    assert row[header.index("due_date")] == datetime.combine(due, time())
    assert row[header.index("title")] == "到账通知字段变更监控"


def test_the_team_filters_the_list_the_export_and_the_shell(
    cli_database, client: TestClient, auth, tmp_path: Path
) -> None:
    file_incident(client, auth[Role.oncall], team="存管组")
    file_incident(client, auth[Role.oncall], title="网联快捷支付成功率下跌", system="收单")
    viewer = auth[Role.viewer]

    listed = client.get("/api/v1/incidents", params={"team": "存管组"}, headers=viewer).json()
    assert [item["team"] for item in listed["items"]] == ["存管组"]
    rows = read_csv(client.get("/api/v1/export/incidents?team=存管组", headers=viewer).content)
    assert [row["system"] for row in rows] == ["中信存管"]
    output = tmp_path / "team.csv"
    result = runner.invoke(app, ["export", "incidents", "-o", str(output), "--team", "无此团队"])
    assert result.exit_code == 0, result.output
    assert read_csv(output.read_bytes()) == []
    listed_in_shell = runner.invoke(app, ["incident", "list", "--team", "存管组"])
    assert listed_in_shell.exit_code == 0, listed_in_shell.output
    assert "中信存管" in listed_in_shell.output
    assert "收单" not in listed_in_shell.output
