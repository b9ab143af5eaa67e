"""Webhook ingest throughput against a bare FastAPI endpoint on the same server.

    .venv/bin/python bench/ingest.py [--workers 1,2,4] [--seconds 5] [--rounds 3]
                                     [--connections 16] [--database-url URL] [--client wrk|python]

Starts `bench/server.py` (uvicorn, N worker processes) on 127.0.0.1 against a fresh database
(SQLite by default), then alternates rounds at the bare endpoint and at the ingest endpoint,
each a run of `wrk` (1 thread, 16 connections, 5 s; bench/delivery.lua makes every request a
single-alert Alertmanager delivery with a new fingerprint). After each ingest run it counts the
stored alerts of that run: every 2xx'd alert must be there, or the bench stops. Then it times
1,000-alert deliveries. Prints requests per second of each, their ratio and the load average.

wrk comes from Debian (`apt-get install -y wrk`, tried when it is missing); without it the
bench falls back to its own Python client (threads of httpx), which is slower than the server
and so flatters the ratio. Talks to loopback only; every run is bounded in time.
"""

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from itertools import count
from pathlib import Path

import httpx
from sqlalchemy import func
from sqlmodel import Session, col, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from incidents.alerts.models import Alert, SourceCreate, SourceKind  # noqa: E402
from incidents.alerts.sources import create_source, webhook_path  # noqa: E402
from incidents.db import make_engine  # noqa: E402
from incidents.schema import upgrade_to_head  # noqa: E402

LUA_SCRIPT = ROOT / "bench/delivery.lua"
_fingerprints = count()
_fingerprint_lock = threading.Lock()


def delivery(alerts: int, prefix: str = "py") -> bytes:
    """An Alertmanager v4 delivery of `alerts` alerts, each with a fingerprint never sent."""
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
                    "fingerprint": f"{prefix}{n:010d}",
                }
                for n in range(first, first + alerts)
            ],
        }
    ).encode()


class Refused(Exception):
    """A run with a refused or unanswered request, or a 2xx'd alert not stored: no figure."""


@dataclass
class Run:
    rate: float  # 2xx answers per second
    answered_2xx: int
    p50_ms: float | None = None
    p99_ms: float | None = None


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


def find_wrk() -> str | None:
    """wrk on the PATH, installed from Debian first when missing and apt-get can."""
    if shutil.which("wrk") is None and shutil.which("apt-get") is not None:
        print("wrk is missing: apt-get install -y wrk", file=sys.stderr)
        subprocess.run(
            ["apt-get", "install", "-y", "wrk"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
            timeout=300,
        )
    return shutil.which("wrk")


def drive_wrk(wrk: str, url: str, seconds: float, connections: int, prefix: str) -> Run:
    """One wrk run: 1 thread, `connections` connections, new fingerprints starting `prefix`."""
    command = [wrk, "-t1", f"-c{connections}", f"-d{seconds:g}s", "-s", str(LUA_SCRIPT)]
    output = subprocess.run(
        [*command, url, "--", prefix], capture_output=True, text=True, timeout=seconds + 60
    ).stdout
    figures = re.search(
        r"BENCH requests=(\d+) non2xx=(\d+) socket_errors=(\d+) p50_ms=([\d.]+) p99_ms=([\d.]+)",
        output,
    )
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if figures is None or rate is None:
        raise SystemExit(f"wrk said:\n{output}")
    requests, refused, socket_errors = (int(figures[n]) for n in (1, 2, 3))
    if refused or socket_errors:  # a refused delivery is not throughput: stop loudly
        raise Refused(f"{refused} non-2xx answers, {socket_errors} socket errors (timeouts)")
    ok = requests - refused
    return Run(float(rate[1]), ok, float(figures[4]), float(figures[5]))


def drive_python(url: str, seconds: float, connections: int, prefix: str) -> Run:
    """The fallback: `connections` threads posting single-alert deliveries for `seconds`."""
    done = [0] * connections
    refusals: list[str] = []
    stop_at = time.monotonic() + seconds

    def client(slot: int) -> None:
        with httpx.Client(timeout=30) as http:
            while time.monotonic() < stop_at:
                response = http.post(
                    url,
                    content=delivery(1, prefix),
                    headers={"Content-Type": "application/json"},
                )
                if not response.is_success:
                    refusals.append(f"{url} answered {response.status_code}: {response.text}")
                    return
                done[slot] += 1

    threads = [threading.Thread(target=client, args=(slot,)) for slot in range(connections)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if refusals:
        raise Refused(refusals[0])
    return Run(sum(done) / (time.monotonic() - started), sum(done))


def stored_with_prefix(engine, prefix: str) -> int:
    with Session(engine) as session:
        return session.exec(
            select(func.count()).select_from(Alert).where(col(Alert.fingerprint).startswith(prefix))
        ).one()


def new_source(engine) -> str:
    """A source of its own for each worker count: every new alert of one source in the last
    minute counts towards its storm (incidents/alerts/noise.py), and that count is read on every
    commit, so a source that already took a minute of deliveries makes the next figure worse."""
    with Session(engine) as session:
        source = create_source(
            session, SourceCreate(kind=SourceKind.alertmanager, name=f"bench-{time.time_ns()}")
        )
        session.commit()
        return webhook_path(source)


def rates(runs: list[Run]) -> str:
    return ", ".join(f"{run.rate:.0f}" for run in runs)


def measure(
    args: argparse.Namespace,
    drive: Callable[[str, float, int, str], Run],
    database_url: str,
    engine,
    path: str,
    workers: int,
    workdir: str,
) -> None:
    port = free_port()
    # The per-source rate limit guards production from a runaway sender; the benchmark is one
    # on purpose, so it is lifted here. The access log stays as configured (on by default).
    env = {
        **os.environ,
        "STABILOG_DATABASE_URL": database_url,
        "STABILOG_WEBHOOK_RATE_PER_MINUTE": str(10**9),
        "STABILOG_SCHEDULER": "false",
    }
    log = open(f"{workdir}/server-{workers}.log", "ab")  # noqa: SIM115 — closed below
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "bench/server.py"), str(port), str(workers)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    run_ids = count()
    try:
        wait_until_up(base, time.monotonic() + 60)
        drive(f"{base}/bench/bare", 1.0, args.connections, f"warm{time.time_ns()}")
        drive(f"{base}{path}", 1.0, args.connections, f"warm{time.time_ns()}")
        ingest_runs, bare_runs = [], []
        for _ in range(args.rounds):
            bare_runs.append(drive(f"{base}/bench/bare", args.seconds, args.connections, "bare"))
            prefix = f"w{workers}r{next(run_ids)}t{time.time_ns()}-"
            run = drive(f"{base}{path}", args.seconds, args.connections, prefix)
            stored = stored_with_prefix(engine, prefix)
            # Requests still in flight when the run ended may be stored without being counted.
            if stored < run.answered_2xx:
                raise Refused(f"{run.answered_2xx} deliveries answered 2xx, {stored} stored")
            ingest_runs.append(run)
        batch_ms = []
        if workers == 1:
            with httpx.Client(timeout=60) as http:
                for _ in range(5):
                    body = delivery(1000, f"big{time.time_ns()}-")
                    started = time.perf_counter()
                    response = http.post(
                        f"{base}{path}", content=body, headers={"Content-Type": "application/json"}
                    )
                    batch_ms.append((time.perf_counter() - started) * 1000)
                    assert response.json()["new"] == 1000, response.text
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()

    ingest = statistics.median(run.rate for run in ingest_runs)
    bare = statistics.median(run.rate for run in bare_runs)
    print(f"workers {workers}")
    print(f"  bare endpoint       {bare:8.0f} req/s  (rounds: {rates(bare_runs)})")
    print(f"  stabilog ingest     {ingest:8.0f} req/s  (rounds: {rates(ingest_runs)})")
    if ingest_runs[0].p50_ms is not None:
        latencies = ", ".join(f"{run.p50_ms:.1f}/{run.p99_ms:.1f}" for run in ingest_runs)
        print(f"  ingest p50/p99 ms   {latencies}")
    print(f"  ratio ingest/bare   {ingest / bare:8.2f}   (goal ≥ 0.50 on SQLite)")
    print(f"  2xx'd alerts stored {sum(run.answered_2xx for run in ingest_runs)} of as many")
    if batch_ms:
        print(
            f"  1,000-alert delivery {statistics.median(batch_ms):6.0f} ms median "
            f"of {len(batch_ms)} (goal < 1000 ms)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1", help="comma-separated, e.g. 1,2,4")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--client", choices=["wrk", "python"], default="wrk")
    args = parser.parse_args()

    wrk = find_wrk() if args.client == "wrk" else None
    if wrk is not None:
        drive: Callable[[str, float, int, str], Run] = partial(drive_wrk, wrk)
        client = f"wrk -t1 -c{args.connections} -d{args.seconds:g}s"
    else:
        drive = drive_python
        client = f"Python client, {args.connections} threads, {args.seconds:g} s"
    workdir = tempfile.mkdtemp(prefix="stabilog-bench-")
    database_url = args.database_url or f"sqlite:///{workdir}/bench.db"
    upgrade_to_head(database_url)
    engine = make_engine(database_url)
    print(f"database            {database_url.split(':', 1)[0]}")
    print(f"client              {client}")
    failed = []
    for workers in (int(n) for n in args.workers.split(",")):
        try:
            measure(args, drive, database_url, engine, new_source(engine), workers, workdir)
        except Refused as refusal:  # not throughput: said loudly, then the next worker count
            print(f"workers {workers}\n  NO FIGURE: {refusal}")
            failed.append(workers)
    print(f"load average        {' '.join(f'{n:.2f}' for n in os.getloadavg())} (1, 5, 15 min)")
    print(f"server logs         {workdir}")
    if failed:
        raise SystemExit(f"no figure for workers {', '.join(map(str, failed))}")


if __name__ == "__main__":
    main()
