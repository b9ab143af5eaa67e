"""`stabilog token`: issue and revoke API tokens."""

import typer

from api.cli.context import open_session
from incidents import tokens
from incidents.models import Role

app = typer.Typer(help="API tokens.", no_args_is_help=True)


@app.command("create")
def create(
    name: str = typer.Option(..., help="Who or what uses the token, e.g. alice or grafana-bot."),
    role: Role = typer.Option(..., help="viewer, oncall or admin."),
) -> None:
    """Create a token and print it once; only its digest is stored."""
    with open_session() as session:
        _, plain = tokens.create_token(session, name, role)
    typer.echo(plain)


@app.command("list")
def list_() -> None:
    with open_session() as session:
        for token in tokens.list_tokens(session):
            state = "revoked" if token.revoked_at else "active"
            typer.echo(f"{token.id}\t{token.name}\t{token.role}\t{state}")


@app.command("revoke")
def revoke(token_id: int) -> None:
    with open_session() as session:
        token = tokens.revoke_token(session, token_id)
    typer.echo(f"revoked {token.name}")
