"""Flapping and storms: found as alerts arrive, told once, and kept from paging anyone."""

from datetime import timedelta

import pytest
from sqlmodel import Session, func, select

from incidents.alerts.models import Alert, AlertStorm
from incidents.alerts.noise import NoiseRules, is_noise, pages_on_call
from incidents.outbox import Channel, ChannelKind, Notification, NotificationEvent
from tests.incidents.alerts.noise_builders import STARTED, a_source, an_event, deliver
from tests.incidents.alerts.test_silences import silence

RULES = NoiseRules()  # 4 in 60 minutes; 50 a minute


@pytest.fixture
def subscribed(engine) -> None:
    with Session(engine) as session:
        session.add(
            Channel(
                kind=ChannelKind.dingtalk,
                name="值班群",
                url="http://127.0.0.1:9/robot/send?access_token=t",
                events=[NotificationEvent.alert_flapping, NotificationEvent.alert_storm],
            )
        )
        session.commit()


def notices(engine, event: NotificationEvent) -> list[Notification]:
    with Session(engine) as session:
        return list(session.exec(select(Notification).where(Notification.event == event)))


def fire_and_resolve(engine, source_id: int, times: int, *, first_minute: int) -> None:
    """The check fires and resolves `times` times, every 10 minutes from `first_minute`."""
    for n in range(times):
        start = STARTED + timedelta(minutes=first_minute + 10 * n)
        deliver(engine, source_id, an_event("disk", starts_at=start), now=start, rules=RULES)
        resolved = an_event("disk", status="resolved", starts_at=start)
        deliver(engine, source_id, resolved, now=start + timedelta(minutes=2), rules=RULES)


def flapping_marks(engine) -> list[bool]:
    with Session(engine) as session:
        return list(session.exec(select(Alert.flapping).order_by(Alert.id)))


def test_four_firings_in_an_hour_are_no_flapping(engine, subscribed) -> None:
    source_id = a_source(engine)
    fire_and_resolve(engine, source_id, 4, first_minute=0)
    assert flapping_marks(engine) == [False] * 4
    assert notices(engine, NotificationEvent.alert_flapping) == []


def test_a_flapping_check_gives_one_notice_then_quiet_until_it_settles(engine, subscribed) -> None:
    source_id = a_source(engine)
    fire_and_resolve(engine, source_id, 7, first_minute=0)  # the 5th firing (minute 40) flaps
    assert flapping_marks(engine) == [True] * 7  # the hour's earlier firings page no more either
    [notice] = notices(engine, NotificationEvent.alert_flapping)
    assert "60分钟内触发5次" in notice.markdown
    # No firing for over an hour (the last at minute 60): it settled, so it starts afresh.
    fire_and_resolve(engine, source_id, 1, first_minute=130)
    assert flapping_marks(engine)[-1] is False
    fire_and_resolve(engine, source_id, 4, first_minute=140)
    assert flapping_marks(engine)[-5:] == [True] * 5
    assert len(notices(engine, NotificationEvent.alert_flapping)) == 2


def test_a_storm_is_one_notice_and_its_alerts_join_it_while_it_lasts(engine, subscribed) -> None:
    source_id = a_source(engine)
    now = STARTED
    flood = [an_event(f"node-{n}", service="pay", instance=f"10.0.0.{n}") for n in range(200)]
    result = deliver(engine, source_id, *flood, now=now, rules=RULES)
    assert result.new == 200
    assert result.storm_id is not None
    late = [an_event(f"late-{n}", service="pay") for n in range(10)]
    deliver(engine, source_id, *late, now=now + timedelta(seconds=50), rules=RULES)
    with Session(engine) as session:
        [storm] = session.exec(select(AlertStorm)).all()
        joined = session.exec(select(func.count()).where(Alert.storm_id == storm.id)).one()
        outside = session.exec(select(func.count()).select_from(Alert).where(pages_on_call()))
        assert outside.one() == 0
    assert (storm.announced_alerts, joined) == (200, 210)
    assert storm.top_labels[0] == ["alertname=PayGatewayErrors", 200]
    assert storm.top_labels[1] == ["service=pay", 200]
    [notice] = notices(engine, NotificationEvent.alert_storm)
    assert "200条新报警" in notice.title
    assert notice.url == f"/alerts?storm={storm.id}"


def test_a_storm_ends_after_a_quiet_minute_and_the_next_one_is_told_again(
    engine, subscribed
) -> None:
    source_id = a_source(engine)
    deliver(engine, source_id, *[an_event(f"a{n}") for n in range(51)], now=STARTED, rules=RULES)
    after_quiet = STARTED + timedelta(minutes=2)
    calm = deliver(engine, source_id, an_event("calm"), now=after_quiet, rules=RULES)
    assert calm.storm_id is None
    again = STARTED + timedelta(minutes=5)
    deliver(engine, source_id, *[an_event(f"b{n}") for n in range(60)], now=again, rules=RULES)
    assert len(notices(engine, NotificationEvent.alert_storm)) == 2


def test_fifty_a_minute_is_busy_not_a_storm(engine, subscribed) -> None:
    source_id = a_source(engine)
    for n in range(5):  # ten a delivery, fifty within the minute
        batch = [an_event(f"a{n}-{m}") for m in range(10)]
        deliver(engine, source_id, *batch, now=STARTED + timedelta(seconds=10 * n), rules=RULES)
    assert notices(engine, NotificationEvent.alert_storm) == []
    with Session(engine) as session:
        assert not any(is_noise(alert) for alert in session.exec(select(Alert)))


def test_silenced_alerts_make_no_storm(engine, subscribed) -> None:
    source_id = a_source(engine)
    with Session(engine) as session:
        silence(
            session,
            matchers=['service="pay"'],
            starts_at=STARTED - timedelta(hours=1),
            ends_at=STARTED + timedelta(hours=1),
        )
    flood = [an_event(f"node-{n}", service="pay") for n in range(200)]
    result = deliver(engine, source_id, *flood, now=STARTED, rules=RULES)
    assert (result.silenced, result.storm_id) == (200, None)
    assert notices(engine, NotificationEvent.alert_storm) == []
