"""Times as on-call types them (现在, 10分钟前, a clock without its day), the future refused
unless confirmed, a report week far from detection refused, the time parse endpoint, and one
sentence filed from the shell (`stabilog incident file --text`); the page's 快速登记 box is in
tests/web/test_quick_file_pages.py."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from api.cli import app
from incidents.calendar import DEFAULT_CALENDAR
from incidents.models import Incident, Role

runner = CliRunner()
CALENDAR = DEFAULT_CALENDAR  # Asia/Shanghai, as the test apps run
IN_CHINESE = {"Accept-Language": "zh-CN,zh;q=0.9"}
# Between reading the clock and the server reading it, the minute may turn once.
TURN_OF_A_MINUTE = timedelta(minutes=1)
SENTENCE = (
    "9/7 14:42 监控告警 支付网关超时，失败订单 1,200 笔，影响用户 300 人，涉及金额 52 万元，"
    "资损 3.2 万元，持续 25 分钟，已回滚"
)


def minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def file(client, auth, **fields) -> dict:
    body = {"title": "支付网关超时", "system": "支付网关", "failed_orders": 1200} | fields
    return client.post("/api/v1/incidents", json=body, headers=auth[Role.oncall])


def detected(answer) -> datetime:
    assert answer.status_code == 201, answer.text
    return datetime.fromisoformat(answer.json()["detected_at"]).astimezone(UTC)


@pytest.mark.parametrize(
    ("typed", "ago"),
    [
        ("现在", timedelta(0)),
        ("10分钟前", timedelta(minutes=10)),
        ("10 min ago", timedelta(minutes=10)),
    ],
)
def test_a_time_counted_back_files_at_that_minute_of_the_servers_clock(
    client, auth, typed, ago
) -> None:
    before = minute(datetime.now(UTC))
    filed = detected(file(client, auth, detected_at=typed))
    after = minute(datetime.now(UTC))

    assert before - ago <= filed <= after - ago
    assert filed.second == 0


def test_a_clock_typed_before_it_comes_today_files_as_yesterdays(client, auth) -> None:
    # Two hours ahead: today's has not come (or, past midnight, it was already today's), so
    # either way the clock read is the one of two hours ahead, a day back.
    ahead = datetime.now(CALENDAR.tz) + timedelta(hours=2)

    filed = detected(file(client, auth, detected_at=f"{ahead:%H:%M}"))

    expected = minute(ahead - timedelta(days=1)).astimezone(UTC)
    assert expected <= filed <= expected + TURN_OF_A_MINUTE


def test_a_time_in_the_future_is_refused_naming_it_unless_confirmed(client, auth, session) -> None:
    ahead = datetime.now(CALENDAR.tz) + timedelta(hours=2)
    typed = f"{ahead:%Y-%m-%d %H:%M}"

    refused = file(client, auth, detected_at=typed)

    assert refused.status_code == 422
    (problem,) = refused.json()["detail"]
    assert problem["loc"][-1] == "detected_at"
    assert typed in problem["msg"]
    assert "future" in problem["msg"]
    assert session.exec(select(Incident)).first() is None
    confirmed = file(client, auth, detected_at=typed, confirm_future=True)
    assert detected(confirmed) == datetime.fromisoformat(typed).replace(tzinfo=CALENDAR.tz)
    assert "confirm_future" not in confirmed.json()


def test_a_later_milestone_in_the_future_is_refused_too(client, auth) -> None:
    ahead = datetime.now(CALENDAR.tz) + timedelta(days=1)

    refused = file(client, auth, detected_at="10分钟前", recovered_at=f"{ahead:%Y-%m-%d %H:%M}")

    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"][-1] == "recovered_at"


@pytest.mark.parametrize(("report_week", "accepted"), [("2026-11-02", True), ("2026-11-09", False)])
def test_a_report_week_more_than_eight_weeks_from_detection_is_refused_naming_both(
    client, auth, report_week, accepted
) -> None:
    answer = file(client, auth, detected_at="2026-09-07 14:42", report_week=report_week)

    if accepted:
        assert answer.status_code == 201, answer.text
        return
    assert answer.status_code == 422
    (problem,) = answer.json()["detail"]
    assert problem["loc"][-1] == "report_week"
    assert report_week in problem["msg"]
    assert "2026-09-07 14:42" in problem["msg"]


def test_moving_an_incident_to_a_far_report_week_is_refused(client, auth) -> None:
    incident = file(client, auth, detected_at="2026-09-07 14:42").json()

    answer = client.patch(
        f"/api/v1/incidents/{incident['id']}",
        json={"report_week": "2023-09-09"},
        headers=auth[Role.oncall],
    )

    assert answer.status_code == 422
    assert "2023-09-09" in answer.json()["detail"][0]["msg"]


def test_the_time_parse_endpoint_says_what_filing_will_read(client, auth) -> None:
    before = minute(datetime.now(UTC))
    answer = client.get(
        "/api/v1/time/parse", params={"text": "10分钟前"}, headers=auth[Role.viewer] | IN_CHINESE
    )

    assert answer.status_code == 200, answer.text
    read = answer.json()
    at = datetime.fromisoformat(read["at"])
    assert before - timedelta(minutes=10) <= at <= before - timedelta(minutes=9)
    local = at.astimezone(CALENDAR.tz)
    week = CALENDAR.report_week_of(at, None)
    weekday = "一二三四五六日"[local.weekday()]
    assert read["shown"] == f"{local:%Y-%m-%d} 周{weekday} {local:%H:%M} (第{week.number}周)"
    assert (read["relative"], read["moved_back"], read["in_future"]) == (True, False, False)


def test_the_time_parse_endpoint_says_a_clock_was_taken_as_yesterdays(client, auth) -> None:
    ahead = datetime.now(CALENDAR.tz) + timedelta(hours=2)
    if ahead.date() != datetime.now(CALENDAR.tz).date():
        pytest.skip("two hours ahead is tomorrow: today's clock time is already past")

    english = client.get(
        "/api/v1/time/parse",
        params={"text": f"{ahead:%H:%M}"},
        headers=auth[Role.viewer] | {"Accept-Language": "en-US,en;q=0.9"},
    ).json()

    assert english["moved_back"] is True
    assert f"today's {ahead:%H:%M} is still ahead, so yesterday's" in english["shown"]
    assert "(week " in english["shown"]


def test_the_time_parse_endpoint_flags_the_future_and_refuses_the_unreadable(client, auth) -> None:
    ahead = datetime.now(CALENDAR.tz) + timedelta(days=1)
    future = client.get(
        "/api/v1/time/parse",
        params={"text": f"{ahead:%Y-%m-%d %H:%M}"},
        headers=auth[Role.viewer] | IN_CHINESE,
    ).json()
    unreadable = client.get(
        "/api/v1/time/parse", params={"text": "9/77 14:42"}, headers=auth[Role.viewer]
    )

    assert future["in_future"] is True
    assert "晚于现在" in future["shown"]
    assert unreadable.status_code == 422
    (problem,) = unreadable.json()["detail"]
    assert problem["loc"] == ["query", "text"]
    assert "there is no 9/77" in problem["msg"]


def test_the_time_parse_endpoint_needs_a_token(client) -> None:
    assert client.get("/api/v1/time/parse", params={"text": "现在"}).status_code == 401


# -- stabilog incident file --text --------------------------------------------------------


def test_cli_text_prints_what_it_read_and_the_grade_and_files_with_yes(
    cli_database, session
) -> None:
    result = runner.invoke(app, ["incident", "file", "--text", SENTENCE, "--yes"])

    assert result.exit_code == 0, result.output
    assert "filed incident" in result.output
    assert "(B:" in result.output
    incident = session.exec(select(Incident)).one()
    assert (incident.title, incident.system, incident.failed_orders) == (
        "监控告警 支付网关超时",
        "支付网关",
        1200,
    )
    assert (incident.impact_minutes, incident.loss_cny, incident.remediation) == (
        25,
        32000,
        "已回滚",
    )
    assert f"{CALENDAR.local(incident.detected_at):%m-%d %H:%M}" == "09-07 14:42"


def test_cli_text_asks_before_filing_and_a_flag_wins_over_the_sentence(
    cli_database, session, monkeypatch
) -> None:
    monkeypatch.setattr("api.cli.incidents.stdin_is_terminal", lambda: True)

    declined = runner.invoke(app, ["incident", "file", "--text", SENTENCE], input="n\n")
    assert declined.exit_code != 0
    assert "--failed-orders" in declined.output
    assert "1200" in declined.output
    assert "grade: B" in declined.output
    assert session.exec(select(Incident)).first() is None

    accepted = runner.invoke(
        app, ["incident", "file", "--text", SENTENCE, "--system", "网联"], input="y\n"
    )
    assert accepted.exit_code == 0, accepted.output
    assert session.exec(select(Incident)).one().system == "网联"


def test_cli_text_without_a_terminal_or_yes_files_nothing(cli_database, session) -> None:
    result = runner.invoke(app, ["incident", "file", "--text", SENTENCE])

    assert result.exit_code != 0
    assert "--yes" in result.output
    assert session.exec(select(Incident)).first() is None
