"""`stabilog grading`: try the grading policy from the shell before an incident needs it."""

from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated

import typer

from incidents.grading import GRADES, GradingPolicy, ImpactFacts, PolicyError, load_policy

app = typer.Typer(
    help="Grade an incident's impact A–D and check grading policy files.",
    no_args_is_help=True,
)


def _parse_amount(text: str) -> Decimal:
    # On-call types amounts the way reports print them: 600,000 or 600_000.
    try:
        amount = Decimal(text.replace(",", "").replace("_", ""))
    except InvalidOperation:
        raise typer.BadParameter(f"{text!r} is not an amount in CNY") from None
    if not amount.is_finite() or amount < 0:
        raise typer.BadParameter(f"{text!r} is not an amount in CNY")
    return amount


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
        typer.Option(parser=_parse_amount, metavar="CNY", help="Money involved, in yuan."),
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
    no_business_impact: Annotated[
        bool, typer.Option("--no-business-impact", help="An ungraded stability event.")
    ] = False,
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
    """Print the grade an impact gets and every rule that fired."""
    policy = _load_or_exit(policy_file)
    facts = ImpactFacts(
        business_impact=not no_business_impact,
        failed_orders=failed_orders,
        failed_transactions=failed_transactions,
        amount_cny=amount,
        core_system=core,
        regulatory=regulatory,
        impact_minutes=impact_minutes,
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
