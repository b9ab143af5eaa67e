"""`stabilog serve` and `stabilog scheduler`: the long-running processes of a deployment.

The scheduled jobs run in one process only. `serve` with one worker runs them in the server's
process (unless STABILOG_SCHEDULER=false); with several, uvicorn spawns fresh worker processes
that import `worker_app`, which never starts the jobs, and this process, their supervisor, runs
them once. A deployment of several instances sets STABILOG_SCHEDULER=false on every `serve`
and runs one `stabilog scheduler` (the job slots of `incidents.jobs` keep a second harmless).
"""

import logging
import signal
import socket
import threading
from typing import TYPE_CHECKING

import typer
from apscheduler.schedulers.background import BackgroundScheduler
from fastapi import FastAPI

from api.cli.context import current_policy, migrate_embedded_database
from api.logs import configure_logging
from api.scheduler import build_scheduler
from incidents.db import engine_for
from incidents.settings import Settings, get_settings

if TYPE_CHECKING:  # imported when serving: other commands start without the server
    import uvicorn


def serve(
    host: str | None = typer.Option(None, help="Address to bind (default STABILOG_HOST)."),
    port: int | None = typer.Option(None, help="Port (default STABILOG_PORT)."),
    workers: int = typer.Option(
        1, min=1, help="Worker processes; the scheduled jobs still run once, in this process."
    ),
) -> None:
    """Run the API and web pages (migrating the embedded SQLite database first)."""
    import uvicorn

    from api.main import create_app  # the app's modules, only for the commands that serve it

    settings = get_settings()
    configure_logging(settings)
    migrate_embedded_database()
    # Our logging configuration and our access log (api/logs.py), not uvicorn's. uvicorn honours
    # X-Forwarded-For/-Proto from the addresses in FORWARDED_ALLOW_IPS (default 127.0.0.1).
    host, port = host or settings.host, port or settings.port
    if workers == 1:
        service = create_app(settings, run_scheduler=settings.scheduler)
        uvicorn.run(service, host=host, port=port, log_config=None, access_log=False)
        return
    jobs = _start_scheduler(settings) if settings.scheduler else None
    config = uvicorn.Config(
        "api.cli.serve:worker_app",
        factory=True,
        workers=workers,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
    )
    try:
        run_workers(config)
    finally:
        if jobs is not None:
            jobs.shutdown()


def tcp_socket(host: str, port: int) -> socket.socket:
    """The listening socket for several workers, made as uvicorn makes it but for the protocol
    number: uvicorn's `socket.socket(family)` has proto 0, so asyncio never sets TCP_NODELAY on
    the connections it accepts, and every answer written in two segments waits out the client's
    delayed ACK: 44 ms a request, 22 requests a second on one connection, on any endpoint."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def run_workers(config: "uvicorn.Config") -> None:
    """uvicorn's supervisor of `config.workers` processes, over a socket of `tcp_socket`."""
    from uvicorn.supervisors import Multiprocess

    Multiprocess(config, sockets=[tcp_socket(config.host, config.port)]).run()


def worker_app() -> FastAPI:
    """The app of one of `serve --workers N`'s processes: no scheduled jobs of its own."""
    from api.main import create_app

    settings = get_settings()
    configure_logging(settings)
    return create_app(settings)


def scheduler() -> None:
    """Run only the scheduled jobs (weekly section, reminders, digest, outbox), until stopped."""
    settings = get_settings()
    configure_logging(settings)
    migrate_embedded_database()
    jobs = _start_scheduler(settings)
    # A log line, not an echo: with STABILOG_LOG_FORMAT=json every line out must be JSON.
    logging.getLogger("stabilog.jobs").info("scheduler running; SIGINT or SIGTERM stops it")
    stop = threading.Event()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signal_number, lambda *_: stop.set())
    stop.wait()
    jobs.shutdown()


def _start_scheduler(settings: Settings) -> BackgroundScheduler:
    jobs = build_scheduler(engine_for(settings.database_url), settings, current_policy())
    jobs.start()
    return jobs
