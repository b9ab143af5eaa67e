"""Log lines for people or for log collectors, and the access log.

`STABILOG_LOG_FORMAT=json` writes one JSON object a line (time, level, logger, message; access
lines add method, path, status, duration_ms and client), which Loki, Elasticsearch or Cloud
Logging read without a parsing rule. The access log is ours rather than uvicorn's, so it carries
the time taken and is one setting (`STABILOG_ACCESS_LOG`) whatever serves the app; webhook keys
are redacted from it as from every other line (`api.logredact`).
"""

import json
import logging
import sys
import time
from datetime import UTC, datetime
from typing import TextIO

from fastapi import FastAPI

from api.asgi import NotedSend
from api.logredact import RedactWebhookKeys, redact
from incidents.settings import Settings

ACCESS = logging.getLogger("stabilog.access")
ACCESS_FIELDS = ("method", "path", "status", "duration_ms", "client")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JSONLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(
            {field: getattr(record, field) for field in ACCESS_FIELDS if field in vars(record)}
        )
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(settings: Settings, stream: TextIO | None = None) -> None:
    """The process's one handler (on stderr unless `stream`), replacing any before it; for the
    processes a deployment runs (`stabilog serve`, its workers, `stabilog scheduler`)."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        JSONLines() if settings.log_format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    # Whichever library writes a line with a webhook URL in it, the key never reaches the log.
    handler.addFilter(RedactWebhookKeys())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    # APScheduler says "Running job …" and "… executed successfully" twice a run at INFO; a
    # failing job is still logged, at ERROR.
    logging.getLogger("apscheduler.executors").setLevel(logging.WARNING)
    # httpx logs every request's URL at INFO, and a chat robot's URL carries its token.
    logging.getLogger("httpx").setLevel(logging.WARNING)


def install_access_log(app: FastAPI, settings: Settings) -> None:
    if settings.access_log:
        app.add_middleware(AccessLog)


class AccessLog:
    """One line per request, written after the answer; plain ASGI, as `api.telemetry._Measure`
    is, since BaseHTTPMiddleware costs every request."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or not ACCESS.isEnabledFor(logging.INFO):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        noted = NotedSend(send)
        try:
            await self.app(scope, receive, noted)
        finally:
            status_code = noted.status_code
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            query = scope.get("query_string", b"").decode("latin-1")
            path = redact(scope["path"] + (f"?{query}" if query else ""))
            client = scope.get("client")
            fields = {
                "method": scope["method"],
                "path": path,
                "status": status_code,
                "duration_ms": duration_ms,
                "client": client[0] if client else None,
            }
            ACCESS.info(
                "%s %s %d %.1fms", scope["method"], path, status_code, duration_ms, extra=fields
            )
