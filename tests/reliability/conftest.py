"""Real servers for the reliability tests, and the figures each test reports.

A `Server` is `uvicorn api.main:create_app --factory` (or `stabilog serve`, which also runs the
scheduled jobs) in a subprocess on a free loopback port, its output captured to a file so a test
can read what it logged. Every wait is bounded; a server that does not answer /healthz in time
fails the test with its log.

Figures (deliveries sent, stored, lost; inputs tried; 5xx seen; duration) are printed at the end
of the run under "reliability figures", and appended as JSON lines to the file named by
STABILOG_RELIABILITY_FIGURES when that is set; docs/reliability.md quotes them.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 30.0
_FIGURES: list[tuple[str, dict]] = []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """One API process on 127.0.0.1; `kill()` is SIGKILL, `start()` again reuses the database."""

    def __init__(
        self,
        database_url: str,
        log_path: Path,
        *,
        scheduler: bool = False,
        env: dict[str, str] | None = None,
    ) -> None:
        self.database_url = database_url
        self.log_path = log_path
        self.scheduler = scheduler
        self.extra_env = env or {}
        self.process: subprocess.Popen | None = None
        self.port = 0
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        if self.scheduler:
            # `stabilog serve` is the production path that runs the scheduled jobs in-process.
            code = "from api.cli import app; app()"
            return [sys.executable, "-c", code, "serve", "--port", str(self.port)]
        return [
            sys.executable,
            "-m",
            "uvicorn",
            "api.main:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]

    def start(self) -> "Server":
        self.port = free_port()
        env = {
            **os.environ,
            "STABILOG_DATABASE_URL": self.database_url,
            "STABILOG_SCHEDULER": "true" if self.scheduler else "false",
            "STABILOG_HOST": "127.0.0.1",
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.command(), cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        self.starts += 1
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited with {self.process.returncode}:\n{self.log}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.kill()
        raise AssertionError(f"server did not answer /healthz in {STARTUP_SECONDS}s:\n{self.log}")

    def kill(self) -> None:
        """SIGKILL: no shutdown handler, no flush, no goodbye."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Makes servers on a database; every one is stopped when the test ends."""
    made: list[Server] = []

    def make(database_url: str, **options) -> Server:
        server = Server(database_url, tmp_path / f"server{len(made)}.log", **options)
        made.append(server)
        return server

    yield make
    for server in made:
        server.stop()


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Callable[..., None]:
    """`figures(sent=…, stored=…)`: what this test measured, for docs/reliability.md."""

    def note(**values: object) -> None:
        _FIGURES.append((request.node.nodeid, values))
        target = os.environ.get("STABILOG_RELIABILITY_FIGURES")
        if target:
            with open(target, "a", encoding="utf-8") as out:
                out.write(json.dumps({"test": request.node.nodeid, **values}) + "\n")

    return note


def pytest_terminal_summary(terminalreporter) -> None:
    if not _FIGURES:
        return
    terminalreporter.section("reliability figures")
    for nodeid, values in _FIGURES:
        shown = ", ".join(f"{name}={value}" for name, value in values.items())
        terminalreporter.write_line(f"{nodeid.split('::', 1)[-1]}: {shown}")
