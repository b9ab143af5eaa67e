"""The documented `generic` format and its Standard Webhooks signature."""

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest

from incidents.alerts import PayloadError, SignatureError, parse_delivery
from incidents.alerts import parse_delivery_full as parse_full
from incidents.alerts.generic import signing_key

from .builders import (
    GENERIC_SECRET,
    NOW,
    SENT_AT,
    delivery,
    fixture,
    fixture_json,
    generic_delivery,
    webhook_headers,
)

# Standard Webhooks' published test vector.
VECTOR = {
    "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
    "webhook-timestamp": "1614265330",
    "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
}
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_NOW = datetime.fromtimestamp(1614265330, UTC)


def parse(item, now=NOW):
    return parse_delivery("generic", item, now=now)


def test_single_alert():
    parsed = parse_full("generic", generic_delivery(fixture("generic_single.json")), now=NOW)
    [event] = parsed.events
    assert event.fingerprint == "batch-settlement-2023-11-15"
    assert event.status == "firing"
    assert event.title == "日终清算批量未在 02:00 前完成"
    assert event.severity == "P1"
    assert event.labels == {"system": "清算", "job": "settlement-batch"}
    assert event.annotations["description"].startswith("批量任务")
    assert event.starts_at == datetime(2023, 11, 14, 18, 0, tzinfo=UTC)
    assert event.ends_at is None
    assert event.url == "https://scheduler.example.com/jobs/settle_daily"
    assert event.raw == fixture_json("generic_single.json")
    assert parsed.delivery_id == "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"


def test_batch_with_defaults():
    resolved, firing = parse(generic_delivery(fixture("generic_batch.json")))
    assert resolved.status == "resolved"
    assert resolved.ends_at == datetime(2023, 11, 15, 7, 42, 10, tzinfo=UTC)
    assert resolved.severity is None
    assert firing.status == "firing"  # the default
    assert firing.annotations == {}
    assert firing.starts_at == datetime(2023, 11, 15, 7, 42, 10, 250000, tzinfo=UTC)
    # No fingerprint sent: a hash of kind and labels, stable across deliveries.
    assert len(firing.fingerprint) >= 16
    assert firing.fingerprint != resolved.fingerprint
    [again] = parse(
        generic_delivery(json.dumps(fixture_json("generic_batch.json")["alerts"][1]).encode())
    )
    assert again.fingerprint == firing.fingerprint


def test_without_labels_the_title_identifies_the_alert():
    def one(title: str):
        body = json.dumps({"title": title, "starts_at": "2023-11-15T07:00:00Z"}).encode()
        return parse(generic_delivery(body))[0].fingerprint

    assert one("a") == one("a")
    assert one("a") != one("b")


def test_empty_batch():
    assert parse(generic_delivery(b'{"alerts": []}')) == []


def test_long_multiline_title_is_cut_to_one_line():
    body = json.dumps(
        {"title": "x" * 500 + "\nsecond line", "starts_at": "2023-11-15T07:00:00Z"}
    ).encode()
    [event] = parse(generic_delivery(body))
    assert len(event.title) == 300
    assert "\n" not in event.title


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"starts_at": "2023-11-15T07:00:00Z"}, "title", "required"),
        ({"title": "  \n ", "starts_at": "2023-11-15T07:00:00Z"}, "title", "blank"),
        ({"title": "x"}, "starts_at", "required"),
        ({"title": "x", "starts_at": "2023-11-15 07:00"}, "starts_at", "RFC 3339"),
        ({"title": "x", "starts_at": "2023-11-15T07:00:00"}, "starts_at", "RFC 3339"),
        ({"title": "x", "starts_at": "2023-11-15T07:00:00Z", "status": "open"}, "status", ""),
        ({"title": "x", "starts_at": "2023-11-15T07:00:00Z", "ends_at": 5}, "ends_at", ""),
        ({"title": "x", "starts_at": "2023-11-15T07:00:00Z", "labels": {"a": 1}}, "labels.a", ""),
        ({"title": 1, "starts_at": "2023-11-15T07:00:00Z"}, "title", "must be a string"),
        (
            {"alerts": [{"title": "x", "starts_at": "2023-11-15T07:00:00Z"}, {}]},
            "alerts[1].title",
            "",
        ),
        ({"alerts": {"title": "x"}}, "alerts", "must be an array"),
        ({"alerts": [{"title": "x", "starts_at": "bad"}]}, "alerts[0].starts_at", "RFC 3339"),
        ({"alerts": [{}] * 5001}, "alerts", "at most 5000"),
    ],
)
def test_malformed_payload_names_the_field(body, field, message):
    with pytest.raises(PayloadError) as caught:
        parse(generic_delivery(json.dumps(body).encode()))
    assert caught.value.field == field
    assert message in caught.value.message


# --- signature -----------------------------------------------------------------------------


def test_published_vector_verifies():
    # The vector's body is no alert, so a verified signature shows as a PayloadError on title.
    item = delivery(VECTOR_BODY, headers=VECTOR, secret=GENERIC_SECRET)
    with pytest.raises(PayloadError) as caught:
        parse(item, now=VECTOR_NOW)
    assert caught.value.field == "title"


def test_builder_signs_like_the_vector():
    headers = webhook_headers(
        VECTOR_BODY, msg_id=VECTOR["webhook-id"], timestamp=int(VECTOR["webhook-timestamp"])
    )
    assert headers == VECTOR


def test_any_listed_v1_signature_may_match():
    signatures = "v1a,c29tZWVkMjU1MTk= v1,Zm9yZ2Vk " + VECTOR["webhook-signature"]
    headers = VECTOR | {"webhook-signature": signatures}
    with pytest.raises(PayloadError):
        parse(delivery(VECTOR_BODY, headers=headers, secret=GENERIC_SECRET), now=VECTOR_NOW)


def test_a_secret_without_whsec_prefix_is_used_as_utf8():
    assert signing_key("plain-secret") == b"plain-secret"
    assert len(signing_key(GENERIC_SECRET)) == 24  # base64-decoded, not the text
    body = fixture("generic_single.json")
    mac = hmac.new(b"plain-secret", f"msg_1.{SENT_AT}.".encode() + body, hashlib.sha256)
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(SENT_AT),
        "webhook-signature": "v1," + base64.b64encode(mac.digest()).decode(),
    }
    assert parse(delivery(body, headers=headers, secret="plain-secret"))


@pytest.mark.parametrize(
    "change",
    [
        lambda h: h.pop("webhook-id"),
        lambda h: h.pop("webhook-timestamp"),
        lambda h: h.pop("webhook-signature"),
        lambda h: h.update({"webhook-id": "msg_other"}),
        lambda h: h.update({"webhook-timestamp": "1614265331"}),
        lambda h: h.update({"webhook-signature": "v1,Zm9yZ2Vk"}),
        lambda h: h.update(
            {"webhook-signature": VECTOR["webhook-signature"].replace("v1,", "v2,")}
        ),
        lambda h: h.update({"webhook-signature": VECTOR["webhook-signature"][3:]}),
        lambda h: h.update({"webhook-signature": "v1,ü"}),
        lambda h: h.update({"webhook-id": "msg_\udc80"}),
    ],
)
def test_forged_or_missing_headers_are_refused(change):
    headers = dict(VECTOR)
    change(headers)
    with pytest.raises(SignatureError) as caught:
        parse(delivery(VECTOR_BODY, headers=headers, secret=GENERIC_SECRET), now=VECTOR_NOW)
    assert GENERIC_SECRET not in str(caught.value)


def test_tampered_body_is_refused():
    body = fixture("generic_single.json")
    headers = webhook_headers(body)
    with pytest.raises(SignatureError):
        parse(delivery(body.replace(b"P1", b"P4"), headers=headers, secret=GENERIC_SECRET))


@pytest.mark.parametrize("secret", [None, ""])
def test_secret_is_mandatory(secret):
    body = fixture("generic_single.json")
    with pytest.raises(SignatureError, match="no secret"):
        parse(delivery(body, headers=webhook_headers(body), secret=secret))


def test_a_whsec_secret_that_is_not_base64_is_refused_without_echo():
    with pytest.raises(SignatureError) as caught:
        parse(delivery(VECTOR_BODY, headers=VECTOR, secret="whsec_not*base64"))
    assert "not*base64" not in str(caught.value)


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [
        (timedelta(minutes=5), True),
        (-timedelta(minutes=5), True),
        (timedelta(minutes=5, seconds=1), False),
        (-timedelta(minutes=5, seconds=1), False),
    ],
)
def test_timestamp_tolerance(offset, accepted):
    item = delivery(VECTOR_BODY, headers=VECTOR, secret=GENERIC_SECRET)
    expected = PayloadError if accepted else SignatureError
    with pytest.raises(expected):
        parse(item, now=VECTOR_NOW + offset)


@pytest.mark.parametrize("timestamp", ["", "1614265330.0", "-1614265330", "1e9", "soon"])
def test_timestamp_must_be_unix_seconds(timestamp):
    headers = VECTOR | {"webhook-timestamp": timestamp}
    with pytest.raises(SignatureError):
        parse(delivery(VECTOR_BODY, headers=headers, secret=GENERIC_SECRET), now=VECTOR_NOW)


def test_signature_is_checked_before_the_body_is_parsed():
    with pytest.raises(SignatureError):
        parse(delivery(b"not json", headers=VECTOR, secret=GENERIC_SECRET), now=VECTOR_NOW)
