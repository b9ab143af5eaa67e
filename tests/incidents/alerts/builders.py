"""Small builders for webhook deliveries: fixture bytes, deliveries, and correctly signed
headers computed the way each vendor computes them."""

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl

from incidents.alerts import Delivery

FIXTURES = Path(__file__).parent / "fixtures"

JKB_SECRET = "mycallbacktoken"
GRAFANA_SECRET = "grafana-secret"
GENERIC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SENT_AT = 1_700_000_000
NOW = datetime.fromtimestamp(SENT_AT, UTC)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def fixture_json(name: str) -> dict:
    return json.loads(fixture(name))


def go_json(data: object) -> bytes:
    """`data` encoded as Go's json.Encoder does: compact, `&<>` escaped, trailing newline."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for char, escape in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e")):
        text = text.replace(char, escape)
    return (text + "\n").encode()


def delivery(
    body: bytes = b"",
    *,
    method: str = "POST",
    content_type: str = "application/json",
    headers: Mapping[str, str] | None = None,
    query: Mapping[str, str] | None = None,
    secret: str | None = None,
) -> Delivery:
    return Delivery(
        method=method,
        content_type=content_type,
        body=body,
        query=dict(query or {}),
        headers={name.lower(): value for name, value in (headers or {}).items()},
        secret=secret,
    )


def form_delivery(body: bytes, secret: str | None = JKB_SECRET) -> Delivery:
    return delivery(body, content_type="application/x-www-form-urlencoded", secret=secret)


def get_delivery(query_string: bytes, secret: str | None = JKB_SECRET) -> Delivery:
    # The framework decodes the query string once, as Starlette's request.query_params does.
    query = dict(parse_qsl(query_string.decode(), keep_blank_values=True))
    return delivery(method="GET", content_type="", query=query, secret=secret)


def jkb_token(msg_id: str, task_id: str, fault_time: str, secret: str = JKB_SECRET) -> str:
    signed = (msg_id + task_id + fault_time + secret).encode("utf-8", "surrogatepass")
    return hashlib.md5(signed).hexdigest()


def grafana_headers(
    body: bytes, secret: str = GRAFANA_SECRET, timestamp: int | None = SENT_AT
) -> dict[str, str]:
    """Headers as grafana/alerting's hmacConfig sends them."""
    if timestamp is None:
        signed, headers = body, {}
    else:
        signed = f"{timestamp}:".encode() + body
        headers = {"X-Grafana-Alerting-Timestamp": str(timestamp)}
    signature = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return headers | {"X-Grafana-Alerting-Signature": signature}


def grafana_delivery(body: bytes, secret: str | None = GRAFANA_SECRET) -> Delivery:
    headers = grafana_headers(body, secret) if secret else {}
    return delivery(body, headers=headers, secret=secret)


def webhook_headers(
    body: bytes,
    secret: str = GENERIC_SECRET,
    msg_id: str = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W",
    timestamp: int = SENT_AT,
) -> dict[str, str]:
    """Standard Webhooks headers, signed as its reference libraries sign."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": "v1," + base64.b64encode(mac).decode(),
    }


def generic_delivery(body: bytes, secret: str = GENERIC_SECRET) -> Delivery:
    return delivery(body, headers=webhook_headers(body, secret), secret=secret)
