"""Group commit: one writer stores the deliveries waiting at that moment in one transaction.

A webhook delivery is a few small statements and a commit, and on SQLite (one writer at a time)
the commit and the queueing for the write lock were a large part of it. Here every
request hands its parsed delivery to the engine's writer and waits for its future; the writer
takes everything queued, stores it in one transaction, commits once, and only then resolves the
futures: a request is answered 2xx only after its rows are committed, so a SIGKILL at any
instant loses nothing that was answered.

When anything in a batch fails, the whole batch rolls back and each of its items is stored
again in a transaction of its own, so one that fails fails alone and the others are stored.
That costs nothing while nothing fails, unlike a SAVEPOINT and RELEASE around every item: they
cost 120–150 µs a delivery on SQLite and 350–400 µs on PostgreSQL (in-process, batches of 16),
where a whole delivery costs 100–650 µs.

The writer thread starts on the first delivery and ends after a second without work, so an
engine that receives no deliveries (most test databases, the CLI) holds no thread. A delivery
alone that lost a deadlock to another process's is run again, three tries in all.
"""

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from incidents.db import utcnow

Item = TypeVar("Item")
Result = TypeVar("Result")

# Deliveries one transaction takes at most: bounds how long the first of them waits for its
# answer (a batch stores in ~0.1 ms a delivery on SQLite) and how much one failure redoes.
MAX_BATCH = 256
IDLE_SECONDS = 1.0


@dataclass
class Batch(Generic[Item]):
    """What one apply call sees: the connection in the batch's transaction and its moment."""

    connection: Connection
    now: datetime  # one time for every row of a batch: they are committed at the same instant
    memo: dict[Any, Any] = field(default_factory=dict)  # what the items may share, e.g. reads


# Checks a batch's items before they are stored: for each item, None or the error it fails with.
Check = Callable[[Connection, Sequence[Item]], list[BaseException | None]]
Apply = Callable[[Batch[Item], Item], Result]
# Runs once after a batch's items, before the commit, with the results of those stored.
Finish = Callable[[Batch[Item], Sequence[Result]], None]


class GroupCommitWriter(Generic[Item, Result]):
    """Stores items through `apply` in shared transactions, one at a time, on one thread.

    One writer a process on PostgreSQL too. Several threads did add about a quarter to one
    process's throughput there, but their batches, each a mix of deliveries, lock shared alert
    rows in no common order and deadlock (PostgreSQL then waits a second before breaking it);
    several processes (`stabilog serve --workers N`) scale without that within a process.
    """

    def __init__(self, engine: Engine, apply: Apply, *, check: Check, finish: Finish) -> None:
        self.engine = engine
        self._apply = apply
        self._check = check
        self._finish = finish
        self._running = False  # whether the thread runs (it ends when idle)
        self._pending: list[tuple[Item, Future[Result]]] = []
        self._wake = threading.Condition()
        self.batches = 0
        self.largest_batch = 0

    def submit(self, item: Item) -> "Future[Result]":
        """Queue an item; the future resolves after the transaction that stored it committed."""
        future: Future[Result] = Future()
        with self._wake:
            self._pending.append((item, future))
            if not self._running:
                self._running = True
                threading.Thread(target=self._run, name="group-commit", daemon=True).start()
            self._wake.notify()
        return future

    def _run(self) -> None:
        line = _Line(self.engine)
        try:
            while True:
                with self._wake:
                    if not self._pending:
                        self._wake.wait(timeout=IDLE_SECONDS)
                    if not self._pending:
                        self._running = False
                        return
                    batch = self._pending[:MAX_BATCH]
                    del self._pending[:MAX_BATCH]
                # A request gone before its turn (its client disconnected) is not stored.
                batch = [
                    (item, future)
                    for item, future in batch
                    if future.set_running_or_notify_cancel()
                ]
                if batch:
                    self._store(line, batch)
        finally:
            line.close()

    def _store(
        self, line: "_Line", batch: list[tuple[Item, Future[Result]]], tries_left: int = 3
    ) -> None:
        outcomes: list[tuple[Future[Result], Result | None, BaseException | None]] = []
        try:
            connection = line.connection()
            with connection.begin():
                if connection.dialect.name == "sqlite":
                    # pysqlite would send a deferred BEGIN before the first write, after the
                    # check's read, and a transaction that read first can fail with "database
                    # is locked" when another process wrote meanwhile. IMMEDIATE takes the
                    # write lock now (waiting up to the busy timeout).
                    connection.exec_driver_sql("BEGIN IMMEDIATE")
                checked = self._check(connection, [item for item, _ in batch])
                moment: Batch[Item] = Batch(connection, utcnow())
                for (item, future), refused in zip(batch, checked, strict=True):
                    result = self._apply(moment, item) if refused is None else None
                    outcomes.append((future, result, refused))
                stored = [result for _, result, refused in outcomes if refused is None]
                if stored:
                    self._finish(moment, stored)
        except BaseException as error:  # nothing of the batch is stored
            line.discard()  # it may be the connection that broke
            if len(batch) > 1:  # each alone, so that what failed fails alone
                for one in batch:
                    self._store(line, [one])
            elif tries_left > 1 and _is_transient(error):
                self._store(line, batch, tries_left - 1)
            else:
                batch[0][1].set_exception(error)
            return
        self.batches += 1
        self.largest_batch = max(self.largest_batch, len(batch))
        for future, result, refusal in outcomes:
            if refusal is not None:
                future.set_exception(refusal)
            else:
                future.set_result(result)  # type: ignore[arg-type]


# PostgreSQL's deadlock_detected and serialization_failure: the transaction lost a race with
# another process's and may simply be run again.
TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})


def _is_transient(error: BaseException) -> bool:
    return (
        isinstance(error, OperationalError)
        and getattr(error.orig, "sqlstate", None) in TRANSIENT_SQLSTATES
    )


class _Line:
    """A writer thread's connection, kept from batch to batch while the thread lives: taking
    one from the pool costs a checkout and, on PostgreSQL, a pre-ping round trip."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._connection: Connection | None = None

    def connection(self) -> Connection:
        if self._connection is None:
            self._connection = self.engine.connect()
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def discard(self) -> None:
        """After a failure: never back to the pool, it may be broken."""
        if self._connection is not None:
            self._connection.invalidate()
            self._connection.close()
            self._connection = None
