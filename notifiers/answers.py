"""Requests out and answers back: JSON bodies, and judging an answer as a `DeliveryOutcome`."""

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from notifiers.message import DeliveryOutcome
from notifiers.text import DETAIL_MAX_CHARS, one_line

_SNIPPET_CHARS = 160


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def snippet(response: httpx.Response) -> str:
    try:
        text = response.text
    except (UnicodeDecodeError, LookupError):
        return f"{len(response.content)} bytes"
    return one_line(text, _SNIPPET_CHARS) if text.strip() else "empty body"


def status_outcome(response: httpx.Response, label: str) -> DeliveryOutcome:
    """Judge an answer by its HTTP status alone (the Standard Webhooks delivery rules).

    2xx ok; 3xx a failure, since redirects are not followed and a moved endpoint needs a new URL;
    410 means the receiver wants no more; 408, 429 and 5xx are worth another try; any other 4xx
    will not get better by retrying.
    """
    status = response.status_code
    if 200 <= status < 300:
        return DeliveryOutcome.delivered(f"{label}: HTTP {status}")
    detail = f"{label}: HTTP {status}: {snippet(response)}"
    if 300 <= status < 400:
        return DeliveryOutcome.give_up(
            f"{label}: HTTP {status} redirect, not followed; fix the URL"
        )
    if status == 410:
        return DeliveryOutcome.give_up(f"{label}: HTTP 410, the receiver disabled this endpoint")
    if status in (408, 429) or status >= 500:
        return DeliveryOutcome.retry(detail, parse_retry_after(response.headers.get("retry-after")))
    return DeliveryOutcome.give_up(detail)


def coded_outcome(
    response: httpx.Response,
    label: str,
    *,
    code_fields: tuple[str, ...],
    message_fields: tuple[str, ...],
    retry_codes: Mapping[int, float | None],
) -> DeliveryOutcome:
    """Judge a chat robot's answer: a JSON object whose code is 0 on success.

    The robots report business errors with HTTP 200, so the code decides. A code listed in
    `retry_codes` (rate limits, "system busy") is retried, after the listed seconds if any; any
    other non-zero code is a rejection that retrying cannot fix (bad token, keyword, signature),
    unless the HTTP status itself says the vendor was overloaded. An answer without a code is
    not the robot speaking (a proxy's error page, say), so it is judged by status and retried.
    """
    http = status_outcome(response, label)
    data = _json_object(response) or {}
    codes = [_as_int(data[name]) for name in code_fields if name in data]
    known = [code for code in codes if code is not None]
    if not codes or len(known) < len(codes):
        if not http.ok:
            return http
        return DeliveryOutcome.retry(f"{label}: unexpected answer: {snippet(response)}")
    code = next((c for c in known if c != 0), 0)
    if code == 0:
        return http
    message = next((str(data[name]) for name in message_fields if data.get(name)), "")
    detail = one_line(f"{label} code {code}: {message}", DETAIL_MAX_CHARS)
    header_delay = parse_retry_after(response.headers.get("retry-after"))
    if code in retry_codes:
        delays = [d for d in (retry_codes[code], header_delay) if d is not None]
        return DeliveryOutcome.retry(detail, max(delays) if delays else None)
    if http.retryable:
        return DeliveryOutcome.retry(detail, header_delay)
    return DeliveryOutcome.give_up(detail)


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        data = response.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def json_request(
    url: str | httpx.URL, payload: Any, headers: Mapping[str, str] | None = None
) -> httpx.Request:
    """A POST of compact UTF-8 JSON: Chinese stays 3 bytes a character instead of 6 as \\uXXXX,
    which matters against the robots' byte limits."""
    return httpx.Request(
        "POST",
        url,
        content=json_bytes(payload),
        headers={"Content-Type": "application/json;charset=utf-8", **(headers or {})},
    )


def json_bytes(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
