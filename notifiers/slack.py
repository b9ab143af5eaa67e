"""Slack incoming webhook: a header block and mrkdwn sections of at most 3000 characters."""

import re
from datetime import datetime
from typing import Any

import httpx

from incidents.outbox import neutralise
from notifiers.answers import json_request, snippet, status_outcome
from notifiers.credentials import no_secret_expected, require_http_url
from notifiers.message import ChannelConfig, DeliveryOutcome, Message
from notifiers.text import LINK_LABEL, TRUNCATION_NOTE, headings_to_bold, one_line, split_lines

KIND = "slack"
LABEL = "Slack"
SECTION_MAX_CHARS = 3000
HEADER_MAX_CHARS = 150
MAX_BLOCKS = 50

_LINK = re.compile(r"!?\[([^\]\n]*)\]\(([^)\s]+)\)")
_BOLD = re.compile(r"\*\*(.+?)\*\*")


def escape_entities(text: str) -> str:
    """The three characters Slack reserves for its own markup (<!channel>, <url|text>)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def to_mrkdwn(markdown: str) -> str:
    """Markdown in Slack's dialect: &, < and > escaped, links as <url|text>, **bold** as *bold*,
    headings as bold lines."""
    text = _LINK.sub(lambda m: f"<{m[2]}|{m[1] or m[2]}>", escape_entities(markdown))
    return headings_to_bold(_BOLD.sub(r"*\1*", text), "*")


class Slack:
    kind = KIND

    def validate(self, config: ChannelConfig) -> None:
        require_http_url(config, LABEL)
        no_secret_expected(config, LABEL, "the webhook URL is the credential")

    def requests(
        self, message: Message, config: ChannelConfig, now: datetime
    ) -> list[httpx.Request]:
        title = one_line(message.title, HEADER_MAX_CHARS)
        # plain_text should not parse <!channel>, but the look-alikes cost nothing to be sure.
        header = {"type": "plain_text", "text": neutralise(title)}
        blocks: list[dict[str, Any]] = [{"type": "header", "text": header}]
        room = MAX_BLOCKS - len(blocks) - (1 if message.url else 0)
        blocks += [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}}
            for text in _sections(to_mrkdwn(message.markdown), room)
        ]
        fallback = escape_entities(title)
        if message.url:
            button = {
                "type": "button",
                "text": {"type": "plain_text", "text": LINK_LABEL},
                "url": message.url,
            }
            blocks.append({"type": "actions", "elements": [button]})
            fallback += f" – {message.url}"
        return [json_request(config.url, {"text": fallback, "blocks": blocks})]

    def parse(self, response: httpx.Response) -> DeliveryOutcome:
        # Success is 200 with the plain-text body "ok"; errors are plain-text codes such as
        # invalid_payload or channel_is_archived, which status_outcome quotes.
        outcome = status_outcome(response, LABEL)
        if outcome.ok and response.text.strip() != "ok":
            return DeliveryOutcome.retry(f"{LABEL}: unexpected answer: {snippet(response)}")
        return outcome


def _sections(mrkdwn: str, room: int) -> list[str]:
    # Slack refuses an empty section, so blank pieces are dropped.
    sections = [s for s in split_lines(mrkdwn, SECTION_MAX_CHARS) if s.strip()]
    if len(sections) > room:
        note = "\n" + TRUNCATION_NOTE
        sections = sections[:room]
        sections[-1] = sections[-1][: SECTION_MAX_CHARS - len(note)] + note
    return sections
