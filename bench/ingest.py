"""Webhook ingest throughput against a bare FastAPI endpoint on the same server.

    .venv/bin/python bench/ingest.py [--seconds 3] [--rounds 3] [--clients 8] [--database-url URL]

Starts `bench/server.py` on 127.0.0.1 against a fresh database (SQLite by default), then
alternates rounds of single-alert Alertmanager deliveries with unique fingerprints at the
ingest endpoint and at the bare endpoint, and times 1,000-alert deliveries. Prints requests per
second of each and their ratio. Talks to loopback only; every loop is bounded in time.
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from itertools import count
from pathlib import Path

import httpx
from sqlmodel import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from incidents.alerts.models import SourceCreate, SourceKind  # noqa: E402
from incidents.alerts.sources import create_source, webhook_path  # noqa: E402
from incidents.db import make_engine  # noqa: E402
from incidents.schema import upgrade_to_head  # noqa: E402

_fingerprints = count()
_fingerprint_lock = threading.Lock()


def delivery(alerts: int) -> bytes:
    with _fingerprint_lock:
        first = next(_fingerprints)
        for _ in range(alerts - 1):
            next(_fingerprints)
    return json.dumps(
        {
            "version": "4",
            "status": "firing",
            "receiver": "stabilog",
            "groupKey": '{}:{alertname="PayGatewayErrors"}',
            "truncatedAlerts": 0,
            "alerts": [
                {
                    "status": "firing",
                    "labels": {
                        "alertname": "PayGatewayErrors",
                        "service": "履约",
                        "severity": "warning",
                        "instance": f"pay-{n % 50}",
                    },
                    "annotations": {"summary": f"gateway errors above 1% on pay-{n % 50}"},
                    "startsAt": "2023-09-07T06:42:00Z",
                    "endsAt": "0001-01-01T00:00:00Z",
                    "generatorURL": "http://prometheus:9090/graph",
                    "fingerprint": f"{n:016x}",
                }
                for n in range(first, first + alerts)
            ],
        }
    ).encode()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(base: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise SystemExit("the server did not start")


def drive(url: str, seconds: float, clients: int) -> float:
    """Requests per second of `clients` threads posting single-alert deliveries for `seconds`."""
    done = [0] * clients
    refusals: list[str] = []
    stop_at = time.monotonic() + seconds

    def client(slot: int) -> None:
        with httpx.Client(timeout=30) as http:
            while time.monotonic() < stop_at:
                response = http.post(
                    url, content=delivery(1), headers={"Content-Type": "application/json"}
                )
                if not response.is_success:
                    refusals.append(f"{url} answered {response.status_code}: {response.text}")
                    return
                done[slot] += 1

    threads = [threading.Thread(target=client, args=(slot,)) for slot in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if refusals:  # a refused delivery is not throughput: stop loudly rather than report it
        raise SystemExit(refusals[0])
    return sum(done) / (time.monotonic() - started)


def rounds(rates: list[float]) -> str:
    return ", ".join(f"{rate:.0f}" for rate in rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    workdir = tempfile.mkdtemp(prefix="stabilog-bench-")
    database_url = args.database_url or f"sqlite:///{workdir}/bench.db"
    upgrade_to_head(database_url)
    with Session(make_engine(database_url)) as session:
        source = create_source(
            session, SourceCreate(kind=SourceKind.alertmanager, name=f"bench-{time.time_ns()}")
        )
        session.commit()
        path = webhook_path(source)

    port = free_port()
    # The per-source rate limit guards production from a runaway sender; the benchmark is one
    # on purpose, so it is lifted here.
    env = {
        **os.environ,
        "STABILOG_DATABASE_URL": database_url,
        "STABILOG_WEBHOOK_RATE_PER_MINUTE": str(10**9),
        "STABILOG_SCHEDULER": "false",
    }
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "bench/server.py"), str(port)], cwd=ROOT, env=env
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base, time.monotonic() + 30)
        drive(f"{base}/bench/bare", 1.0, args.clients)  # warm up both paths
        drive(f"{base}{path}", 1.0, args.clients)
        ingest_rates, bare_rates = [], []
        for _ in range(args.rounds):
            bare_rates.append(drive(f"{base}/bench/bare", args.seconds, args.clients))
            ingest_rates.append(drive(f"{base}{path}", args.seconds, args.clients))
        batch_seconds = []
        with httpx.Client(timeout=60) as http:
            for _ in range(5):
                body = delivery(1000)
                started = time.perf_counter()
                response = http.post(
                    f"{base}{path}", content=body, headers={"Content-Type": "application/json"}
                )
                batch_seconds.append(time.perf_counter() - started)
                assert response.json()["new"] == 1000, response.text
    finally:
        server.terminate()
        server.wait(timeout=10)

    ingest, bare = statistics.median(ingest_rates), statistics.median(bare_rates)
    backend = database_url.split(":", 1)[0]
    print(f"database            {backend}")
    print(f"bare endpoint       {bare:8.0f} req/s  (rounds: {rounds(bare_rates)})")
    print(f"stabilog ingest     {ingest:8.0f} req/s  (rounds: {rounds(ingest_rates)})")
    print(f"ratio ingest/bare   {ingest / bare:8.2f}   (goal ≥ 0.50)")
    print(
        f"1,000-alert delivery {statistics.median(batch_seconds) * 1000:7.0f} ms median "
        f"of {len(batch_seconds)} (goal < 1000 ms)"
    )


if __name__ == "__main__":
    main()
