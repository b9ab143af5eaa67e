"""Metrics of a hand-built week, checked against values computed by hand (see each comment)."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from incidents import metrics
from incidents.actors import Actor
from incidents.alerts.models import Alert, Source, SourceKind
from incidents.calendar import DEFAULT_CALENDAR
from incidents.grading import load_policy
from incidents.models import (
    ActionItem,
    ActionItemStatus,
    Postmortem,
    PostmortemStatus,
    Role,
)
from incidents.settings import Settings
from incidents.weeks import parse_week
from tests.builders import file_in_domain

SHANGHAI = ZoneInfo("Asia/Shanghai")
ONCALL = Actor("oncall-user", Role.oncall)


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def add_alert(
    session: Session,
    source: Source,
    received: str,
    follow_up: float | None = None,
    *,
    valid: bool | None = None,
    incident_id: int | None = None,
) -> None:
    arrived = local(received)
    followed = arrived + timedelta(seconds=follow_up) if follow_up is not None else None
    session.add(
        Alert(
            source_id=source.id,
            fingerprint=f"fp-{received}",
            status="firing",
            title="t",
            starts_at=arrived,
            received_at=arrived,
            last_seen_at=arrived,
            acked_at=followed,
            first_follow_up_at=followed,
            valid=valid,
            incident_id=incident_id,
        )
    )


def file(session: Session, **fields) -> int:
    return file_in_domain(session, actor=ONCALL, **fields).id


def add_item(session: Session, incident_id: int, due: str, status: str, closed: str | None):
    session.add(
        ActionItem(
            incident_id=incident_id,
            title="t",
            owner="o",
            due_date=date.fromisoformat(due),
            status=status,
            not_doing_reason="covered" if status == "not_doing" else None,
            closed_at=local(closed) if closed else None,
        )
    )


@pytest.fixture
def week_37(session: Session) -> metrics.Metrics:
    source = Source(kind=SourceKind.alertmanager, name="am", key="k")
    session.add(source)
    session.flush()
    first = file(
        session,
        title="履约失败",
        system="履约",
        detected_at=local("2023-09-05 10:00"),
        occurred_at=local("2023-09-05 09:50"),
        recovered_at=local("2023-09-05 10:30"),
        detection="monitoring",
        failed_orders=150,
    )
    file(
        session,
        title="人工发现抖动",
        detected_at=local("2023-09-06 12:00"),
        detection="manual",
        business_impact=False,
    )
    seed = file(
        session,
        title="中信存管",
        system="中信存管",
        detected_at=local("2023-08-31 10:19"),
        detection="monitoring",
        failed_orders=545,
        impact_minutes=20,
        report_week=date(2023, 9, 9),
    )
    session.add(Postmortem(incident_id=first, status=PostmortemStatus.published))
    session.add(Postmortem(incident_id=seed, status=PostmortemStatus.draft))
    add_alert(session, source, "2023-09-05 10:00", 180, valid=True)
    add_alert(session, source, "2023-09-05 11:00", 300, valid=False)  # exactly 5 min: in time
    add_alert(session, source, "2023-09-06 09:00", 360, incident_id=first)  # late, linked
    add_alert(session, source, "2023-09-06 10:00")  # never followed up
    add_alert(session, source, "2023-09-03 23:59", 60)  # the week before
    add_alert(session, source, "2023-09-10 23:59:59")  # last second of the week
    add_item(session, first, "2023-09-08", ActionItemStatus.verified, "2023-09-08 23:00")
    add_item(session, first, "2023-09-09", ActionItemStatus.verified, "2023-09-10 01:00")  # late
    add_item(session, first, "2023-09-10", ActionItemStatus.done, None)  # not verified: open
    add_item(session, first, "2023-09-11", ActionItemStatus.open, None)  # due next week
    add_item(session, seed, "2023-09-09", ActionItemStatus.not_doing, "2023-09-09 12:00")
    session.commit()
    settings = Settings(database_url="sqlite://")
    window = metrics.Window.of_week(parse_week("2023-09-09"), DEFAULT_CALENDAR)
    targets = load_policy(None).targets
    return metrics.compute(session, window, settings, targets=targets), metrics.compute(
        session, window.previous(DEFAULT_CALENDAR), settings, targets=targets
    )


def parts(rate: metrics.Rate) -> tuple[int, int]:
    return rate.numerator, rate.denominator


def test_alert_follow_up_rates(week_37) -> None:
    current, previous = week_37
    assert parts(current.follow_up_rate) == (2, 5)  # 180 s and 300 s of 5 arrivals
    assert current.follow_up_rate.value == pytest.approx(0.4)
    assert parts(current.closed_loop_rate) == (3, 5)  # two verdicts and one link
    assert parts(current.validity_rate) == (1, 2)
    assert parts(previous.follow_up_rate) == (1, 1)


def test_incident_rates_follow_report_week_membership(week_37) -> None:
    current, _ = week_37
    assert parts(current.monitoring_detection_rate) == (2, 3)
    assert current.incidents_by_grade == {"A": 0, "B": 0, "C": 2, "D": 0, "ungraded": 1}
    assert parts(current.postmortem_completion_rate) == (1, 2)
    # Verified on 9/8, not doing granted on 9/9.
    assert parts(current.action_items_on_time_rate) == (2, 4)


def test_durations_are_mean_median_and_p90(week_37) -> None:
    current, _ = week_37
    mtta = current.mtta
    assert (mtta.count, mtta.mean, mtta.median, mtta.p90) == (3, 280, 300, 360)
    mttd = current.mttd  # 600, 0, 0 seconds
    assert (mttd.count, mttd.mean, mttd.median, mttd.p90) == (3, 200, 0, 600)
    mttr = current.mttr
    assert (mttr.count, mttr.mean, mttr.median, mttr.p90) == (1, 1800, 1800, 1800)


def test_availability_per_system_and_overall(week_37) -> None:
    current, _ = week_37
    by_system = {row.system: row for row in current.availability}
    assert by_system["履约"].impact_minutes == pytest.approx(40)  # recovered − occurred
    assert by_system["中信存管"].impact_minutes == pytest.approx(20)  # impact_minutes wins
    assert by_system[metrics.ALL_SYSTEMS].value == pytest.approx(1 - 60 / 10080)
