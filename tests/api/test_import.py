"""Importing weekly reports: the seed round-trips, our own output round-trips, all or nothing."""

import pytest
from sqlmodel import func, select
from typer.testing import CliRunner

from api.cli import app
from incidents.demo import SEED_REPORT
from incidents.models import Incident, Role

SEED = SEED_REPORT.read_text("utf-8")
IMPORT = "/api/v1/import/weekly"
runner = CliRunner()


def post(client, auth, text: str):
    return client.post(
        IMPORT, content=text.encode(), headers={**auth[Role.oncall], "Content-Type": "text/plain"}
    )


def count(session) -> int:
    session.expire_all()
    return session.exec(select(func.count()).select_from(Incident)).one()


def test_the_seed_imports_once_and_regenerates_week_37(client, auth, session) -> None:
    first = post(client, auth, SEED)
    assert first.status_code == 200, first.text
    answer = first.json()
    assert (answer["week"], answer["report_date"], answer["existing"]) == (
        "2023-W37",
        "2023-09-09",
        0,
    )
    created = answer["created"]
    assert len(created) == 4
    by_time = {item["detected_at"][:16]: item for item in created}
    assert by_time["2023-08-31T10:19"]["failed_orders"] == 545
    assert by_time["2023-08-31T10:19"]["grade"] == "C"
    assert by_time["2023-09-07T14:42"]["needs_review"] is True
    assert by_time["2023-09-07T14:42"]["grade"] is None
    assert all(item["report_week"] == "2023-09-09" for item in created)

    again = post(client, auth, SEED).json()
    assert (len(again["created"]), again["existing"]) == (0, 4)
    assert count(session) == 4

    report = client.get("/api/v1/reports/weekly/2023-09-09", headers=auth[Role.viewer]).text
    assert "- 事故数AB级0次，CD级1次\n" in report
    events = report.split("## 生产稳定性事件\n\n", 1)[1]
    assert [line[:14] for line in events.splitlines() if line[:1].isdigit()] == [
        "1. 8/31 10:19 ",
        "2. 9/7 14:42 监",
        "3. 9/7 17:45 监",
        "4. 9/8 00:45 监",
    ]
    assert "（业务影响待确认）" in events


def test_our_own_weekly_section_round_trips(client, auth, session) -> None:
    post(client, auth, SEED)
    ours = client.get("/api/v1/reports/weekly/2023-09-09", headers=auth[Role.viewer]).text
    # The same section imported into an empty log files the same events.
    for incident in session.exec(select(Incident)).all():
        session.delete(incident)
    session.commit()
    answer = post(client, auth, ours).json()
    assert len(answer["created"]) == 4
    again = client.get("/api/v1/reports/weekly/2023-09-09", headers=auth[Role.viewer]).text
    assert again.split("## 生产稳定性事件", 1)[1] == ours.split("## 生产稳定性事件", 1)[1]
    assert "- 事故数AB级0次，CD级1次\n" in again


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("没有标题的文字\n- 9/7 14:42 告警", "heading"),
        ("# 第37周 2023-09-09\n\n## 【其他】\n1. 会议", "events"),
        (
            "# 第37周 2023-09-09\n\n## 生产稳定性事件\n\n1. 9/77 14:42 告警\n2. 9/7 14:42 中断",
            "body",
        ),
    ],
)
def test_a_report_it_cannot_read_is_422_and_imports_nothing(client, auth, session, text, problem):
    response = post(client, auth, text)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][-1] == problem
    assert count(session) == 0


def test_import_needs_utf8_and_the_oncall_role(client, auth, session) -> None:
    latin = client.post(IMPORT, content="# 第37周".encode("gbk"), headers=auth[Role.oncall])
    assert latin.status_code == 422
    viewer = client.post(IMPORT, content=SEED.encode(), headers=auth[Role.viewer])
    assert viewer.status_code == 403
    assert count(session) == 0


def test_cli_import_and_demo(cli_database, session, tmp_path) -> None:
    report = tmp_path / "week37.txt"
    report.write_text(SEED, encoding="utf-8")
    first = runner.invoke(app, ["import", str(report)])
    assert first.exit_code == 0, first.output
    assert "2023-W37: 4 created, 0 existing" in first.output
    assert "2023-W37: 0 created, 4 existing" in runner.invoke(app, ["import", str(report)]).output

    demo = runner.invoke(app, ["demo", "--weeks", "3"])
    assert demo.exit_code == 0, demo.output
    assert runner.invoke(app, ["demo"]).exit_code == 2  # loaded already
    week = runner.invoke(app, ["report", "weekly", "2023-W37"]).output
    assert "- 事故数AB级0次，CD级1次\n" in week
    assert "- 健康分：656" in week
    follow_up = next(line for line in week.splitlines() if line.startswith("- 报警5分钟跟进率"))
    assert "—（0/0" not in follow_up
