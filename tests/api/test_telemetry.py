"""/metrics and the per-source webhook rate limit."""

from fastapi.testclient import TestClient
from sqlmodel import func, select

from api.main import create_app
from incidents.alerts.models import Alert
from incidents.models import Role
from tests.incidents.alerts.builders import fixture


def test_metrics_count_requests_and_ingest_without_leaking_webhook_keys(client, auth) -> None:
    path = client.post(
        "/api/v1/sources", json={"kind": "alertmanager", "name": "am"}, headers=auth[Role.admin]
    ).json()["webhook_path"]
    key = path.rsplit("/", 1)[1]
    client.post(path, content=fixture("alertmanager_firing.json"))
    client.post(path, content=fixture("alertmanager_firing.json"))
    client.get("/api/v1/incidents/41", headers=auth[Role.viewer])
    text = client.get("/metrics").text
    assert key not in text
    assert ('stabilog_alerts_ingested_total{kind="alertmanager",outcome="new"} 1.0') in text
    assert ('stabilog_alerts_ingested_total{kind="alertmanager",outcome="repeat"} 1.0') in text
    assert (
        'stabilog_http_requests_total{method="GET",route="/api/v1/incidents/{incident_id}",'
        'status="404"} 1.0'
    ) in text
    assert "stabilog_outbox_backlog 0.0" in text


def test_a_runaway_source_gets_429_and_others_do_not(engine, settings, session, auth) -> None:
    limited = settings.model_copy(update={"webhook_rate_per_minute": 6})  # bursts of 10
    with TestClient(create_app(limited)) as client:
        make = {"kind": "alertmanager"}
        noisy = client.post(
            "/api/v1/sources", json={**make, "name": "noisy"}, headers=auth[Role.admin]
        ).json()["webhook_path"]
        quiet = client.post(
            "/api/v1/sources", json={**make, "name": "quiet"}, headers=auth[Role.admin]
        ).json()["webhook_path"]
        body = fixture("alertmanager_firing.json")
        answers = [client.post(noisy, content=body).status_code for _ in range(12)]
        assert answers == [200] * 10 + [429, 429]
        refused = client.post(noisy, content=body)
        assert int(refused.headers["Retry-After"]) >= 1
        assert client.post(quiet, content=body).status_code == 200
        assert 'result="rate_limited"' in client.get("/metrics").text
    stored = session.exec(select(func.count()).select_from(Alert)).one()
    assert stored == 2  # one occurrence per source; the refused deliveries stored nothing
