"""`stabilog source`: the monitoring systems allowed to deliver alerts."""

from typing import Annotated

import typer

from api.cli.context import open_session
from incidents.alerts import sources
from incidents.alerts.models import SourceCreate, SourceKind
from incidents.settings import get_settings

app = typer.Typer(
    help="Webhook sources (监控宝, Alertmanager, Grafana, generic).", no_args_is_help=True
)


def _url(path: str) -> str:
    return get_settings().public_url.rstrip("/") + path


@app.command("create")
def create(
    kind: Annotated[SourceKind, typer.Option(help="What sends the alerts.")],
    name: Annotated[str, typer.Option(help="A name for people, e.g. prod-am.")],
    secret: Annotated[
        str | None,
        typer.Option(
            help="监控宝's 回调token, the HMAC secret (generic, Grafana) or bearer token."
        ),
    ] = None,
    system_label: Annotated[
        str, typer.Option(help="The alert label that names the business system.")
    ] = "service",
) -> None:
    """Create a source; the last line printed is the webhook URL to paste into the tool."""
    with open_session() as session:
        data = SourceCreate(kind=kind, name=name, secret=secret, system_label=system_label)
        source = sources.create_source(session, data)
    typer.echo(f"source {source.id} ({source.kind}) {source.name}")
    typer.echo(_url(sources.webhook_path(source)))


@app.command("list")
def list_() -> None:
    with open_session() as session:
        for source in sources.list_sources(session):
            state = "enabled" if source.enabled else "disabled"
            typer.echo(f"{source.id}\t{source.kind}\t{source.name}\t{state}")


@app.command("disable")
def disable(source_id: int) -> None:
    """Refuse this source's deliveries from now on."""
    with open_session() as session:
        source = sources.update_source(session, source_id, {"enabled": False})
    typer.echo(f"disabled {source.name}")


@app.command("enable")
def enable(source_id: int) -> None:
    with open_session() as session:
        source = sources.update_source(session, source_id, {"enabled": True})
    typer.echo(f"enabled {source.name}")


@app.command("rotate-key")
def rotate_key(source_id: int) -> None:
    """A new webhook URL (printed last); the old one stops working at once."""
    with open_session() as session:
        source = sources.rotate_key(session, source_id)
    typer.echo(_url(sources.webhook_path(source)))
