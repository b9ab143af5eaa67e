"""The internal alert event every webhook parser returns, and the helpers the parsers share.

Everything here is pure: bytes and headers in, `AlertEvent`s or a `PayloadError` /
`SignatureError` out. Storage, deduplication and HTTP status codes belong to the ingest layer.
"""

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainValidator, ValidationError

from incidents.errors import DomainError, Invalid

Status = Literal["firing", "resolved"]

TITLE_MAX = 300
MAX_ALERTS = 5_000
FINGERPRINT_MAX = 255
# Standard Webhooks libraries and our Grafana check both accept this much clock skew.
SIGNATURE_TOLERANCE = timedelta(minutes=5)


@dataclass(frozen=True)
class Delivery:
    """One webhook request as the HTTP layer hands it over, already size-limited."""

    method: str
    content_type: str
    body: bytes
    query: Mapping[str, str]
    headers: Mapping[str, str]  # names lower-cased
    secret: str | None  # the source's configured secret / callback token


@dataclass(frozen=True)
class AlertEvent:
    fingerprint: str
    status: Status
    title: str
    severity: str | None
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    ends_at: datetime | None
    url: str | None
    raw: dict[str, Any]


@dataclass(frozen=True)
class ParsedDelivery:
    """A delivery's events plus what describes the delivery as a whole."""

    events: list[AlertEvent]
    # Alerts the sender dropped before sending (Alertmanager/Grafana `max_alerts`); they never
    # arrive, so the ingest layer can only count or log them.
    truncated_alerts: int = 0
    # The sender's group identity (Alertmanager/Grafana `groupKey`), for grouping, not dedup.
    group_key: str | None = None
    # The sender's id of this message, stable across retries: `webhook-id` for generic,
    # `msg_id` for 监控宝; None where the vendor has none.
    delivery_id: str | None = None
    # Alertmanager ≥ 0.32 says why it sent (`first notification`, `repeat interval elapsed` …).
    notification_reason: str | None = None


class PayloadError(Invalid, ValueError):
    """The delivery is malformed; `field` is the JSON path or form field, `message` the problem.

    An `Invalid`, so the API's existing handler answers 422 naming the field.
    """


class SignatureError(DomainError):
    """The delivery could not be authenticated. The message never contains the secret."""


# --- time ---------------------------------------------------------------------------------

_RFC3339 = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})[Tt ]"
    r"(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})(?:\.(?P<fraction>[0-9]+))?"
    r"(?P<offset>[Zz]|[+-][0-9]{2}:[0-9]{2})"
)
# Go's zero `time.Time`; Alertmanager and Grafana send it as the `endsAt` of firing alerts.
GO_ZERO_TIME = datetime(1, 1, 1, tzinfo=UTC)


def parse_rfc3339(text: str) -> datetime:
    """An RFC 3339 timestamp as an aware UTC datetime; ValueError says what is wrong.

    A hand parser rather than `fromisoformat`: Go sends nanoseconds (9 digits), and an offset
    is required because a naive time from a sender in another zone would be silently wrong.
    """
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise ValueError("not an RFC 3339 time (e.g. 2023-11-14T22:10:30Z)")
    year, month, day = (int(part) for part in match["date"].split("-"))
    fraction = (match["fraction"] or "")[:6].ljust(6, "0")
    offset = match["offset"]
    try:
        if offset in ("Z", "z"):
            zone = UTC
        else:
            sign = -1 if offset[0] == "-" else 1
            hours, minutes = int(offset[1:3]), int(offset[4:6])
            if minutes >= 60:
                raise ValueError("offset minutes out of range")
            zone = timezone(sign * timedelta(hours=hours, minutes=minutes))
        local = datetime(
            year,
            month,
            day,
            int(match["hour"]),
            int(match["minute"]),
            int(match["second"]),
            int(fraction),
            tzinfo=zone,
        )
        return local.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"not a valid time: {exc}") from None


def from_unix_seconds(text: str) -> datetime:
    if not text.isascii() or not text.isdigit():
        raise ValueError("not a unix timestamp in seconds")
    try:
        return datetime.fromtimestamp(int(text), UTC)
    except (ValueError, OverflowError, OSError):
        raise ValueError("unix timestamp out of range") from None


def _time_field(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError("must be an RFC 3339 time string")
    return parse_rfc3339(value)


def _optional_time_field(value: object) -> datetime | None:
    """None for a missing, empty or Go-zero time (a firing alert's `endsAt`)."""
    if value is None or value == "":
        return None
    moment = _time_field(value)
    return None if moment == GO_ZERO_TIME else moment


def _required_time_field(value: object) -> datetime:
    moment = _time_field(value)
    if moment == GO_ZERO_TIME:
        raise ValueError("is the zero time; a start time is required")
    return moment


def _none_as_empty(value: object) -> object:
    # Go marshals a nil map as `null`; an alert without annotations is not malformed.
    return {} if value is None else value


RequiredTime = Annotated[datetime, PlainValidator(_required_time_field)]
OptionalTime = Annotated[datetime | None, PlainValidator(_optional_time_field)]
StrMap = Annotated[dict[str, str], BeforeValidator(_none_as_empty)]
# Vendors' fingerprints are stored as given; anything longer is not a fingerprint but a payload.
VendorFingerprint = Annotated[str | None, Field(max_length=FINGERPRINT_MAX)]


# --- decoding and validation --------------------------------------------------------------


class Payload(BaseModel):
    """Base of the vendors' JSON shapes: strict types, unknown fields ignored (vendors add
    fields between versions, and a new field must not make us drop an alert)."""

    model_config = ConfigDict(strict=True, extra="ignore")


def decode_json(body: bytes) -> object:
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PayloadError("body", f"not UTF-8 (byte {exc.start})") from None
    if not text.strip():
        raise PayloadError("body", "empty; expected a JSON object")
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise PayloadError("body", "JSON nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise PayloadError("body", f"not JSON: {exc.msg} at line {exc.lineno}") from None
    except ValueError as exc:  # NaN/Infinity, or an integer beyond Python's digit limit
        raise PayloadError("body", f"not JSON we accept: {exc}") from None
    check_text(data, "")
    return data


def decode_json_object(body: bytes) -> dict[str, Any]:
    data = decode_json(body)
    if not isinstance(data, dict):
        raise PayloadError("body", f"must be a JSON object, not {json_type(data)}")
    return data


def _reject_constant(name: str) -> float:
    # NaN and Infinity are not JSON; PostgreSQL's jsonb would refuse the stored `raw` later.
    raise ValueError(f"{name} is not a JSON number")


def check_text(data: object, root: str) -> None:
    """Refuses strings the database cannot store: NUL (PostgreSQL text/jsonb) and lone
    surrogates (JSON `\\ud800` decodes to a str that cannot be encoded as UTF-8)."""
    stack: list[tuple[str, object]] = [(root, data)]
    while stack:  # iterative: the decoder allows nesting deeper than a recursive walk would
        path, value = stack.pop()
        if isinstance(value, str):
            _check_string(value, path)
        elif isinstance(value, dict):
            for key, item in value.items():
                child = join_path(path, key)
                _check_string(key, child)
                stack.append((child, item))
        elif isinstance(value, list):
            stack.extend((join_path(path, index), item) for index, item in enumerate(value))


def _check_string(value: str, path: str) -> None:
    if "\x00" in value:
        raise PayloadError(path or "body", code="nul_character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise PayloadError(path or "body", code="lone_surrogate") from None


def json_type(value: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return names.get(type(value), type(value).__name__)


def join_path(path: str, part: str | int) -> str:
    if isinstance(part, int):
        return f"{path}[{part}]"
    return f"{path}.{part}" if path else part


def check_alert_count(alerts: object, field: str = "alerts") -> None:
    # Checked before model validation, so a huge list is refused before every item is validated.
    if isinstance(alerts, list) and len(alerts) > MAX_ALERTS:
        raise PayloadError(field, f"{len(alerts)} alerts; at most {MAX_ALERTS} per delivery")


M = TypeVar("M", bound="Payload")
# Pydantic's messages name Python types and our model classes; the sender knows JSON.
_PYDANTIC_WORDING = {
    "missing": "required",
    "model_type": "must be an object",
    "dict_type": "must be an object",
    "list_type": "must be an array",
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "float_type": "must be a number",
}


def validate(model: type[M], data: object) -> M:
    """`model` validated from decoded JSON, its first error as a PayloadError with the path."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        path = ""
        for part in first["loc"]:
            path = join_path(path, part)
        if first["type"] == "value_error":  # our own validators; drop pydantic's prefix
            message = str(first["ctx"]["error"])
        else:
            message = _PYDANTIC_WORDING.get(first["type"], first["msg"])
        if len(errors) > 1:
            message += f" (and {len(errors) - 1} more problems)"
        raise PayloadError(path or "body", message) from None


# --- signatures ---------------------------------------------------------------------------


def same_secret(given: str, expected: str) -> bool:
    """Constant-time equality of two secrets or signatures.

    Compared as UTF-8 bytes: `hmac.compare_digest` raises TypeError on non-ASCII str, and a
    forged header may contain anything.
    """
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode("utf-8"))


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def check_timestamp(header: str, value: str | None, now: datetime | None) -> None:
    """Refuses a signed timestamp outside ±SIGNATURE_TOLERANCE of now, so a captured request
    cannot be replayed later."""
    if value is None:
        raise SignatureError(f"missing {header} header")
    try:
        sent = from_unix_seconds(value.strip())
    except ValueError:
        raise SignatureError(f"{header} is not a unix timestamp in seconds") from None
    current = utc_now(now)
    if abs(current - sent) > SIGNATURE_TOLERANCE:
        minutes = int(SIGNATURE_TOLERANCE.total_seconds() // 60)
        raise SignatureError(f"{header} is more than {minutes} minutes away from our clock")


def utc_now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    # A naive `now` (tests) is read as UTC rather than local time.
    return now.replace(tzinfo=UTC) if now.tzinfo is None else now.astimezone(UTC)


def require_secret(secret: str | None, kind: str) -> str:
    if not secret:
        raise SignatureError(f"the {kind} source has no secret configured; refusing unsigned input")
    return secret


# --- building events ----------------------------------------------------------------------


def one_line_title(*candidates: str | None) -> str | None:
    """The first non-blank line among the candidates, whitespace collapsed, at most TITLE_MAX
    characters; None if every candidate is blank."""
    for candidate in candidates:
        if not candidate:
            continue
        for line in candidate.splitlines():
            words = "".join(ch if ch.isprintable() else " " for ch in line).split()
            if words:
                title = " ".join(words)
                if len(title) > TITLE_MAX:
                    title = title[: TITLE_MAX - 1] + "…"
                return title
    return None


def fingerprint_of(kind: str, vendor: str | None, identity: Mapping[str, str]) -> str:
    """The vendor's fingerprint if it sent one, else sha256 of the kind and the identifying
    labels (sorted, so label order in the payload does not matter)."""
    if vendor:
        return vendor
    canonical = json.dumps([kind, sorted(identity.items())], ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def nonblank(value: str | None) -> str | None:
    # Go marshals unset strings as "", which means "absent" for URLs and severities.
    return value if value and value.strip() else None
