"""Who may do what, what never leaks, and what the service refuses to be flooded with.

- The role matrix walks `app.routes` and reads each route's role from its dependencies, so a
  route added later is checked (or, if nobody classified it, fails the test).
- Secrets (tokens, webhook keys, source secrets, robot URLs' tokens, channel secrets, an SMTP
  password) are used against a real server and must appear in none of its output, in no
  Python log record, and in no answer except the one that issues them.
- Bodies over STABILOG_MAX_BODY_BYTES are refused with 413, declared or chunked.
- One source's flood is answered 429 without slowing another source down.
"""

import inspect
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
from fastapi import routing
from fastapi.routing import APIRoute
from sqlmodel import Session, select

from api.deps import current_actor
from api.scheduler import outbox_job
from api.web.auth import csrf_token, form_writer, page_actor
from api.web.imports import upload_writer
from incidents.models import Role
from incidents.outbox import Notification
from incidents.settings import Settings
from incidents.tokens import create_token, revoke_token
from notifiers import build_client
from tests.incidents.alerts.builders import (
    GENERIC_SECRET,
    GRAFANA_SECRET,
    JKB_SECRET,
    fixture,
    grafana_headers,
    webhook_headers,
)
from tests.reliability.storm import am_alert, am_body, stored_occurrences

# Routes anyone may call: health and metrics for monitoring, the docs, the sign-in form and the
# page assets, and the webhooks (which authenticate by their URL's key and signature).
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    # The signed, expiring link is the credential: an on-call engineer acknowledges from the
    # robot message on the phone without signing in (incidents/ack_links.py).
    ("GET", "/ack/{token}"),
    ("POST", "/ack/{token}/verdict"),
    ("GET", "/metrics"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/static/{name}"),
    ("GET", "/api/v1/webhooks/{kind}/{source_key}"),
    ("POST", "/api/v1/webhooks/{kind}/{source_key}"),
}
PATH_VALUES = {
    "week": "2023-09-09",
    "kind": "alertmanager",
    "source_key": "no-such-key",
    "name": "style.css",
}
ABSENT_ID = "999999"  # ids of rows that do not exist: the check must not depend on data


def _dependency_calls(dependant) -> Iterator[object]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _dependency_calls(sub)


def required_role(dependant) -> tuple[str, Role] | None:
    """("api", role) for a bearer-token route, ("page", role) or ("form", role) for the web
    pages (cookie; forms also carry the CSRF token), None when the route asks for nobody."""
    calls = list(_dependency_calls(dependant))
    for call in calls:
        name = getattr(call, "__qualname__", "")
        if name in ("require.<locals>.check", "require_page_role.<locals>.check"):
            role = inspect.getclosurevars(call).nonlocals["role"]
            return ("api" if name.startswith("require.") else "page", role)
    if form_writer in calls or upload_writer in calls:
        return ("form", Role.oncall)
    if page_actor in calls:
        return ("page", Role.viewer)
    if current_actor in calls:
        return ("api", Role.viewer)
    return None


def served_routes(app) -> Iterator[tuple[str, set[str], object]]:
    """(path, methods, dependant or None) of every route the app answers, with the prefixes
    of included routers applied (FastAPI ≥ 0.160 keeps included routers as such)."""
    contexts = getattr(routing, "iter_route_contexts", None)
    for route in contexts(app.routes) if contexts else app.routes:
        original = getattr(route, "original_route", route)
        dependant = getattr(route, "dependant", None) if isinstance(original, APIRoute) else None
        yield route.path, set(route.methods or ()), dependant


def matrix(app) -> tuple[list[tuple[str, str, str, Role]], list[str]]:
    """Every (method, path, kind, role) the app serves, and the routes nobody classified."""
    rows, unclassified = [], []
    for path, methods, dependant in served_routes(app):
        for method in sorted(methods - {"HEAD"}):
            needs = required_role(dependant) if dependant is not None else None
            if needs is not None:
                rows.append((method, path, *needs))
            elif (method, path) not in PUBLIC:
                unclassified.append(f"{method} {path}")
    return rows, unclassified


def concrete(path: str) -> str:
    for name, value in PATH_VALUES.items():
        path = path.replace(f"{{{name}}}", value)
    while "{" in path:
        start = path.index("{")
        path = path[:start] + ABSENT_ID + path[path.index("}", start) + 1 :]
    return path


def refused(response: httpx.Response) -> bool:
    """401/403, or (for a page) the redirect to the sign-in form."""
    if response.status_code in (401, 403):
        return True
    location = response.headers.get("location", "")
    return response.status_code in (302, 303, 307) and location.startswith("/login?")


def test_role_matrix_over_every_route(client, session, figures) -> None:
    rows, unclassified = matrix(client.app)
    assert unclassified == [], "classify these routes in the role matrix or make them public"
    plain = {role: create_token(session, f"matrix-{role.value}", role)[1] for role in Role}
    session.commit()
    revoked = {}
    for role in Role:
        row, token = create_token(session, f"matrix-revoked-{role.value}", role)
        session.commit()
        revoke_token(session, row.id)
        session.commit()
        revoked[role] = token

    def call(method: str, path: str, kind: str, token: str | None, csrf: bool = True):
        if kind == "api":
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            body = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
            return client.request(method, path, headers=headers, follow_redirects=False, **body)
        client.cookies.clear()
        if token:
            client.cookies.set("stabilog_token", token)
        form = {"csrf": csrf_token(token) if token and csrf else "forged"}
        body = {"data": form} if method == "POST" else {}
        return client.request(method, path, follow_redirects=False, **body)

    checked = 0
    failures = []
    for method, template, kind, needed in rows:
        path = concrete(template)
        cases = [("no token", None, True), ("bad token", "stl_" + "0" * 43, True)]
        cases += [(f"revoked {role.value}", revoked[role], True) for role in Role]
        for label, token, must_refuse in cases:
            response = call(method, path, kind, token)
            checked += 1
            if refused(response) != must_refuse:
                failures.append(f"{method} {template} {label}: {response.status_code}")
        for role in Role:
            response = call(method, path, kind, plain[role])
            checked += 1
            if refused(response) != (not role.at_least(needed)):
                failures.append(f"{method} {template} as {role.value}: {response.status_code}")
        if kind == "form":  # the right role without the page's CSRF token is still refused
            response = call(method, path, kind, plain[Role.admin], csrf=False)
            checked += 1
            if response.status_code != 403:
                failures.append(f"{method} {template} forged form: {response.status_code}")
    client.cookies.clear()
    roles = {(method, path): role for method, path, _, role in rows}
    figures(
        backend=session.get_bind().dialect.name,
        routes=len(rows) + len(PUBLIC),
        protected=len(rows),
        requests=checked,
        wrong_answers=len(failures),
    )
    assert failures == [], failures
    # The issue's own words: viewer cannot write, oncall cannot manage tokens or sources.
    for (method, path), role in roles.items():
        if method != "GET" and path.startswith("/api/"):
            assert role.at_least(Role.oncall), (method, path)
        if path.startswith(("/api/v1/tokens", "/api/v1/sources", "/api/v1/channels")):
            assert role == Role.admin, (method, path)


# --- secrets -------------------------------------------------------------------------------

DING_TOKEN = "dingaccesstoken0123456789abcdef"
DING_SECRET = "SECdingsignsecret0123456789"
WECOM_KEY = "wecom-robot-key-6a1f0c2e"
FEISHU_HOOK = "feishu-hook-5d3e2b1a-0c9f"
FEISHU_SECRET = "feishu-sign-secret-77"
WEBHOOK_CHANNEL_SECRET = "whsec_c2VjcmV0LXdlYmhvb2stY2hhbm5lbC1rZXk="
SMTP_PASSWORD = "smtp-password-9f8e7d"
AM_SECRET = "alertmanager-bearer-4c3b2a"


def test_secrets_never_appear_in_logs_or_answers(
    engine, database_url, servers, caplog, figures
) -> None:
    caplog.set_level(logging.DEBUG)
    with Session(engine) as session:
        _, admin = create_token(session, "secrets-admin", Role.admin)
        session.commit()
    # With its scheduler, so the server's own outbox tries (and fails) every channel and logs it.
    server = servers(
        database_url, scheduler=True, env={"STABILOG_OUTBOX_INTERVAL_SECONDS": "1"}
    ).start()
    base = server.url
    closed = f"127.0.0.1:{_closed_port()}"
    answers: list[tuple[str, str]] = []  # (what, text) of every answer
    with httpx.Client(base_url=base, timeout=10.0, trust_env=False) as http:
        admin_h = {"Authorization": f"Bearer {admin}"}

        def api(method: str, path: str, **kwargs) -> httpx.Response:
            response = http.request(method, path, headers=admin_h, **kwargs)
            answers.append((f"{method} {path}", response.text))
            assert response.status_code < 500, response.text
            return response

        issued = api("POST", "/api/v1/tokens", json={"name": "oncall-bot", "role": "oncall"})
        oncall = issued.json()["token"]
        answers.pop()  # the one answer that shows a token: the one that issues it
        sources = {
            "alertmanager": AM_SECRET,
            "grafana": GRAFANA_SECRET,
            "generic": GENERIC_SECRET,
            "jiankongbao": JKB_SECRET,
        }
        paths = {}
        for kind, secret in sources.items():
            body = {"kind": kind, "name": f"secret-{kind}", "secret": secret}
            paths[kind] = api("POST", "/api/v1/sources", json=body).json()["webhook_path"]
        channels = [
            ("dingtalk", f"http://{closed}/robot/send?access_token={DING_TOKEN}", DING_SECRET),
            ("wecom", f"http://{closed}/cgi-bin/webhook/send?key={WECOM_KEY}", None),
            ("feishu", f"http://{closed}/open-apis/bot/v2/hook/{FEISHU_HOOK}", FEISHU_SECRET),
            ("webhook", f"http://{closed}/hooks/stabilog", WEBHOOK_CHANNEL_SECRET),
            ("email", f"smtp://alerts:{SMTP_PASSWORD}@{closed}?from=a@x.cn&to=b@x.cn", None),
        ]
        for kind, url, secret in channels:
            body = {"kind": kind, "name": kind, "url": url, "secret": secret}
            api("POST", "/api/v1/channels", json=body | {"events": ["incident"]})

        # Deliveries, signed right and wrong; a B-grade incident for every channel.
        now = int(time.time())
        deliveries = [
            ("alertmanager", am_body([am_alert("s1")]), {"Authorization": f"Bearer {AM_SECRET}"}),
            ("alertmanager", am_body([am_alert("s2")]), {"Authorization": "Bearer wrong"}),
            ("grafana", fixture("grafana_firing.json"), {}),
            ("generic", fixture("generic_single.json"), {}),
        ]
        for kind, body, headers in deliveries:
            if kind == "grafana":
                headers = grafana_headers(body, timestamp=now)
            elif kind == "generic":
                headers = webhook_headers(body, timestamp=now)
            answers.append((kind, http.post(paths[kind], content=body, headers=headers).text))
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        jkb = fixture("jiankongbao_post_fault.form")
        answers.append(("jkb", http.post(paths["jiankongbao"], content=jkb, headers=form).text))
        query = fixture("jiankongbao_get.query").decode()
        answers.append(("jkb get", http.get(f"{paths['jiankongbao']}?{query}").text))
        answers.append(("jkb forged", http.post(paths["jiankongbao"], content=b"x=1").text))
        incident = {"title": "清结算批量失败", "detected_at": "2023-09-07 10:00"}
        oncall_h = {"Authorization": f"Bearer {oncall}"}
        filed = http.post(
            "/api/v1/incidents", json=incident | {"failed_orders": 1200}, headers=oncall_h
        )
        assert filed.status_code == 201
        answers.append(
            (
                "GET /api/v1/incidents bad token",
                http.get("/api/v1/incidents", headers={"Authorization": f"Bearer {admin}x"}).text,
            )
        )

    # Every channel is unreachable: the server's outbox tries each and logs why it failed; so
    # does an outbox run in this process (caught by caplog), an hour later when all are due.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not _all_attempted(engine, len(channels)):
        time.sleep(0.2)
    assert _all_attempted(engine, len(channels))
    with build_client(httpx.Timeout(2.0), trust_env=False) as client:
        result = outbox_job(engine, client, Settings(), datetime.now(UTC) + timedelta(hours=1))
    assert result.retrying + result.failed == len(channels)
    with httpx.Client(base_url=base, timeout=10.0, trust_env=False) as http:
        for path in (
            "/api/v1/sources",
            "/api/v1/channels",
            "/api/v1/tokens",
            "/api/v1/notifications",
            "/api/v1/alerts",
            "/api/v1/incidents",
            "/metrics",
        ):
            answers.append(
                (path, http.get(path, headers={"Authorization": f"Bearer {admin}"}).text)
            )
    server.stop()

    keys = [path.rsplit("/", 1)[1] for path in paths.values()]
    secrets = [admin, oncall, *sources.values(), DING_TOKEN, DING_SECRET, WECOM_KEY]
    secrets += [FEISHU_HOOK, FEISHU_SECRET, WEBHOOK_CHANNEL_SECRET, SMTP_PASSWORD]
    # This test's own HTTP client logs the URLs it calls, webhook keys included; that is the
    # caller's log, not the service's.
    logged = "\n".join(
        record.getMessage()
        for record in caplog.records
        if not (record.name == "httpx" and server.url in record.getMessage())
    )
    logs = {"server output": server.log, "python logging": logged}
    leaks = [
        f"{secret[:6]}… in {where}"
        for secret in secrets + keys
        for where, text in logs.items()
        if secret in text
    ]
    # The webhook URL (its key) is shown to admins in the sources' answers, by design: it is
    # what they paste into the monitoring tool. Nowhere else.
    leaks += [
        f"{secret[:6]}… in {what}"
        for what, text in answers
        for secret in secrets + ([] if what.endswith("/api/v1/sources") else keys)
        if secret in text
    ]
    figures(
        backend=engine.dialect.name,
        secrets=len(secrets) + len(keys),
        answers_checked=len(answers),
        log_bytes=len(server.log) + len(logged),
        leaks=len(leaks),
    )
    assert leaks == [], leaks
    assert "POST /api/v1/webhooks/alertmanager/" in server.log  # the access log was there


def _all_attempted(engine, expected: int) -> bool:
    with Session(engine) as session:
        rows = session.exec(select(Notification)).all()
    return len(rows) == expected and all(row.attempts >= 1 for row in rows)


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- body size and rate limits -------------------------------------------------------------

LIMIT = 4096


def test_bodies_over_the_limit_are_refused_declared_or_chunked(
    engine, database_url, servers, auth, figures
) -> None:
    from tests.reliability.storm import make_alertmanager_source

    path = make_alertmanager_source(engine)
    server = servers(database_url, env={"STABILOG_MAX_BODY_BYTES": str(LIMIT)}).start()
    oncall = auth[Role.oncall]

    def chunks(body: bytes) -> Iterator[bytes]:
        for start in range(0, len(body), 1000):
            yield body[start : start + 1000]

    too_big = b"x" * (LIMIT + 1)
    big_delivery = am_body([am_alert(f"big{n}") for n in range(40)])
    assert len(big_delivery) > LIMIT
    results = []
    with httpx.Client(base_url=server.url, timeout=10.0, trust_env=False) as http:
        for target, headers, body in [
            ("/api/v1/incidents", oncall | {"Content-Type": "application/json"}, too_big),
            ("/api/v1/import/weekly", oncall, too_big),
            (path, {"Content-Type": "application/json"}, big_delivery),
        ]:
            declared = http.post(target, content=body, headers=headers)
            chunked = http.post(target, content=chunks(body), headers=headers)
            assert "content-length" not in chunked.request.headers
            results += [declared.status_code, chunked.status_code]
        small = am_body([am_alert("small")])
        assert len(small) < LIMIT
        at_most = http.post(path, content=small)
    figures(
        backend=engine.dialect.name, oversized_requests=len(results), refused_413=results.count(413)
    )
    assert results == [413] * 6
    assert at_most.status_code == 200
    assert set(stored_occurrences(engine)) == {"small"}


def test_a_flooding_source_gets_429_and_the_others_do_not(
    engine, database_url, servers, figures
) -> None:
    from tests.reliability.storm import make_alertmanager_source

    noisy = make_alertmanager_source(engine, "noisy")
    quiet = make_alertmanager_source(engine, "quiet")
    # 60 a minute per source and instance, in bursts of at most 10.
    server = servers(database_url, env={"STABILOG_WEBHOOK_RATE_PER_MINUTE": "60"}).start()
    statuses, retry_after = [], []
    started = time.monotonic()
    with httpx.Client(base_url=server.url, timeout=10.0, trust_env=False) as http:
        for number in range(30):
            response = http.post(noisy, content=am_body([am_alert(f"noisy{number}")]))
            statuses.append(response.status_code)
            if response.status_code == 429:
                retry_after.append(int(response.headers["Retry-After"]))
        elapsed = time.monotonic() - started
        quiet_answer = http.post(quiet, content=am_body([am_alert("quiet")]))
    stored = stored_occurrences(engine)
    accepted = statuses.count(200)
    figures(
        backend=engine.dialect.name,
        deliveries_sent=len(statuses),
        accepted=accepted,
        refused_429=statuses.count(429),
        stored=len(stored),
    )
    assert set(statuses) == {200, 429}
    # The burst of 10, plus one a second refilled while the 30 were being sent.
    assert 10 <= accepted <= 10 + int(elapsed) + 1
    assert all(seconds >= 1 for seconds in retry_after)
    assert quiet_answer.status_code == 200
    # A refused delivery stored nothing: the sender will retry it.
    assert len(stored) == accepted + 1
