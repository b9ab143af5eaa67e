"""Grafana unified alerting webhook contact point deliveries (payload version "1").

Grafana's body is Alertmanager's notification data plus Grafana's extras, so the alert model
and the conversion are Alertmanager's; what differs is the version, the links and the
optional HMAC signature (`hmacConfig`).
"""

from datetime import datetime
from typing import Literal

from pydantic import Field

from incidents.alerts.alertmanager import AlertmanagerAlert, NotificationGroup, group_delivery
from incidents.alerts.event import (
    Delivery,
    ParsedDelivery,
    SignatureError,
    check_alert_count,
    check_timestamp,
    decode_json_object,
    hmac_sha256,
    nonblank,
    same_secret,
    validate,
)

KIND = "grafana"
# Grafana lets the names be changed; these are its defaults (the UI's placeholders).
SIGNATURE_HEADER = "x-grafana-alerting-signature"
TIMESTAMP_HEADER = "x-grafana-alerting-timestamp"


class GrafanaAlert(AlertmanagerAlert):
    # Validated only so a malformed value is reported, not silently stored in `raw`; the
    # values stay in `raw` (they are the evaluation's numbers, not the alert's identity).
    # `valueString` is the legacy rendering, the only one Grafana ≤ 9 sends.
    values: dict[str, float] | None = None
    value_string: str | None = Field(default=None, alias="valueString")
    dashboard_url: str | None = Field(default=None, alias="dashboardURL")
    panel_url: str | None = Field(default=None, alias="panelURL")
    silence_url: str | None = Field(default=None, alias="silenceURL")
    org_id: int | None = Field(default=None, alias="orgId")


class GrafanaMessage(NotificationGroup):
    # Ignored on purpose besides Alertmanager's group fields: `title`, `message` and `state`
    # are templates rendered for the whole group; each alert carries its own summary.
    version: Literal["1"]
    alerts: list[GrafanaAlert]


def parse(delivery: Delivery, *, now: datetime | None = None) -> ParsedDelivery:
    """The alerts of one Grafana notification; `now` (default: the clock) bounds the
    signature's timestamp."""
    check_signature(delivery, now)
    data = decode_json_object(delivery.body)
    check_alert_count(data.get("alerts"))
    message = validate(GrafanaMessage, data)
    return group_delivery(KIND, message, message.alerts, data["alerts"], _link)


def _link(alert: GrafanaAlert) -> str | None:
    return (
        nonblank(alert.dashboard_url) or nonblank(alert.panel_url) or nonblank(alert.generator_url)
    )


def check_signature(delivery: Delivery, now: datetime | None) -> None:
    """With a secret configured, require hex HMAC-SHA256(secret, body), or of `ts:body` when
    Grafana also sends its timestamp header (then within the tolerance of `now`)."""
    if not delivery.secret:
        return
    given = delivery.headers.get(SIGNATURE_HEADER)
    if given is None:
        raise SignatureError("missing X-Grafana-Alerting-Signature header")
    timestamp = delivery.headers.get(TIMESTAMP_HEADER)
    signed = delivery.body
    if timestamp is not None:
        check_timestamp("X-Grafana-Alerting-Timestamp", timestamp, now)
        signed = timestamp.encode("ascii") + b":" + delivery.body
    expected = hmac_sha256(delivery.secret.encode("utf-8"), signed).hex()
    if not same_secret(given.strip().lower(), expected):
        raise SignatureError("X-Grafana-Alerting-Signature does not match the body")
