"""The alert tallies (incidents/alerts/tally.py) stay equal to a recount of the alerts through
every way an alert changes, and a window's figures read from them equal the figures counted
alert by alert from their definitions — in whole-hour zones and in one half an hour off UTC."""

import json
import math
import random
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session
from typer.testing import CliRunner

from api.cli import app
from incidents.actors import Actor
from incidents.alerts import tally
from incidents.alerts.event import Delivery
from incidents.alerts.ingest import receive_delivery
from incidents.alerts.models import Alert, Silence, Source, SourceKind
from incidents.alerts.service import acknowledge, judge, promote
from incidents.alerts.silences import MatcherInput, SilenceCreate, create_silence
from incidents.grading import load_policy
from incidents.models import Role
from incidents.settings import Settings

from .noise_builders import a_source, an_event, deliver

ONCALL = Actor(name="oncall", role=Role.oncall)
START = datetime(2023, 9, 7, 6, 0, tzinfo=UTC)


def tally_rows(connection: Any, *, counting_only: bool) -> tuple[set[tuple], set[tuple]]:
    """Both tallies' rows; `counting_only` leaves out rows that count nothing (left behind by
    alerts that moved to another row), which a recount does not make."""
    hours = tally.AlertHour.__table__  # type: ignore[attr-defined]
    days = tally.AlertFollowUp.__table__  # type: ignore[attr-defined]
    by_hour = {
        (
            r.hour,
            r.rule,
            bool(r.silenced),
            round(r.follow_up_seconds, 3),
            r.alerts,
            r.followed,
            r.concluded,
            r.judged,
            r.valid,
        )
        for r in connection.execute(select(hours))
        if not counting_only or any((r.alerts, r.followed, r.concluded, r.judged, r.valid))
    }
    by_day = {tuple(r) for r in connection.execute(select(days)) if not counting_only or r.alerts}
    return by_hour, by_day


def assert_tallies_are_a_recount(engine: Engine) -> tuple[set[tuple], set[tuple]]:
    with engine.connect() as connection, connection.begin() as transaction:
        stored = tally_rows(connection, counting_only=True)
        tally.rebuild(connection)
        counted = tally_rows(connection, counting_only=False)
        transaction.rollback()
    assert stored == counted
    assert counted[0]  # the comparison compared something
    return counted


def test_every_change_to_an_alert_keeps_the_tallies_a_recount_of_the_alerts(engine) -> None:
    source_id = a_source(engine)
    # Deliveries in three hours of two days; a rule name longer than the rule column, and alerts
    # without an alertname (their title is the rule).
    long_name = "VeryLongRule" * 40
    for n, moment in enumerate((START, START + timedelta(hours=1), START + timedelta(days=1))):
        deliver(
            engine,
            source_id,
            an_event(f"a{n}", alertname="PayGatewayErrors", severity="warning"),
            replace(an_event(f"b{n}", alertname=long_name), title="long rule"),
            an_event(f"c{n}", alertname="QueueBacklog", service="出金"),
            now=moment,
        )
    with Session(engine) as session:
        for alert in session.exec(select(Alert).where(Alert.fingerprint.like("c%"))).scalars():
            alert.labels = {}  # no alertname: the title names the rule
        session.commit()
    assert_tallies_are_a_recount(engine)

    with Session(engine) as session:
        ids = list(session.exec(select(Alert.id).order_by(Alert.id)).scalars())
        acknowledge(session, ids[0], actor=ONCALL)
        judge(session, ids[1], True, None, actor=ONCALL)
        judge(session, ids[2], False, "误报", actor=ONCALL)
        session.commit()
        judge(session, ids[2], True, "改判", actor=ONCALL)  # a verdict replaced
        promote(
            session,
            ids[3],
            actor=ONCALL,
            policy=load_policy(None),
            calendar=Settings().calendar,
        )
        session.commit()
    _, follow_ups = assert_tallies_are_a_recount(engine)
    assert sum(row[2] for row in follow_ups) == 4  # the acknowledged, judged and promoted ones

    with Session(engine) as session:  # a change rolled back leaves the tallies as they were
        acknowledge(session, ids[4], actor=ONCALL)
        session.flush()
        session.rollback()
    assert_tallies_are_a_recount(engine)

    with Session(engine) as session:  # an earlier follow-up recorded by hand, through the ORM
        alert = session.get(Alert, ids[0])
        assert alert is not None
        assert alert.first_follow_up_at is not None
        alert.first_follow_up_at = alert.received_at + timedelta(seconds=42.5)
        session.commit()
    assert_tallies_are_a_recount(engine)

    with Session(engine) as session:  # a silence holds the firing PayGatewayErrors alerts
        create_silence(
            session,
            SilenceCreate(
                matchers=[MatcherInput(name="alertname", value="PayGatewayErrors")],
                ends_at=datetime.now(UTC) + timedelta(hours=2),
                reason="变更窗口",
            ),
            actor=ONCALL,
            calendar=Settings().calendar,
        )
        session.commit()
        assert session.exec(select(Alert).where(Alert.silence_id.is_not(None))).first()
    assert_tallies_are_a_recount(engine)


def test_the_webhook_path_tallies_new_and_auto_promoted_alerts(engine, database_url) -> None:
    source_id = a_source(engine)
    with Session(engine) as session:
        key = session.get_one(Source, source_id).key

    def receive(name: str, severity: str, settings: Settings) -> None:
        alert = {
            "status": "firing",
            "labels": {"alertname": name, "severity": severity, "service": "收单"},
            "annotations": {},
            "startsAt": "2023-09-07T06:00:00Z",
            "fingerprint": f"fp-{name}",
        }
        body = {"version": "4", "status": "firing", "receiver": "s", "alerts": [alert]}
        answer = receive_delivery(
            engine,
            kind="alertmanager",
            key=key,
            delivery=Delivery("POST", "application/json", json.dumps(body).encode(), {}, {}, None),
            settings=settings,
            policy=load_policy(None),
        )
        assert answer is not None
        assert answer["new"] == 1

    # Counted once a batch; and before an auto-promotion, which concludes the alert it links.
    receive("Slow", "warning", Settings(database_url=database_url))
    receive(
        "Down", "critical", Settings(database_url=database_url, auto_promote_severities="critical")
    )
    with Session(engine) as session:
        linked = session.exec(select(Alert).where(Alert.incident_id.is_not(None))).scalars()
        assert [alert.labels["alertname"] for alert in linked] == ["Down"]
    with engine.connect() as connection:
        hours, _ = tally_rows(connection, counting_only=True)
    assert sum(row[4] for row in hours) == 2
    assert sum(row[6] for row in hours) == 1  # the auto-promoted one is concluded
    _, follow_ups = assert_tallies_are_a_recount(engine)
    assert not follow_ups  # the robot's link concludes the alert but is nobody's follow-up


# --- figures read from the tallies equal the alerts counted one by one -------------------------


def nearest_ranks(values: list[int], shares: tuple[float, ...]) -> list[int] | None:
    if not values:
        return None
    ordered = sorted(values)
    return [ordered[max(1, math.ceil(share * len(ordered))) - 1] for share in shares]


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "Asia/Kolkata"])
def test_a_windows_figures_from_the_tallies_are_the_alerts_counted_one_by_one(
    session, zone
) -> None:
    rng = random.Random(7)
    silence = Silence(
        matchers=[],
        starts_at=START,
        ends_at=START + timedelta(days=30),
        reason="变更窗口",
        created_by="t",
    )
    session.add(silence)
    source = Source(kind=SourceKind.alertmanager, name="am", key="k" * 20)
    session.add(source)
    session.flush()
    alerts: list[Alert] = []
    for n in range(600):
        received = START + timedelta(seconds=rng.randrange(0, 6 * 86400), milliseconds=n)
        followed = (
            received + timedelta(milliseconds=rng.randrange(0, 900_000))
            if rng.random() < 0.8
            else None
        )
        verdict = rng.choice((None, None, True, False))
        rule = rng.choice(("Down", "Slow", "Full", None))
        alert = Alert(
            source_id=source.id,
            fingerprint=f"fp-{n}",
            status="firing",
            title=f"title {n % 3}",
            labels={"alertname": rule} if rule else {},
            starts_at=received,
            received_at=received,
            last_seen_at=received,
            first_follow_up_at=followed,
            valid=verdict,
            silence_id=silence.id if rng.random() < 0.1 else None,
        )
        alerts.append(alert)
        session.add(alert)
    session.commit()

    tz = ZoneInfo(zone)
    local_midnight = datetime(2023, 9, 8, tzinfo=tz)
    windows = [
        (local_midnight, local_midnight + timedelta(days=3)),  # whole local days
        (local_midnight + timedelta(hours=5), local_midnight + timedelta(days=1, hours=7)),
        (START + timedelta(minutes=17, seconds=3), START + timedelta(days=4, minutes=41)),
        (START + timedelta(hours=2), START + timedelta(hours=2, minutes=30)),  # inside an hour
        (START - timedelta(days=3), START - timedelta(days=2)),  # nothing in it
    ]
    for limit_minutes in (5, 7):
        counted = tally.counts(session, windows, limit_minutes)
        for (start, end), figures in zip(windows, counted, strict=True):
            inside = [a for a in alerts if start <= a.received_at < end]
            paging = [a for a in inside if a.silence_id is None]
            seconds = [
                (a.first_follow_up_at - a.received_at).total_seconds()
                for a in paging
                if a.first_follow_up_at is not None
            ]
            assert figures.alerts == len(paging)
            assert figures.silenced == len(inside) - len(paging)
            assert figures.followed == len(seconds)
            assert figures.follow_up_seconds == pytest.approx(sum(seconds))
            assert figures.in_time == sum(1 for s in seconds if s <= limit_minutes * 60)
            assert figures.judged == sum(1 for a in paging if a.valid is not None)
            assert figures.valid == sum(1 for a in paging if a.valid is True)
            assert figures.concluded == figures.judged  # none is linked to an incident
            shares = (0.5, 0.9)
            assert tally.follow_up_percentiles(session, start, end, shares) == nearest_ranks(
                [math.ceil(s) for s in seconds], shares
            )
            by_rule = Counter(a.labels.get("alertname") or a.title for a in inside)
            loudest = tally.loudest_rules(session, start, end, 3)
            assert [(r.rule, r.alerts) for r in loudest] == sorted(
                by_rule.items(), key=lambda item: (-item[1], item[0])
            )[:3]
            for rule in loudest:
                judged = [a for a in inside if (a.labels.get("alertname") or a.title) == rule.rule]
                assert rule.judged == sum(1 for a in judged if a.valid is not None)
                assert rule.valid == sum(1 for a in judged if a.valid is True)
    spans = windows[1:4:2]
    assert tally.arrived_in(session, spans) == sum(
        1 for a in alerts if any(start <= a.received_at < end for start, end in spans)
    )


def test_doctor_finds_alerts_stored_behind_the_tallies_back_and_recount_counts_them(
    engine, cli_database
) -> None:
    # As a release older than the tallies (or an edit by hand in SQL) stores them: in Core.
    source_id = a_source(engine)
    table = Alert.__table__  # type: ignore[attr-defined]
    with engine.begin() as connection:
        connection.execute(
            table.insert(),
            [
                {
                    "source_id": source_id,
                    "fingerprint": f"fp-{n}",
                    "status": "firing",
                    "title": "PayGatewayErrors",
                    "labels": {},
                    "annotations": {},
                    "raw": {},
                    "starts_at": START,
                    "received_at": START + timedelta(minutes=n),
                    "last_seen_at": START,
                    "first_follow_up_at": START + timedelta(minutes=n, seconds=90),
                }
                for n in range(3)
            ],
        )
    with engine.connect() as connection:
        assert tally_rows(connection, counting_only=True) == (set(), set())
    doctor = CliRunner().invoke(app, ["doctor"])
    assert doctor.exit_code == 1
    assert (
        "FAIL    alert tallies: 3 alerts (3 followed up) but the tallies count 0 (0);"
        " run stabilog recount-alerts"
    ) in doctor.stdout.splitlines()
    answer = CliRunner().invoke(app, ["recount-alerts"])
    assert answer.exit_code == 0, answer.output
    _, follow_ups = assert_tallies_are_a_recount(engine)
    assert follow_ups == {(int(START.timestamp()) // 86400, 90, 3)}
    assert "ok      alert tallies: 3 alerts counted" in CliRunner().invoke(app, ["doctor"]).stdout
