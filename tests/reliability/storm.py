"""Delivery storms over real HTTP: Alertmanager bodies with duplicates, sent by many threads.

A sender behaves like Alertmanager: it retries a 429 or 503 (bounded), and a delivery counts as
accepted only when it was answered 2xx. What was accepted is then looked for in the database.
"""

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from incidents.alerts.models import Alert, Source, SourceCreate, SourceKind
from incidents.alerts.sources import create_source, webhook_path

STARTS = "2023-09-07T06:42:00Z"
RETRY_STATUSES = frozenset({429, 503})


def am_alert(fingerprint: str, status: str = "firing", **annotations: str) -> dict:
    return {
        "status": status,
        "labels": {"alertname": "PayGatewayErrors", "severity": "warning", "service": "履约"},
        "annotations": {"summary": f"errors on {fingerprint}", **annotations},
        "startsAt": STARTS,
        "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph",
        "fingerprint": fingerprint,
    }


def am_body(alerts: Sequence[dict]) -> bytes:
    return json.dumps(
        {
            "version": "4",
            "status": "firing",
            "receiver": "stabilog",
            "groupKey": "{}:{}",
            "truncatedAlerts": 0,
            "alerts": list(alerts),
        }
    ).encode()


@dataclass(frozen=True)
class Delivery:
    path: str
    fingerprints: tuple[str, ...]
    copy: int  # 0 for the first copy of a delivery, 1 for its duplicate

    @property
    def body(self) -> bytes:
        return am_body([am_alert(fingerprint) for fingerprint in self.fingerprints])


def storm_plan(
    path: str, distinct: int, own: int = 4, shared: int = 2, pool: int = 25, seed: int = 7
) -> list[Delivery]:
    """`distinct` deliveries, each sent twice (the duplicates), in a shuffled order.

    Each carries `own` alerts of its own and `shared` from a small pool that many deliveries
    repeat, so concurrent deliveries race for the same occurrence rows.
    """
    rng = random.Random(seed)
    plan = []
    for number in range(distinct):
        mine = [f"d{number:05d}-{k}" for k in range(own)]
        common = [f"shared{rng.randrange(pool):03d}" for _ in range(shared)]
        fingerprints = tuple(dict.fromkeys(mine + common))
        plan += [Delivery(path, fingerprints, 0), Delivery(path, fingerprints, 1)]
    rng.shuffle(plan)
    return plan


@dataclass
class Outcome:
    delivery: Delivery
    base: str
    status: int | None = None  # the final answer; None when none came (connection lost)
    attempts: int = 0
    statuses: list[int] = field(default_factory=list)
    error: str | None = None

    @property
    def accepted(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def send_storm(
    plan: Sequence[Delivery],
    bases: Sequence[str],
    *,
    workers: int = 16,
    max_attempts: int = 6,
    stop: threading.Event | None = None,
    on_answer: Callable[[Outcome], None] | None = None,
    deadline_seconds: float = 120.0,
) -> list[Outcome]:
    """Send every delivery; bounded in attempts and time. With two bases, a delivery's first copy
    goes to one and its duplicate to the other.

    Once `stop` is set, or a connection fails, no new delivery starts: the server is gone.
    """
    stop = stop or threading.Event()
    deadline = time.monotonic() + deadline_seconds
    limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)

    with httpx.Client(timeout=httpx.Timeout(30.0), limits=limits, trust_env=False) as client:

        def send(index: int) -> Outcome:
            delivery = plan[index]
            outcome = Outcome(delivery, bases[delivery.copy % len(bases)])
            while (
                outcome.attempts < max_attempts
                and not stop.is_set()
                and time.monotonic() < deadline
            ):
                outcome.attempts += 1
                try:
                    response = client.post(
                        outcome.base + delivery.path,
                        content=delivery.body,
                        headers={"Content-Type": "application/json"},
                    )
                except httpx.TransportError as exc:
                    outcome.status, outcome.error = None, type(exc).__name__
                    stop.set()
                    break
                outcome.status = response.status_code
                outcome.statuses.append(response.status_code)
                if response.status_code not in RETRY_STATUSES:
                    break
                time.sleep(min(float(response.headers.get("Retry-After", "0.05")), 0.2))
            if on_answer is not None:
                on_answer(outcome)
            return outcome

        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(send, range(len(plan))))


def make_alertmanager_source(engine: Engine, name: str = "storm") -> str:
    with Session(engine) as session:
        source: Source = create_source(
            session, SourceCreate(kind=SourceKind.alertmanager, name=name)
        )
        session.commit()
        return webhook_path(source)


def stored_occurrences(engine: Engine) -> dict[str, tuple[int, int]]:
    """fingerprint → (rows stored, sum of repeat_count) for the storm's occurrence."""
    with Session(engine) as session:
        rows = session.execute(
            select(Alert.fingerprint, func.count(), func.sum(Alert.repeat_count)).group_by(
                Alert.fingerprint
            )
        ).all()
    return {fingerprint: (count, repeats) for fingerprint, count, repeats in rows}


@dataclass
class Tally:
    requests: int
    accepted: int
    unanswered: int  # sent, but the connection died before an answer
    server_errors: int
    retried: int
    alerts_accepted: int  # distinct fingerprints in accepted deliveries
    stored: int
    lost: int
    stored_twice: int
    wrong_repeat_counts: int


def tally(outcomes: Sequence[Outcome], stored: dict[str, tuple[int, int]]) -> Tally:
    """Compares what was answered 2xx with what the database holds."""
    seen = Counter(
        fingerprint
        for outcome in outcomes
        if outcome.accepted
        for fingerprint in outcome.delivery.fingerprints
    )
    lost = [fingerprint for fingerprint in seen if fingerprint not in stored]
    twice = [fingerprint for fingerprint, (rows, _) in stored.items() if rows != 1]
    # Each accepted copy after the first is a repeat; a retried 503 may have been stored too,
    # so only deliveries answered on their first attempt give an exact expectation.
    exact = all(outcome.attempts == 1 for outcome in outcomes if outcome.accepted)
    wrong = (
        [fp for fp, count in seen.items() if fp in stored and stored[fp][1] != count - 1]
        if exact
        else []
    )
    return Tally(
        requests=sum(outcome.attempts for outcome in outcomes),
        accepted=sum(outcome.accepted for outcome in outcomes),
        unanswered=sum(outcome.attempts > 0 and outcome.status is None for outcome in outcomes),
        server_errors=sum(status >= 500 for outcome in outcomes for status in outcome.statuses),
        retried=sum(outcome.attempts > 1 for outcome in outcomes),
        alerts_accepted=len(seen),
        stored=len(stored),
        lost=len(lost),
        stored_twice=len(twice),
        wrong_repeat_counts=len(wrong),
    )
