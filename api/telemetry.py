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
from prometheus_client.core import GaugeMetricFamily
from sqlmodel import Session, col, func, select

from api.asgi import NotedSend
from incidents.jobs import JobRun
from incidents.outbox import Notification, NotificationStatus, backlog


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
        failed = Gauge(
            "stabilog_outbox_failed",
            "Notifications given up on after their retries (stabilog notifications retry)",
            registry=self.registry,
        )
        failed.set_function(lambda: self._failed(app))
        self.registry.register(_JobRuns(app))

    @staticmethod
    def _backlog(app: FastAPI) -> float:
        with Session(app.state.engine) as session:
            return float(backlog(session))

    @staticmethod
    def _failed(app: FastAPI) -> float:
        with Session(app.state.engine) as session:
            given_up = col(Notification.status) == NotificationStatus.failed
            return float(session.exec(select(func.count()).where(given_up)).one())

    def count_ingest(self, kind: str, counts: dict[str, int]) -> None:
        self.deliveries.labels(kind, "stored").inc()
        for outcome, key in (("new", "new"), ("repeat", "repeats"), ("resolved", "resolved")):
            if counts.get(key):
                self.alerts.labels(kind, outcome).inc(counts[key])


class _JobRuns:
    """When each scheduled job last ran (claimed its slot), read from `job_run`: the jobs may run
    in another process (`stabilog scheduler`), which serves no /metrics, and every instance can
    tell from the database. `time() - this` is the job's lag (deploy/prometheus). The label is
    not `job`, which Prometheus gives every target."""

    NAME = "stabilog_job_last_run_timestamp_seconds"
    HELP = "Unix time of each scheduled job's latest run"

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def describe(self) -> list[GaugeMetricFamily]:  # so registering it reads no database
        return [GaugeMetricFamily(self.NAME, self.HELP, labels=["scheduled_job"])]

    def collect(self) -> list[GaugeMetricFamily]:
        family = GaugeMetricFamily(self.NAME, self.HELP, labels=["scheduled_job"])
        latest = select(JobRun.job, func.max(JobRun.started_at)).group_by(col(JobRun.job))
        with Session(self.app.state.engine) as session:
            for job, started_at in session.exec(latest):
                family.add_metric([job], started_at.timestamp())
        return [family]


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
        noted = NotedSend(send)
        try:
            await self.app(scope, receive, noted)
        finally:
            template = _template(scope)
            status_code = str(noted.status_code)
            self.telemetry.requests.labels(scope["method"], template, status_code).inc()
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
