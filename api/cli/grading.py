"""`stabilog grading`: try the grading policy from the shell before an incident needs it."""

from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer

from api.cli.context import cli_lang, read_amount
from incidents.grading import GRADES, Circumstances, GradingPolicy, PolicyError, load_policy
from incidents.impact import facts_from
from incidents.messages import hit_lines
from incidents.models import LEGACY_REGULATORY_TRIGGER
from incidents.settings import get_settings

app = typer.Typer(
    help="Grade an incident's impact A–D and check grading policy files.",
    no_args_is_help=True,
)


def _load_or_exit(policy_file: Path | None) -> GradingPolicy:
    try:
        return load_policy(policy_file)
    except PolicyError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(code=1) from exc


@app.command()
def explain(
    failed_orders: Annotated[int | None, typer.Option(min=0, help="Failed orders.")] = None,
    failed_transactions: Annotated[
        int | None, typer.Option(min=0, help="Failed transactions.")
    ] = None,
    amount: Annotated[
        Decimal | None,
        typer.Option(parser=read_amount, metavar="CNY", help="Money involved, in yuan."),
    ] = None,
    core: Annotated[
        bool, typer.Option("--core/--non-core", help="Whether a core payment path was hit.")
    ] = False,
    loss: Annotated[
        Decimal | None,
        typer.Option(parser=read_amount, metavar="CNY", help="资损: money lost, in yuan."),
    ] = None,
    recovered: Annotated[
        Decimal | None,
        typer.Option(parser=read_amount, metavar="CNY", help="追回: money of the loss recovered."),
    ] = None,
    trigger: Annotated[
        list[str] | None,
        typer.Option(
            "--trigger", help="A regulatory trigger ticked by a person (repeat for several)."
        ),
    ] = None,
    regulatory: Annotated[
        bool, typer.Option("--regulatory", hidden=True, help="Deprecated: --trigger NAME.")
    ] = False,
    impact_minutes: Annotated[
        int | None, typer.Option(min=0, help="Minutes of business impact.")
    ] = None,
    business_impact: Annotated[
        bool | None,
        typer.Option(
            "--business-impact/--no-business-impact",
            help="Whether business was hit; when not given, any quantity, net loss or --trigger"
            " means it was, as when filing.",
            show_default=False,
        ),
    ] = None,
    policy_file: Annotated[
        Path | None,
        typer.Option(
            "--policy",
            metavar="FILE",
            envvar="STABILOG_GRADING_POLICY",
            help="Policy TOML file; the packaged default when not given.",
        ),
    ] = None,
) -> None:
    """Print the grade an impact gets and every rule that fired, as filing would grade it."""
    policy = _load_or_exit(policy_file)
    ticked = [*(trigger or []), *([LEGACY_REGULATORY_TRIGGER] if regulatory else [])]
    try:
        policy.check_triggers(ticked)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--trigger") from None
    facts = facts_from(
        {
            "business_impact": business_impact,
            "failed_orders": failed_orders,
            "failed_transactions": failed_transactions,
            "amount_involved_cny": amount,
            "core_system": core,
            "loss_cny": loss,
            "recovered_cny": recovered,
            "regulatory_triggers": ticked,
            "impact_minutes": impact_minutes,
        }
    )
    result = policy.evaluate(facts, Circumstances(tz=get_settings().calendar.tz))
    reasons = hit_lines(result.grade, result.hits, cli_lang())
    if result.grade is None:
        typer.echo(f"grade: none ({reasons[0]})")
    else:
        typer.echo(f"grade: {result.grade}")
        for reason in reasons:
            typer.echo(f"  {reason}")
    typer.echo(f"policy: {policy.source_name}")


@app.command()
def triggers(
    policy_file: Annotated[
        Path | None,
        typer.Option("--policy", metavar="FILE", envvar="STABILOG_GRADING_POLICY"),
    ] = None,
) -> None:
    """List the policy's regulatory triggers: name, what fires it, title."""
    policy = _load_or_exit(policy_file)
    for item in policy.triggers:
        fired_by = "ticked by a person"
        if item.condition is not None:
            condition, limit = item.condition
            fired_by = f"{condition.key} {limit}"
        typer.echo(f"{item.name}\t{fired_by}\t{item.title}")


@app.command()
def check(
    policy_file: Annotated[Path, typer.Argument(metavar="FILE", help="Policy TOML file.")],
) -> None:
    """Validate a policy file; exit 1 naming the line and the problem if it is unusable."""
    _load_or_exit(policy_file)
    typer.echo(f"ok: {policy_file}: grades {GRADES[0]}–{GRADES[-1]}")
