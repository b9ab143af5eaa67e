"""`stabilog report`, `stabilog figures`: the weekly section and the figures only people know."""

import inspect
import json
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Annotated, Literal

import typer

from api.cli.context import cli_actor, cli_lang, current_policy, open_session, reported, said
from api.scheduler import outbox_job
from incidents import figures, period_report, report
from incidents.db import engine_for
from incidents.demo import load_demo
from incidents.errors import Invalid
from incidents.importer import ImportResult, decode_report, import_weekly
from incidents.jobs import queue_weekly_report
from incidents.messages import grade_reason_text
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
    path: Annotated[
        Path,
        typer.Argument(
            exists=True, help="a weekly report (UTF-8 or GBK text), or a folder of them"
        ),
    ],
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="show every event as it would be stored; store nothing"),
    ] = False,
) -> None:
    """Import the stability events and figures of weekly reports (once; again creates nothing)."""
    if path.is_dir():
        _import_folder(path, dry_run=dry_run)
        return
    with reported():
        text = decode_report(path.read_bytes())
    with open_session() as session:
        result = import_weekly(
            session,
            text,
            actor=cli_actor(),
            policy=current_policy(),
            settings=get_settings(),
            dry_run=dry_run,
        )
        if dry_run:
            session.rollback()  # nothing was written; this keeps it so
    _show(result)


def _show(result: ImportResult) -> None:
    plan = result.plan
    for planned in plan.events:
        event = planned.event
        state = "existing" if planned.exists else "would create" if result.dry_run else "created"
        review = f"  (review: {planned.review_reason})" if planned.review_reason else ""
        typer.echo(
            f"line {event.line_number}\t{state}\t{planned.grade or '-'}\t{event.title}{review}"
        )
        if result.dry_run:
            reason = grade_reason_text(
                planned.grade, planned.grade_hits, planned.grade_reason, cli_lang()
            )
            typer.echo(f"    grade: {planned.grade or '-'} ({reason})")
            for name, text in event.evidence.items():
                typer.echo(f"    {name}: {_shown(getattr(event, name))}  ← {text!r}")
    if plan.reconciliation is not None and not plan.reconciliation.agrees:
        typer.echo(f"the report's own counts disagree: {plan.reconciliation.reason}")
    for name, value in plan.figures.items():
        typer.echo(f"figure {name}\t{value.normalize():f}")
    if result.dry_run:
        new = len(plan.events) - result.existing
        typer.echo(
            f"{result.week.label}: {new} would be created, {result.existing} existing"
            " (dry run: nothing stored)"
        )
    else:
        typer.echo(
            f"{result.week.label}: {len(result.created)} created, {result.existing} existing"
        )


def _shown(value: object) -> str:
    if isinstance(value, datetime):
        return get_settings().calendar.local(value).strftime("%Y-%m-%d %H:%M")
    return str(value.value if isinstance(value, Enum) else value)


def _import_folder(folder: Path, *, dry_run: bool) -> None:
    """Each file in its own transaction, so a refused file leaves the others imported; one line
    per file: imported, skipped (imported already), needs review, or failed with the reason."""
    failed = 0
    for path in sorted(item for item in folder.iterdir() if item.is_file()):
        if path.name.startswith("."):
            continue
        outcome = _import_one(path, dry_run=dry_run)
        failed += outcome.startswith("failed")
        typer.echo(f"{path.name}\t{outcome}")
    if failed:
        raise typer.Exit(code=1)


def _import_one(path: Path, *, dry_run: bool) -> str:
    with open_session() as session:
        try:
            result = import_weekly(
                session,
                decode_report(path.read_bytes()),
                actor=cli_actor(),
                policy=current_policy(),
                settings=get_settings(),
                dry_run=dry_run,
            )
        except Invalid as exc:
            session.rollback()
            problems = (f"{field}: {said(message)}" for field, message in exc.problems)
            return "failed\t" + "; ".join(problems)
        if dry_run:
            session.rollback()
    counts = f"{result.week.label}: {len(result.created)} created, {result.existing} existing"
    new = [planned for planned in result.plan.events if not planned.exists]
    if result.existing and not new:
        return f"skipped\t{counts} (imported already)"
    if review := [planned for planned in new if planned.review_reason]:
        return f"needs review\t{counts}; {len(review)} to review ({review[0].review_reason})"
    return f"{'previewed' if dry_run else 'imported'}\t{counts}"


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
