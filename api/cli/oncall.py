"""`stabilog oncall`: who is on call, the rotas, overrides (调班), routing and escalation."""

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import TypeAdapter, ValidationError

from api.cli.context import cli_actor, fail, open_session, reported
from incidents import escalation, oncall
from incidents.db import utcnow
from incidents.errors import Invalid, NotFound
from incidents.escalation import PolicyWrite, RoutingWrite
from incidents.models import QueryMoment
from incidents.oncall import OverrideWrite, RotaWrite
from incidents.settings import get_settings

app = typer.Typer(help="The on-call rota (值班), routing and escalation.", no_args_is_help=True)

_MOMENT = TypeAdapter(QueryMoment)
OVERRIDE_FLAGS = {"starts_at": "--from", "ends_at": "--to", "member": "MEMBER"}


def _moment(flag: str, text: str) -> datetime:
    try:
        return _MOMENT.validate_python(text)
    except ValidationError as exc:
        fail(f"{flag}: {exc.errors()[0]['msg']}")


def _json_file(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        fail(f"{path}: {exc}")


@app.command("now")
def now(
    at: Annotated[str | None, typer.Option(help="a moment instead of now (12-01 14:00)")] = None,
    rota: Annotated[str | None, typer.Option(help="only this rota")] = None,
) -> None:
    """Who is on call in each rota, now or at --at."""
    calendar = get_settings().calendar
    moment = _moment("--at", at) if at else utcnow()
    with open_session() as session:
        rotas = [oncall.rota_named(session, rota)] if rota else oncall.list_rotas(session)
        duties = [oncall.on_call(session, each, moment, calendar) for each in rotas]
    if not duties:
        typer.echo("no rotas", err=True)
    for duty in duties:
        reach = " ".join(filter(None, [duty.primary.mobile, duty.primary.email]))
        notes = ["调班"] if duty.override else []
        notes += ["节假日"] if duty.holiday else []
        secondary = duty.secondary.name if duty.secondary else "—"
        typer.echo(
            f"{duty.rota.name}\t{duty.primary.name} {reach}".rstrip()
            + f"\t备班 {secondary}"
            + f"\t{calendar.local(duty.shift_start):%Y-%m-%d %H:%M}"
            + f" – {calendar.local(duty.shift_end):%Y-%m-%d %H:%M}"
            + ("\t" + " ".join(notes) if notes else "")
        )


@app.command("rotas")
def list_rotas() -> None:
    """Every rota with its members in turn order."""
    with open_session() as session:
        for rota in oncall.list_rotas(session):
            members = oncall.members_of(session, rota.id or 0)
            names = "、".join(m.name if m.in_rotation else f"({m.name})" for m in members)
            typer.echo(f"{rota.id}\t{rota.name}\t{rota.period} {rota.handoff_time:%H:%M}\t{names}")


@app.command("rota-apply")
def apply_rota(
    file: Annotated[Path, typer.Argument(help="a rota as JSON, the body of POST /api/v1/rotas")],
) -> None:
    """Create the rota, or replace the one of the same name."""
    with reported():
        data = RotaWrite.model_validate(_json_file(file))
    with open_session() as session:
        try:
            existing = oncall.rota_named(session, data.name)
        except NotFound:
            rota = oncall.create_rota(session, data)
            typer.echo(f"rota {rota.id} {rota.name} created")
        else:
            oncall.replace_rota(session, existing.id or 0, data)
            typer.echo(f"rota {existing.id} {existing.name} replaced")


@app.command("override")
def add_override(
    rota: Annotated[str, typer.Argument(help="the rota's name")],
    member: Annotated[str, typer.Argument(help="who is on call instead")],
    from_: Annotated[str, typer.Option("--from", help="start (12-01 18:00)")],
    to: Annotated[str, typer.Option(help="end")],
    reason: Annotated[str | None, typer.Option(help="why (调班 reason)")] = None,
) -> None:
    """调班: MEMBER is on call in ROTA from --from to --to."""
    try:
        data = OverrideWrite.model_validate(
            {"member": member, "starts_at": from_, "ends_at": to, "reason": reason}
        )
    except ValidationError as exc:
        field = str(exc.errors()[0]["loc"][0])
        fail(f"{OVERRIDE_FLAGS.get(field, field)}: {exc.errors()[0]['msg']}")
    with open_session() as session:
        found = oncall.rota_named(session, rota)
        try:
            override = oncall.add_override(session, found.id or 0, data, actor=cli_actor())
        except Invalid as exc:  # named by this command's flags, not the API's fields
            fail(f"{OVERRIDE_FLAGS.get(exc.field, exc.field)}: {exc.message}")
        typer.echo(f"override {override.id}: {override.member} on call in {found.name}")


@app.command("routing-apply")
def apply_routing(
    file: Annotated[Path, typer.Argument(help='{"rules": [{"source", "severity", "rota"}, …]}')],
) -> None:
    """Replace the ordered routing rules (source and severity → rota, first match wins)."""
    with reported():
        data = RoutingWrite.model_validate(_json_file(file))
    with open_session() as session:
        rules = escalation.set_rules(session, data)
    typer.echo(f"{len(rules)} routing rules")


@app.command("policy-apply")
def apply_policy(
    file: Annotated[Path, typer.Argument(help="a policy as JSON: name, rota, steps")],
) -> None:
    """Create the escalation policy, or replace the one of the same name."""
    with reported():
        data = PolicyWrite.model_validate(_json_file(file))
    with open_session() as session:
        try:
            existing = escalation.policy_named(session, data.name)
        except NotFound:
            escalation.create_policy(session, data)
        else:
            escalation.replace_policy(session, existing.id or 0, data)
    typer.echo(f"policy {data.name}: {len(data.steps)} steps")


@app.command("metrics")
def metrics(
    from_: Annotated[str, typer.Option("--from", help="received at or after")],
    to: Annotated[str, typer.Option(help="received before")],
) -> None:
    """Escalated alerts of the window by the step after which they were followed up."""
    start, end = _moment("--from", from_), _moment("--to", to)
    with open_session() as session:
        result = escalation.metrics(session, start, end)
    typer.echo(f"escalated\t{result.escalated}")
    for step, count in result.followed_up_after_step.items():
        typer.echo(f"after step {step}\t{count}")
    typer.echo(f"not followed up\t{result.not_followed_up}")
