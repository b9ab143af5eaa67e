"""重复故障率 on a hand-built data set: which incidents of week 37 repeat a system and 复盘
root-cause category of the 90 days before them, and which are not counted at all."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from incidents import metrics, report
from incidents.actors import Actor
from incidents.calendar import DEFAULT_CALENDAR
from incidents.grading import Targets, load_policy
from incidents.models import IncidentCreate, Postmortem, Role, RootCauseCategory
from incidents.service import create_incident
from incidents.settings import Settings
from incidents.weeks import parse_week

SHANGHAI = ZoneInfo("Asia/Shanghai")
ONCALL = Actor("oncall-user", Role.oncall)
WEEK_37 = parse_week("2023-09-09")  # Monday 9/4 – Sunday 9/10


def incident(
    session: Session,
    detected: str,
    system: str | None,
    category: RootCauseCategory | None,
    *,
    postmortem: bool = True,
    report_week: date | None = None,
) -> None:
    filed = create_incident(
        session,
        IncidentCreate(
            title=f"{system} {category}",
            system=system,
            detected_at=datetime.fromisoformat(detected).replace(tzinfo=SHANGHAI),
            report_week=report_week,
        ),
        actor=ONCALL,
        policy=load_policy(None),
        calendar=DEFAULT_CALENDAR,
    )
    if postmortem:
        session.add(Postmortem(incident_id=filed.id, root_cause_category=category))
    session.commit()


@pytest.fixture
def repeats(session: Session) -> Session:
    dependency, change = RootCauseCategory.dependency, RootCauseCategory.change
    config, data = RootCauseCategory.config, RootCauseCategory.data
    # Before the week.
    incident(session, "2023-06-10 10:00", "出金", dependency)
    incident(session, "2023-05-01 10:00", "收单", config)
    incident(session, "2023-06-08 10:00", "清结算", data)
    incident(session, "2023-06-07 09:59", "风控", data)
    # The week: 8 incidents with a system and a category, 4 of them repeats.
    incident(session, "2023-09-05 10:00", "出金", dependency)  # repeat: 6/10 is 87 days before
    incident(session, "2023-09-06 10:00", "出金", change)  # first of its category
    incident(session, "2023-08-30 10:00", "入金", dependency, report_week=date(2023, 9, 9))
    incident(session, "2023-09-06 10:00", "入金", dependency)  # repeat of 8/30, of this week
    incident(session, "2023-09-07 10:00", "入金", dependency)  # repeat
    incident(session, "2023-09-07 10:00", "收单", config)  # 5/1 is 129 days before
    incident(session, "2023-09-06 10:00", "清结算", data)  # repeat: exactly 90 days
    incident(session, "2023-09-05 10:00", "风控", data)  # 90 days and a minute: no
    # Not counted at all: no 复盘, no system, no category.
    incident(session, "2023-09-08 10:00", "出金", None, postmortem=False)
    incident(session, "2023-09-08 11:00", None, dependency)
    incident(session, "2023-09-08 12:00", "出金", None)
    return session


def compute(session: Session, week) -> metrics.Metrics:
    window = metrics.Window.of_week(week, DEFAULT_CALENDAR)
    return metrics.compute(session, window, Settings(database_url="sqlite://"), targets=Targets())


def parts(rate: metrics.Rate) -> tuple[int, int]:
    return rate.numerator, rate.denominator


def test_repeats_of_a_system_and_category_within_90_days(repeats) -> None:
    assert parts(compute(repeats, WEEK_37).repeat_incident_rate) == (4, 8)
    # The week before: 8/30 counts in week 37 by its report week; nothing else has a category.
    assert parts(compute(repeats, WEEK_37.shifted(-1)).repeat_incident_rate) == (0, 0)


def test_any_window_counts_by_detection(repeats) -> None:
    # September 6 alone: 出金 change (first), 入金 dependency (repeat of 8/30), 清结算 (repeat).
    start = datetime(2023, 9, 6, tzinfo=SHANGHAI)
    window = metrics.Window(start, datetime(2023, 9, 7, tzinfo=SHANGHAI))
    computed = metrics.compute(
        repeats, window, Settings(database_url="sqlite://"), targets=Targets()
    )
    assert parts(computed.repeat_incident_rate) == (2, 3)


def test_the_metrics_answer_carries_it_beside_last_weeks(repeats) -> None:
    shown = metrics.as_dict(compute(repeats, WEEK_37), compute(repeats, WEEK_37.shifted(-1)))
    assert shown["rates"]["repeat_incident_rate"] == {
        "numerator": 4,
        "denominator": 8,
        "value": 0.5,
        "previous": {"numerator": 0, "denominator": 0, "value": None},
    }


def section(session: Session, week, lang: report.Lang = "zh") -> str:
    built = report.build(session, week, Settings(database_url="sqlite://"), lang, targets=Targets())
    return report.to_markdown(built)


def test_the_weekly_section_lists_it_when_this_week_or_the_last_counts_any(repeats) -> None:
    assert "- 重复故障率：50.0%（4/8，上周 —）\n" in section(repeats, WEEK_37)
    assert "- Repeat incidents: 50.0% (4/8, last week —)\n" in section(repeats, WEEK_37, "en")
    assert "- 重复故障率：—（0/0，上周 50.0%）\n" in section(repeats, WEEK_37.shifted(1))
    # Two weeks on, neither week counts any: the line is left out, as in weeks before 复盘.
    assert "重复故障率" not in section(repeats, WEEK_37.shifted(2))
    assert "重复故障率" not in section(repeats, WEEK_37.shifted(-1))
