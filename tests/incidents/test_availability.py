"""The week's availability on the union of impact intervals, checked against minutes counted by
hand: overlapping incidents of one system count their overlap once, for the system and overall."""

from datetime import date, datetime

import pytest
from sqlmodel import Session

from incidents import metrics
from incidents.grading import load_policy
from incidents.settings import Settings
from incidents.weeks import parse_week
from tests.builders import file_in_domain
from tests.incidents.test_metrics import SHANGHAI

WEEK_MINUTES = 7 * 24 * 60


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def impacting(session: Session, system: str, began: str, recovered: str, **fields) -> None:
    file_in_domain(
        session,
        title=f"{system}交易失败",
        system=system,
        occurred_at=local(began),
        detected_at=local(began),
        recovered_at=local(recovered),
        detection="monitoring",
        failed_orders=50,
        **fields,
    )


def week_availability(session: Session) -> dict[str, metrics.Availability]:
    settings = Settings(database_url="sqlite://", timezone="Asia/Shanghai")
    week = parse_week("2023-W37")
    computed = metrics.compute(
        session,
        metrics.Window.of_week(week, settings.calendar),
        settings,
        targets=load_policy(None).targets,
    )
    return {row.system: row for row in computed.availability}


def test_overlapping_incidents_of_a_system_count_their_overlap_once(session: Session) -> None:
    impacting(session, "收单", "2023-09-05 10:00", "2023-09-05 10:40")
    impacting(session, "收单", "2023-09-05 10:20", "2023-09-05 11:00")  # 20 min shared
    impacting(session, "收单", "2023-09-06 09:00", "2023-09-06 09:05")  # apart: 5 more
    impacting(session, "出金", "2023-09-05 10:50", "2023-09-05 11:10")  # overlaps 收单 10 min

    by_system = week_availability(session)

    assert by_system["收单"].impact_minutes == pytest.approx(60 + 5)  # not 40 + 40 + 5
    assert by_system["出金"].impact_minutes == pytest.approx(20)
    # All systems together: 10:00–11:10 and 09:00–09:05, not 65 + 20.
    overall = by_system[metrics.ALL_SYSTEMS]
    assert overall.impact_minutes == pytest.approx(70 + 5)
    assert overall.value == pytest.approx(1 - 75 / WEEK_MINUTES)


def test_an_incident_reported_into_the_week_counts_whole(session: Session) -> None:
    # Happened the Thursday before, put in this week's report: the team reports its minutes here.
    impacting(
        session,
        "中信存管",
        "2023-08-31 10:19",
        "2023-08-31 11:00",
        impact_minutes=20,
        report_week=date(2023, 9, 9),
    )
    impacting(session, "中信存管", "2023-09-07 10:00", "2023-09-07 10:30")

    by_system = week_availability(session)

    assert by_system["中信存管"].impact_minutes == pytest.approx(20 + 30)  # stated minutes win


def test_an_impact_of_unknown_length_names_its_system_without_downtime(session: Session) -> None:
    file_in_domain(
        session,
        title="风控误拦截",
        system="风控",
        detected_at=local("2023-09-05 10:00"),
        detection="user_report",
        failed_orders=10,
    )

    by_system = week_availability(session)

    assert by_system["风控"].impact_minutes == 0
    assert by_system[metrics.ALL_SYSTEMS].value == 1
