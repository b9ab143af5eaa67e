"""DingTalk 钉钉 custom robot (自定义机器人): a markdown message, 加签 in the query string."""

from datetime import datetime
from typing import Any

import httpx

from incidents.outbox import neutralise
from notifiers.answers import coded_outcome, json_request
from notifiers.credentials import require_http_url
from notifiers.message import ChannelConfig, DeliveryOutcome, Mention, Message
from notifiers.signing import check_secret, epoch_millis, hmac_sha256_b64
from notifiers.text import link_line, one_line, truncate, utf8_len

KIND = "dingtalk"
LABEL = "DingTalk"
# The robot refuses text over about 20 000 bytes ("message too long, exceed 20000 bytes").
MAX_TEXT_BYTES = 20_000
# 130101 and 410100: more than 20 messages a minute, and the robot is throttled; -1: 系统繁忙.
# Every other non-zero errcode (310000 keyword/sign/IP, 300001/300005/400xxx token or robot
# gone) is a configuration problem that retrying cannot fix.
RETRY_CODES: dict[int, float | None] = {130101: 60.0, 410100: 60.0, -1: None}


def sign(secret: str, timestamp_ms: str) -> str:
    """加签: base64(HMAC-SHA256(key=secret, msg=timestamp + "\\n" + secret)), not yet URL-encoded
    (httpx encodes it as DingTalk's quote_plus does: + / = become %2B %2F %3D)."""
    return hmac_sha256_b64(secret.encode(), f"{timestamp_ms}\n{secret}".encode())


class DingTalk:
    kind = KIND

    def validate(self, config: ChannelConfig) -> None:
        url = require_http_url(config, LABEL)
        if not url.params.get("access_token"):
            raise ValueError(f"{LABEL}: the robot URL must carry ?access_token=…")
        # No secret is fine: a robot may be guarded by keywords or an IP allowlist instead.
        if config.secret:
            check_secret(config.secret, LABEL)

    def requests(
        self, message: Message, config: ChannelConfig, now: datetime
    ) -> list[httpx.Request]:
        url = httpx.URL(config.url)
        if config.secret:
            timestamp = str(epoch_millis(now))
            url = url.copy_set_param("timestamp", timestamp)
            url = url.copy_set_param("sign", sign(config.secret, timestamp))
        title = one_line(message.title)
        link = link_line(message.url)
        at, at_text = _at(message.mentions)
        text = f"### {neutralise(title)}\n\n{message.markdown}"
        room = MAX_TEXT_BYTES - utf8_len(link) - utf8_len(at_text)
        text = truncate(text, room, utf8_len) + link + at_text
        payload: dict[str, Any] = {
            "msgtype": "markdown",
            "markdown": {"title": title, "text": text},
        }
        if at is not None:
            payload["at"] = at
        return [json_request(url, payload)]

    def parse(self, response: httpx.Response) -> DeliveryOutcome:
        return coded_outcome(
            response,
            LABEL,
            code_fields=("errcode",),
            message_fields=("errmsg",),
            retry_codes=RETRY_CODES,
        )


def _at(mentions: tuple[Mention, ...]) -> tuple[dict[str, Any] | None, str]:
    """The `at` object and the closing `@…` line: DingTalk rings a person only when the body
    names them with @ too. By mobile where known (any custom robot can), else by userId."""
    mobiles = [m.mobile for m in mentions if m.mobile]
    user_ids = [m.dingtalk for m in mentions if m.dingtalk and not m.mobile]
    if not mobiles and not user_ids:
        return None, ""
    at = {"atMobiles": mobiles, "atUserIds": user_ids, "isAtAll": False}
    return at, "\n\n" + " ".join(f"@{who}" for who in [*mobiles, *user_ids])
