"""Webhook deliveries end to end: authenticated by source, stored once, resolved, followed up."""

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlmodel import Session, func, select

from incidents.alerts import Delivery
from incidents.alerts.ingest import receive_delivery
from incidents.alerts.models import Alert, Source
from incidents.grading import load_policy
from incidents.models import Incident, Role
from tests.incidents.alerts.builders import (
    GENERIC_SECRET,
    GRAFANA_SECRET,
    JKB_SECRET,
    fixture,
    grafana_headers,
    jkb_token,
    webhook_headers,
)

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def make_source(client, auth, kind: str, secret: str | None = None, **extra) -> str:
    body = {"kind": kind, "name": f"{kind}-{secret or 'open'}", "secret": secret, **extra}
    response = client.post("/api/v1/sources", json=body, headers=auth[Role.admin])
    assert response.status_code == 201, response.text
    return response.json()["webhook_path"]


def am_alert(
    fingerprint: str, status: str = "firing", starts: str = "2023-09-07T06:42:00Z", **labels: str
) -> dict:
    return {
        "status": status,
        "labels": {"alertname": "PayGatewayErrors", "severity": "warning", **labels},
        "annotations": {"summary": f"errors on {fingerprint}"},
        "startsAt": starts,
        "endsAt": "2023-09-07T07:00:00Z" if status == "resolved" else "0001-01-01T00:00:00Z",
        "generatorURL": "http://prometheus:9090/graph",
        "fingerprint": fingerprint,
    }


def am_delivery(*alerts: dict) -> bytes:
    status = "firing" if any(a["status"] == "firing" for a in alerts) else "resolved"
    return json.dumps(
        {
            "version": "4",
            "status": status,
            "receiver": "stabilog",
            "groupKey": "{}:{}",
            "truncatedAlerts": 0,
            "alerts": list(alerts),
        }
    ).encode()


def alerts(session: Session) -> list[Alert]:
    session.expire_all()
    return list(session.exec(select(Alert).order_by(Alert.id)))


def test_alertmanager_fixture_stores_once_counts_repeats_and_resolves(client, auth, session):
    path = make_source(client, auth, "alertmanager")
    first = client.post(path, content=fixture("alertmanager_firing.json"))
    assert first.status_code == 200, first.text
    assert first.json() == {
        "received": 1,
        "new": 1,
        "repeats": 0,
        "resolved": 0,
        "truncated_by_sender": 0,
    }
    again = client.post(path, content=fixture("alertmanager_firing.json"))
    assert again.json()["repeats"] == 1
    [alert] = alerts(session)
    assert (alert.fingerprint, alert.status, alert.repeat_count) == (
        "4e4c4c3d872bf6d8",
        "firing",
        1,
    )
    assert alert.title == "Instance 10.0.0.12:9100 down"
    assert alert.ends_at is None

    resolved = client.post(path, content=fixture("alertmanager_resolved.json"))
    assert resolved.json()["resolved"] == 1
    [alert] = alerts(session)
    assert alert.status == "resolved"
    assert alert.ends_at is not None
    assert alert.resolved_at is not None
    # A late copy of the old firing notice does not reopen it.
    client.post(path, content=fixture("alertmanager_firing.json"))
    assert [a.status for a in alerts(session)] == ["resolved"]


def test_refiring_after_resolution_is_a_new_occurrence(client, auth, session) -> None:
    path = make_source(client, auth, "alertmanager")
    client.post(path, content=am_delivery(am_alert("fp1")))
    client.post(path, content=am_delivery(am_alert("fp1", "resolved")))
    refired = client.post(path, content=am_delivery(am_alert("fp1", starts="2023-09-07T08:00:00Z")))
    assert refired.json()["new"] == 1
    assert [(a.fingerprint, a.status) for a in alerts(session)] == [
        ("fp1", "resolved"),
        ("fp1", "firing"),
    ]


def test_a_resolution_never_seen_firing_is_stored_resolved_once(client, auth, session) -> None:
    path = make_source(client, auth, "alertmanager")
    body = am_delivery(am_alert("fp9", "resolved"))
    assert client.post(path, content=body).json()["new"] == 1
    assert client.post(path, content=body).json()["repeats"] == 1
    assert [(a.status, a.repeat_count) for a in alerts(session)] == [("resolved", 1)]


def test_jiankongbao_form_callback_is_checked_decoded_and_recovered(client, auth, session):
    path = make_source(client, auth, "jiankongbao", JKB_SECRET)
    response = client.post(path, content=fixture("jiankongbao_post_fault.form"), headers=FORM)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    assert len(response.text) <= 100
    [alert] = alerts(session)
    assert "北京电信、上海联通等12个监测点" in alert.title
    assert alert.status == "firing"
    recovery = client.post(path, content=fixture("jiankongbao_post_recovery.form"), headers=FORM)
    assert recovery.status_code == 200
    assert [a.status for a in alerts(session)] == ["resolved"]
    # 监控宝 retries: the same recovery again neither adds nor reopens anything.
    client.post(path, content=fixture("jiankongbao_post_recovery.form"), headers=FORM)
    assert [(a.status, a.repeat_count) for a in alerts(session)] == [("resolved", 1)]


def test_jiankongbao_with_a_forged_token_is_refused_and_nothing_stored(client, auth, session):
    path = make_source(client, auth, "jiankongbao", JKB_SECRET)
    forged = fixture("jiankongbao_post_fault.form").replace(
        b"token=9d4ed900e0581ed7cee5572d18ea2950", b"token=" + jkb_token("1", "2", "3").encode()
    )
    response = client.post(path, content=forged, headers=FORM)
    assert response.status_code == 401
    assert JKB_SECRET not in response.text
    assert alerts(session) == []


def test_grafana_and_generic_deliveries_are_signed_and_checked(client, auth, session) -> None:
    grafana = make_source(client, auth, "grafana", GRAFANA_SECRET)
    body = fixture("grafana_firing.json")
    now = int(time.time())
    assert client.post(grafana, content=body).status_code == 401
    signed = client.post(grafana, content=body, headers=grafana_headers(body, timestamp=now))
    assert signed.status_code == 200, signed.text

    generic = make_source(client, auth, "generic", GENERIC_SECRET)
    body = fixture("generic_single.json")
    stale = webhook_headers(body, timestamp=now - 3600)
    assert client.post(generic, content=body, headers=stale).status_code == 401
    fresh = client.post(generic, content=body, headers=webhook_headers(body, timestamp=now))
    assert fresh.status_code == 200, fresh.text
    assert len(alerts(session)) == 2


def test_unknown_disabled_and_rotated_sources_are_refused(client, auth, session) -> None:
    path = make_source(client, auth, "alertmanager")
    body = fixture("alertmanager_firing.json")
    assert client.post(path + "x", content=body).status_code == 404
    assert client.post(path.replace("alertmanager", "grafana"), content=body).status_code == 404
    assert client.post("/api/v1/webhooks/nagios/abc", content=body).status_code == 422
    [source] = client.get("/api/v1/sources", headers=auth[Role.admin]).json()
    client.patch(
        f"/api/v1/sources/{source['id']}", json={"enabled": False}, headers=auth[Role.admin]
    )
    assert client.post(path, content=body).status_code == 404
    client.patch(
        f"/api/v1/sources/{source['id']}", json={"enabled": True}, headers=auth[Role.admin]
    )
    rotated = client.post(
        f"/api/v1/sources/{source['id']}/rotate-key", headers=auth[Role.admin]
    ).json()
    assert client.post(path, content=body).status_code == 404
    assert client.post(rotated["webhook_path"], content=body).status_code == 200
    assert client.get("/api/v1/sources", headers=auth[Role.oncall]).status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "body"),
        (b"[]", "body"),
        (json.dumps({"version": "4", "alerts": [{"status": "firing"}]}).encode(), "alerts"),
        (am_delivery(am_alert("fp", starts="yesterday")), "startsAt"),
    ],
)
def test_malformed_deliveries_are_422_naming_the_field(client, auth, session, body, field):
    path = make_source(client, auth, "alertmanager")
    response = client.post(path, content=body)
    assert response.status_code == 422, response.text
    assert field in json.dumps(response.json()["detail"])
    assert alerts(session) == []


def test_a_source_needing_a_secret_cannot_be_created_without_one(client, auth) -> None:
    for kind in ("jiankongbao", "generic"):
        response = client.post(
            "/api/v1/sources", json={"kind": kind, "name": kind}, headers=auth[Role.admin]
        )
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"][-1] == "secret"


def test_oversized_delivery_is_413(client, auth, session) -> None:
    path = make_source(client, auth, "alertmanager")
    response = client.post(path, content=b" " * 6_000_000)
    assert response.status_code == 413
    assert alerts(session) == []


def test_a_thousand_alert_delivery_is_stored_whole(client, auth, session) -> None:
    path = make_source(client, auth, "alertmanager")
    body = am_delivery(*(am_alert(f"fp{n:04d}") for n in range(1000)))
    response = client.post(path, content=body)
    assert response.json()["new"] == 1000
    assert session.exec(select(func.count()).select_from(Alert)).one() == 1000


def test_follow_up_ack_verdict_and_promote(client, auth, session) -> None:
    path = make_source(client, auth, "alertmanager", system_label="service")
    client.post(path, content=am_delivery(am_alert("a", service="履约"), am_alert("b")))
    first, second = alerts(session)
    oncall, viewer = auth[Role.oncall], auth[Role.viewer]
    base = "/api/v1/alerts"
    assert client.get(base, params={"followed_up": False}, headers=viewer).json()["total"] == 2

    acked = client.post(f"{base}/{first.id}/ack", headers=oncall).json()
    assert acked["acked_by"] == "oncall-user"
    assert acked["first_follow_up_at"] == acked["acked_at"]
    again = client.post(f"{base}/{first.id}/ack", headers=oncall).json()
    assert again["acked_at"] == acked["acked_at"]
    judged = client.post(
        f"{base}/{first.id}/verdict", json={"valid": True, "note": "真实故障"}, headers=oncall
    ).json()
    assert (judged["valid"], judged["first_follow_up_at"]) == (True, acked["acked_at"])

    incident = client.post(f"{base}/{first.id}/promote", headers=oncall).json()
    assert incident["detection"] == "alert"
    assert incident["source"] == "alertmanager-open"
    assert incident["system"] == "履约"
    assert incident["detected_at"] == "2023-09-07T14:42:00+08:00"
    assert incident["title"] == "errors on a"
    linked = client.post(
        f"{base}/{second.id}/promote", json={"incident_id": incident["id"]}, headers=oncall
    ).json()
    assert linked["id"] == incident["id"]
    assert session.exec(select(func.count()).select_from(Incident)).one() == 1
    assert client.get(base, params={"followed_up": True}, headers=viewer).json()["total"] == 2
    relink = client.post(f"{base}/{second.id}/promote", headers=oncall)
    assert relink.status_code == 422
    assert client.post(f"{base}/999/ack", headers=oncall).status_code == 404
    assert client.post(f"{base}/{first.id}/ack", headers=viewer).status_code == 403
    trail = client.get(f"/api/v1/incidents/{incident['id']}/audit", headers=viewer).json()
    assert [e["action"] for e in trail].count("alert_linked") == 2


def test_alert_list_filters(client, auth, session) -> None:
    path = make_source(client, auth, "alertmanager")
    client.post(path, content=am_delivery(am_alert("x"), am_alert("y")))
    client.post(path, content=am_delivery(am_alert("y", "resolved")))
    viewer = auth[Role.viewer]
    assert (
        client.get("/api/v1/alerts", params={"status": "firing"}, headers=viewer).json()["total"]
        == 1
    )
    assert (
        client.get("/api/v1/alerts", params={"source": "alertmanager-open"}, headers=viewer).json()[
            "total"
        ]
        == 2
    )
    assert (
        client.get("/api/v1/alerts", params={"source": "other"}, headers=viewer).json()["total"]
        == 0
    )
    assert (
        client.get("/api/v1/alerts", params={"from": "2000-01-01 00:00"}, headers=viewer).json()[
            "total"
        ]
        == 2
    )
    assert (
        client.get("/api/v1/alerts", params={"status": "open"}, headers=viewer).status_code == 422
    )


def test_auto_promotion_groups_a_systems_alerts_into_one_incident(
    engine, settings, session, client, auth
) -> None:
    path = make_source(client, auth, "alertmanager")
    [source] = session.exec(select(Source)).all()
    settings = settings.model_copy(update={"auto_promote_severities": "critical"})
    body = am_delivery(
        am_alert("c1", severity="critical", service="履约"),
        am_alert("c2", severity="critical", service="履约", starts="2023-09-07T06:50:00Z"),
        am_alert("c3", severity="critical", service="银商专线"),
        am_alert("w1", severity="warning", service="履约"),
    )
    delivery = Delivery("POST", "application/json", body, {}, {}, None)
    receive_delivery(
        engine,
        kind="alertmanager",
        key=path.rsplit("/", 1)[1],
        delivery=delivery,
        settings=settings,
        policy=load_policy(None),
    )
    by_fingerprint = {a.fingerprint: a for a in alerts(session)}
    assert by_fingerprint["c1"].incident_id == by_fingerprint["c2"].incident_id
    assert by_fingerprint["c3"].incident_id not in (None, by_fingerprint["c1"].incident_id)
    assert by_fingerprint["w1"].incident_id is None
    assert by_fingerprint["c1"].first_follow_up_at is None  # a rule is not a person following up
    assert session.exec(select(func.count()).select_from(Incident)).one() == 2
    assert source.name == "alertmanager-open"


def test_concurrent_deliveries_store_every_alert_exactly_once(
    engine, settings, client, auth
) -> None:
    path = make_source(client, auth, "alertmanager")
    key = path.rsplit("/", 1)[1]
    policy = load_policy(None)
    shared = [am_alert(f"shared{n}") for n in range(20)]

    def deliver(worker: int) -> dict:
        own = [am_alert(f"w{worker}-{n}") for n in range(10)]
        body = am_delivery(*shared, *own)
        # No retries: a race must neither fail a delivery nor store an alert twice.
        return receive_delivery(
            engine,
            kind="alertmanager",
            key=key,
            delivery=Delivery("POST", "application/json", body, {}, {}, None),
            settings=settings,
            policy=policy,
        )

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(deliver, range(16)))
    assert sum(r["new"] for r in results) == 20 + 16 * 10
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Alert)).one() == 20 + 16 * 10
        repeats = session.exec(select(func.sum(Alert.repeat_count))).one()
    assert repeats == 20 * 15
