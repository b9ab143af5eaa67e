"""`stabilog grading`: try the grading policy from the shell before an incident needs it."""

from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer

from api.cli.context import read_amount
from incidents.grading import GRADES, GradingPolicy, PolicyError, load_policy
from incidents.impact import facts_from

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
    regulatory: Annotated[
        bool, typer.Option("--regulatory", help="Reportable to the regulator.")
    ] = False,
    impact_minutes: Annotated[
        int | None, typer.Option(min=0, help="Minutes of business impact.")
    ] = None,
    business_impact: Annotated[
        bool | None,
        typer.Option(
            "--business-impact/--no-business-impact",
            help="Whether business was hit; when not given, any quantity or --regulatory means"
            " it was, as when filing.",
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
    facts = facts_from(
        {
            "business_impact": business_impact,
            "failed_orders": failed_orders,
            "failed_transactions": failed_transactions,
            "amount_cny": amount,
            "core_system": core,
            "regulatory": regulatory,
            "impact_minutes": impact_minutes,
        }
    )
    result = policy.evaluate(facts)
    if result.grade is None:
        typer.echo(f"grade: none ({result.reason_text})")
    else:
        typer.echo(f"grade: {result.grade}")
        for reason in result.reasons:
            typer.echo(f"  {reason}")
    typer.echo(f"policy: {policy.source_name}")


@app.command()
def check(
    policy_file: Annotated[Path, typer.Argument(metavar="FILE", help="Policy TOML file.")],
) -> None:
    """Validate a policy file; exit 1 naming the line and the problem if it is unusable."""
    _load_or_exit(policy_file)
    typer.echo(f"ok: {policy_file}: grades {GRADES[0]}–{GRADES[-1]}")
