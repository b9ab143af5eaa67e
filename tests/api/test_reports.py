"""The weekly section, metrics and weekly figures through the API and the CLI."""

import pytest
import typer
from typer.testing import CliRunner

from api.cli import app
from incidents.figures import FIGURES, FigureValues
from incidents.models import Role
from tests.builders import seed_pos_incident

runner = CliRunner()
WEEK = "/api/v1/reports/weekly"


@pytest.fixture
def seed_week(client, auth) -> None:
    oncall = auth[Role.oncall]
    for body in (
        seed_pos_incident(),
        seed_pos_incident(
            title="银商移动专线中断",
            system="银商专线",
            detected_at="2023-09-08 00:45",
            description="监控发现凌晨00:45-01:03分银商移动专线中断",
            remediation="自动切换到博兴机房的联通专线上，期间银商交易15笔均没有受影响。",
            failed_orders=None,
            business_impact=False,
            report_week=None,
        ),
    ):
        assert client.post("/api/v1/incidents", json=body, headers=oncall).status_code == 201
    client.put("/api/v1/weekly-figures/2023-09-02", json={"health_score": 635}, headers=oncall)
    figures = {"deposit_success_rate": "99.998", "health_score": 656, "health_rank": 5}
    assert client.put("/api/v1/weekly-figures/2023-W37", json=figures, headers=oncall).is_success


def test_weekly_markdown_in_the_teams_words(client, auth, seed_week) -> None:
    response = client.get(f"{WEEK}/2023-09-09", headers=auth[Role.viewer])
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/markdown")
    text = response.text
    assert text.startswith("# 第37周 2023-09-09\n")
    assert "- 事故数AB级0次，CD级1次\n" in text
    assert "- 无业务影响的稳定性事件1次\n" in text
    assert "- 入金有效成功率：99.998%\n" in text
    assert "- 健康分：656（上周 635，+21）\n" in text
    assert "- 报警5分钟跟进率：—（0/0，上周 —）\n" in text
    events = text.split("## 生产稳定性事件\n\n", 1)[1]
    assert events.splitlines() == [
        "1. 8/31 10:19 中信存管pos入金银行到账通知中付款方账户名和账号变动，系统判断为网银到账，"
        "并处理失败",
        "   处置：紧急上线后问题解决",
        "2. 9/8 00:45 监控发现凌晨00:45-01:03分银商移动专线中断",
        "   处置：自动切换到博兴机房的联通专线上，期间银商交易15笔均没有受影响。",
    ]
    same = client.get(f"{WEEK}/2023-W37", headers=auth[Role.viewer]).text
    assert same == text


def test_weekly_in_english_json_and_html(client, auth, seed_week) -> None:
    viewer = auth[Role.viewer]
    english = client.get(f"{WEEK}/2023-09-09", params={"lang": "en"}, headers=viewer).text
    assert english.startswith("# Week 37 2023-09-09\n")
    assert "- Incidents: 0 of grade A/B, 1 of grade C/D\n" in english
    data = client.get(f"{WEEK}/2023-09-09", params={"format": "json"}, headers=viewer).json()
    assert data["week"] == {
        "label": "2023-W37",
        "number": 37,
        "year": 2023,
        "monday": "2023-09-04",
        "report_date": "2023-09-09",
        "numbering": "jan1",
    }
    assert data["metrics"]["incidents_by_grade"]["C"] == 1
    assert data["metrics"]["rates"]["monitoring_detection_rate"]["numerator"] == 2
    assert [event["detected_at"][:16] for event in data["events"]] == [
        "2023-08-31T10:19",
        "2023-09-08T00:45",
    ]
    html = client.get(f"{WEEK}/2023-09-09", params={"format": "html"}, headers=viewer)
    assert html.headers["content-type"].startswith("text/html")
    assert "<li>事故数AB级0次，CD级1次</li>" in html.text


def test_user_text_is_escaped_in_the_html_report(client, auth) -> None:
    evil = seed_pos_incident(description="<script>alert(1)</script>", remediation="<b>x</b>")
    client.post("/api/v1/incidents", json=evil, headers=auth[Role.oncall])
    html = client.get(
        f"{WEEK}/2023-09-09", params={"format": "html"}, headers=auth[Role.viewer]
    ).text
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;x&lt;/b&gt;" in html


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (f"{WEEK}/next-week", "week"),
        (f"{WEEK}/2023-W99", "week"),
        (f"{WEEK}/2023-09-09?format=pdf", "format"),
        (f"{WEEK}/2023-09-09?lang=fr", "lang"),
        ("/api/v1/metrics?from=2023-09-10 00:00&to=2023-09-01 00:00", "to"),
        ("/api/v1/metrics?from=2023-09-10 00:00", "to"),
        ("/api/v1/metrics?from=soon&to=2023-09-01 00:00", "from"),
    ],
)
def test_bad_report_and_metrics_requests_are_422(client, auth, path, field) -> None:
    response = client.get(path, headers=auth[Role.viewer])
    assert response.status_code == 422, response.text
    assert field in [error["loc"][-1] for error in response.json()["detail"]]


def test_metrics_over_a_window_with_the_previous_one(client, auth, seed_week) -> None:
    response = client.get(
        "/api/v1/metrics",
        params={"from": "2023-09-04 00:00", "to": "2023-09-11 00:00"},
        headers=auth[Role.viewer],
    )
    assert response.status_code == 200
    data = response.json()
    # A plain window counts by detection time: the 8/31 event is in the previous window.
    assert data["incidents"] == 1
    assert data["rates"]["monitoring_detection_rate"]["previous"] == {
        "numerator": 1,
        "denominator": 1,
        "value": 1.0,
    }


def test_figures_are_checked_and_kept_per_week(client, auth) -> None:
    oncall = auth[Role.oncall]
    bad = client.put(
        "/api/v1/weekly-figures/2023-W37", json={"deposit_success_rate": 120}, headers=oncall
    )
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"][-1] == "deposit_success_rate"
    unknown = client.put("/api/v1/weekly-figures/2023-W37", json={"nps": 3}, headers=oncall)
    assert unknown.status_code == 422
    assert unknown.json()["detail"][0]["loc"][-1] == "nps"
    assert client.get("/api/v1/weekly-figures/2023-W37", headers=oncall).json() == {}
    viewer = client.put(
        "/api/v1/weekly-figures/2023-W37", json={"health_score": 1}, headers=auth[Role.viewer]
    )
    assert viewer.status_code == 403


def test_cli_report_weekly_prints_the_same_section(cli_database, client, auth, seed_week):
    result = runner.invoke(app, ["report", "weekly", "2023-09-09"])
    assert result.exit_code == 0, result.output
    api = client.get(f"{WEEK}/2023-09-09", headers=auth[Role.viewer]).text
    assert result.output == api
    assert runner.invoke(app, ["report", "weekly", "someday"]).exit_code == 2
    figures = runner.invoke(app, ["figures", "set", "2023-W38", "--health-score", "660"])
    assert figures.exit_code == 0, figures.output
    assert "health_score\t660" in figures.output


def test_the_figures_api_and_cli_take_are_the_domains_figures(cli_database) -> None:
    assert set(FigureValues.model_fields) == set(FIGURES)
    command = typer.main.get_command(app).commands["figures"].commands["set"]
    assert [param.name for param in command.params] == ["week", *FIGURES]


def test_the_cli_refuses_an_unknown_or_unreadable_figure(cli_database) -> None:
    unknown = runner.invoke(app, ["figures", "set", "2023-W38", "--nps", "3"])
    assert unknown.exit_code == 2
    assert "No such option: --nps" in unknown.output
    unreadable = runner.invoke(app, ["figures", "set", "2023-W38", "--health-score", "lots"])
    assert unreadable.exit_code == 2
    assert "--health-score: Input should be a valid decimal" in unreadable.output
    too_fine = runner.invoke(
        app, ["figures", "set", "2023-W38", "--deposit-success-rate", "99.99999"]
    )
    assert too_fine.exit_code == 2
    assert "--deposit-success-rate: Decimal input should have no more than 4" in too_fine.output
    assert (
        runner.invoke(app, ["figures", "set", "2023-W38", "--health-score", "660"]).exit_code == 0
    )


def test_the_year_availability_the_team_reported_wins_over_the_computed_one(
    client, auth, seed_week
) -> None:
    viewer, oncall = auth[Role.viewer], auth[Role.oncall]
    computed = client.get(f"{WEEK}/2023-W37", headers=viewer).text
    assert "- 支付系统年度可用性：100.000%\n" in computed  # the filed events carry no minutes

    stated = {"year_availability": "99.95"}
    assert client.put("/api/v1/weekly-figures/2023-W37", json=stated, headers=oncall).is_success
    text = client.get(f"{WEEK}/2023-W37", headers=viewer).text
    assert "- 支付系统年度可用性：99.95%\n" in text
    assert text.count("年度可用性") == 1  # not listed again among the payment figures
    assert "- 支付系统年度可用性：100.000%\n" in client.get(f"{WEEK}/2023-W38", headers=viewer).text
