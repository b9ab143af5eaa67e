"""The webhook path's source cache: no lookup per delivery, and never a stale source stored under.

A change made in this process clears the cache at once; a change made by another instance
(simulated by writing the row directly, as another process would) is caught by the writer's
check of every batch's sources, in the batch's own transaction.
"""

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, event, update
from sqlmodel import Session, func, select

from incidents.alerts.event import Delivery
from incidents.alerts.ingest import receive_delivery, receiver_for
from incidents.alerts.models import Alert, Source, SourceCreate, SourceKind
from incidents.alerts.sources import create_source, rotate_key, update_source
from incidents.grading import load_policy
from tests.api.test_webhooks import am_alert, am_delivery

POLICY = load_policy(None)


def a_source(engine: Engine) -> tuple[int, str]:
    with Session(engine) as session:
        source = create_source(session, SourceCreate(kind=SourceKind.alertmanager, name="am"))
        session.commit()
        assert source.id is not None
        return source.id, source.key


def deliver(engine: Engine, settings, key: str, fingerprint: str) -> dict | None:
    body = am_delivery(am_alert(fingerprint, service="履约", team="支付"))
    return receive_delivery(
        engine,
        kind="alertmanager",
        key=key,
        delivery=Delivery("POST", "application/json", body, {}, {}, None),
        settings=settings,
        policy=POLICY,
    )


def stored(engine: Engine) -> dict[str, str | None]:
    with Session(engine) as session:
        return {alert.fingerprint: alert.system for alert in session.exec(select(Alert))}


@pytest.fixture
def lookups_by_key(engine: Engine) -> Iterator[list[str]]:
    """The statements that look a source up by its webhook key."""
    seen: list[str] = []

    def note(connection, cursor, statement, parameters, context, executemany) -> None:
        # SQLite quotes the column ("key" is one of its keywords), PostgreSQL does not.
        if "FROM source" in statement and (
            "source.key = " in statement or 'source."key" = ' in statement
        ):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    yield seen
    event.remove(engine, "before_cursor_execute", note)


def test_only_the_first_delivery_looks_the_source_up(engine, settings, lookups_by_key) -> None:
    _, key = a_source(engine)
    for n in range(5):
        assert deliver(engine, settings, key, f"fp-{n}")["new"] == 1
    assert len(lookups_by_key) == 1
    assert len(stored(engine)) == 5


def test_a_key_rotated_here_stops_working_at_once(engine, settings) -> None:
    source_id, old_key = a_source(engine)
    assert deliver(engine, settings, old_key, "before")["new"] == 1
    with Session(engine) as session:
        new_key = rotate_key(session, source_id).key
        session.commit()
    assert deliver(engine, settings, old_key, "old-key") is None
    assert deliver(engine, settings, new_key, "new-key")["new"] == 1
    assert set(stored(engine)) == {"before", "new-key"}


def test_a_source_disabled_here_refuses_at_once(engine, settings) -> None:
    source_id, key = a_source(engine)
    assert deliver(engine, settings, key, "before")["new"] == 1
    with Session(engine) as session:
        update_source(session, source_id, {"enabled": False})
        session.commit()
    assert deliver(engine, settings, key, "after") is None
    assert set(stored(engine)) == {"before"}


def changed_elsewhere(engine: Engine, source_id: int, **values: object) -> None:
    """Another instance's change: straight to the database, this process's cache not told."""
    table = Source.__table__  # type: ignore[attr-defined]
    with engine.begin() as connection:
        connection.execute(update(table).where(table.c.id == source_id).values(**values))


def test_a_key_rotated_by_another_instance_is_refused_by_the_next_batch(engine, settings) -> None:
    source_id, key = a_source(engine)
    assert deliver(engine, settings, key, "before")["new"] == 1
    assert receiver_for(engine).sources.cached("alertmanager", key) is not None
    changed_elsewhere(engine, source_id, key="rotated-by-another-instance")
    assert deliver(engine, settings, key, "after") is None
    assert receiver_for(engine).sources.cached("alertmanager", key) is None
    assert deliver(engine, settings, "rotated-by-another-instance", "new-key")["new"] == 1
    assert set(stored(engine)) == {"before", "new-key"}


def test_a_source_disabled_by_another_instance_is_refused_by_the_next_batch(
    engine, settings
) -> None:
    source_id, key = a_source(engine)
    assert deliver(engine, settings, key, "before")["new"] == 1
    changed_elsewhere(engine, source_id, enabled=False)
    assert deliver(engine, settings, key, "after") is None
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Alert)).one() == 1


def test_a_source_edited_by_another_instance_is_stored_under_as_it_is_now(engine, settings) -> None:
    source_id, key = a_source(engine)
    assert deliver(engine, settings, key, "before")["new"] == 1  # system from label "service"
    changed_elsewhere(engine, source_id, system_label="team")
    assert deliver(engine, settings, key, "after")["new"] == 1
    assert stored(engine) == {"before": "履约", "after": "支付"}


def test_unknown_keys_take_no_room_in_the_cache(engine, settings, lookups_by_key) -> None:
    for n in range(3):
        assert deliver(engine, settings, f"guessed-{n}", "x") is None
        assert deliver(engine, settings, f"guessed-{n}", "x") is None
        assert receiver_for(engine).sources.cached("alertmanager", f"guessed-{n}") is None
    assert len(lookups_by_key) == 6  # each guess is looked up every time
