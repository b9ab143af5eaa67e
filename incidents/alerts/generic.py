"""Stabilog's own `generic` webhook: a small documented JSON shape (docs/webhooks.md), signed
the Standard Webhooks way, for scripts and tools that have no parser of their own."""

import base64
import binascii
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, Field

from incidents.alerts.event import (
    AlertEvent,
    Delivery,
    OptionalTime,
    ParsedDelivery,
    Payload,
    RequiredTime,
    SignatureError,
    Status,
    StrMap,
    VendorFingerprint,
    check_alert_count,
    check_timestamp,
    decode_json_object,
    fingerprint_of,
    hmac_sha256,
    nonblank,
    one_line_title,
    require_secret,
    same_secret,
    validate,
)

KIND = "generic"
_SECRET_PREFIX = "whsec_"


def _not_blank(value: str) -> str:
    if one_line_title(value) is None:
        raise ValueError("must not be blank")
    return value


class GenericAlert(Payload):
    title: Annotated[str, AfterValidator(_not_blank)]
    status: Status = "firing"
    starts_at: RequiredTime
    ends_at: OptionalTime = None
    fingerprint: VendorFingerprint = None
    severity: str | None = None
    labels: StrMap = Field(default_factory=dict)
    annotations: StrMap = Field(default_factory=dict)
    url: str | None = None


class GenericBatch(Payload):
    alerts: list[GenericAlert]


def parse(delivery: Delivery, *, now: datetime | None = None) -> ParsedDelivery:
    """The alerts of one generic delivery; `now` (default: the clock) bounds the signature's
    timestamp."""
    check_signature(delivery, now)
    data = decode_json_object(delivery.body)
    if "alerts" in data:
        check_alert_count(data["alerts"])
        alerts = validate(GenericBatch, data).alerts
        raws = data["alerts"]
    else:
        alerts, raws = [validate(GenericAlert, data)], [data]
    events = [_event(alert, raw) for alert, raw in zip(alerts, raws, strict=True)]
    return ParsedDelivery(events=events, delivery_id=delivery.headers.get("webhook-id"))


def _event(alert: GenericAlert, raw: dict) -> AlertEvent:
    title = one_line_title(alert.title) or ""  # not None: the model refuses blank titles
    # Without labels, the title is what tells two alerts apart.
    identity = alert.labels or {"title": title}
    return AlertEvent(
        fingerprint=fingerprint_of(KIND, nonblank(alert.fingerprint), identity),
        status=alert.status,
        title=title,
        severity=nonblank(alert.severity),
        labels=dict(alert.labels),
        annotations=dict(alert.annotations),
        starts_at=alert.starts_at,
        ends_at=alert.ends_at if alert.status == "resolved" else None,
        url=nonblank(alert.url),
        raw=raw,
    )


def check_signature(delivery: Delivery, now: datetime | None) -> None:
    """Standard Webhooks v1: base64 HMAC-SHA256 over `id.timestamp.body`; any one of the
    space-separated `v1,<sig>` entries may match (key rotation), `v1a` (ed25519) is skipped."""
    key = signing_key(require_secret(delivery.secret, KIND))
    message_id = _header(delivery, "webhook-id")
    timestamp = _header(delivery, "webhook-timestamp")
    signatures = _header(delivery, "webhook-signature")
    check_timestamp("webhook-timestamp", timestamp, now)
    # "replace": a header that is not text cannot have been signed, so it must just not match.
    signed = f"{message_id}.{timestamp}.".encode("utf-8", "replace") + delivery.body
    expected = base64.b64encode(hmac_sha256(key, signed)).decode("ascii")
    for entry in signatures.split():
        version, _, signature = entry.partition(",")
        if version == "v1" and same_secret(signature, expected):
            return
    raise SignatureError("no v1 entry of webhook-signature matches the body")


def _header(delivery: Delivery, name: str) -> str:
    value = delivery.headers.get(name)
    if not value:
        raise SignatureError(f"missing {name} header")
    return value


def signing_key(secret: str) -> bytes:
    """A `whsec_<base64>` secret's decoded bytes, else the secret's own UTF-8 bytes."""
    if not secret.startswith(_SECRET_PREFIX):
        return secret.encode("utf-8")
    try:
        return base64.b64decode(secret.removeprefix(_SECRET_PREFIX), validate=True)
    except binascii.Error:
        # The operator's configuration is wrong, not the sender; say so without the secret.
        raise SignatureError("the source's whsec_ secret is not valid base64") from None
