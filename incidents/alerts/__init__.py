"""Webhook deliveries from monitoring systems, parsed into `AlertEvent`s. Pure: no database.

`parse_delivery(kind, delivery)` is the entry point; each kind has its own module, and the
shared shapes and helpers live in `event.py`. See docs/webhooks.md for what each kind sends
and how it authenticates.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

from incidents.alerts import alertmanager, generic, grafana, jiankongbao
from incidents.alerts.event import (
    MAX_ALERTS,
    TITLE_MAX,
    AlertEvent,
    Delivery,
    ParsedDelivery,
    PayloadError,
    SignatureError,
)
from incidents.alerts.jiankongbao import JIANKONGBAO_REPLY_MAX
from incidents.alerts.jiankongbao import reply_text as jiankongbao_reply


class Parser(Protocol):
    def __call__(self, delivery: Delivery, *, now: datetime | None = None) -> ParsedDelivery: ...


PARSERS: Mapping[str, Parser] = {
    jiankongbao.KIND: jiankongbao.parse,
    alertmanager.KIND: alertmanager.parse,
    grafana.KIND: grafana.parse,
    generic.KIND: generic.parse,
}
KINDS = tuple(PARSERS)


def parse_delivery_full(
    kind: str, delivery: Delivery, *, now: datetime | None = None
) -> ParsedDelivery:
    """The events of one delivery plus what describes it as a whole (truncated alerts, group
    key, the sender's delivery id). Raises PayloadError (→ 422) or SignatureError (→ 401).

    `now` pins the clock for signature timestamps (Grafana, generic); default: the clock.
    """
    parser = PARSERS.get(kind)
    if parser is None:
        raise PayloadError("kind", f"unknown webhook kind {kind!r}; one of {', '.join(KINDS)}")
    return parser(delivery, now=now)


def parse_delivery(
    kind: str, delivery: Delivery, *, now: datetime | None = None
) -> list[AlertEvent]:
    """The alert events of one delivery; see `parse_delivery_full`."""
    return parse_delivery_full(kind, delivery, now=now).events


__all__ = [
    "JIANKONGBAO_REPLY_MAX",
    "KINDS",
    "MAX_ALERTS",
    "TITLE_MAX",
    "AlertEvent",
    "Delivery",
    "ParsedDelivery",
    "PayloadError",
    "SignatureError",
    "jiankongbao_reply",
    "parse_delivery",
    "parse_delivery_full",
]
