"""Schemathesis against the service's own /openapi.json: every operation, with a valid admin
token and without one, on both databases. Checks: no 5xx, and every answer matches the schema
the document gives for its status.

Cases are generated from the schema (valid ones and, in schemathesis' negative mode, invalid
ones), sent to the ASGI app in-process. Half of them get the path's ids replaced by the ids of
seeded rows, so the operations act on real incidents, alerts, sources, channels and tokens
rather than answering 404. Webhook bodies are not in the document (the route reads the raw
bytes of four vendors' formats), so schemathesis sends those operations without one; the
bodies are fuzzed by test_http_fuzz.py.
"""

import warnings
from collections import Counter
from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlmodel import Session, select

from api.main import create_app
from incidents import action_items, service
from incidents.actors import Actor
from incidents.alerts import Delivery
from incidents.alerts.ingest import receive_delivery
from incidents.alerts.models import Alert, SourceCreate, SourceKind
from incidents.alerts.sources import create_source
from incidents.calendar import DEFAULT_CALENDAR
from incidents.grading import load_policy
from incidents.models import ActionItemCreate, IncidentCreate, Role
from incidents.outbox import ChannelCreate, Notification
from incidents.settings import Settings
from incidents.tokens import create_token
from notifiers.subscriptions import add_channel
from tests.reliability.storm import am_alert, am_body

EXAMPLES = {"admin token": 25, "no token": 8}
CHECKS = [not_a_server_error, response_schema_conformance]


def _operations() -> list[str]:
    # Collected from the app itself, so a new route is fuzzed without anyone listing it here.
    app = create_app(Settings(database_url="sqlite://"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydantic's note on defaults it cannot serialise
        document = app.openapi()
    return [
        f"{method.upper()} {path}"
        for path, methods in document["paths"].items()
        for method in methods
    ]


OPERATIONS = _operations()
_schemas: dict[str, schemathesis.schemas.BaseSchema] = {}


def schema_for(database_url: str):
    if database_url not in _schemas:
        app = create_app(Settings(database_url=database_url))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _schemas[database_url] = schemathesis.openapi.from_asgi("/openapi.json", app)
    return _schemas[database_url]


def seed(engine, database_url: str) -> tuple[str, dict[str, object]]:
    """One of everything, so that generated cases can act on real rows; returns the admin token
    and the values to put into path parameters."""
    policy = load_policy(None)
    with Session(engine, expire_on_commit=False) as session:
        admin_row, admin = create_token(session, "schemathesis-admin", Role.admin)
        session.commit()
        victim, _ = create_token(session, "schemathesis-victim", Role.viewer)
        session.commit()
        source = create_source(
            session, SourceCreate(kind=SourceKind.alertmanager, name="schemathesis")
        )
        channel = add_channel(
            session,
            ChannelCreate(
                kind="wecom",
                name="schemathesis",
                url="http://127.0.0.1:9/cgi-bin/webhook/send?key=k",
                events=["incident"],
            ),
        )
        actor = Actor(name="seed", role=Role.admin)
        incident = service.create_incident(
            session,
            IncidentCreate(
                title="支付网关超时", detected_at="2023-09-07 10:00", failed_orders=1200
            ),
            actor=actor,
            policy=policy,
            calendar=DEFAULT_CALENDAR,
        )
        due = DEFAULT_CALENDAR.today() + timedelta(days=30)
        item = action_items.add_action_item(
            session,
            incident.id,
            ActionItemCreate(title="加监控", owner="王五", verifier="李四", due_date=due),
            actor=actor,
            calendar=DEFAULT_CALENDAR,
        )
        session.commit()
        notification = session.exec(select(Notification)).one()
    receive_delivery(
        engine,
        kind="alertmanager",
        key=source.key,
        delivery=Delivery("POST", "application/json", am_body([am_alert("seed")]), {}, {}, None),
        settings=Settings(database_url=database_url),
        policy=policy,
    )
    with Session(engine) as session:
        alert = session.exec(select(Alert)).one()
    return admin, {
        "incident_id": incident.id,
        "item_id": item.id,
        "alert_id": alert.id,
        "source_id": source.id,
        "channel_id": channel.id,
        "notification_id": notification.id,
        "token_id": victim.id,
        "admin_token_id": admin_row.id,
        "week": "2023-09-09",
        "kind": "alertmanager",
        "source_key": source.key,
    }


@pytest.mark.parametrize("auth_mode", list(EXAMPLES))
@pytest.mark.parametrize("label", OPERATIONS)
def test_operation_has_no_server_error_and_matches_its_schema(
    engine, database_url, label, auth_mode, figures
) -> None:
    token, seeded = seed(engine, database_url)
    method, path = label.split(" ", 1)
    operation = schema_for(database_url)[path][method]
    answers: Counter[int] = Counter()
    strategy = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )

    @settings(
        max_examples=EXAMPLES[auth_mode],
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy, on_seeded_rows=st.booleans())
    def run(case, on_seeded_rows: bool) -> None:
        parameters = case.path_parameters or {}
        if on_seeded_rows:
            for name in parameters:
                if name in seeded:
                    parameters[name] = seeded[name]
        if parameters.get("token_id") == seeded["admin_token_id"]:
            # Revoking the token the cases are sent with would leave nothing but 401s to see.
            parameters["token_id"] = seeded["token_id"]
        headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
        if auth_mode == "admin token":
            headers["Authorization"] = f"Bearer {token}"
        case.headers = headers
        response = case.call()
        answers[response.status_code] += 1
        case.validate_response(response, checks=CHECKS)

    run()
    server_errors = sum(count for status, count in answers.items() if status >= 500)
    figures(
        backend=engine.dialect.name,
        operation=label,
        auth=auth_mode,
        inputs_tried=sum(answers.values()),
        answers=dict(sorted(answers.items())),
        server_errors=server_errors,
    )
    assert server_errors == 0
    if auth_mode == "no token" and not path.startswith(
        ("/api/v1/webhooks/", "/healthz", "/readyz")
    ):
        assert not any(200 <= status < 300 for status in answers), answers


def test_every_operation_is_fuzzed() -> None:
    assert len(OPERATIONS) == len(set(OPERATIONS))
    assert "POST /api/v1/webhooks/{kind}/{source_key}" in OPERATIONS
    assert "POST /api/v1/import/weekly" in OPERATIONS
    assert len(OPERATIONS) >= 39
