"""`stabilog report`, `stabilog figures`: the weekly section and the figures only people know."""

import inspect
import json
from typing import Annotated, Literal

import typer

from api.cli.context import cli_actor, current_policy, open_session, reported
from api.scheduler import outbox_job
from incidents import figures, period_report, report
from incidents.db import engine_for
from incidents.demo import load_demo
from incidents.importer import import_weekly
from incidents.jobs import queue_weekly_report
from incidents.settings import get_settings
from incidents.weeks import Week
from notifiers.delivery import shared_client

report_app = typer.Typer(help="The weekly stability section.", no_args_is_help=True)
figures_app = typer.Typer(help="Weekly figures: 支付成功率, 健康分, 排名.", no_args_is_help=True)


def chosen_week(text: str) -> Week:
    with reported():
        return get_settings().calendar.parse_week(text)


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
    policy = current_policy()
    chosen = chosen_week(week)
    if send:
        with open_session() as session:
            queued = queue_weekly_report(session, chosen, settings, policy)
        result = outbox_job(engine_for(settings.database_url), shared_client(), settings)
        typer.echo(
            f"queued for {queued} channel(s); sent {result.sent}, retrying {result.retrying},"
            f" failed {result.failed}",
            err=True,
        )
    with open_session() as session:
        built = report.build(
            session, chosen, settings, lang or settings.report_lang, targets=policy.targets
        )
        if format == "json":
            typer.echo(json.dumps(report.to_json(built), ensure_ascii=False, indent=2))
        elif format == "html":
            typer.echo(report.to_html(built))
        else:
            typer.echo(report.to_markdown(built), nl=False)


@report_app.command("period")
def period(
    period: Annotated[
        str, typer.Argument(help="2023-09, 2023-Q3, 2023-H2, 2023 or 2023-07-01..2023-09-30")
    ],
    lang: Annotated[Literal["zh", "en"] | None, typer.Option()] = None,
    format: Annotated[Literal["markdown", "json", "html"], typer.Option()] = "markdown",
) -> None:
    """Print the report of a month, quarter, half, year or range of dates."""
    settings = get_settings()
    policy = current_policy()
    with reported():
        chosen = settings.calendar.parse_period(period)
    with open_session() as session:
        built = period_report.build(
            session, chosen, settings, lang or settings.report_lang, targets=policy.targets
        )
        if format == "json":
            typer.echo(json.dumps(period_report.to_json(built), ensure_ascii=False, indent=2))
        elif format == "html":
            typer.echo(period_report.to_html(built))
        else:
            typer.echo(period_report.to_markdown(built), nl=False)


def set_figures(week: str, **given: str | None) -> None:
    """Set the week's figures (rates in percent, e.g. --deposit-success-rate 99.998)."""
    chosen = chosen_week(week)
    with reported():
        typed = {name: value for name, value in given.items() if value is not None}
        values = figures.FigureValues.model_validate(typed).model_dump(exclude_none=True)
    with open_session() as session:
        stored = figures.set_figures(session, chosen, values, actor_name=cli_actor().name)
    for name, value in stored.items():
        typer.echo(f"{name}\t{value.normalize():f}")


def _figure_option(kind: figures.FigureKind) -> inspect.Parameter:
    """`--deposit-success-rate` and the like: read as the API reads its body, by FigureValues."""
    unit = ", in percent" if kind.unit == "%" else ""
    option = typer.Option(metavar="NUMBER", help=f"{kind.zh} ({kind.en}{unit})")
    return inspect.Parameter(
        kind.name,
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[str | None, option],
    )


# One option per figure in figures.FIGURES, so a new figure needs no change here.
set_figures.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [
        inspect.Parameter(
            "week",
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            annotation=Annotated[str, typer.Argument(help="a date inside the week, or 2023-W37")],
        ),
        *(_figure_option(kind) for kind in figures.FIGURES.values()),
    ]
)
figures_app.command("set")(set_figures)


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
