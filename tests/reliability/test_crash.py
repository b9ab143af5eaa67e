"""SIGKILL the server in the middle of a delivery storm, start it again, and count.

The server is `stabilog serve` with its scheduler on, so the outbox is draining to a real
Standard Webhooks receiver while alerts and incidents pour in. After the kill and a restart on
the same database: every alert and incident that was answered 2xx is there, once; the
database passes its integrity check; and every queued message reaches the receiver.

Webhook deliveries go through the group-commit writer (incidents/alerts/writer.py): twelve
concurrent senders keep several deliveries in each of its transactions, so the kill lands in
the middle of a shared commit, and the test checks from the stored rows that batches of several
deliveries did happen (a batch's rows share one arrival time).

A message can reach the receiver twice only in the window the outbox documents: its row was
being sent (`sending`, leased) at the instant of the kill, after the receiver answered and
before the row was updated. Sends are sequential, so at most one message can be in that window;
the receiver tells the copy by its stable `webhook-id`. Leased rows are taken up again when the
lease runs out; the test ages the leases instead of waiting the 5 minutes.
"""

import threading
import time
from collections import Counter, defaultdict
from dataclasses import replace
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import Engine, func, text, update
from sqlmodel import Session, col, select

from incidents.alerts.models import Alert
from incidents.db import engine_for, utcnow
from incidents.models import Incident, Role
from incidents.outbox import ChannelCreate, Notification, NotificationStatus
from incidents.schema import upgrade_to_head
from incidents.tokens import create_token
from notifiers.subscriptions import add_channel
from tests.notifiers.receiver import Receiver, Recorded
from tests.notifiers.robots import standard_webhooks_receiver
from tests.reliability.storm import (
    make_alertmanager_source,
    send_storm,
    stored_occurrences,
    storm_plan,
    tally,
)

WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
DISTINCT_DELIVERIES = 1500  # at most 3,000 requests; the kill comes well before the end
KILL_AFTER_ACCEPTED = 600  # webhook deliveries answered 2xx before the kill
KILL_AFTER_INCIDENTS = 30
KILL_AFTER_SENT_MESSAGES = 3  # the outbox must be busy too
STORM_SECONDS = 45.0


@pytest.fixture(params=["sqlite", "postgresql"])
def crash_database(request, fresh_database_url) -> str:
    url = fresh_database_url(request.param)
    upgrade_to_head(url)
    return url


class Sink:
    """A Standard Webhooks receiver that notes the `webhook-id` of every message it accepted."""

    def __init__(self) -> None:
        self.receiver = Receiver().start()
        self.accepted: list[str] = []
        verify = standard_webhooks_receiver(WEBHOOK_SECRET)

        def slow_ok(request: Recorded):
            reply = verify(request)
            if 200 <= reply.status < 300:
                self.accepted.append(request.headers["webhook-id"])
            # A little latency per message, so the kill can land while the outbox is sending.
            return replace(reply, delay=0.02)

        self.receiver.script(*([slow_ok] * 5000))


@pytest.fixture
def sink():
    made = Sink()
    yield made
    made.receiver.stop()


def file_incidents(
    base: str, token: str, stop: threading.Event, accepted: list[str], attempted: list[str]
) -> None:
    """Files B-grade incidents (each announced through the outbox) until the server dies."""
    headers = {"Authorization": f"Bearer {token}"}
    deadline = time.monotonic() + STORM_SECONDS
    with httpx.Client(timeout=30.0, trust_env=False) as client:
        number = 0
        while not stop.is_set() and time.monotonic() < deadline:
            title = f"清结算批量失败 crash-{number:04d}"
            number += 1
            attempted.append(title)
            body = {
                "title": title,
                "system": "清结算",
                "detected_at": "2023-09-07 10:00",
                "failed_orders": 1200,  # a B grade: announced to the channel
            }
            try:
                response = client.post(f"{base}/api/v1/incidents", json=body, headers=headers)
            except httpx.TransportError:
                stop.set()
                return
            if response.status_code == 201:
                accepted.append(title)


def integrity_problems(engine: Engine) -> list[str]:
    """SQLite's own integrity and foreign-key checks; on PostgreSQL, amcheck over every index
    of ours plus the uniqueness of alert occurrences."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            problems = [row[0] for row in connection.exec_driver_sql("PRAGMA integrity_check")]
            problems = [] if problems == ["ok"] else problems
            problems += [str(row) for row in connection.exec_driver_sql("PRAGMA foreign_key_check")]
            return problems
        connection.execute(text("CREATE EXTENSION IF NOT EXISTS amcheck"))
        indexes = connection.execute(
            text(
                "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_am a ON a.oid = c.relam "
                "WHERE n.nspname = 'public' AND a.amname = 'btree'"
            )
        ).scalars()
        for index in indexes:
            # heapallindexed: every heap row is found in the index, not just a sane B-tree.
            connection.execute(
                text("SELECT bt_index_check(CAST(:i AS regclass), true)"), {"i": index}
            )
        duplicates = connection.execute(
            text(
                "SELECT count(*) FROM (SELECT 1 FROM alert GROUP BY source_id, fingerprint, "
                "starts_at HAVING count(*) > 1) AS d"
            )
        ).scalar_one()
        connection.commit()
    return [f"{duplicates} duplicated alert occurrences"] if duplicates else []


def largest_group_commit(engine: Engine) -> int:
    """The most deliveries whose rows one transaction committed. The writer gives a batch's
    rows one arrival time, and a delivery's own alerts are named `d<number>-<k>`."""
    with Session(engine) as session:
        rows = session.exec(
            select(Alert.received_at, Alert.fingerprint).where(
                col(Alert.fingerprint).startswith("d")
            )
        ).all()
    deliveries_at: dict[object, set[str]] = defaultdict(set)
    for received_at, fingerprint in rows:
        deliveries_at[received_at].add(fingerprint.split("-", 1)[0])
    return max((len(deliveries) for deliveries in deliveries_at.values()), default=0)


def notification_rows(engine: Engine) -> list[Notification]:
    with Session(engine) as session:
        return list(session.exec(select(Notification)).all())


def test_sigkill_during_a_storm_loses_nothing_answered_2xx(
    crash_database, servers, sink, figures
) -> None:
    engine = engine_for(crash_database)
    path = make_alertmanager_source(engine)
    with Session(engine) as session:
        _, token = create_token(session, "crash-oncall", Role.oncall)
        session.commit()
        add_channel(
            session,
            ChannelCreate(
                kind="webhook",
                name="audit-sink",
                url=sink.receiver.url("/hooks/stabilog"),
                secret=WEBHOOK_SECRET,
                events=["incident"],
            ),
        )
        session.commit()
    server = servers(
        crash_database,
        scheduler=True,
        env={
            "STABILOG_WEBHOOK_RATE_PER_MINUTE": "10000000",
            "STABILOG_OUTBOX_INTERVAL_SECONDS": "1",
        },
    ).start()

    stop = threading.Event()
    accepted = Counter()

    def count(outcome) -> None:
        if outcome.accepted:
            accepted["deliveries"] += 1

    filed: list[str] = []
    tried: list[str] = []
    plan = storm_plan(path, DISTINCT_DELIVERIES)
    storm_result: list = []
    storm = threading.Thread(
        target=lambda: storm_result.extend(
            send_storm(
                plan,
                [server.url],
                workers=12,
                stop=stop,
                on_answer=count,
                deadline_seconds=STORM_SECONDS,
            )
        )
    )
    filer = threading.Thread(target=file_incidents, args=(server.url, token, stop, filed, tried))
    started = time.monotonic()
    storm.start()
    filer.start()
    while time.monotonic() - started < STORM_SECONDS and not (
        accepted["deliveries"] >= KILL_AFTER_ACCEPTED
        and len(filed) >= KILL_AFTER_INCIDENTS
        and len(sink.accepted) >= KILL_AFTER_SENT_MESSAGES
    ):
        time.sleep(0.02)
    server.kill()
    killed_after = time.monotonic() - started
    storm.join(timeout=60)
    filer.join(timeout=60)
    assert not storm.is_alive()
    assert not filer.is_alive()

    in_flight = {n.id for n in notification_rows(engine) if n.status == NotificationStatus.sending}
    server.start()  # the same database, a fresh process

    # Alerts and incidents: everything answered 2xx is there, exactly once.
    result = tally(storm_result, stored_occurrences(engine))
    with Session(engine) as session:
        titles = Counter(session.exec(select(Incident.title)).all())
    problems = integrity_problems(engine)
    group_commit = largest_group_commit(engine)

    # The outbox: rows the dead process had leased are due again when the lease runs out. The
    # test ages those leases instead of waiting LEASE (5 minutes); the restarted server's own
    # scheduler then sends them together with everything that was still pending.
    with engine.begin() as connection:
        connection.execute(
            update(Notification)
            .where(col(Notification.status) == NotificationStatus.sending)
            .values(lease_until=utcnow() - timedelta(seconds=1))
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(
        n.status != NotificationStatus.sent for n in notification_rows(engine)
    ):
        time.sleep(0.2)
    rows = notification_rows(engine)
    expected_ids = {f"stabilog-notification-{n.id}" for n in rows}
    received = Counter(sink.accepted)
    twice = {message_id for message_id, copies in received.items() if copies > 1}
    lost_messages = expected_ids - set(received)

    figures(
        backend=engine.dialect.name,
        killed_after_seconds=round(killed_after, 1),
        deliveries_sent=sum(o.attempts for o in storm_result),
        deliveries_2xx=result.accepted,
        deliveries_unanswered=result.unanswered,
        alerts_2xx=result.alerts_accepted,
        alerts_stored=result.stored,
        alerts_lost=result.lost,
        alerts_stored_twice=result.stored_twice,
        incidents_2xx=len(filed),
        incidents_lost=sum(1 for title in filed if titles[title] == 0),
        messages_queued=len(rows),
        messages_in_flight_at_kill=len(in_flight),
        messages_lost=len(lost_messages),
        messages_sent_twice=len(twice),
        server_errors=result.server_errors,
        integrity_problems=len(problems),
        largest_group_commit=group_commit,
    )
    assert result.accepted >= KILL_AFTER_ACCEPTED
    assert result.lost == 0
    assert result.stored_twice == 0
    assert result.server_errors == 0
    assert group_commit > 1  # the kill hit the batched path, not one delivery at a time
    assert [title for title in filed if titles[title] != 1] == []
    assert all(count == 1 for count in titles.values())
    assert problems == []
    # Every filed incident is announced; a message is never lost, and only the one being sent
    # at the instant of the kill may arrive twice (the receiver drops it by webhook-id).
    with Session(engine) as session:
        announced = session.exec(select(func.count()).select_from(Notification)).one()
        stored_incidents = session.exec(select(func.count()).select_from(Incident)).one()
    assert announced == stored_incidents
    assert all(n.status == NotificationStatus.sent for n in rows), Counter(n.status for n in rows)
    assert lost_messages == set()
    assert len(twice) <= 1
    assert {int(message_id.rsplit("-", 1)[1]) for message_id in twice} <= in_flight
