"""The week page's grouped chart queries count exactly what `metrics.compute` counts."""

from datetime import UTC, date, datetime, timedelta

from incidents.actors import Actor
from incidents.alerts.models import Alert, AlertStatus, Source, SourceKind
from incidents.grading import load_policy
from incidents.metrics import Window, compute, weekly_series
from incidents.models import IncidentCreate, Role
from incidents.service import create_incident
from tests.builders import seed_pos_incident

ACTOR = Actor(name="history", role=Role.oncall)


def test_weekly_series_agrees_with_metrics_compute_week_by_week(session, settings) -> None:
    policy = load_policy(None)
    last = settings.calendar.week_of(date(2023, 9, 9))
    weeks = [last.shifted(-back) for back in range(5, -1, -1)]
    source = Source(kind=SourceKind.alertmanager, name="history", key="k" * 20)
    session.add(source)
    session.flush()
    start = settings.calendar.window(weeks[0])[0]
    for day in range(0, 45, 2):  # a day before the first week to a few days after the last
        moment = start + timedelta(days=day - 1, hours=day % 24)
        create_incident(
            session,
            IncidentCreate.model_validate(
                seed_pos_incident(
                    detected_at=moment,
                    failed_orders=[None, 20, 150, 1200, 20000][day % 5],
                    business_impact=None if day % 5 else False,
                    # Some are reported in another week than their detection's, as in the seed.
                    report_week=weeks[(day // 7 + 1) % 6].report_date if day % 6 == 0 else None,
                )
            ),
            actor=ACTOR,
            policy=policy,
            calendar=settings.calendar,
        )
        for number, delay in enumerate((None, 60, 299, 300, 301, 3600)):
            received = moment + timedelta(minutes=number)
            session.add(
                Alert(
                    source_id=source.id,
                    fingerprint=f"{day}-{number}",
                    status=AlertStatus.firing,
                    title="t",
                    starts_at=received,
                    received_at=received,
                    last_seen_at=received,
                    first_follow_up_at=received + timedelta(seconds=delay) if delay else None,
                    valid=(number % 2 == 0) if number % 3 else None,
                )
            )
    session.commit()
    series = weekly_series(session, weeks, settings)
    assert [figures.week for figures in series] == weeks
    for figures in series:
        window = Window.of_week(figures.week, settings.calendar)
        expected = compute(session, window, settings, targets=policy.targets)
        assert figures.incidents_by_grade == expected.incidents_by_grade, figures.week.label
        assert figures.follow_up_rate == expected.follow_up_rate, figures.week.label
        assert figures.closed_loop_rate == expected.closed_loop_rate, figures.week.label
    assert sum(f.follow_up_rate.denominator for f in series) > 0
    assert sum(sum(f.incidents_by_grade.values()) for f in series) > 0
    assert datetime.now(UTC) > start  # the data lies in the past, as report weeks do
