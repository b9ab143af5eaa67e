"""What every channel shares: the message, its target's configuration, the outcome of a delivery,
and the two channel protocols.

A channel is one module with one small class. HTTP channels turn a `Message` into requests and
an answer into a `DeliveryOutcome`; they never send anything themselves, so one shared client,
one retry policy and one outbox (all outside the channel) serve them all.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit

import httpx


@dataclass(frozen=True)
class Mention:
    """A person the robot @-mentions so their phone rings; each channel uses what it can."""

    name: str
    mobile: str | None = None
    email: str | None = None
    dingtalk: str | None = None  # DingTalk userId
    wecom: str | None = None  # WeCom userid
    feishu: str | None = None  # Feishu open_id / user_id

    @classmethod
    def of(cls, stored: dict[str, str]) -> "Mention":
        """From an outbox row's `mentions` entry (`RotaMember.mention()`); unknown keys ignored."""
        known = ("mobile", "email", "dingtalk", "wecom", "feishu")
        return cls(name=stored.get("name", ""), **{key: stored.get(key) for key in known})


@dataclass(frozen=True)
class Message:
    """One notification, independent of the channel it goes to.

    `title` is plain text: channels escape it themselves wherever it lands in markup. `markdown`
    is trusted Markdown, embedded as is: whoever builds it passes every piece of user text
    (alert titles, incident titles, remediation notes) through `escape_for` first.
    """

    title: str
    markdown: str
    url: str | None = None
    event: str = "generic"
    idempotency_key: str = ""
    mentions: tuple[Mention, ...] = ()


@dataclass(frozen=True)
class ChannelConfig:
    kind: str
    url: str = field(repr=False)
    secret: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        # The URL of a robot is its credential (access_token, key, Slack path): keep it out of
        # logs and tracebacks.
        host = urlsplit(self.url).hostname if "://" in self.url else None
        return f"ChannelConfig(kind={self.kind!r}, host={host!r})"


@dataclass(frozen=True)
class DeliveryOutcome:
    ok: bool
    retryable: bool
    detail: str
    retry_after: float | None = None

    @classmethod
    def delivered(cls, detail: str = "delivered") -> "DeliveryOutcome":
        return cls(ok=True, retryable=False, detail=detail)

    @classmethod
    def retry(cls, detail: str, retry_after: float | None = None) -> "DeliveryOutcome":
        return cls(ok=False, retryable=True, detail=detail, retry_after=retry_after)

    @classmethod
    def give_up(cls, detail: str) -> "DeliveryOutcome":
        return cls(ok=False, retryable=False, detail=detail)


@runtime_checkable
class Channel(Protocol):
    """A channel spoken over HTTP: render requests, judge the answer. Sending is not its job."""

    kind: str

    def validate(self, config: ChannelConfig) -> None: ...

    def requests(
        self, message: Message, config: ChannelConfig, now: datetime
    ) -> list[httpx.Request]: ...

    def parse(self, response: httpx.Response) -> DeliveryOutcome: ...


@runtime_checkable
class DirectChannel(Protocol):
    """A channel that is not HTTP (e-mail over SMTP) and so delivers by itself."""

    kind: str

    def validate(self, config: ChannelConfig) -> None: ...

    def deliver(
        self, message: Message, config: ChannelConfig, now: datetime | None = None
    ) -> DeliveryOutcome: ...
