"""Alertmanager webhook v4 deliveries, from fixtures shaped as Alertmanager's Go encoder writes."""

import json
from datetime import UTC, datetime

import pytest

from incidents.alerts import MAX_ALERTS, PayloadError, SignatureError, parse_delivery
from incidents.alerts import parse_delivery_full as parse_full

from .builders import delivery, fixture, fixture_json, go_json

SECRET = "am-bearer-token-7f3a"


def parse(body: bytes, **kwargs):
    return parse_delivery("alertmanager", delivery(body, **kwargs))


def test_fixtures_look_like_alertmanager_output():
    body = fixture("alertmanager_firing.json")
    assert body.endswith(b"}\n")
    assert b"\\u0026" in body
    assert b"&" not in body


def test_firing_alert():
    [event] = parse(fixture("alertmanager_firing.json"))
    assert event.fingerprint == "4e4c4c3d872bf6d8"
    assert event.status == "firing"
    assert event.title == "Instance 10.0.0.12:9100 down"
    assert event.severity == "critical"
    assert event.labels == {
        "alertname": "InstanceDown",
        "instance": "10.0.0.12:9100",
        "job": "node",
        "severity": "critical",
    }
    assert event.annotations["description"].startswith("10.0.0.12:9100 of job node")
    assert event.starts_at == datetime(2023, 11, 14, 22, 10, 30, 123000, tzinfo=UTC)
    assert event.ends_at is None  # 0001-01-01T00:00:00Z
    assert event.url == "http://prometheus:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1"
    assert event.raw == fixture_json("alertmanager_firing.json")["alerts"][0]


def test_firing_delivery_details():
    parsed = parse_full("alertmanager", delivery(fixture("alertmanager_firing.json")))
    assert parsed.truncated_alerts == 0
    assert parsed.group_key == '{}/{severity="critical"}:{alertname="InstanceDown"}'
    assert parsed.notification_reason == "first notification"
    assert parsed.delivery_id is None


def test_resolved_alert_has_its_end_and_the_same_fingerprint():
    [firing] = parse(fixture("alertmanager_firing.json"))
    [resolved] = parse(fixture("alertmanager_resolved.json"))
    assert resolved.status == "resolved"
    assert resolved.fingerprint == firing.fingerprint
    assert resolved.starts_at == firing.starts_at
    assert resolved.ends_at == datetime(2023, 11, 14, 22, 25, 0, 456000, tzinfo=UTC)


def test_mixed_group_takes_each_alerts_own_status():
    # Top-level status is "firing"; the second alert is resolved. Alertmanager ≤ 0.31 shape.
    data = fixture_json("alertmanager_mixed.json")
    assert data["status"] == "firing"
    assert "notification_reason" not in data
    assert "routeLabels" not in data
    parsed = parse_full("alertmanager", delivery(fixture("alertmanager_mixed.json")))
    firing, resolved = parsed.events
    assert (firing.status, resolved.status) == ("firing", "resolved")
    assert firing.starts_at == datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=UTC)
    assert firing.ends_at is None
    assert resolved.ends_at == datetime(2023, 11, 14, 22, 14, 5, 500000, tzinfo=UTC)
    assert resolved.title == "银联通道 gw-02:8080 5xx > 2%"  # \u003e decoded
    assert firing.severity == "warning"
    assert parsed.notification_reason is None


def test_truncated_alerts_are_counted():
    parsed = parse_full("alertmanager", delivery(fixture("alertmanager_truncated.json")))
    assert parsed.truncated_alerts == 7
    assert len(parsed.events) == 2
    assert parsed.notification_reason == "new alerts added"


def test_title_falls_back_to_alertname_and_then_fingerprint():
    data = fixture_json("alertmanager_firing.json")
    alert = data["alerts"][0]
    alert["annotations"] = None  # Go marshals a nil map as null
    [event] = parse(go_json(data))
    assert event.title == "InstanceDown"
    assert event.annotations == {}
    del alert["labels"]["alertname"]
    [event] = parse(go_json(data))
    assert event.title == "alertmanager alert 4e4c4c3d872bf6d8"


def test_missing_fingerprint_is_hashed_from_labels():
    data = fixture_json("alertmanager_firing.json")
    del data["alerts"][0]["fingerprint"]
    [event] = parse(go_json(data))
    data["alerts"][0]["labels"] = dict(reversed(data["alerts"][0]["labels"].items()))
    data["alerts"][0]["fingerprint"] = ""
    [again] = parse(go_json(data))
    assert event.fingerprint == again.fingerprint
    assert len(event.fingerprint) >= 16
    assert event.fingerprint != "4e4c4c3d872bf6d8"


def test_firing_with_an_end_time_still_has_no_end():
    data = fixture_json("alertmanager_firing.json")
    data["alerts"][0]["endsAt"] = "2023-11-14T22:14:30Z"
    [event] = parse(go_json(data))
    assert event.ends_at is None


def test_empty_severity_is_none():
    data = fixture_json("alertmanager_firing.json")
    data["alerts"][0]["labels"]["severity"] = ""
    [event] = parse(go_json(data))
    assert event.severity is None


def test_unknown_fields_are_ignored():
    data = fixture_json("alertmanager_firing.json")
    data["someFutureField"] = {"x": [1, 2]}
    data["alerts"][0]["someFutureField"] = True
    [event] = parse(go_json(data))
    assert event.raw["someFutureField"] is True


# --- authentication ------------------------------------------------------------------------


def test_without_a_secret_no_authorization_is_needed():
    assert parse(fixture("alertmanager_firing.json"), secret=None)


@pytest.mark.parametrize("header", [f"Bearer {SECRET}", f"bearer {SECRET}", f"  Bearer  {SECRET} "])
def test_bearer_secret_is_accepted(header):
    body = fixture("alertmanager_firing.json")
    assert parse(body, secret=SECRET, headers={"Authorization": header})


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Basic {SECRET}"},
        {"Authorization": SECRET},
        {"Authorization": f"Bearer {SECRET}x"},
        {"Authorization": "Bearer ünïcode"},
    ],
)
def test_wrong_or_missing_bearer_is_refused_without_echoing_the_secret(headers):
    with pytest.raises(SignatureError) as caught:
        parse(fixture("alertmanager_firing.json"), secret=SECRET, headers=headers)
    assert SECRET not in str(caught.value)


def test_authentication_comes_before_parsing():
    with pytest.raises(SignatureError):
        parse(b"not json", secret=SECRET)


# --- malformed payloads ------------------------------------------------------------------


def _mutated(change) -> bytes:
    data = fixture_json("alertmanager_mixed.json")
    change(data)
    return go_json(data)


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        (lambda d: d.update(version="3"), "version", "'4'"),
        (lambda d: d.pop("version"), "version", "required"),
        (lambda d: d.update(version=4), "version", ""),
        (lambda d: d.pop("alerts"), "alerts", "required"),
        (lambda d: d.update(alerts={}), "alerts", "must be an array"),
        (lambda d: d.update(truncatedAlerts=-1), "truncatedAlerts", ""),
        (lambda d: d.update(truncatedAlerts="3"), "truncatedAlerts", ""),
        (lambda d: d["alerts"].append("x"), "alerts[2]", "must be an object"),
        (lambda d: d["alerts"][1].update(status="pending"), "alerts[1].status", ""),
        (lambda d: d["alerts"][1].pop("startsAt"), "alerts[1].startsAt", "required"),
        (
            lambda d: d["alerts"][1].update(startsAt="15/11/2023 06:09"),
            "alerts[1].startsAt",
            "not an RFC 3339 time",
        ),
        (
            lambda d: d["alerts"][1].update(startsAt="0001-01-01T00:00:00Z"),
            "alerts[1].startsAt",
            "zero time",
        ),
        (lambda d: d["alerts"][1].update(startsAt=1700000000), "alerts[1].startsAt", "string"),
        (lambda d: d["alerts"][0].update(endsAt="soon"), "alerts[0].endsAt", "RFC 3339"),
        (lambda d: d["alerts"][1]["labels"].update(job=5), "alerts[1].labels.job", "string"),
        (lambda d: d["alerts"][0].update(annotations=[]), "alerts[0].annotations", ""),
        (lambda d: d["alerts"][0].update(fingerprint="f" * 256), "alerts[0].fingerprint", ""),
        (lambda d: d["alerts"][0].update(generatorURL=7), "alerts[0].generatorURL", ""),
    ],
)
def test_malformed_payload_names_the_field(change, field, message):
    with pytest.raises(PayloadError) as caught:
        parse(_mutated(change))
    assert caught.value.field == field
    assert message in caught.value.message


def test_too_many_alerts():
    data = fixture_json("alertmanager_firing.json")
    data["alerts"] = data["alerts"] * (MAX_ALERTS + 1)
    with pytest.raises(PayloadError, match="at most 5000") as caught:
        parse(go_json(data))
    assert caught.value.field == "alerts"
    data["alerts"] = data["alerts"][:MAX_ALERTS]
    assert len(parse(go_json(data))) == MAX_ALERTS


def test_body_must_be_an_object():
    with pytest.raises(PayloadError) as caught:
        parse(json.dumps([fixture_json("alertmanager_firing.json")]).encode())
    assert caught.value.field == "body"
