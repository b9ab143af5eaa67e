"""`stabilog regulatory`: the register of reports to the regulator, and recording one made."""

from typing import Annotated

import typer

from api.cli.context import cli_actor, open_session, reported
from incidents import regulatory
from incidents.db import utcnow
from incidents.regulatory import RegulatoryReportRecord, ReportChannel
from incidents.settings import get_settings

app = typer.Typer(help="Reports to the regulator and their 2-hour clock.", no_args_is_help=True)


@app.command("list")
def list_reports(limit: Annotated[int, typer.Option(min=1, max=500)] = 50) -> None:
    """Every report with its clock state, newest deadline first."""
    calendar = get_settings().calendar
    with open_session() as session:
        rows, total = regulatory.register(session, limit=limit, offset=0)
        now = utcnow()
        shown = [regulatory.public(report, incident, now) for report, incident in rows]
    for item in shown:
        due = f"{calendar.local(item.due_at):%Y-%m-%d %H:%M}"
        clock = item.state.value + (f" {item.minutes} min" if item.minutes is not None else "")
        typer.echo(
            f"{item.id}\t#{item.incident_id}\t{item.grade or '-'}\tdue {due}\t{clock}"
            f"\t{','.join(item.triggers)}\t{item.incident_title}"
        )
    typer.echo(f"{len(shown)} of {total}", err=True)


@app.command("record")
def record(
    report_id: Annotated[int, typer.Argument(help="the report's id (see `regulatory list`)")],
    channel: Annotated[ReportChannel | None, typer.Option(help="how it was reported")] = None,
    reference: Annotated[str | None, typer.Option(help="the regulator's reference number")] = None,
    reported_at: Annotated[
        str | None, typer.Option(help="when it was reported; now when left out")
    ] = None,
    written_report_at: Annotated[
        str | None, typer.Option(help="when the written follow-up report was sent")
    ] = None,
) -> None:
    """Record that the regulator was told (or that the written report went out)."""
    given = {
        name: value
        for name, value in {
            "channel": channel,
            "reference": reference,
            "reported_at": reported_at,
            "written_report_at": written_report_at,
        }.items()
        if value is not None
    }
    with reported():
        data = RegulatoryReportRecord.model_validate(given)
    with open_session() as session:
        report = regulatory.record(session, report_id, data, actor=cli_actor())
        incident_id, state = report.incident_id, regulatory.clock(report, utcnow()).state
    typer.echo(f"report {report_id} of incident {incident_id}: {state.value}")
