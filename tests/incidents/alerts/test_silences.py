"""Silences: matchers read as Alertmanager's do, weekly windows on the team's clock, and alerts
held at ingest are stored, marked and page nobody."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from incidents import report
from incidents.actors import Actor
from incidents.alerts.models import Alert, Silence
from incidents.alerts.noise import pages_on_call
from incidents.alerts.silences import (
    Holding,
    SilenceCreate,
    SilenceState,
    create_silence,
    expire_silence,
    parse_matcher,
    parse_weekly,
    silence_for_alert,
    state_of,
    within_weekly_window,
)
from incidents.calendar import Calendar
from incidents.errors import Invalid
from incidents.grading import Targets
from incidents.models import Role
from incidents.settings import Settings
from tests.incidents.alerts.noise_builders import a_source, an_event, deliver

ONCALL = Actor("值班-张三", Role.oncall)
SHANGHAI = Calendar()
# Local times in Asia/Shanghai (UTC+8): 2023-09-10 is a Sunday.
SUNDAY_NIGHT = datetime(2023, 9, 10, 23, 30, tzinfo=SHANGHAI.tz).astimezone(UTC)
MONDAY_SMALL_HOURS = datetime(2023, 9, 11, 3, 0, tzinfo=SHANGHAI.tz).astimezone(UTC)
MONDAY_MORNING = datetime(2023, 9, 11, 9, 0, tzinfo=SHANGHAI.tz).astimezone(UTC)


def silence(session: Session, **fields) -> Silence:
    values = {
        "matchers": ['service="pay"'],
        "starts_at": datetime(2023, 9, 1, tzinfo=UTC),
        "ends_at": datetime(2023, 9, 20, tzinfo=UTC),
        "reason": "变更窗口",
    }
    values.update(fields)
    created = create_silence(
        session, SilenceCreate.model_validate(values), actor=ONCALL, calendar=SHANGHAI
    )
    session.commit()
    return created


def stored(engine) -> dict[str, Alert]:
    with Session(engine) as session:
        return {alert.fingerprint: alert for alert in session.exec(select(Alert))}


@pytest.mark.parametrize(
    ("text", "labels", "holds"),
    [
        ('service="pay"', {"service": "pay"}, True),
        ('service="pay"', {"service": "payroll"}, False),
        ('env!="test"', {"env": "prod"}, True),
        ('env!="test"', {}, True),  # a missing label reads as empty, as in Alertmanager
        ('instance=~"db-.*"', {"instance": "db-7"}, True),
        ('instance=~"db-.*"', {"instance": "old-db-7"}, False),  # anchored at both ends
        ('job!~"batch.*"', {"job": "batch-nightly"}, False),
        ('job!~"batch.*"', {"job": "api"}, True),
        ("severity=critical", {"severity": "critical"}, True),  # a bare value
        (r'msg="say \"hi\""', {"msg": 'say "hi"'}, True),
    ],
)
def test_matchers_read_as_alertmanager_reads_them(text: str, labels: dict, holds: bool) -> None:
    assert Holding(1, (parse_matcher(text),)).holds(labels) is holds


def test_a_matcher_that_is_no_matcher_is_refused() -> None:
    with pytest.raises(ValueError, match="is not a matcher"):
        parse_matcher("service")


def test_a_weekly_silence_holds_sunday_night_and_lets_monday_morning_through(engine) -> None:
    source_id = a_source(engine)
    with Session(engine) as session:
        held_by = silence(
            session, weekdays=[7], window_start="22:00", window_end="06:00", reason="周日变更"
        ).id
    for moment, fingerprint in (
        (SUNDAY_NIGHT, "sunday-night"),
        (MONDAY_SMALL_HOURS, "monday-small-hours"),  # the window runs past midnight
        (MONDAY_MORNING, "monday-morning"),
    ):
        deliver(engine, source_id, an_event(fingerprint, service="pay"), now=moment)
    alerts = stored(engine)
    # Held alerts are still stored, and shown, with the silence's id.
    assert alerts["sunday-night"].silence_id == held_by
    assert alerts["monday-small-hours"].silence_id == held_by
    assert alerts["monday-morning"].silence_id is None
    with Session(engine) as session:
        paging = session.exec(select(Alert.fingerprint).where(pages_on_call())).all()
    assert paging == ["monday-morning"]


def test_a_silence_holds_only_what_its_source_and_matchers_name(engine) -> None:
    prometheus = a_source(engine, "prometheus")
    grafana = a_source(engine, "grafana")
    now = datetime(2023, 9, 5, tzinfo=UTC)
    with Session(engine) as session:
        silence(session, source_id=prometheus, matchers=['service=~"pay|refund"', 'env!="test"'])
    result = deliver(
        engine,
        prometheus,
        an_event("pay-prod", service="pay", env="prod"),
        an_event("refund-test", service="refund", env="test"),
        an_event("risk-prod", service="risk", env="prod"),
        now=now,
    )
    deliver(engine, grafana, an_event("pay-prod-grafana", service="pay", env="prod"), now=now)
    assert result.silenced == 1
    held = {fingerprint for fingerprint, alert in stored(engine).items() if alert.silence_id}
    assert held == {"pay-prod"}


def test_a_silence_made_while_an_alert_fires_holds_it_and_expiring_holds_no_more(engine) -> None:
    source_id = a_source(engine)
    deliver(engine, source_id, an_event("gateway", service="pay"), now=datetime.now(UTC))
    with Session(engine) as session:
        alert = session.exec(select(Alert)).one()
        one_click = silence_for_alert(alert)
        assert [str(m) for m in one_click.matchers] == [
            'alertname="PayGatewayErrors"',
            'service="pay"',
        ]
        assert one_click.ends_at - one_click.starts_at == timedelta(hours=2)  # type: ignore[operator]
        made = create_silence(session, one_click, actor=ONCALL, calendar=SHANGHAI)
        session.commit()
        session.refresh(alert)
        assert alert.silence_id == made.id
        expire_silence(session, made.id, actor=ONCALL)  # type: ignore[arg-type]
        session.commit()
        assert state_of(made, datetime.now(UTC)) == SilenceState.expired
        assert made.expired_by == ONCALL.name
    later = an_event("gateway", service="pay", starts_at=datetime(2023, 9, 8, tzinfo=UTC))
    deliver(engine, source_id, later, now=datetime.now(UTC))
    with Session(engine) as session:
        marks = session.exec(select(Alert.silence_id).order_by(Alert.id)).all()
    assert marks == [made.id, None]  # the held alert keeps its mark; the new one pages


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"matchers": ['instance=~"db-("']}, "matchers.0.value"),
        ({"matchers": ['service="pay"', 'job!~"[z-a]"']}, "matchers.1.value"),
        ({"matchers": ['env!="test"']}, "matchers"),  # holds every alert of every source
        ({"matchers": []}, "matchers"),
        ({"ends_at": datetime(2023, 8, 31, tzinfo=UTC)}, "ends_at"),  # ends before it starts
        ({"ends_at": datetime(2023, 10, 2, tzinfo=UTC)}, "ends_at"),  # 31 days, no flag
        ({"weekdays": [7], "window_start": "02:00"}, "window_end"),
        ({"weekdays": [8], "window_start": "02:00", "window_end": "04:00"}, "weekdays"),
        ({"weekdays": [7], "window_start": "2am", "window_end": "04:00"}, "window_start"),
        ({"weekdays": [7], "window_start": "02:00", "window_end": "02:00"}, "window_end"),
        ({"source_id": 999}, "source_id"),
    ],
)
def test_a_silence_that_cannot_hold_as_meant_is_refused_naming_the_field(
    session: Session, fields: dict, field: str
) -> None:
    with pytest.raises(Invalid) as refused:
        silence(session, **fields)
    assert refused.value.field == field


def test_a_long_silence_needs_its_flag(session: Session) -> None:
    long = silence(session, ends_at=datetime(2023, 12, 31, tzinfo=UTC), allow_long=True)
    assert long.ends_at - long.starts_at > timedelta(days=30)


@pytest.mark.parametrize(
    ("text", "days", "start", "end"),
    [
        ("周日 02:00-04:00", [7], "02:00", "04:00"),
        ("周六,周日 22:00–06:00", [6, 7], "22:00", "06:00"),
        ("周一至周五 12:00-13:00", [1, 2, 3, 4, 5], "12:00", "13:00"),
        ("sat,sun 00:00-24:00", [6, 7], "00:00", "24:00"),
        ("mon-wed 08:00~09:00", [1, 2, 3], "08:00", "09:00"),
    ],
)
def test_weekly_windows_are_written_as_people_write_them(text, days, start, end) -> None:
    assert parse_weekly(text) == (days, start, end)


def test_a_window_to_midnight_holds_until_the_day_ends() -> None:
    rule = Silence(
        weekdays=[6],
        window_start="20:00",
        window_end="24:00",
        matchers=[],
        starts_at=datetime(2023, 9, 1, tzinfo=UTC),
        ends_at=datetime(2023, 9, 20, tzinfo=UTC),
        reason="r",
        created_by="t",
    )
    saturday_late = datetime(2023, 9, 9, 23, 59, tzinfo=SHANGHAI.tz)
    sunday_early = datetime(2023, 9, 10, 0, 0, tzinfo=SHANGHAI.tz)
    assert within_weekly_window(rule, saturday_late, SHANGHAI)
    assert not within_weekly_window(rule, sunday_early, SHANGHAI)


def test_the_follow_up_rate_counts_silenced_alerts_apart(engine) -> None:
    source_id = a_source(engine)
    thursday = datetime(2023, 9, 7, 10, 0, tzinfo=SHANGHAI.tz).astimezone(UTC)
    with Session(engine) as session:
        silence(session, matchers=['service="batch"'], reason="跑批维护")
    deliver(
        engine,
        source_id,
        an_event("pay-1", service="pay"),
        an_event("pay-2", service="pay"),
        an_event("batch-1", service="batch"),
        an_event("batch-2", service="batch"),
        an_event("batch-3", service="batch"),
        now=thursday,
    )
    with Session(engine) as session:
        for alert in session.exec(select(Alert)):
            if alert.fingerprint in ("pay-1", "batch-1"):  # followed up after two minutes
                alert.acked_at = alert.first_follow_up_at = thursday + timedelta(minutes=2)
        session.commit()
        settings = Settings()
        week = settings.calendar.week_at(thursday)
        built = report.build(session, week, settings, "zh", targets=Targets())
    figures = built.metrics
    assert (figures.follow_up_rate.numerator, figures.follow_up_rate.denominator) == (1, 2)
    assert figures.closed_loop_rate.denominator == 2
    assert figures.mtta.count == 1
    assert figures.silenced_alerts == 3
    section = report.to_markdown(built)
    assert "报警5分钟跟进率：50.0%（1/2" in section
    assert "静默报警3条（维护窗口内，不计入跟进率）" in section
    assert report.to_json(built)["metrics"]["silenced_alerts"] == 3
