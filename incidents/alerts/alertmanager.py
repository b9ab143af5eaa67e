"""Prometheus Alertmanager `webhook_config` deliveries (payload version "4").

Alertmanager cannot sign its body; the only credential it can send is `http_config`'s
`authorization` (a bearer token), so that is what a configured secret is checked against.
"""

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Literal, TypeVar

from pydantic import Field

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
    decode_json_object,
    fingerprint_of,
    nonblank,
    one_line_title,
    same_secret,
    validate,
)

KIND = "alertmanager"


class AlertmanagerAlert(Payload):
    status: Status
    labels: StrMap = Field(default_factory=dict)
    annotations: StrMap = Field(default_factory=dict)
    starts_at: RequiredTime = Field(alias="startsAt")
    ends_at: OptionalTime = Field(default=None, alias="endsAt")
    generator_url: str | None = Field(default=None, alias="generatorURL")
    fingerprint: VendorFingerprint = None


class NotificationGroup(Payload):
    """What a notification says about its group as a whole; Grafana shares this shape."""

    group_key: str | None = Field(default=None, alias="groupKey")
    truncated_alerts: int = Field(default=0, ge=0, alias="truncatedAlerts")
    notification_reason: str | None = None  # only from Alertmanager ≥ 0.32


class AlertmanagerMessage(NotificationGroup):
    # Ignored on purpose: the top-level `status` (a group is "firing" while any one alert
    # fires, so each alert's own status is what counts), `receiver`, `externalURL`,
    # `groupLabels`, `commonLabels`, `commonAnnotations` and `routeLabels` (≥ 0.34), which
    # only restate or route the alerts' own labels.
    version: Literal["4"]
    alerts: list[AlertmanagerAlert]


def parse(delivery: Delivery, *, now: datetime | None = None) -> ParsedDelivery:
    """The alerts of one Alertmanager notification. `now` is unused: nothing here is timed."""
    check_bearer(delivery)
    data = decode_json_object(delivery.body)
    check_alert_count(data.get("alerts"))
    message = validate(AlertmanagerMessage, data)
    return group_delivery(
        KIND, message, message.alerts, data["alerts"], lambda alert: alert.generator_url
    )


def check_bearer(delivery: Delivery) -> None:
    """With a secret configured, require `Authorization: Bearer <secret>`; without one, the
    source's unguessable URL is the only credential."""
    if not delivery.secret:
        return
    header = delivery.headers.get("authorization")
    if header is None:
        raise SignatureError("missing Authorization header; expected Bearer <the source's secret>")
    scheme, _, credentials = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not same_secret(credentials.strip(), delivery.secret):
        raise SignatureError("Authorization bearer credentials do not match the source's secret")


A = TypeVar("A", bound=AlertmanagerAlert)


def group_delivery(
    kind: str,
    message: NotificationGroup,
    alerts: Sequence[A],
    raw_alerts: list[dict[str, Any]],
    url_of: Callable[[A], str | None],
) -> ParsedDelivery:
    """A notification of Alertmanager's shape (Grafana's too) as events, one per alert."""
    events = [
        alert_event(kind, alert, raw, nonblank(url_of(alert)))
        for alert, raw in zip(alerts, raw_alerts, strict=True)
    ]
    return ParsedDelivery(
        events=events,
        truncated_alerts=message.truncated_alerts,
        group_key=nonblank(message.group_key),
        notification_reason=nonblank(message.notification_reason),
    )


def alert_event(
    kind: str, alert: AlertmanagerAlert, raw: dict[str, Any], url: str | None
) -> AlertEvent:
    fingerprint = fingerprint_of(kind, nonblank(alert.fingerprint), alert.labels)
    title = one_line_title(alert.annotations.get("summary"), alert.labels.get("alertname"))
    return AlertEvent(
        fingerprint=fingerprint,
        status=alert.status,
        title=title or f"{kind} alert {fingerprint}",
        severity=nonblank(alert.labels.get("severity")),
        labels=dict(alert.labels),
        annotations=dict(alert.annotations),
        starts_at=alert.starts_at,
        # A firing alert has no end yet, whatever the sender filled in (Alertmanager zeroes
        # it; a sender's "expected end" is not an end).
        ends_at=alert.ends_at if alert.status == "resolved" else None,
        url=url,
        raw=raw,
    )
