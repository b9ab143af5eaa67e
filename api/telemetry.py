"""GET /metrics: Prometheus metrics of the service itself (requests, ingest, outbox backlog).

Each application gets its own registry, so several apps in one process (tests, two instances
in a benchmark) never share or clash over counters.
"""

import time

from fastapi import FastAPI, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from sqlmodel import Session

from incidents.outbox import backlog


class Telemetry:
    def __init__(self, app: FastAPI) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "stabilog_http_requests",
            "HTTP requests answered, by route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "stabilog_http_request_seconds",
            "Time to answer, by route template",
            ["route"],
            registry=self.registry,
        )
        self.alerts = Counter(
            "stabilog_alerts_ingested",
            "Alerts stored from webhooks, by kind and outcome (new, repeat, resolved)",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self.deliveries = Counter(
            "stabilog_webhook_deliveries",
            "Webhook deliveries by kind and result",
            ["kind", "result"],
            registry=self.registry,
        )
        outbox = Gauge(
            "stabilog_outbox_backlog",
            "Notifications waiting to be delivered",
            registry=self.registry,
        )
        outbox.set_function(lambda: self._backlog(app))

    @staticmethod
    def _backlog(app: FastAPI) -> float:
        with Session(app.state.engine) as session:
            return float(backlog(session))

    def count_ingest(self, kind: str, counts: dict[str, int]) -> None:
        self.deliveries.labels(kind, "stored").inc()
        for outcome, key in (("new", "new"), ("repeat", "repeats"), ("resolved", "resolved")):
            if counts.get(key):
                self.alerts.labels(kind, outcome).inc(counts[key])


class _Measure:
    """Counts and times every answer; plain ASGI, since BaseHTTPMiddleware costs every request."""

    def __init__(self, app, telemetry: Telemetry) -> None:
        self.app = app
        self.telemetry = telemetry

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status_code = 500

        async def send_and_note(message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            template = _template(scope)
            self.telemetry.requests.labels(scope["method"], template, str(status_code)).inc()
            self.telemetry.latency.labels(template).observe(time.perf_counter() - started)


def _template(scope) -> str:
    """/api/v1/incidents/{incident_id} rather than one label per id, and never a webhook's key
    (the key is a credential). The router leaves the matched parameters in the scope."""
    if scope.get("route") is None:
        return "unmatched"
    names = {str(value): name for name, value in scope.get("path_params", {}).items()}
    return "/".join(
        f"{{{names[part]}}}" if part in names else part for part in scope["path"].split("/")
    )


def install_telemetry(app: FastAPI) -> Telemetry:
    telemetry = Telemetry(app)
    app.state.telemetry = telemetry
    app.add_middleware(_Measure, telemetry=telemetry)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(telemetry.registry), media_type=CONTENT_TYPE_LATEST)

    return telemetry
