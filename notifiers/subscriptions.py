"""Channels as rows: added with their URL, secret and the events they subscribe to."""

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlmodel import Session, col, select

from incidents.db import get_or_raise
from incidents.errors import Invalid
from incidents.outbox import Channel, ChannelCreate, ChannelPublic
from notifiers.channels import validate_config
from notifiers.message import ChannelConfig


def masked_url(url: str) -> str:
    """The URL without what makes it a credential: query values, user info, and for Slack and
    Feishu the secret path segments after the host's first one."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    query = "&".join(f"{pair.split('=', 1)[0]}=***" for pair in parts.query.split("&") if pair)
    segments = parts.path.split("/")
    path = "/".join(segments[:3]) + ("/***" if len(segments) > 3 else "")
    return urlunsplit((parts.scheme, host, path, query, ""))


def public(channel: Channel) -> ChannelPublic:
    return ChannelPublic.model_validate(
        channel, update={"url": masked_url(channel.url), "has_secret": bool(channel.secret)}
    )


def add_channel(session: Session, data: ChannelCreate) -> Channel:
    try:
        validate_config(ChannelConfig(kind=data.kind, url=data.url, secret=data.secret or None))
    except ValueError as exc:
        raise Invalid("url" if "url" in str(exc).lower() else "secret", str(exc)) from exc
    if session.exec(select(Channel).where(Channel.name == data.name)).first() is not None:
        raise Invalid("name", f"a channel named {data.name!r} exists already")
    channel = Channel(
        kind=data.kind,
        name=data.name,
        url=data.url,
        secret=data.secret or None,
        events=sorted({event.value for event in data.events}),
    )
    session.add(channel)
    session.flush()  # the id is answered to the caller
    return channel


def list_channels(session: Session) -> list[Channel]:
    return list(session.exec(select(Channel).order_by(col(Channel.id))))


def get_channel(session: Session, channel_id: int) -> Channel:
    return get_or_raise(session, Channel, channel_id)


def update_channel(session: Session, channel_id: int, changes: dict[str, Any]) -> Channel:
    channel = get_channel(session, channel_id)
    if changes.get("enabled") is not None:
        channel.enabled = bool(changes["enabled"])
    if changes.get("events") is not None:
        channel.events = sorted({str(event) for event in changes["events"]})
    return channel


def remove_channel(session: Session, channel_id: int) -> None:
    session.delete(get_channel(session, channel_id))
