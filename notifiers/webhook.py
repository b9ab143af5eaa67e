"""Generic webhook signed the Standard Webhooks way (v1.0.0), for anything that is not a chat tool.

The body is {"type": "stabilog.<event>", "timestamp": …, "data": {title, markdown, url}}; the
headers webhook-id (the message's idempotency key, stable across retries, so receivers can
dedupe), webhook-timestamp (this attempt) and webhook-signature "v1,<base64 HMAC-SHA256>" over
"id.timestamp.body". Answers are judged by HTTP status alone.
"""

import base64
import binascii
import re
import uuid
from datetime import datetime

import httpx

from notifiers.answers import json_bytes, status_outcome
from notifiers.credentials import require_http_url
from notifiers.message import ChannelConfig, DeliveryOutcome, Message
from notifiers.signing import check_secret, epoch_seconds, hmac_sha256_b64, iso_utc

KIND = "webhook"
LABEL = "Webhook"
SECRET_PREFIX = "whsec_"
# The spec's event types are dot-separated segments of [a-zA-Z0-9_].
_EVENT = re.compile(r"[A-Za-z0-9_]+")
_HEADER_SAFE = re.compile(r"[\x21-\x7e]+")


def signing_key(secret: str) -> bytes:
    """whsec_<base64> decodes to the key bytes; any other secret is used as raw UTF-8."""
    if not secret.startswith(SECRET_PREFIX):
        return secret.encode("utf-8")
    try:
        key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"{LABEL}: the whsec_ secret is not valid base64") from None
    if not key:
        raise ValueError(f"{LABEL}: the whsec_ secret is empty")
    return key


def signature(key: bytes, message_id: str, timestamp: str, body: bytes) -> str:
    return "v1," + hmac_sha256_b64(key, f"{message_id}.{timestamp}.".encode() + body)


class Webhook:
    kind = KIND

    def validate(self, config: ChannelConfig) -> None:
        require_http_url(config, LABEL)
        # Standard Webhooks receivers reject unsigned messages, so the secret is required.
        if not config.secret:
            raise ValueError(f"{LABEL}: a signing secret (whsec_… or a raw string) is required")
        check_secret(config.secret, LABEL)
        signing_key(config.secret)

    def requests(
        self, message: Message, config: ChannelConfig, now: datetime
    ) -> list[httpx.Request]:
        if not _EVENT.fullmatch(message.event):
            raise ValueError(f"{LABEL}: event {message.event!r} is not [A-Za-z0-9_]+")
        # Without a key (a one-off test send, not an outbox row) there are no retries to dedupe.
        message_id = message.idempotency_key or f"msg_{uuid.uuid4().hex}"
        if not _HEADER_SAFE.fullmatch(message_id):
            raise ValueError(f"{LABEL}: the idempotency key must be printable ASCII, no spaces")
        body = json_bytes(
            {
                "type": f"stabilog.{message.event}",
                "timestamp": iso_utc(now),
                "data": {"title": message.title, "markdown": message.markdown, "url": message.url},
            }
        )
        if not config.secret:
            raise ValueError(f"{LABEL}: a signing secret is required")
        timestamp = str(epoch_seconds(now))
        key = signing_key(config.secret)
        headers = {
            "Content-Type": "application/json",
            "webhook-id": message_id,
            "webhook-timestamp": timestamp,
            "webhook-signature": signature(key, message_id, timestamp, body),
        }
        return [httpx.Request("POST", config.url, content=body, headers=headers)]

    def parse(self, response: httpx.Response) -> DeliveryOutcome:
        return status_outcome(response, LABEL)
