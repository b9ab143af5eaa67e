"""The channels by kind, and the two questions asked of a kind before anything is sent."""

from incidents.outbox import neutralise
from notifiers.dingtalk import DingTalk
from notifiers.email import Email
from notifiers.feishu import Feishu
from notifiers.message import Channel, ChannelConfig, DirectChannel
from notifiers.slack import Slack
from notifiers.webhook import Webhook
from notifiers.wecom import WeCom

CHANNELS: dict[str, Channel | DirectChannel] = {
    channel.kind: channel
    for channel in (DingTalk(), WeCom(), Feishu(), Slack(), Email(), Webhook())
}
KINDS = tuple(CHANNELS)


def channel_for(kind: str) -> Channel | DirectChannel:
    try:
        return CHANNELS[kind]
    except KeyError:
        raise ValueError(f"unknown channel kind {kind!r}; known: {', '.join(KINDS)}") from None


def validate_config(config: ChannelConfig) -> None:
    """Raise ValueError saying what is wrong: the URL's shape, a missing or malformed secret."""
    channel_for(config.kind).validate(config)


def escape_for(kind: str, text: str) -> str:
    """User text (alert or incident titles, notes) made safe to embed in a message's Markdown.

    One rule serves every kind today, because every channel receives Markdown: Slack's is
    converted to mrkdwn with &, < and > escaped, e-mail's is shown escaped in HTML, and the
    neutralised text reads the same everywhere. So one Message can fan out to all channels.
    The kind is still checked, for the day a channel needs a rule of its own.
    """
    channel_for(kind)
    return neutralise(text)
