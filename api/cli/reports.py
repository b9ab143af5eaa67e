"""`stabilog report`, `stabilog figures`: the weekly section and the figures only people know."""

import json
from decimal import Decimal
from typing import Annotated, Literal

import typer

from api.cli.context import cli_actor, current_policy, open_session, reported
from incidents import figures, report
from incidents.demo import load_demo
from incidents.importer import import_weekly
from incidents.jobs import queue_weekly_report
from incidents.settings import get_settings
from incidents.weeks import Week, parse_week
from notifiers.delivery import shared_client
from notifiers.outbox import deliver_due

report_app = typer.Typer(help="The weekly stability section.", no_args_is_help=True)
figures_app = typer.Typer(help="Weekly figures: 支付成功率, 健康分, 排名.", no_args_is_help=True)


def chosen_week(text: str) -> Week:
    settings = get_settings()
    with reported():
        return parse_week(text, settings.week_numbering, settings.report_day)


@report_app.command("weekly")
def weekly(
    week: Annotated[str, typer.Argument(help="a date inside the week, or 2023-W37")],
    lang: Annotated[Literal["zh", "en"] | None, typer.Option()] = None,
    format: Annotated[Literal["markdown", "json", "html"], typer.Option()] = "markdown",
    send: Annotated[
        bool, typer.Option("--send", help="also send it now to the channels subscribed to it")
    ] = False,
) -> None:
    """Print the week's 【系统运行数据】 and 生产稳定性事件."""
    settings = get_settings()
    chosen = chosen_week(week)
    with open_session() as session:
        if send:
            queued = queue_weekly_report(session, chosen, settings)
            result = deliver_due(session, client=shared_client())
            typer.echo(
                f"queued for {queued} channel(s); sent {result.sent}, retrying {result.retrying},"
                f" failed {result.failed}",
                err=True,
            )
        built = report.build(session, chosen, settings, lang or settings.report_lang)
        if format == "json":
            typer.echo(json.dumps(report.to_json(built), ensure_ascii=False, indent=2))
        elif format == "html":
            typer.echo(report.to_html(built))
        else:
            typer.echo(report.to_markdown(built), nl=False)


Figure = Annotated[Decimal | None, typer.Option(parser=Decimal)]


@figures_app.command("set")
def set_figures(
    week: Annotated[str, typer.Argument(help="a date inside the week, or 2023-W37")],
    deposit_success_rate: Figure = None,
    payout_success_rate: Figure = None,
    first_pay_success_rate: Figure = None,
    health_score: Figure = None,
    health_rank: Figure = None,
) -> None:
    """Set the week's figures (rates in percent, e.g. --deposit-success-rate 99.998)."""
    values = {
        name: value for name, value in locals().items() if name != "week" and value is not None
    }
    chosen = chosen_week(week)
    with open_session() as session:
        stored = figures.set_figures(session, chosen, values, actor_name=cli_actor().name)
    for name, value in stored.items():
        typer.echo(f"{name}\t{value.normalize():f}")


def import_report(
    file: Annotated[typer.FileText, typer.Argument(help="a weekly report, UTF-8 text")],
) -> None:
    """Import the stability events a weekly report lists (once; again creates nothing)."""
    with open_session() as session:
        result = import_weekly(
            session,
            file.read(),
            actor=cli_actor(),
            policy=current_policy(),
            settings=get_settings(),
        )
    for incident in result.created:
        review = "  (business impact to be confirmed)" if incident.needs_review else ""
        typer.echo(f"created {incident.id}\t{incident.grade or '-'}\t{incident.title}{review}")
    typer.echo(f"{result.week.label}: {len(result.created)} created, {result.existing} existing")


def demo(
    weeks: Annotated[int, typer.Option(min=1, max=104, help="weeks of history")] = 12,
) -> None:
    """Load a realistic sample: the seed's week 37 plus weeks of alerts and incidents."""
    with open_session() as session:
        summary = load_demo(session, settings=get_settings(), policy=current_policy(), weeks=weeks)
    typer.echo(
        f"loaded {summary.weeks} weeks: {summary.incidents} incidents, {summary.alerts} alerts; "
        "try `stabilog report weekly 2023-09-09`"
    )
