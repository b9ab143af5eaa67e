"""Importing weekly reports: the seed round-trips, our own output round-trips, all or nothing;
the fixture reports others wrote import with their expected grades; dry runs write nothing."""

import json
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, SQLModel, func, select
from typer.testing import CliRunner

from api.cli import app
from incidents.actors import Actor
from incidents.audit import AuditEntry
from incidents.demo import SEED_REPORT
from incidents.errors import Invalid
from incidents.figures import figures_of
from incidents.grading import load_policy
from incidents.importer import decode_report, import_weekly, resolve_review, review_queue
from incidents.models import Grade, Incident, Role

SEED = SEED_REPORT.read_text("utf-8")
IMPORT = "/api/v1/import/weekly"
REPORTS = Path(__file__).parents[1] / "incidents" / "reports"
FIXTURES = sorted(REPORTS.glob("*.expected.json"))
IMPORTER = Actor(name="importer", role=Role.oncall)
POLICY = load_policy(None)
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


def test_import_needs_text_and_the_oncall_role(client, auth, session) -> None:
    binary = client.post(IMPORT, content=b"PK\x03\x04\x00", headers=auth[Role.oncall])
    assert binary.status_code == 422
    assert binary.json()["detail"][0]["loc"][-1] == "body"
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


# --- reports others wrote: tests/incidents/reports/*.expected.json -------------------------------


def expected_of(path: Path) -> dict:
    return json.loads(path.read_text("utf-8"))


def fixture_text(expected: dict) -> str:
    data = (REPORTS / expected["report"]).read_bytes()
    if expected["encoding"] == "gbk":
        with pytest.raises(UnicodeDecodeError):
            data.decode("utf-8")
    return decode_report(data)


def test_there_are_a_dozen_fixture_reports_one_in_gbk() -> None:
    encodings = [expected_of(path)["encoding"] for path in FIXTURES]

    assert len(FIXTURES) >= 12
    assert "gbk" in encodings


def _as_stored(value):
    return f"{value.normalize():f}" if isinstance(value, Decimal) else value


@pytest.mark.parametrize("path", FIXTURES, ids=lambda path: path.name.split(".")[0])
def test_a_fixture_report_imports_with_its_expected_grades(session, settings, path) -> None:
    expected = expected_of(path)

    result = import_weekly(
        session, fixture_text(expected), actor=IMPORTER, policy=POLICY, settings=settings
    )
    session.commit()

    assert result.week.report_date.isoformat() == expected["report_date"]
    lines = [planned.event.line_number for planned in result.plan.events]
    stored = dict(zip(lines, result.created, strict=True))
    assert lines == [event["line"] for event in expected["events"]]
    for event in expected["events"]:
        incident = stored[event["line"]]
        wanted = {name: value for name, value in event.items() if name != "line"}
        got = {name: _as_stored(getattr(incident, name)) for name in wanted}
        assert got == wanted, f"line {event['line']}"
    reconciliation = result.plan.reconciliation
    assert reconciliation is not None
    assert (reconciliation.stated, reconciliation.agrees) == (
        expected["stated"],
        expected["agrees"],
    )
    assert reconciliation.reason == expected.get("reason", "")
    week_figures = figures_of(session, result.week)
    assert {name: _as_stored(value) for name, value in week_figures.items()} == {
        name: _as_stored(Decimal(value)) for name, value in expected["figures"].items()
    }


def _report_of(client, auth, week: str) -> str:
    return client.get(f"/api/v1/reports/weekly/{week}", headers=auth[Role.viewer]).text


def test_counts_that_disagree_are_flagged_then_reviewed_into_agreement(
    client, auth, session, settings
) -> None:
    text = (REPORTS / "w40_counts_disagree.md").read_text("utf-8")

    answer = post(client, auth, text).json()

    assert answer["reconciliation"] == {
        "stated": {"AB": 1, "CD": 0},
        "computed": {"AB": 0, "CD": 1},
        "agrees": False,
        "reason": "report says AB 1, computed AB 0; report says CD 0, computed CD 1",
    }
    assert answer["needs_review"] == [10]
    flagged = next(event for event in answer["events"] if event["line_number"] == 10)
    assert flagged["grade"] == "D"
    assert flagged["review_reason"].startswith("report says AB 1, computed AB 0")
    assert "- 事故数AB级0次，CD级1次\n" in _report_of(client, auth, "2023-09-30")

    session.expire_all()
    (item,) = review_queue(session)
    assert item.reason.startswith("report says AB 1, computed AB 0")
    resolve_review(
        session,
        item.incident.id,
        Grade.B,
        actor=IMPORTER,
        policy=POLICY,
        calendar=settings.calendar,
    )
    session.commit()

    assert review_queue(session) == []
    override = session.exec(select(AuditEntry).where(AuditEntry.action == "override")).one()
    assert (override.new_value, override.reason) == ("B", "override: imported report")
    assert "- 事故数AB级1次，CD级0次\n" in _report_of(client, auth, "2023-09-30")
    again = post(client, auth, text).json()
    assert (again["existing"], again["reconciliation"]["agrees"], again["needs_review"]) == (
        2,
        True,
        [],
    )


def test_review_can_say_there_was_no_business_impact(session, settings) -> None:
    import_weekly(
        session,
        (REPORTS / "w43_windows.md").read_text("utf-8"),
        actor=IMPORTER,
        policy=POLICY,
        settings=settings,
    )
    (item,) = review_queue(session)
    assert item.reason == "业务影响待确认"

    incident = resolve_review(
        session, item.incident.id, None, actor=IMPORTER, policy=POLICY, calendar=settings.calendar
    )

    assert (incident.grade, incident.business_impact, incident.needs_review) == (None, False, False)
    assert review_queue(session) == []


def row_counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        return {
            table.name: session.exec(select(func.count()).select_from(table)).one()
            for table in SQLModel.metadata.sorted_tables
        }


def test_a_dry_run_shows_every_value_with_its_text_and_writes_nothing(client, auth, engine) -> None:
    before = row_counts(engine)
    text = (REPORTS / "w36_payout_delay.md").read_text("utf-8")

    response = client.post(
        IMPORT + "?dry_run=true",
        content=text.encode(),
        headers={**auth[Role.oncall], "Content-Type": "text/plain"},
    )

    assert response.status_code == 200, response.text
    assert row_counts(engine) == before
    answer = response.json()
    assert (answer["dry_run"], answer["created"], answer["existing"]) == (True, [], 0)
    delayed = answer["events"][0]
    assert (delayed["grade"], delayed["failed_transactions"], delayed["impact_minutes"]) == (
        "B",
        1000,
        18,
    )
    assert delayed["evidence"] == {
        "detected_at": "8/29 10:02",
        "system": "代付",
        "detection": "监控",
        "failed_transactions": "千余笔延迟",
        "business_impact": "千余笔延迟",
        "impact_minutes": "10:20 全部到账",
    }
    assert answer["stated_figures"]["year_availability"] == "99.991"
    assert answer["figures"]["health_score"] == "641"


def test_cli_dry_run_prints_the_evidence_and_stores_nothing(cli_database, engine) -> None:
    before = row_counts(engine)

    result = runner.invoke(app, ["import", "--dry-run", str(REPORTS / "w39_gbk.txt")])

    assert result.exit_code == 0, result.output
    assert row_counts(engine) == before
    assert "line 10\twould create\tC\t网联通道超时" in result.output
    assert "failed_orders: 356  ← '失败订单356笔'" in result.output
    assert "2023-W39: 2 would be created, 0 existing (dry run: nothing stored)" in result.output


def test_cli_imports_a_folder_file_by_file(cli_database, session, tmp_path) -> None:
    for name in ("w36_payout_delay.md", "w39_gbk.txt", "w40_counts_disagree.md"):
        (tmp_path / name).write_bytes((REPORTS / name).read_bytes())
    (tmp_path / "a_binary.xlsx").write_bytes(b"PK\x03\x04\x00\x00binary")
    (tmp_path / "b_huge.md").write_text("# 第1周 2023-01-07\n" + "x" * 1_000_001)
    (tmp_path / "c_notes.md").write_text("# 会议纪要\n- 讨论了下周计划", encoding="utf-8")
    (tmp_path / "d_bad_item.md").write_text(
        "# 第37周 2023-09-09\n\n## 生产稳定性事件\n\n- 9/77 14:42 告警\n", encoding="utf-8"
    )

    first = runner.invoke(app, ["import", str(tmp_path)])

    assert first.exit_code == 1, first.output
    outcomes = dict(line.split("\t", 1) for line in first.output.splitlines())
    assert outcomes["a_binary.xlsx"].startswith("failed\tfile: binary data")
    assert outcomes["b_huge.md"].startswith("failed\tfile: 1,000,022 bytes")
    assert outcomes["c_notes.md"].startswith("failed\theading: ")
    assert outcomes["d_bad_item.md"].startswith(
        "failed\tbody: nothing imported; unreadable events: line 5"
    )
    assert outcomes["w36_payout_delay.md"] == "imported\t2023-W36: 2 created, 0 existing"
    assert outcomes["w39_gbk.txt"] == "imported\t2023-W39: 2 created, 0 existing"
    assert outcomes["w40_counts_disagree.md"] == (
        "needs review\t2023-W40: 2 created, 0 existing; 1 to review"
        " (report says AB 1, computed AB 0; report says CD 0, computed CD 1)"
    )
    assert count(session) == 6

    again = runner.invoke(app, ["import", str(tmp_path)])
    assert "w36_payout_delay.md\tskipped\t2023-W36: 0 created, 2 existing (imported already)" in (
        again.output
    )
    assert count(session) == 6


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00", "binary data (a NUL byte at offset 8)"),
        ("# 第37周".encode("utf-16"), "binary data"),
        (b"\xff\xfe\xfa", "neither UTF-8 nor GBK"),
        (b"#" * 1_000_001, "at most 1 MB"),
        ("# 第37周 2023-09-09\x07".encode(), "control characters"),
    ],
)
def test_a_file_that_is_not_text_is_refused_clearly(data, problem) -> None:
    with pytest.raises(Invalid) as refused:
        decode_report(data)

    assert problem in refused.value.problems[0][1]


def test_gbk_and_utf8_with_bom_decode() -> None:
    assert decode_report("第37周".encode("gbk")) == "第37周"
    assert decode_report("第37周".encode("utf-8-sig")) == "第37周"


def test_the_review_queue_through_the_api(client, auth, session) -> None:
    post(client, auth, (REPORTS / "w40_counts_disagree.md").read_text("utf-8"))

    queue = client.get("/api/v1/import/review", headers=auth[Role.viewer]).json()
    (item,) = queue
    assert item["reason"].startswith("report says AB 1, computed AB 0")
    incident_id = item["incident"]["id"]
    viewer = client.post(
        f"/api/v1/import/review/{incident_id}", json={"grade": "B"}, headers=auth[Role.viewer]
    )
    misspelt = client.post(
        f"/api/v1/import/review/{incident_id}", json={"grad": "B"}, headers=auth[Role.oncall]
    )
    graded = client.post(
        f"/api/v1/import/review/{incident_id}", json={"grade": "B"}, headers=auth[Role.oncall]
    )
    again = client.post(
        f"/api/v1/import/review/{incident_id}", json={"grade": "A"}, headers=auth[Role.oncall]
    )

    assert (viewer.status_code, misspelt.status_code, again.status_code) == (403, 422, 422)
    assert graded.status_code == 200, graded.text
    assert graded.json()["grade"] == "B"
    assert (graded.json()["grade_overridden"], graded.json()["needs_review"]) == (True, False)
    assert client.get("/api/v1/import/review", headers=auth[Role.viewer]).json() == []


def test_a_mistyped_rate_is_shown_but_not_kept(session, settings) -> None:
    text = (
        "# 第37周 2023-09-09\n\n- 入金有效成功率：999.8%\n- 出金有效成功率：99.9%\n"
        "- 健康分：650\n\n## 生产稳定性事件\n\n- 9/7 14:42 监控发现告警，未影响业务\n"
    )

    result = import_weekly(session, text, actor=IMPORTER, policy=POLICY, settings=settings)

    assert result.plan.parsed.stated_figures["deposit_success_rate"].value == Decimal("999.8")
    assert figures_of(session, result.week) == {
        "payout_success_rate": Decimal("99.9"),
        "health_score": Decimal("650"),
    }
