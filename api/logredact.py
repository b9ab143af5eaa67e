"""Logs without credentials: a webhook URL's key is the source's credential.

uvicorn's access log writes every request line, so a delivery to
/api/v1/webhooks/alertmanager/<key> would put the key into every log collector; a 监控宝 GET
callback carries its signed fields in the query string as well. A filter on uvicorn's loggers
replaces both with *** before any handler formats the record.
"""

import logging
import re

_WEBHOOK_URL = re.compile(r"(/webhooks/[^/?#\s\"]+/)[^?#\s\"]+(\?[^#\s\"]*)?")


def redact(text: str) -> str:
    return _WEBHOOK_URL.sub(lambda m: m[1] + "***" + ("?***" if m[2] else ""), text)


class RedactWebhookKeys(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        return True


def install() -> None:
    """Idempotent; uvicorn's loggers exist (configured or not) by the time the app is built."""
    for name in ("uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(existing, RedactWebhookKeys) for existing in logger.filters):
            logger.addFilter(RedactWebhookKeys())
