"""The group-commit writer: shared transactions, answers only after the commit, failures alone.

The writer's own rules are checked on a probe table; the webhook path through it (noise rules
once a batch, every alert stored) on the real tables. Batches are made deterministic by holding
the database's write lock from another connection while deliveries queue up.
"""

import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, String, Table, func
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from incidents.alerts.event import Delivery
from incidents.alerts.ingest import DeliveryReceiver, Stored
from incidents.alerts.models import Alert, AlertStorm, SourceCreate, SourceKind
from incidents.alerts.sources import create_source
from incidents.alerts.writer import Batch, GroupCommitWriter
from incidents.grading import load_policy
from incidents.outbox import Notification, NotificationEvent
from tests.api.test_webhooks import am_alert, am_delivery, make_source
from tests.incidents.alerts.test_noise import subscribed  # noqa: F401 — a fixture

probe = Table(
    "group_commit_probe",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("name", String(40), nullable=False, unique=True),
)


@pytest.fixture
def probe_table(engine: Engine) -> Iterator[Table]:
    probe.create(engine, checkfirst=True)
    yield probe
    probe.drop(engine)


@contextmanager
def write_lock_held(engine: Engine) -> Iterator[None]:
    """Another connection holds what a writer needs, so whatever is submitted meanwhile queues."""
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            connection.exec_driver_sql("LOCK TABLE group_commit_probe, alert IN EXCLUSIVE MODE")
        yield
        connection.rollback()


def insert_name(batch: Batch[str], name: str) -> str:
    if name.startswith("bad"):
        raise ValueError(f"refusing {name}")
    batch.connection.execute(probe.insert().values(name=name))
    return name.upper()


def nothing_stale(connection, names: Sequence[str]) -> list[BaseException | None]:
    return [None] * len(names)


def stored_names(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return set(connection.execute(select(probe.c.name)).scalars())


def probe_writer(engine: Engine, finish=lambda batch, results: None) -> GroupCommitWriter:
    return GroupCommitWriter(engine, insert_name, check=nothing_stale, finish=finish)


def wait_until_queued(writer: GroupCommitWriter, count: int) -> None:
    """Until `count` items wait in the queue; 0: until the writer took what was queued."""
    deadline = time.monotonic() + 10
    while len(writer._pending) < count if count else writer._pending:
        assert time.monotonic() < deadline, "the queue never came to that"
        time.sleep(0.01)


def test_items_queued_during_a_commit_share_the_next_transaction(engine, probe_table) -> None:
    writer = probe_writer(engine)
    with write_lock_held(engine):
        first = writer.submit("first")
        wait_until_queued(writer, 0)  # the writer took it and waits for the lock
        rest = [writer.submit(f"item-{n}") for n in range(10)]
        wait_until_queued(writer, 10)
        assert not first.done()  # nothing is answered before its commit
    assert first.result(timeout=20) == "FIRST"
    assert [future.result(timeout=20) for future in rest] == [f"ITEM-{n}" for n in range(10)]
    assert writer.batches == 2
    assert writer.largest_batch == 10
    assert stored_names(engine) == {"first", *(f"item-{n}" for n in range(10))}


def test_an_item_that_fails_fails_alone_and_the_others_are_stored(engine, probe_table) -> None:
    writer = probe_writer(engine)
    with write_lock_held(engine):
        blocker = writer.submit("blocker")
        wait_until_queued(writer, 0)
        futures = [writer.submit(name) for name in ("good-1", "bad-1", "good-2")]
        wait_until_queued(writer, 3)
    blocker.result(timeout=20)
    assert futures[0].result(timeout=20) == "GOOD-1"
    assert futures[2].result(timeout=20) == "GOOD-2"
    with pytest.raises(ValueError, match="refusing bad-1"):
        futures[1].result(timeout=20)
    assert stored_names(engine) == {"blocker", "good-1", "good-2"}


def test_a_batch_whose_commit_fails_answers_nothing_before_each_is_tried_alone(
    engine, probe_table
) -> None:
    finished: list[list[str]] = []

    def fail_shared_batches(batch: Batch[str], results: Sequence[str]) -> None:
        finished.append(list(results))
        if len(results) > 1:
            raise RuntimeError("the shared commit fails")

    writer = probe_writer(engine, finish=fail_shared_batches)
    answered_early: list[str] = []
    with write_lock_held(engine):
        writer.submit("blocker")
        wait_until_queued(writer, 0)
        futures = [writer.submit(f"item-{n}") for n in range(3)]
        wait_until_queued(writer, 3)

        def note(future: Future) -> None:
            # Each answer comes only once its own transaction committed.
            if future.result() not in {name.upper() for name in stored_names(engine)}:
                answered_early.append(future.result())

        for future in futures:
            future.add_done_callback(note)
    assert [future.result(timeout=20) for future in futures] == ["ITEM-0", "ITEM-1", "ITEM-2"]
    assert answered_early == []
    assert finished == [
        ["BLOCKER"],
        ["ITEM-0", "ITEM-1", "ITEM-2"],
        ["ITEM-0"],
        ["ITEM-1"],
        ["ITEM-2"],
    ]
    assert stored_names(engine) == {"blocker", "item-0", "item-1", "item-2"}


def test_a_request_gone_before_its_turn_is_not_stored(engine, probe_table) -> None:
    writer = probe_writer(engine)
    with write_lock_held(engine):
        writer.submit("blocker")
        wait_until_queued(writer, 0)
        gone = writer.submit("gone")
        kept = writer.submit("kept")
        wait_until_queued(writer, 2)
        assert gone.cancel()
    assert kept.result(timeout=20) == "KEPT"
    assert stored_names(engine) == {"blocker", "kept"}


def test_the_writer_thread_ends_when_idle_and_starts_again(
    engine, probe_table, monkeypatch
) -> None:
    monkeypatch.setattr("incidents.alerts.writer.IDLE_SECONDS", 0.05)
    writer = probe_writer(engine)
    assert writer.submit("one").result(timeout=20) == "ONE"
    deadline = time.monotonic() + 10
    while writer._running:
        assert time.monotonic() < deadline, "the idle writer thread did not end"
        time.sleep(0.01)
    assert writer.submit("two").result(timeout=20) == "TWO"
    assert stored_names(engine) == {"one", "two"}


@pytest.fixture
def probe_for_alerts(engine: Engine) -> Iterator[None]:
    # The lock helper names the probe table on PostgreSQL; it must exist there.
    probe.create(engine, checkfirst=True)
    yield
    probe.drop(engine)


@pytest.mark.usefixtures("subscribed")  # a channel takes storm notices
def test_a_batch_of_deliveries_trips_the_storm_once_and_stores_every_alert(
    engine, settings, probe_for_alerts
) -> None:
    with Session(engine) as session:
        source = create_source(session, SourceCreate(kind=SourceKind.alertmanager, name="am"))
        session.commit()
        key = source.key
    settings = settings.model_copy(update={"storm_alerts_per_minute": 50})
    policy = load_policy(None)
    receiver = DeliveryReceiver(engine)  # the test's own, to count its batches
    source_row = receiver.sources.load("alertmanager", key)

    def deliver(fingerprint: str) -> Future[Stored]:
        body = am_delivery(am_alert(fingerprint, instance=f"pay-{fingerprint}"))
        delivery = Delivery("POST", "application/json", body, {}, {}, None)
        return receiver.submit(source_row, "alertmanager", delivery, settings, policy)

    assert deliver("warm-up").result(timeout=30).counts()["new"] == 1
    with write_lock_held(engine):
        blocker = deliver("blocker")
        wait_until_queued(receiver.writer, 0)  # the writer took it and waits for the lock
        answers = [deliver(f"fp-{n}") for n in range(59)]
        wait_until_queued(receiver.writer, 59)
    assert blocker.result(timeout=30).counts()["new"] == 1
    assert [answer.result(timeout=30).counts()["new"] for answer in answers] == [1] * 59
    assert receiver.writer.batches == 3  # warm-up, blocker, the 59 at once
    with Session(engine) as session:
        storms = session.exec(select(AlertStorm.id)).all()
        in_storm = session.exec(
            select(func.count()).select_from(Alert).where(col(Alert.storm_id).is_not(None))
        ).one()
        stored = session.exec(select(func.count()).select_from(Alert)).one()
        notices = session.exec(
            select(func.count())
            .select_from(Notification)
            .where(Notification.event == NotificationEvent.alert_storm)
        ).one()
        moments = session.exec(select(func.count(func.distinct(Alert.received_at)))).one()
    assert stored == 61
    assert len(storms) == 1  # started once, by the batch that passed 50 in the minute
    assert in_storm == 61  # the minute's alerts, the earlier batches' included
    assert notices == 1
    assert moments == 3  # a batch's rows share its moment


def test_concurrent_posts_through_the_route_are_each_answered_with_their_own_counts(
    engine, client, auth
) -> None:
    path = make_source(client, auth, "alertmanager")

    def post(n: int) -> dict:
        response = client.post(
            path,
            content=am_delivery(am_alert(f"c-{n}"), am_alert("shared")),
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 200, response.text
        return response.json()

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(post, range(40)))
    assert sum(answer["new"] for answer in answers) == 41
    assert sum(answer["repeats"] for answer in answers) == 39
    assert all(answer["received"] == 2 for answer in answers)
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Alert)).one() == 41


class DeadlockDetected(Exception):
    sqlstate = "40P01"  # as psycopg's error of that name carries it


def test_a_delivery_that_lost_a_deadlock_is_run_again(engine, probe_table) -> None:
    losses = ["lose once"]

    def lose_the_first_race(batch: Batch[str], name: str) -> str:
        if losses:
            losses.pop()
            raise OperationalError("INSERT …", {}, DeadlockDetected())
        return insert_name(batch, name)

    writer = GroupCommitWriter(
        engine, lose_the_first_race, check=nothing_stale, finish=lambda batch, results: None
    )
    assert writer.submit("raced").result(timeout=20) == "RACED"
    assert stored_names(engine) == {"raced"}


def test_an_error_that_is_not_a_lost_race_is_answered_at_once(engine, probe_table) -> None:
    tries: list[str] = []

    def always_unavailable(batch: Batch[str], name: str) -> str:
        tries.append(name)
        raise OperationalError("INSERT …", {}, Exception("the server closed the connection"))

    writer = GroupCommitWriter(
        engine, always_unavailable, check=nothing_stale, finish=lambda batch, results: None
    )
    with pytest.raises(OperationalError):
        writer.submit("once").result(timeout=20)
    assert tries == ["once"]
