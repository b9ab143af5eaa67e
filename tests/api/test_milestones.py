"""Milestones through the API: filed and answered with their minutes and the 1-5-10 verdict, kept
in order, marked from the timeline, and 响应 set by a person's first response."""

from datetime import UTC, datetime

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from api.cli import app
from incidents.alerts import Delivery
from incidents.alerts.ingest import receive_delivery
from incidents.grading import load_policy
from incidents.models import AuditEntry, Incident, Role, TimelineEntry
from tests.api.test_webhooks import alerts, am_alert, am_delivery, make_source
from tests.builders import cli_args, count, file_incident, seed_pos_incident

API = "/api/v1/incidents"
runner = CliRunner()
# The seed event was detected at 2023-08-31 10:19 (+08:00).
MILESTONES = {
    "occurred_at": "2023-08-31 10:18",
    "acknowledged_at": "2023-08-31 10:20",
    "located_at": "2023-08-31 10:23",
    "mitigation_started_at": "2023-08-31 10:24",
    "mitigated_at": "2023-08-31 10:27",
    "recovered_at": "2023-08-31 10:31",
    "resolved_at": "2023-08-31 18:00",
}


def test_milestones_are_filed_and_answered_with_minutes_and_verdict(client, auth) -> None:
    incident = file_incident(client, auth[Role.oncall], **MILESTONES)
    assert incident["located_at"] == "2023-08-31T10:23:00+08:00"
    assert incident["mitigation_started_at"] == "2023-08-31T10:24:00+08:00"
    assert incident["milestone_minutes"] == {
        "detect": 1.0,
        "acknowledge": 1.0,
        "locate": 4.0,
        "mitigate": 8.0,
        "recover": 12.0,
    }
    assert incident["one_five_ten"] == "met"  # 1, 4 and 8 min
    again = client.get(f"{API}/{incident['id']}", headers=auth[Role.viewer]).json()
    assert again == incident
    listed = client.get(API, headers=auth[Role.viewer]).json()["items"]
    assert listed[0]["one_five_ten"] == "met"


def test_without_a_location_the_verdict_is_unknown(client, auth) -> None:
    incident = file_incident(client, auth[Role.oncall])
    assert incident["one_five_ten"] == "unknown"
    assert incident["milestone_minutes"]["detect"] == 0.0  # occurrence defaults to detection
    assert incident["milestone_minutes"]["locate"] is None


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"occurred_at": "2023-08-31 10:30"}, "detected_at", "must not be before occurred_at"),
        (
            {"acknowledged_at": "2023-08-31 10:10"},
            "acknowledged_at",
            "must not be before detected_at",
        ),
        ({"located_at": "2023-08-31 10:19:30"}, "located_at", "must not be before acknowledged_at"),
        (
            {"mitigated_at": "2023-08-31 10:23:30"},
            "mitigated_at",
            "must not be before mitigation_started_at",
        ),
        ({"recovered_at": "2023-08-31 10:26"}, "recovered_at", "must not be before mitigated_at"),
        ({"resolved_at": "2023-08-31 10:30"}, "resolved_at", "must not be before recovered_at"),
        # Compared with the nearest earlier time given: here detected_at, acknowledged_at unknown.
        (
            {"acknowledged_at": None, "located_at": "2023-08-31 10:00"},
            "located_at",
            "must not be before detected_at",
        ),
    ],
)
def test_milestones_out_of_order_name_both_fields_and_write_nothing(
    client, auth, session, change, field, message
) -> None:
    response = client.post(
        API, json=seed_pos_incident(**(MILESTONES | change)), headers=auth[Role.oncall]
    )
    assert response.status_code == 422, response.text
    [problem] = response.json()["detail"]
    assert problem["code"] == "not_before"
    assert {key: problem[key] for key in ("loc", "msg", "type")} == (
        {"loc": ["body", field], "msg": message, "type": "value_error"}
    )
    assert count(session, Incident) == 0
    assert count(session, AuditEntry) == 0


def test_a_patch_out_of_order_is_named_on_the_field_sent(client, auth) -> None:
    incident = file_incident(client, auth[Role.oncall], **MILESTONES)
    url = f"{API}/{incident['id']}"
    response = client.patch(url, json={"located_at": "2023-08-31 10:40"}, headers=auth[Role.oncall])
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "located_at"]
    assert response.json()["detail"][0]["msg"] == "must not be after mitigation_started_at"
    assert client.get(url, headers=auth[Role.viewer]).json() == incident


def test_a_timeline_entry_marks_a_milestone_as_an_edit_would(client, auth) -> None:
    incident = file_incident(client, auth[Role.oncall], acknowledged_at="2023-08-31 10:20")
    url = f"{API}/{incident['id']}"
    body = {"at": "2023-08-31 10:26", "text": "定位到中信存管到账通知变更", "milestone": "located"}
    entry = client.post(f"{url}/timeline", json=body, headers=auth[Role.oncall])
    assert entry.status_code == 201, entry.text
    assert entry.json()["milestone"] == "located"
    marked = client.get(url, headers=auth[Role.viewer]).json()
    assert marked["located_at"] == "2023-08-31T10:26:00+08:00"
    assert marked["milestone_minutes"]["locate"] == 7.0
    assert marked["one_five_ten"] == "missed:locate"
    trail = client.get(f"{url}/audit", headers=auth[Role.viewer]).json()
    [update] = [e for e in trail if e["action"] == "update"]
    assert (update["field"], update["old_value"], update["actor"]) == (
        "located_at",
        None,
        "oncall-user",
    )
    assert update["new_value"].startswith("2023-08-31T02:26:00")  # stored in UTC
    assert update["reason"] == f"timeline entry {entry.json()['id']}"
    # A later mark replaces the time.
    body = {"at": "2023-08-31 10:24", "text": "实际更早定位", "milestone": "located"}
    assert client.post(f"{url}/timeline", json=body, headers=auth[Role.oncall]).is_success
    assert client.get(url, headers=auth[Role.viewer]).json()["one_five_ten"] == "unknown"


def test_a_mark_out_of_order_is_refused_whole(client, auth, session) -> None:
    incident = file_incident(client, auth[Role.oncall], recovered_at="2023-08-31 10:40")
    url = f"{API}/{incident['id']}"
    for milestone, at, message in (
        ("located", "2023-08-31 10:00", "located_at must not be before detected_at"),
        ("mitigated", "2023-08-31 10:45", "mitigated_at must not be after recovered_at"),
    ):
        body = {"at": at, "text": "x", "milestone": milestone}
        response = client.post(f"{url}/timeline", json=body, headers=auth[Role.oncall])
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["body", "at"]
        assert response.json()["detail"][0]["msg"] == message
    assert count(session, TimelineEntry) == 0
    assert client.get(url, headers=auth[Role.viewer]).json() == incident
    body = {"at": "2023-08-31 10:20", "text": "x", "milestone": "fixed"}
    unknown = client.post(f"{url}/timeline", json=body, headers=auth[Role.oncall])
    assert unknown.status_code == 422
    assert unknown.json()["detail"][0]["loc"] == ["body", "milestone"]


def test_a_persons_first_timeline_entry_is_the_acknowledgement(client, auth) -> None:
    incident = file_incident(client, auth[Role.oncall])
    url = f"{API}/{incident['id']}"

    def add(at: str) -> None:
        body = {"at": at, "text": "处理中"}
        assert client.post(f"{url}/timeline", json=body, headers=auth[Role.oncall]).is_success

    add("2023-08-31 10:10")  # before detection: what happened, not a response
    assert client.get(url, headers=auth[Role.viewer]).json()["acknowledged_at"] is None
    add("2023-08-31 10:25")
    add("2023-08-31 10:21")  # once set, later entries leave it
    acknowledged = client.get(url, headers=auth[Role.viewer]).json()
    assert acknowledged["acknowledged_at"] == "2023-08-31T10:25:00+08:00"
    assert acknowledged["milestone_minutes"]["acknowledge"] == 6.0
    trail = client.get(f"{url}/audit", headers=auth[Role.viewer]).json()
    [automatic] = [e for e in trail if e["action"] == "auto_acknowledge"]
    assert (automatic["field"], automatic["actor"]) == ("acknowledged_at", "oncall-user")
    assert automatic["reason"].startswith("first timeline entry by a person")
    # Still a field like any other: a person may correct it.
    corrected = client.patch(
        url, json={"acknowledged_at": "2023-08-31 10:21"}, headers=auth[Role.oncall]
    )
    assert corrected.json()["acknowledged_at"] == "2023-08-31T10:21:00+08:00"


def test_following_up_an_alert_acknowledges_its_incident(client, auth, session) -> None:
    path = make_source(client, auth, "alertmanager")
    client.post(path, content=am_delivery(am_alert("a"), am_alert("b")))
    first, second = alerts(session)
    oncall, viewer = auth[Role.oncall], auth[Role.viewer]
    acked = client.post(f"/api/v1/alerts/{first.id}/ack", headers=oncall).json()
    # Promoted later: the incident was acknowledged when the alert was, not when it was linked.
    incident = client.post(f"/api/v1/alerts/{first.id}/promote", headers=oncall).json()
    assert incident["acknowledged_at"] == acked["acked_at"]
    trail = client.get(f"{API}/{incident['id']}/audit", headers=viewer).json()
    [automatic] = [e for e in trail if e["action"] == "auto_acknowledge"]
    assert automatic["reason"] == f"first follow-up of alert {first.id}"
    # A second alert followed up later changes nothing.
    client.post(
        f"/api/v1/alerts/{second.id}/promote", json={"incident_id": incident["id"]}, headers=oncall
    )
    again = client.get(f"{API}/{incident['id']}", headers=viewer).json()
    assert again["acknowledged_at"] == acked["acked_at"]


def test_an_auto_promoted_incident_is_acknowledged_by_the_first_person(
    engine, settings, client, auth, session
) -> None:
    path = make_source(client, auth, "alertmanager")
    delivery = Delivery(
        "POST", "application/json", am_delivery(am_alert("c", severity="critical")), {}, {}, None
    )
    receive_delivery(
        engine,
        kind="alertmanager",
        key=path.rsplit("/", 1)[1],
        delivery=delivery,
        settings=settings.model_copy(update={"auto_promote_severities": "critical"}),
        policy=load_policy(None),
    )
    [alert] = alerts(session)
    url = f"{API}/{alert.incident_id}"
    assert client.get(url, headers=auth[Role.viewer]).json()["acknowledged_at"] is None  # a rule
    judged = client.post(
        f"/api/v1/alerts/{alert.id}/verdict", json={"valid": True}, headers=auth[Role.oncall]
    ).json()
    incident = client.get(url, headers=auth[Role.viewer]).json()
    assert incident["acknowledged_at"] == judged["first_follow_up_at"]


def test_metrics_answer_the_rate_and_stage_durations(client, auth) -> None:
    file_incident(client, auth[Role.oncall], **MILESTONES)
    slow = {"located_at": "2023-08-31 10:25", "mitigation_started_at": "2023-08-31 10:26"}
    file_incident(client, auth[Role.oncall], title="slow", **(MILESTONES | slow))
    file_incident(client, auth[Role.oncall], title="never located")
    params = {"from": "2023-08-28", "to": "2023-09-04"}
    shown = client.get("/api/v1/metrics", params=params, headers=auth[Role.viewer]).json()
    assert shown["rates"]["one_five_ten_rate"] == {
        "numerator": 1,
        "denominator": 2,
        "value": 0.5,
        "previous": {"numerator": 0, "denominator": 0, "value": None},
    }
    assert shown["stage_durations"]["locate"] == {
        "count": 2,
        "mean_seconds": 300.0,
        "median_seconds": 240.0,
        "p90_seconds": 360.0,
    }


def test_the_cli_files_milestones_like_the_api(cli_database, session) -> None:
    result = runner.invoke(app, cli_args(seed_pos_incident(**MILESTONES)))
    assert result.exit_code == 0, result.output
    incident = session.exec(select(Incident)).one()
    assert incident.mitigation_started_at == datetime(2023, 8, 31, 2, 24, tzinfo=UTC)
    late = MILESTONES | {"located_at": "2023-08-31 10:19:30"}
    refused = runner.invoke(app, cli_args(seed_pos_incident(title="late", **late)))
    assert refused.exit_code == 2
    assert "--located-at: must not be before acknowledged_at" in refused.output
