"""Signing a request: the clock in the forms vendors want, HMAC, and checking a secret."""

import base64
import hashlib
import hmac
from datetime import UTC, datetime


def epoch_seconds(now: datetime) -> int:
    return int(_aware(now).timestamp())


def epoch_millis(now: datetime) -> int:
    return int(_aware(now).timestamp() * 1000)


def _aware(now: datetime) -> datetime:
    # A naive datetime would be read as local time by .timestamp() and sign with the wrong clock.
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    return now


def iso_utc(now: datetime) -> str:
    return _aware(now).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def hmac_sha256_b64(key: bytes, message: bytes) -> str:
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode("ascii")


def check_secret(secret: str, label: str) -> None:
    """A signing secret is one printable ASCII token; pasted whitespace is the usual mistake."""
    if not secret.strip():
        raise ValueError(f"{label}: the secret is blank")
    if not secret.isascii() or not secret.isprintable() or any(c.isspace() for c in secret):
        raise ValueError(
            f"{label}: the secret must be printable ASCII without spaces or line breaks"
        )
