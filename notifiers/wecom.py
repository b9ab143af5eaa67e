"""WeCom 企业微信 group robot (群机器人): markdown messages of at most 4096 bytes each."""

from datetime import datetime

import httpx

from incidents.outbox import neutralise
from notifiers.answers import coded_outcome, json_request
from notifiers.credentials import no_secret_expected, require_http_url
from notifiers.message import ChannelConfig, DeliveryOutcome, Message
from notifiers.text import link_line, one_line, split_lines, truncate, utf8_len

KIND = "wecom"
LABEL = "WeCom"
MAX_CONTENT_BYTES = 4096
MAX_TEXT_BYTES = 2048  # a `text` message's content
# 45009: over 20 messages a minute. Every other code (93000 bad key, 40058 too long) is final.
RETRY_CODES: dict[int, float | None] = {45009: 60.0}
# Room reserved for the part number in a split message's heading.
_WIDEST_PART_NUMBER = 9999


class WeCom:
    kind = KIND

    def validate(self, config: ChannelConfig) -> None:
        url = require_http_url(config, LABEL)
        if not url.params.get("key"):
            raise ValueError(f"{LABEL}: the robot URL must carry ?key=…")
        no_secret_expected(config, LABEL, "the key in the URL is the credential")

    def requests(
        self, message: Message, config: ChannelConfig, now: datetime
    ) -> list[httpx.Request]:
        """One request, or several numbered "(1/3)" when the content passes 4096 bytes.

        The body (everything after the heading line) is cut on line boundaries, so the parts'
        bodies joined in order give back the whole text.
        """
        title = neutralise(one_line(message.title))
        user_ids = [m.wecom for m in message.mentions if m.wecom]
        mentioned = "".join(f"\n<@{user_id}>" for user_id in user_ids)
        body = message.markdown + link_line(message.url) + mentioned
        ring = _ring_by_mobile(config.url, message, title)
        whole = _heading(title) + body
        if utf8_len(whole) <= MAX_CONTENT_BYTES:
            return [_request(config.url, whole), *ring]
        widest = _heading(title, _WIDEST_PART_NUMBER, _WIDEST_PART_NUMBER)
        parts = split_lines(body, MAX_CONTENT_BYTES - utf8_len(widest), utf8_len)
        return [
            *(
                _request(config.url, _heading(title, number, len(parts)) + part)
                for number, part in enumerate(parts, 1)
            ),
            *ring,
        ]

    def parse(self, response: httpx.Response) -> DeliveryOutcome:
        return coded_outcome(
            response,
            LABEL,
            code_fields=("errcode",),
            message_fields=("errmsg",),
            retry_codes=RETRY_CODES,
        )


def _heading(title: str, number: int | None = None, count: int | None = None) -> str:
    suffix = f" ({number}/{count})" if number is not None else ""
    return f"### {title}{suffix}\n"


def _request(url: str, content: str) -> httpx.Request:
    return json_request(url, {"msgtype": "markdown", "markdown": {"content": content}})


def _ring_by_mobile(url: str, message: Message, title: str) -> list[httpx.Request]:
    """A short `text` message for people known only by mobile: markdown can mention a userid
    (`<@userid>`), but `mentioned_mobile_list` works only with msgtype text."""
    mobiles = [m.mobile for m in message.mentions if m.mobile and not m.wecom]
    if not mobiles:
        return []
    content = truncate(f"{title}：请跟进", MAX_TEXT_BYTES, utf8_len)
    text = {"content": content, "mentioned_mobile_list": mobiles}
    return [json_request(url, {"msgtype": "text", "text": text})]
