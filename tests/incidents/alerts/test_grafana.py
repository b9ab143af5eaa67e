"""Grafana unified alerting webhook deliveries and its optional HMAC signature."""

from datetime import UTC, datetime, timedelta

import pytest

from incidents.alerts import PayloadError, SignatureError, parse_delivery
from incidents.alerts import parse_delivery_full as parse_full

from .builders import (
    GRAFANA_SECRET,
    NOW,
    SENT_AT,
    delivery,
    fixture,
    fixture_json,
    go_json,
    grafana_delivery,
    grafana_headers,
)

# The reference's vectors, computed from grafana/alerting's http/hmac.go.
VECTOR_BODY = b'{"receiver":"x"}'
VECTOR_WITH_TS = "4f59b371e03c9a352d0ffee26f75be7d577b1eb47dd6a396f22bac0759d2d211"
VECTOR_WITHOUT_TS = "7b6fb5222abb831e1a9a9ed103a57d257a4db6c7881b030e7d3a3d81aa6c5279"


def parse(item, now=NOW):
    return parse_delivery("grafana", item, now=now)


def test_firing_alert_with_values():
    [event] = parse(grafana_delivery(fixture("grafana_firing.json")))
    assert event.fingerprint == "8a2c1f0e5d4b3a21"
    assert event.status == "firing"
    assert event.title == "CPU above 90% on web-01"
    assert event.severity == "critical"
    assert event.labels["grafana_folder"] == "Infra"
    assert event.annotations == {
        "summary": "CPU above 90% on web-01",
        "runbook_url": "https://runbooks.example.com/cpu",
    }
    assert event.starts_at == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert event.ends_at is None
    assert event.url == "https://grafana.example.com/d/abc123?orgId=1"  # dashboardURL first
    assert event.raw["values"] == {"A": 93.7, "C": 1}
    assert event.raw["silenceURL"].count("&matcher=") == 2  # \u0026 decoded


def test_resolved_with_only_value_string_links_to_the_rule():
    data = fixture_json("grafana_resolved_valuestring.json")
    assert "values" not in data["alerts"][0]
    [event] = parse(grafana_delivery(fixture("grafana_resolved_valuestring.json")))
    assert event.status == "resolved"
    assert event.ends_at == datetime(2023, 11, 14, 22, 31, tzinfo=UTC)
    assert event.raw["valueString"].startswith("[ metric='web-01'")
    # dashboardURL and panelURL are "": the generator (rule) URL is the link.
    assert event.url == "https://grafana.example.com/alerting/grafana/ddl9x2abc/view?orgId=1"


def test_panel_url_when_no_dashboard_url():
    data = fixture_json("grafana_firing.json")
    data["alerts"][0]["dashboardURL"] = ""
    [event] = parse(grafana_delivery(go_json(data)))
    assert event.url == "https://grafana.example.com/d/abc123?orgId=1&viewPanel=4"


def test_group_details():
    parsed = parse_full("grafana", grafana_delivery(fixture("grafana_firing.json")), now=NOW)
    assert parsed.group_key.startswith('{}/{__grafana_receiver__="incident-log"}')
    assert parsed.truncated_alerts == 0


def test_null_values_are_accepted():
    data = fixture_json("grafana_firing.json")
    data["alerts"][0]["values"] = None
    assert parse(grafana_delivery(go_json(data)))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.update(version="4"), "version"),
        (lambda d: d["alerts"][0].update(values={"A": "93.7"}), "alerts[0].values.A"),
        (lambda d: d["alerts"][0].update(values=[93.7]), "alerts[0].values"),
        (lambda d: d["alerts"][0].update(dashboardURL=1), "alerts[0].dashboardURL"),
        (lambda d: d["alerts"][0].update(startsAt="2023-11-14 22:13"), "alerts[0].startsAt"),
        (lambda d: d["alerts"][0].update(orgId="1"), "alerts[0].orgId"),
    ],
)
def test_malformed_payload_names_the_field(change, field):
    data = fixture_json("grafana_firing.json")
    change(data)
    with pytest.raises(PayloadError) as caught:
        parse(grafana_delivery(go_json(data)))
    assert caught.value.field == field


def test_an_alertmanager_body_is_not_a_grafana_body():
    with pytest.raises(PayloadError) as caught:
        parse(grafana_delivery(fixture("alertmanager_firing.json")))
    assert caught.value.field == "version"


# --- signature -----------------------------------------------------------------------------


def test_reference_vectors():
    assert grafana_headers(VECTOR_BODY, timestamp=SENT_AT) == {
        "X-Grafana-Alerting-Timestamp": "1700000000",
        "X-Grafana-Alerting-Signature": VECTOR_WITH_TS,
    }
    assert grafana_headers(VECTOR_BODY, timestamp=None) == {
        "X-Grafana-Alerting-Signature": VECTOR_WITHOUT_TS
    }


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Grafana-Alerting-Signature": VECTOR_WITHOUT_TS},
        {"X-Grafana-Alerting-Signature": VECTOR_WITHOUT_TS.upper()},
        {
            "X-Grafana-Alerting-Signature": VECTOR_WITH_TS,
            "X-Grafana-Alerting-Timestamp": str(SENT_AT),
        },
    ],
)
def test_reference_vectors_pass_verification(headers):
    # The vector body is valid JSON but no Grafana notification: passing the signature check
    # is what brings it as far as the version check.
    item = delivery(VECTOR_BODY, headers=headers, secret=GRAFANA_SECRET)
    with pytest.raises(PayloadError) as caught:
        parse(item)
    assert caught.value.field == "version"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Grafana-Alerting-Timestamp": str(SENT_AT)},
        {"X-Grafana-Alerting-Signature": "0" * 64},
        # The timestamped signature without its timestamp, and the other way round.
        {"X-Grafana-Alerting-Signature": VECTOR_WITH_TS},
        {
            "X-Grafana-Alerting-Signature": VECTOR_WITHOUT_TS,
            "X-Grafana-Alerting-Timestamp": str(SENT_AT),
        },
        # Another timestamp than the one signed.
        {
            "X-Grafana-Alerting-Signature": VECTOR_WITH_TS,
            "X-Grafana-Alerting-Timestamp": str(SENT_AT + 1),
        },
        {"X-Grafana-Alerting-Signature": "ß" * 64},
    ],
)
def test_forged_or_missing_signature_is_refused(headers):
    item = delivery(VECTOR_BODY, headers=headers, secret=GRAFANA_SECRET)
    with pytest.raises(SignatureError) as caught:
        parse(item)
    assert GRAFANA_SECRET not in str(caught.value)


def test_body_changed_after_signing_is_refused():
    body = fixture("grafana_firing.json")
    headers = grafana_headers(body)
    tampered = body.replace(b'"critical"', b'"info"')
    with pytest.raises(SignatureError):
        parse(delivery(tampered, headers=headers, secret=GRAFANA_SECRET))


def test_wrong_secret_is_refused():
    body = fixture("grafana_firing.json")
    with pytest.raises(SignatureError):
        parse(delivery(body, headers=grafana_headers(body, "other"), secret=GRAFANA_SECRET))


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [
        (timedelta(0), True),
        (timedelta(minutes=5), True),
        (-timedelta(minutes=5), True),
        (timedelta(minutes=5, seconds=1), False),
        (-timedelta(minutes=5, seconds=1), False),
        (timedelta(days=2), False),
    ],
)
def test_timestamp_tolerance_is_five_minutes(offset, accepted):
    item = grafana_delivery(fixture("grafana_firing.json"))
    if accepted:
        assert parse(item, now=NOW + offset)
    else:
        with pytest.raises(SignatureError, match="5 minutes"):
            parse(item, now=NOW + offset)


def test_timestamp_must_be_unix_seconds():
    body = fixture("grafana_firing.json")
    headers = grafana_headers(body) | {"X-Grafana-Alerting-Timestamp": "2023-11-14T22:13:20Z"}
    with pytest.raises(SignatureError, match="unix timestamp"):
        parse(delivery(body, headers=headers, secret=GRAFANA_SECRET))


def test_now_defaults_to_the_clock():
    body = fixture("grafana_firing.json")
    stale = delivery(body, headers=grafana_headers(body), secret=GRAFANA_SECRET)
    with pytest.raises(SignatureError):
        parse_delivery("grafana", stale)
    current = int(datetime.now(UTC).timestamp())
    fresh = delivery(body, headers=grafana_headers(body, timestamp=current), secret=GRAFANA_SECRET)
    assert parse_delivery("grafana", fresh)


def test_without_a_secret_signatures_are_not_required():
    assert parse(grafana_delivery(fixture("grafana_firing.json"), secret=None))
