"""`stabilog export`: the lists as a CSV or XLSX file, with the API's filters.

The filters are read by the API's own query models, so a typed time (`--from "9/7 14:42"`) and
a week (`--week 2023-W37`) mean here what they mean in `GET /api/v1/export/…`.
"""

from pathlib import Path
from typing import Annotated, Any

import typer

from api.cli.context import open_session, reported
from api.routes.alerts import AlertQuery
from api.routes.exports import alert_filter
from api.routes.incidents import IncidentQuery
from incidents import exports
from incidents.exports import Export, ExportFormat
from incidents.settings import get_settings

app = typer.Typer(help="Export incidents, alerts or action items to CSV or XLSX.")

Format = Annotated[ExportFormat, typer.Option("--format", help="csv (UTF-8 with BOM) or xlsx")]
Output = Annotated[Path, typer.Option("--output", "-o", help="the file to write", dir_okay=False)]
From = Annotated[str | None, typer.Option("--from", help="at or after (a typed time)")]
To = Annotated[str | None, typer.Option("--to", help="before (a typed time)")]


def _write(export: Export, fmt: ExportFormat, output: Path) -> None:
    calendar = get_settings().calendar
    written = 0

    def counted(cells: Any) -> Any:
        nonlocal written
        for row in cells:
            written += 1
            yield row

    with open_session() as session:
        cells = counted(exports.rows(session, export, calendar))
        if fmt is ExportFormat.csv:
            with output.open("wb") as out:
                exports.write_csv(export.header, cells, out)
        else:
            exports.write_xlsx(export, cells, output)
    typer.echo(f"{written} {export.kind.value} written to {output}", err=True)


@app.command("incidents")
def export_incidents(
    output: Output,
    fmt: Format = ExportFormat.csv,
    week: Annotated[str | None, typer.Option(help="a date inside it or 2023-W37")] = None,
    from_: From = None,
    to: To = None,
    grade: Annotated[str | None, typer.Option(help="A–D")] = None,
    system: str | None = None,
    team: Annotated[str | None, typer.Option(help="责任团队")] = None,
    status: str | None = None,
    q: Annotated[str | None, typer.Option("--q", help="text in title, description…")] = None,
) -> None:
    """Incidents, newest first, as the list filters them."""
    calendar = get_settings().calendar
    values = {"week": week, "from": from_, "to": to, "grade": grade, "system": system}
    values |= {"team": team, "status": status, "q": q}
    with reported():
        query = IncidentQuery.model_validate({k: v for k, v in values.items() if v is not None})
        export = exports.incidents_export(query.criteria(calendar), calendar)
    _write(export, fmt, output)


@app.command("alerts")
def export_alerts(
    output: Output,
    fmt: Format = ExportFormat.csv,
    status: Annotated[str | None, typer.Option(help="firing or resolved")] = None,
    source: Annotated[str | None, typer.Option(help="the source's name")] = None,
    from_: From = None,
    to: To = None,
    followed_up: Annotated[bool | None, typer.Option("--followed-up/--not-followed-up")] = None,
) -> None:
    """Alerts, newest first, with their source's name, as the list filters them."""
    values: dict[str, Any] = {"status": status, "source": source, "from": from_, "to": to}
    values |= {"followed_up": followed_up}
    with reported():
        query = AlertQuery.model_validate({k: v for k, v in values.items() if v is not None})
    _write(exports.alerts_export(alert_filter(query)), fmt, output)


@app.command("action-items")
def export_action_items(
    output: Output,
    fmt: Format = ExportFormat.csv,
    owner: Annotated[str | None, typer.Option(help="only this owner's items")] = None,
    overdue: Annotated[bool, typer.Option(help="only items not closed, due before today")] = False,
) -> None:
    """Action items of every incident by due date."""
    calendar = get_settings().calendar
    export = exports.action_items_export(
        owner=owner, overdue_on=calendar.today() if overdue else None
    )
    _write(export, fmt, output)
