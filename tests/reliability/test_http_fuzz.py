"""Hostile bodies POSTed to the webhook routes and the weekly-report import, over HTTP.

The parsers have their own fuzz tests (tests/incidents/alerts/test_fuzz.py,
tests/incidents/test_report_parser.py); these go through the whole application — routing,
middleware, authentication, parsing and storing in the real database — and require a 2xx or a
4xx for every input, never a 5xx. Bodies are signed correctly where the kind signs, so they get
past the signature check and reach the parser and the database.
"""

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from urllib.parse import parse_qsl, urlencode

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.main import create_app
from incidents.demo import SEED_REPORT
from incidents.models import Role
from tests.incidents.alerts.builders import (
    GENERIC_SECRET,
    GRAFANA_SECRET,
    JKB_SECRET,
    fixture,
    fixture_json,
    grafana_headers,
    jkb_token,
    webhook_headers,
)
from tests.incidents.alerts.test_fuzz import EDGE_VALUES, mutated_bytes, mutated_json

AM_SECRET = "alertmanager-bearer-secret"
FUZZ = settings(
    max_examples=80,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
CONTENT_TYPES = st.sampled_from(
    ["", "application/json", "application/x-www-form-urlencoded", "text/plain; charset=utf-8"]
)
FIXTURES = {
    "alertmanager": ["alertmanager_firing.json", "alertmanager_mixed.json"],
    "grafana": ["grafana_firing.json", "grafana_resolved_valuestring.json"],
    "generic": ["generic_single.json", "generic_batch.json"],
    "jiankongbao": ["jiankongbao_json.json"],
}
SECRETS = {
    "alertmanager": AM_SECRET,
    "grafana": GRAFANA_SECRET,
    "generic": GENERIC_SECRET,
    "jiankongbao": JKB_SECRET,
}


class Tally:
    def __init__(self) -> None:
        self.tried = 0
        self.statuses: Counter[int] = Counter()

    def check(self, response) -> None:
        self.tried += 1
        self.statuses[response.status_code] += 1
        assert response.status_code < 500, response.text[:500]

    @property
    def server_errors(self) -> int:
        return sum(count for status, count in self.statuses.items() if status >= 500)


@pytest.fixture
def http(engine, settings) -> Iterator[TestClient]:
    # No per-source rate limit here: every input must reach the parser, not a 429.
    unlimited = settings.model_copy(update={"webhook_rate_per_minute": 10**7})
    with TestClient(create_app(unlimited), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def paths(http, auth) -> dict[str, str]:
    made = {}
    for kind, secret in SECRETS.items():
        body = {"kind": kind, "name": f"fuzz-{kind}", "secret": secret}
        response = http.post("/api/v1/sources", json=body, headers=auth[Role.admin])
        assert response.status_code == 201, response.text
        made[kind] = response.json()["webhook_path"]
    return made


def signed(kind: str, body: bytes, content_type: str) -> dict[str, str]:
    """Headers under which the kind's signature check passes for `body`."""
    headers = {"Content-Type": content_type} if content_type else {}
    now = int(time.time())
    if kind == "alertmanager":
        headers["Authorization"] = f"Bearer {AM_SECRET}"
    elif kind == "grafana":
        headers |= grafana_headers(body, timestamp=now)
    elif kind == "generic":
        headers |= webhook_headers(body, timestamp=now)
    return headers


def _jkb_signed(fields: dict) -> dict:
    texts = {name: value for name, value in fields.items() if isinstance(value, str)}
    token = jkb_token(
        texts.get("msg_id", ""), texts.get("task_id", ""), texts.get("fault_time", "")
    )
    return fields | {"token": token}


def run(check: Callable[..., None], **strategies) -> None:
    FUZZ(given(**strategies)(check))()


@pytest.mark.parametrize("kind", list(SECRETS))
def test_webhook_routes_never_answer_5xx(http, paths, kind, figures) -> None:
    tally = Tally()
    path = paths[kind]

    def arbitrary(body: bytes, content_type: str, method: str) -> None:
        if method == "GET":
            query = dict(parse_qsl(body.decode(errors="replace")))
            tally.check(http.get(path, params=query))
        else:
            tally.check(http.post(path, content=body, headers=signed(kind, body, content_type)))

    run(
        arbitrary,
        body=st.binary(max_size=2000),
        content_type=CONTENT_TYPES,
        method=st.sampled_from(["POST", "POST", "GET"]),
    )

    def mutated(data: st.DataObject, name: str, as_bytes: bool) -> None:
        if as_bytes:
            body = data.draw(mutated_bytes(fixture(name)))
        else:
            payload = data.draw(mutated_json(fixture_json(name)))
            if kind == "jiankongbao" and isinstance(payload, dict):
                payload = _jkb_signed(payload)
            body = json.dumps(payload).encode()
        tally.check(http.post(path, content=body, headers=signed(kind, body, "application/json")))

    run(mutated, data=st.data(), name=st.sampled_from(FIXTURES[kind]), as_bytes=st.booleans())

    if kind == "jiankongbao":  # its usual form: a urlencoded POST or a GET, signed in a field
        forms = ["jiankongbao_post_fault.form", "jiankongbao_post_recovery.form"]

        def mutated_form(data: st.DataObject, name: str, method: str) -> None:
            fields = dict(parse_qsl(fixture(name).decode(), keep_blank_values=True))
            fields = _jkb_signed(data.draw(mutated_json(fields)))
            body = urlencode(fields, errors="surrogatepass").encode()
            if method == "GET":
                tally.check(http.get(path + "?" + body.decode(errors="replace")))
            else:
                form = {"Content-Type": "application/x-www-form-urlencoded"}
                tally.check(http.post(path, content=body, headers=form))

        run(
            mutated_form,
            data=st.data(),
            name=st.sampled_from(forms),
            method=st.sampled_from(["GET", "POST"]),
        )

    figures(
        backend=http.app.state.engine.dialect.name,
        kind=kind,
        inputs_tried=tally.tried,
        answers=dict(sorted(tally.statuses.items())),
        server_errors=tally.server_errors,
    )
    assert tally.server_errors == 0


def _mutated_report_lines(data: st.DataObject, text: str) -> str:
    lines = text.splitlines()
    for _ in range(data.draw(st.integers(1, 5))):
        index = data.draw(st.integers(0, len(lines) - 1))
        action = data.draw(st.sampled_from(["delete", "duplicate", "replace", "edge", "digits"]))
        if action == "delete" and len(lines) > 1:
            del lines[index]
        elif action == "duplicate":
            lines.insert(index, lines[index])
        elif action == "replace":
            lines[index] = data.draw(st.text(max_size=80))
        elif action == "edge":
            value = data.draw(EDGE_VALUES)
            lines[index] = lines[index][: len(lines[index]) // 2] + str(value)
        else:  # numbers are where dates, counts and week numbers live
            digits = data.draw(st.from_regex(r"\A[0-9]{1,6}\Z"))
            lines[index] = "".join(
                digits if character.isdigit() else character for character in lines[index]
            )
    return "\n".join(lines)


def test_weekly_import_route_never_answers_5xx(http, auth, figures) -> None:
    tally = Tally()
    seed = SEED_REPORT.read_text(encoding="utf-8")
    headers = auth[Role.oncall] | {"Content-Type": "text/plain; charset=utf-8"}

    def arbitrary(body: bytes) -> None:
        tally.check(http.post("/api/v1/import/weekly", content=body, headers=headers))

    run(arbitrary, body=st.binary(max_size=3000))

    def mutated(data: st.DataObject, as_bytes: bool) -> None:
        if as_bytes:
            body = data.draw(mutated_bytes(seed.encode()))
        else:
            body = _mutated_report_lines(data, seed).encode("utf-8", "surrogatepass")
        tally.check(http.post("/api/v1/import/weekly", content=body, headers=headers))

    run(mutated, data=st.data(), as_bytes=st.booleans())
    figures(
        backend=http.app.state.engine.dialect.name,
        inputs_tried=tally.tried,
        answers=dict(sorted(tally.statuses.items())),
        server_errors=tally.server_errors,
    )
    assert tally.server_errors == 0


def test_week_and_time_parameters_at_the_calendars_ends_never_answer_5xx(
    http, auth, figures
) -> None:
    """Every route that takes a week or a time, with dates from year 1 to 9999 (schemathesis
    draws random strings, which rarely even parse as dates)."""
    tally = Tally()
    viewer, oncall = auth[Role.viewer], auth[Role.oncall]
    weeks = st.one_of(
        st.dates().map(str),
        st.builds(lambda y, w: f"{y:04d}-W{w:02d}", st.integers(1, 9999), st.integers(0, 99)),
    )
    times = st.datetimes(timezones=st.timezones()).map(lambda t: t.isoformat())

    def week_routes(week: str, day: str, moment: str, later: str) -> None:
        tally.check(http.get(f"/api/v1/reports/weekly/{week}", headers=viewer))
        tally.check(http.get(f"/api/v1/reports/weekly/{week}?format=html", headers=viewer))
        tally.check(http.get(f"/api/v1/weekly-figures/{week}", headers=viewer))
        tally.check(http.put(f"/api/v1/weekly-figures/{week}", json={}, headers=oncall))
        tally.check(http.get("/api/v1/incidents", params={"week": week}, headers=viewer))
        window = {"from": moment, "to": later}
        tally.check(http.get("/api/v1/metrics", params=window, headers=viewer))
        tally.check(http.get("/api/v1/incidents", params=window, headers=viewer))
        tally.check(http.get("/api/v1/alerts", params=window, headers=viewer))
        incident = {"title": "边界", "detected_at": moment, "report_week": day}
        tally.check(http.post("/api/v1/incidents", json=incident, headers=oncall))

    run(
        week_routes,
        week=weeks,
        day=st.dates().map(str),
        moment=times,
        later=times,
    )
    figures(
        backend=http.app.state.engine.dialect.name,
        inputs_tried=tally.tried,
        answers=dict(sorted(tally.statuses.items())),
        server_errors=tally.server_errors,
    )
    assert tally.server_errors == 0


LENGTHS = st.sampled_from([0, 1, 49, 50, 51, 99, 100, 101, 199, 200, 201, 300, 301, 20_001])


def test_alert_values_past_every_column_width_are_stored_and_promotable(
    engine, settings, auth, figures
) -> None:
    """Labels and annotations are free-form and unbounded; the alert and incident columns they
    fill are not. A long one must neither fail the delivery (the sender would drop the alert),
    nor its auto-promotion, nor a person's promotion later."""
    tally = Tally()
    promoting = settings.model_copy(
        update={"webhook_rate_per_minute": 10**7, "auto_promote_severities": "critical"}
    )
    with TestClient(create_app(promoting), raise_server_exceptions=False) as http:
        source = http.post(
            "/api/v1/sources",
            json={"kind": "alertmanager", "name": "wide"},
            headers=auth[Role.admin],
        ).json()
        number = 0

        def deliver(severity: int, service: int, summary: int, description: int, critical: bool):
            nonlocal number
            number += 1
            alert = {
                "status": "firing",
                "labels": {
                    "alertname": "Wide",
                    "severity": ("critical" if critical else "s" * severity) or "x",
                    "service": "系" * service,
                },
                "annotations": {"summary": "摘" * summary, "description": "述" * description},
                "startsAt": "2023-09-07T06:42:00Z",
                "fingerprint": f"wide{number}",
            }
            body = json.dumps({"version": "4", "status": "firing", "alerts": [alert]})
            delivered = http.post(source["webhook_path"], content=body)
            tally.check(delivered)
            assert delivered.status_code == 200, delivered.text[:300]
            alerts = http.get(
                "/api/v1/alerts", params={"limit": 1}, headers=auth[Role.viewer]
            ).json()["items"]
            if alerts and alerts[0]["incident_id"] is None:
                promoted = http.post(
                    f"/api/v1/alerts/{alerts[0]['id']}/promote", headers=auth[Role.oncall]
                )
                tally.check(promoted)
                assert promoted.status_code == 200, promoted.text[:300]

        run(
            deliver,
            severity=LENGTHS,
            service=LENGTHS,
            summary=LENGTHS,
            description=LENGTHS,
            critical=st.booleans(),
        )
    figures(
        backend=engine.dialect.name,
        inputs_tried=tally.tried,
        answers=dict(sorted(tally.statuses.items())),
        server_errors=tally.server_errors,
    )
    assert tally.server_errors == 0


def test_a_grade_override_reason_of_the_longest_allowed_length_is_kept(client, auth) -> None:
    """The API allows a 2,000-character reason; the stored summary "override: …" is narrower
    and PostgreSQL refuses a value wider than its column."""
    oncall = auth[Role.oncall]
    filed = client.post(
        "/api/v1/incidents",
        json={"title": "长理由", "detected_at": "2023-09-07 10:00"},
        headers=oncall,
    ).json()
    reason = "因" * 2000
    for grade in ("B", None):
        answer = client.post(
            f"/api/v1/incidents/{filed['id']}/grade",
            json={"grade": grade, "reason": reason},
            headers=oncall,
        )
        assert answer.status_code == 200, answer.text[:300]
    trail = client.get(f"/api/v1/incidents/{filed['id']}/audit", headers=oncall).json()
    assert any(entry["reason"] and entry["reason"].startswith("override: 因") for entry in trail)
