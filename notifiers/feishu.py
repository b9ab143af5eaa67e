"""Feishu / Lark custom bot (自定义机器人): an interactive card, signed in the JSON body.

A card rather than a `post`: its markdown element renders the Markdown we already have (bold,
links, lists), where a post would need the text rebuilt as tag arrays, and its header and button
carry the title and the link. Headings become bold lines, which card markdown always renders.
"""

from datetime import datetime
from typing import Any

import httpx

from notifiers.answers import coded_outcome, json_bytes, json_request
from notifiers.credentials import require_http_url
from notifiers.message import ChannelConfig, DeliveryOutcome, Mention, Message
from notifiers.signing import check_secret, epoch_seconds, hmac_sha256_b64
from notifiers.text import LINK_LABEL, headings_to_bold, json_len, one_line, truncate

KIND = "feishu"
LABEL = "Feishu"
# The bot refuses bodies over 20 KB (code 9499); 20 000 holds whichever K they mean.
MAX_BODY_BYTES = 20_000
# 11232: frequency limited (100 a minute, 5 a second per bot); 9499: Bad Request, which is also
# how a burst is sometimes answered. Other codes (19021 sign, 19022 IP, 19024 keyword, 19007 bot
# disabled) need a person.
RETRY_CODES: dict[int, float | None] = {11232: 60.0, 9499: None}
HEADER_COLOURS = {
    "incident": "red",
    "alert_unfollowed": "orange",
    "action_overdue": "yellow",
    "weekly_report": "blue",
}


def sign(secret: str, timestamp: str) -> str:
    """Unlike DingTalk: the key is timestamp + "\\n" + secret, the message is empty."""
    return hmac_sha256_b64(f"{timestamp}\n{secret}".encode(), b"")


class Feishu:
    kind = KIND

    def validate(self, config: ChannelConfig) -> None:
        require_http_url(config, LABEL)
        # No secret is fine: a bot may be guarded by keywords or an IP allowlist instead.
        if config.secret:
            check_secret(config.secret, LABEL)

    def requests(
        self, message: Message, config: ChannelConfig, now: datetime
    ) -> list[httpx.Request]:
        payload = _card(message, "")
        if config.secret:
            timestamp = str(epoch_seconds(now))
            payload = {"timestamp": timestamp, "sign": sign(config.secret, timestamp), **payload}
        mentioned = _at(message.mentions)
        room = MAX_BODY_BYTES - len(json_bytes(payload)) - json_len(mentioned)
        content = truncate(headings_to_bold(message.markdown, "**"), room, json_len) + mentioned
        payload["card"] = _card(message, content)["card"]
        return [json_request(config.url, payload)]

    def parse(self, response: httpx.Response) -> DeliveryOutcome:
        # Older bots answer only the legacy StatusCode/StatusMessage pair.
        return coded_outcome(
            response,
            LABEL,
            code_fields=("code", "StatusCode"),
            message_fields=("msg", "StatusMessage"),
            retry_codes=RETRY_CODES,
        )


def _card(message: Message, content: str) -> dict[str, Any]:
    elements: list[dict[str, Any]] = [{"tag": "markdown", "content": content}]
    if message.url:
        button = {
            "tag": "button",
            "text": {"tag": "plain_text", "content": LINK_LABEL},
            "type": "primary",
            "url": message.url,
        }
        elements.append({"tag": "action", "actions": [button]})
    # plain_text: the header shows the title as typed, so it needs no escaping.
    header = {
        "title": {"tag": "plain_text", "content": one_line(message.title)},
        "template": HEADER_COLOURS.get(message.event, "blue"),
    }
    card = {"config": {"wide_screen_mode": True}, "header": header, "elements": elements}
    return {"msg_type": "interactive", "card": card}


def _at(mentions: tuple[Mention, ...]) -> str:
    """Card markdown's mentions: `<at id=…></at>` by open_id / user_id, else by e-mail (the
    card's other way to name a person); a mobile cannot be mentioned on Feishu."""
    tags = [
        f"<at id={m.feishu}></at>" if m.feishu else f"<at email={m.email}></at>"
        for m in mentions
        if m.feishu or m.email
    ]
    return "\n" + " ".join(tags) if tags else ""
