"""The settings an app is created with decide its calendar: the zone typed times are read and
answered in, and which report week an incident falls in. Two apps on one database, one in
Shanghai and one in UTC, never mix their zones."""

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from incidents.calendar import Calendar
from incidents.models import Role
from incidents.settings import Settings


@pytest.fixture
def utc_client(engine, database_url: str) -> Iterator[TestClient]:
    settings = Settings(database_url=database_url, timezone="UTC", week_numbering="iso")
    with TestClient(create_app(settings)) as client:
        yield client


def test_each_app_reads_and_answers_times_in_its_own_zone(client, utc_client, auth) -> None:
    body = {"title": "网关超时", "detected_at": "2023-09-07 14:42"}
    in_shanghai = client.post("/api/v1/incidents", json=body, headers=auth[Role.oncall])
    in_utc = utc_client.post("/api/v1/incidents", json=body, headers=auth[Role.oncall])
    assert in_shanghai.status_code == in_utc.status_code == 201
    assert in_shanghai.json()["detected_at"] == "2023-09-07T14:42:00+08:00"
    assert in_utc.json()["detected_at"] == "2023-09-07T14:42:00+00:00"
    # The same stored row, shown by the other app, in that app's zone.
    shown = client.get(f"/api/v1/incidents/{in_utc.json()['id']}", headers=auth[Role.viewer])
    assert shown.json()["detected_at"] == "2023-09-07T22:42:00+08:00"


def test_report_weeks_follow_the_apps_calendar(client, utc_client, auth) -> None:
    # Monday 04:00 in Shanghai is still Sunday evening in UTC: another report week there.
    body = {"title": "夜间批量失败", "detected_at": "2023-09-04T04:00:00+08:00"}
    filed = client.post("/api/v1/incidents", json=body, headers=auth[Role.oncall])
    assert filed.status_code == 201

    def titles(app_client: TestClient, week: str) -> list[str]:
        answer = app_client.get(f"/api/v1/incidents?week={week}", headers=auth[Role.viewer])
        assert answer.status_code == 200, answer.text
        return [item["title"] for item in answer.json()["items"]]

    assert titles(client, "2023-09-09") == ["夜间批量失败"]
    assert titles(utc_client, "2023-09-09") == []
    assert titles(utc_client, "2023-09-03") == ["夜间批量失败"]
    # The UTC app numbers weeks the ISO way: the week of 2023-09-03 is ISO week 35.
    assert titles(utc_client, "2023-W35") == ["夜间批量失败"]
    assert titles(client, "2023-W37") == ["夜间批量失败"]


def test_the_calendar_answers_the_week_membership_rule_both_ways() -> None:
    calendar = Calendar()
    detected = Calendar(timezone="UTC").day_start(date(2023, 9, 3))  # 08:00 in Shanghai
    assert calendar.report_week_of(detected, None).label == "2023-W36"
    # A named report week wins over the week of detection, as the seed's 8/31 event shows.
    assert calendar.report_week_of(detected, date(2023, 9, 9)).label == "2023-W37"


def test_working_days_skip_weekends() -> None:
    calendar = Calendar()
    assert calendar.working_days_after(date(2023, 9, 7), 5) == date(2023, 9, 14)  # Thu → Thu
    assert calendar.working_days_after(date(2023, 9, 9), 1) == date(2023, 9, 11)  # Sat → Mon


def test_an_unknown_zone_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="Mars/Olympus"):
        Calendar(timezone="Mars/Olympus")


def postmortem_due_date(client: TestClient, auth, recovered_at: str) -> str:
    """The due date a postmortem written without one gets, for an incident recovered then."""
    body = {"title": "收单通道超时", "detected_at": recovered_at, "recovered_at": recovered_at}
    filed = client.post("/api/v1/incidents", json=body, headers=auth[Role.oncall])
    assert filed.status_code == 201, filed.text
    url = f"/api/v1/incidents/{filed.json()['id']}/postmortem"
    written = client.put(url, json={"summary": "通道超时"}, headers=auth[Role.oncall])
    assert written.status_code == 200, written.text
    return written.json()["due_date"]


def test_postmortem_due_dates_follow_chinas_statutory_calendar(client, auth) -> None:
    # Thursday 9/28, before the Mid-Autumn + National Day holiday 9/29-10/6: Saturday 10/7 and
    # Sunday 10/8 were worked in its place, so 10/7, 10/8, 10/9, 10/10, 10/11.
    assert postmortem_due_date(client, auth, "2023-09-28 11:00") == "2023-10-11"
    # Thursday 2024-02-08: Friday 2/9, then the Spring Festival holiday 2/10-2/17, then Sunday
    # 2/18 (worked), 2/19, 2/20, 2/21.
    assert postmortem_due_date(client, auth, "2024-02-08 11:00") == "2024-02-21"


def test_postmortem_due_dates_follow_the_teams_calendar_file(
    engine, database_url: str, auth, tmp_path: Path
) -> None:
    team_file = tmp_path / "calendar.toml"
    team_file.write_text(
        '[holidays]\n2023-09-12 = "封网"\n\n[working_days]\n2023-09-16 = "压测"\n', "utf-8"
    )
    settings = Settings(database_url=database_url, calendar_file=team_file)
    with TestClient(create_app(settings)) as client:
        # Thursday 9/7: 9/8, 9/11, (9/12 frozen), 9/13, 9/14, 9/15.
        assert postmortem_due_date(client, auth, "2023-09-07 15:10") == "2023-09-15"
        # Thursday 9/14: 9/15, Saturday 9/16 (worked), 9/18, 9/19, 9/20.
        assert postmortem_due_date(client, auth, "2023-09-14 15:10") == "2023-09-20"
