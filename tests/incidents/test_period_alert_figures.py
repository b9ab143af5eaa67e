"""The period review's alert figures, counted the fast way (bench/README.md, "Period review of a
year"), equal the figures by their definitions, alert by alert (tests/incidents/alerts/
test_tally.py holds the tallies themselves to the alerts)."""

import math
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from incidents import period_report
from incidents.alerts.models import Alert, Silence, Source, SourceKind
from incidents.grading import load_policy
from incidents.metrics import Window, compute
from incidents.periods import Period
from incidents.settings import Settings

SHANGHAI = ZoneInfo("Asia/Shanghai")
# 2023-09-25..2023-10-08: a working Monday–Thursday, the Mid-Autumn and National Day holiday
# (Friday 29 September to Friday 6 October), then a working weekend (调休).
FORTNIGHT = Period("range", date(2023, 9, 25), date(2023, 10, 8))


def a_source(session: Session) -> Source:
    source = Source(kind=SourceKind.alertmanager, name="am", key="k" * 20)
    session.add(source)
    session.flush()
    return source


def add_alert(session: Session, source: Source, received: datetime, **fields) -> None:
    session.add(
        Alert(
            source_id=source.id,
            fingerprint=f"fp-{received.isoformat()}",
            status="firing",
            title="t",
            starts_at=received,
            received_at=received,
            last_seen_at=received,
            **fields,
        )
    )


def after_hours_by_definition(moment: datetime, settings: Settings) -> bool:
    local = moment.astimezone(SHANGHAI)
    begin, finish = settings.after_hours_start, settings.after_hours_end
    late = (
        local.hour >= begin or local.hour < finish
        if begin > finish
        else begin <= local.hour < finish
    )
    return late or not settings.calendar.is_working_day(local.date())


@pytest.mark.parametrize(("begin", "finish"), [(23, 8), (12, 14), (9, 9)])
def test_after_hours_spans_count_what_the_local_hour_of_each_alert_says(
    session, database_url, begin, finish
) -> None:
    settings = Settings(database_url=database_url, after_hours_start=begin, after_hours_end=finish)
    source = a_source(session)
    first = datetime(2023, 9, 24, 23, 0, tzinfo=SHANGHAI)  # the evening before the period
    # Every hour from the evening before to the morning after, a minute either side of it.
    moments = [
        first + timedelta(hours=hour, minutes=minute)
        for hour in range(16 * 24)
        for minute in (-1, 0, 1)
    ]
    for moment in moments:
        add_alert(session, source, moment)
    session.commit()
    start, end = settings.calendar.period_window(FORTNIGHT)
    expected = sum(
        1
        for moment in moments
        if start <= moment < end and after_hours_by_definition(moment, settings)
    )
    assert expected > 0
    counted = period_report.after_hours_alerts(session, FORTNIGHT, settings.calendar, settings)
    assert counted == expected


def test_a_holiday_is_one_span_from_the_evening_before(settings) -> None:
    zone = SHANGHAI
    spans = period_report.after_hours_spans(FORTNIGHT, settings.calendar, settings, zone)
    holiday = (
        datetime(2023, 9, 28, 23, 0, tzinfo=zone),  # Thursday evening …
        datetime(2023, 10, 7, 8, 0, tzinfo=zone),  # … to the working Saturday's morning
    )
    assert holiday in spans
    assert spans[0] == (datetime(2023, 9, 25, tzinfo=zone), datetime(2023, 9, 25, 8, tzinfo=zone))
    # Sunday 8 October is a working day: only its night is after hours.
    assert spans[-1] == (datetime(2023, 10, 8, 23, tzinfo=zone), datetime(2023, 10, 9, tzinfo=zone))


def test_period_alerts_count_the_silenced_ones_the_rates_leave_out(session, settings) -> None:
    source = a_source(session)
    silence = Silence(
        matchers=[],
        starts_at=datetime(2023, 9, 1, tzinfo=UTC),
        ends_at=datetime(2023, 10, 1, tzinfo=UTC),
        reason="变更窗口",
        created_by="t",
    )
    session.add(silence)
    session.flush()
    day = datetime(2023, 9, 12, 10, 0, tzinfo=SHANGHAI)
    for n in range(5):
        add_alert(
            session, source, day + timedelta(minutes=n), silence_id=silence.id if n < 2 else None
        )
    session.commit()
    figures = period_report.figures(
        session,
        Period("month", date(2023, 9, 1), date(2023, 9, 30)),
        settings,
        targets=load_policy(None).targets,
    )
    assert figures.alerts == 5
    assert figures.metrics.silenced_alerts == 2
    assert figures.metrics.follow_up_rate.denominator == 3


def test_mtta_percentiles_are_the_nearest_ranks_in_whole_seconds_rounded_up(
    session, settings
) -> None:
    source = a_source(session)
    arrived = datetime(2023, 9, 12, 2, 0, tzinfo=UTC)
    # 23 follow-ups with milliseconds, out of order, and alerts nobody followed up.
    delays = [(n * 37 % 23) * 61.25 + n / 1000 for n in range(23)]
    for n, delay in enumerate(delays):
        add_alert(
            session,
            source,
            arrived + timedelta(seconds=n),
            first_follow_up_at=arrived + timedelta(seconds=n + delay),
        )
    for n in range(4):
        add_alert(session, source, arrived + timedelta(minutes=30, seconds=n))
    session.commit()
    window = Window(arrived, arrived + timedelta(hours=1))
    mtta = compute(session, window, settings, targets=load_policy(None).targets).mtta
    ordered = sorted(delays)
    assert mtta.count == 23
    assert mtta.mean == pytest.approx(sum(delays) / 23)  # the mean stays exact
    assert mtta.median == math.ceil(ordered[math.ceil(0.5 * 23) - 1])
    assert mtta.p90 == math.ceil(ordered[math.ceil(0.9 * 23) - 1])
