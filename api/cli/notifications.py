"""`stabilog channel` and `stabilog notifications`: where messages go, and what became of them."""

from typing import Annotated

import typer

from api.cli.context import open_session
from incidents import outbox
from incidents.outbox import ChannelCreate, ChannelKind, NotificationEvent, NotificationStatus
from incidents.settings import get_settings
from notifiers import subscriptions

channel_app = typer.Typer(
    help="Chat robots, e-mail and webhooks that get messages.", no_args_is_help=True
)
notifications_app = typer.Typer(
    help="The outbox: sent, waiting and failed messages.", invoke_without_command=True
)


@channel_app.command("add")
def add(
    kind: Annotated[ChannelKind, typer.Option()],
    name: Annotated[str, typer.Option()],
    url: Annotated[str, typer.Option(help="the robot's webhook URL, or smtp://… for e-mail")],
    events: Annotated[
        str,
        typer.Option(
            help="comma-separated: " + ", ".join(NotificationEvent),
        ),
    ],
    secret: Annotated[
        str | None, typer.Option(help="signing secret (DingTalk 加签, Feishu …)")
    ] = None,
) -> None:
    """Add a channel; a malformed URL or an unknown event is refused."""
    with open_session() as session:
        subscribed = [event.strip() for event in events.split(",")]
        data = ChannelCreate.model_validate(
            {"kind": kind, "name": name, "url": url, "secret": secret, "events": subscribed}
        )
        channel = subscriptions.add_channel(session, data)
    typer.echo(f"channel {channel.id} {channel.kind} {channel.name}: {', '.join(channel.events)}")


@channel_app.command("list")
def list_() -> None:
    with open_session() as session:
        channels = subscriptions.list_channels(session)
        if not channels:
            # An empty answer would look like a failure; to stderr, so a script reading the
            # tab-separated lines still reads none.
            typer.echo("no channels yet: add one with `stabilog channel add`", err=True)
        for channel in channels:
            shown = subscriptions.public(channel)
            state = "enabled" if channel.enabled else "disabled"
            typer.echo(
                f"{shown.id}\t{shown.kind}\t{shown.name}\t{state}\t{','.join(shown.events)}\t{shown.url}"
            )


@channel_app.command("remove")
def remove(channel_id: int) -> None:
    with open_session() as session:
        subscriptions.remove_channel(session, channel_id)
    typer.echo(f"removed channel {channel_id}")


@notifications_app.callback()
def notifications(
    context: typer.Context,
    status: Annotated[NotificationStatus | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
) -> None:
    """List the outbox, newest first (e.g. --status failed)."""
    if context.invoked_subcommand is not None:
        return
    calendar = get_settings().calendar
    with open_session() as session:
        items, total = outbox.list_notifications(session, status, limit=limit, offset=0)
    for item in items:
        when = f"{calendar.local(item.created_at):%Y-%m-%d %H:%M}"
        error = f"\t{item.last_error}" if item.last_error else ""
        typer.echo(
            f"{item.id}\t{when}\t{item.status}\t{item.attempts}\t{item.event}\t{item.title}{error}"
        )
    typer.echo(f"{len(items)} of {total}", err=True)


@notifications_app.command("retry")
def retry(notification_id: int) -> None:
    """Queue a failed message again."""
    with open_session() as session:
        item = outbox.retry(session, notification_id)
    typer.echo(f"notification {item.id}: {item.status}")
