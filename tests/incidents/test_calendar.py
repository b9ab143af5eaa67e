"""Working days: mainland China's statutory calendar (holidays, 调休), the team's own file on top,
and Monday to Friday for a year the statutory calendar does not know yet."""

import logging
from datetime import date
from pathlib import Path

import pytest

import incidents.calendar
from incidents.calendar import (
    Calendar,
    CalendarFileError,
    load_team_days,
    parse_team_days,
    statutory_years,
)
from incidents.settings import Settings

TEAM_FILE = """\
# 支付技术部 calendar
[holidays]
2023-09-12 = "封网：iOS 发布"
2023-10-07 = "公司团建，调休日不上班"

[working_days]
"2023-09-16" = "双11 全链路压测"
2023-10-02 = ""
"""


def team_calendar(text: str = TEAM_FILE) -> Calendar:
    team = parse_team_days(text, source_name="team.toml")
    return Calendar(
        team_holidays=frozenset(team.holidays), team_working_days=frozenset(team.working_days)
    )


def refusal(text: str) -> CalendarFileError:
    with pytest.raises(CalendarFileError) as refused:
        parse_team_days(text, source_name="team.toml")
    return refused.value


def test_national_day_2023_counts_its_makeup_weekend_as_working_days() -> None:
    calendar = Calendar()
    # Mid-Autumn and National Day ran together, 9/29-10/6; Saturday 10/7 and Sunday 10/8 were
    # worked in their place.
    assert not calendar.is_working_day(date(2023, 9, 29))
    assert not calendar.is_working_day(date(2023, 10, 2))
    assert calendar.is_working_day(date(2023, 10, 7))
    assert calendar.is_working_day(date(2023, 10, 8))
    # Recovered Thursday 9/28: 10/7, 10/8, 10/9, 10/10, 10/11.
    assert calendar.working_days_after(date(2023, 9, 28), 5) == date(2023, 10, 11)


def test_spring_festival_2024() -> None:
    calendar = Calendar()
    # Holiday 2/10-2/17; Sunday 2/4 and Sunday 2/18 were working days.
    assert calendar.working_days_after(date(2024, 2, 3), 1) == date(2024, 2, 4)
    # Thursday 2/8: Friday 2/9, then 2/18, 2/19, 2/20, 2/21.
    assert calendar.working_days_after(date(2024, 2, 8), 5) == date(2024, 2, 21)


def test_weeks_without_holidays_count_monday_to_friday() -> None:
    calendar = Calendar()
    assert calendar.working_days_after(date(2023, 9, 7), 5) == date(2023, 9, 14)
    assert calendar.working_days_after(date(2023, 9, 9), 1) == date(2023, 9, 11)


def test_the_team_file_wins_over_the_statutory_calendar() -> None:
    calendar = team_calendar()
    assert not calendar.is_working_day(date(2023, 9, 12))  # a Tuesday frozen for a release
    assert calendar.is_working_day(date(2023, 9, 16))  # a Saturday of load testing
    assert not calendar.is_working_day(date(2023, 10, 7))  # a statutory 调休 day given off
    assert calendar.is_working_day(date(2023, 10, 2))  # a statutory holiday worked
    # Thursday 9/7: 9/8, 9/11, (not 9/12), 9/13, 9/14, 9/15.
    assert calendar.working_days_after(date(2023, 9, 7), 5) == date(2023, 9, 15)
    assert calendar.working_days_after(date(2023, 9, 15), 1) == date(2023, 9, 16)


def test_the_settings_build_the_calendar_from_the_team_file(tmp_path: Path) -> None:
    path = tmp_path / "calendar.toml"
    path.write_text(TEAM_FILE, encoding="utf-8")
    calendar = Settings(calendar_file=path).calendar
    assert not calendar.is_working_day(date(2023, 9, 12))
    assert calendar.is_working_day(date(2023, 9, 16))
    assert load_team_days(path).holidays[date(2023, 9, 12)] == "封网：iOS 发布"
    assert Settings().calendar == Calendar()  # no file: the statutory calendar alone


def test_an_unknown_year_counts_monday_to_friday_and_warns_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(incidents.calendar, "_years_warned", set())
    assert 2099 not in statutory_years()
    calendar = Calendar()
    with caplog.at_level(logging.WARNING, logger="stabilog.calendar"):
        assert calendar.working_days_after(date(2099, 1, 2), 1) == date(2099, 1, 5)  # Fri → Mon
        assert calendar.working_days_after(date(2099, 1, 2), 5) == date(2099, 1, 9)
        assert Calendar(timezone="UTC").is_working_day(date(2099, 1, 6))
    warnings = [record for record in caplog.records if record.name == "stabilog.calendar"]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert "no data for 2099" in warnings[0].getMessage()


def test_the_statutory_years_include_the_test_cases() -> None:
    years = statutory_years()
    assert 2023 in years
    assert 2024 in years


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ('[holidays]\n2023-09-12 = "封网\n', 2, "invalid TOML"),
        ('[holidays]\n2023-09-12 = "a"\n2023-09-12 = "b"\n', 3, "invalid TOML"),
        ('[holidays]\n2023-09-12 = "a"\n\n[freeze]\n2023-09-13 = ""\n', 4, "unknown 'freeze'"),
        ('[holidays]\n2023-9-12 = "a"\n', 2, "'2023-9-12' is not a date like 2024-10-08"),
        ('[holidays]\n"2023-02-30" = "a"\n', 2, "2023-02-30: day is out of range"),
        ("[working_days]\n2023-09-16 = true\n", 2, "the value is a note in quotes"),
        ('holidays = ["2023-09-12"]\n', 1, "[holidays] is a table"),
        (
            '[holidays]\n2023-09-12 = "封网"\n[working_days]\n2023-09-13 = ""\n2023-09-12 = ""\n',
            5,
            "2023-09-12 is in [working_days] and in [holidays] (line 2)",
        ),
    ],
)
def test_an_unusable_team_file_is_refused_naming_the_line(
    text: str, line: int, problem: str
) -> None:
    refused = refusal(text)
    assert refused.line == line
    assert problem in refused.problem
    assert str(refused).startswith(f"team.toml line {line}: ")


def test_an_absent_file_is_refused_when_the_settings_build_the_calendar(tmp_path: Path) -> None:
    with pytest.raises(CalendarFileError, match=r"absent\.toml: cannot read"):
        _ = Settings(calendar_file=tmp_path / "absent.toml").calendar


def test_an_empty_file_holds_no_days() -> None:
    team = parse_team_days("# nothing yet\n[holidays]\n", source_name="team.toml")
    assert team.holidays == team.working_days == {}
