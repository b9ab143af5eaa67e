"""Outbound channels (chat robots, e-mail, webhooks) over one shared httpx client.

The public surface: build a `Message`, pick a `ChannelConfig`, call `send` (it never raises)
and act on the `DeliveryOutcome`. Retries, scheduling and the outbox live elsewhere.
"""

from notifiers.channels import KINDS, channel_for, escape_for, validate_config
from notifiers.delivery import build_client, send, shared_client
from notifiers.message import Channel, ChannelConfig, DeliveryOutcome, DirectChannel, Message

__all__ = [
    "KINDS",
    "Channel",
    "ChannelConfig",
    "DeliveryOutcome",
    "DirectChannel",
    "Message",
    "build_client",
    "channel_for",
    "escape_for",
    "send",
    "shared_client",
    "validate_config",
]
