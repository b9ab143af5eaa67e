"""Downloads of the lists as CSV or XLSX, with the lists' filters (incidents/exports.py).

CSV is streamed as it is read. XLSX is a zip whose directory comes last, so it is written to a
temporary file first (XlsxWriter's constant_memory: one row in memory) and then sent from disk
and deleted. Either way the rows are read in chunks by a session of the export's own: the
request's session is closed when the route returns, before a streamed body is read.
"""

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, StreamingResponse
from sqlalchemy import Engine
from sqlmodel import Session
from starlette.background import BackgroundTask
from starlette.responses import Response

from api.deps import CalendarDep, ViewerDep
from api.routes.action_items import OVERDUE_HELP
from api.routes.alerts import AlertQuery
from api.routes.incidents import IncidentQuery
from incidents import exports
from incidents.alerts.service import AlertFilter
from incidents.calendar import Calendar
from incidents.exports import Export, ExportFormat

router = APIRouter(prefix="/export", tags=["exports"])

FormatQuery = Annotated[
    ExportFormat, Query(alias="format", description="csv (UTF-8 with BOM) or xlsx")
]


def alert_filter(query: AlertQuery) -> AlertFilter:
    return AlertFilter(
        status=query.status,
        source=query.source,
        received_from=query.from_,
        received_to=query.to,
        followed_up=query.followed_up,
    )


def download(engine: Engine, export: Export, fmt: ExportFormat, calendar: Calendar) -> Response:
    """The file as an attachment named after the export and the team's day."""
    name = f"stabilog-{export.kind.value}-{calendar.today():%Y%m%d}.{fmt.value}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    media_type = exports.MEDIA_TYPES[fmt]
    if fmt is ExportFormat.csv:
        return StreamingResponse(
            _csv(engine, export, calendar), media_type=media_type, headers=headers
        )
    handle, temporary = tempfile.mkstemp(prefix="stabilog-export-", suffix=".xlsx")
    os.close(handle)
    path = Path(temporary)
    try:
        with Session(engine) as session:
            exports.write_xlsx(export, exports.rows(session, export, calendar), path)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return FileResponse(
        path, media_type=media_type, headers=headers, background=BackgroundTask(path.unlink)
    )


def _csv(engine: Engine, export: Export, calendar: Calendar) -> Iterator[bytes]:
    with Session(engine) as session:
        yield from exports.csv_chunks(export.header, exports.rows(session, export, calendar))


@router.get("/incidents")
def export_incidents(
    request: Request,
    query: Annotated[IncidentQuery, Query()],
    actor: ViewerDep,
    calendar: CalendarDep,
    fmt: FormatQuery = ExportFormat.csv,
) -> Response:
    """Every incident the list would show for these filters, newest first, one file."""
    export = exports.incidents_export(query.criteria(calendar), calendar)
    return download(request.app.state.engine, export, fmt, calendar)


@router.get("/alerts")
def export_alerts(
    request: Request,
    query: Annotated[AlertQuery, Query()],
    actor: ViewerDep,
    calendar: CalendarDep,
    fmt: FormatQuery = ExportFormat.csv,
) -> Response:
    """Every alert the list would show for these filters, newest first, with its source's name.
    An XLSX sheet holds 1,048,576 rows; a longer export goes on in further sheets."""
    export = exports.alerts_export(alert_filter(query))
    return download(request.app.state.engine, export, fmt, calendar)


@router.get("/action-items")
def export_action_items(
    request: Request,
    actor: ViewerDep,
    calendar: CalendarDep,
    owner: Annotated[str | None, Query(max_length=100)] = None,
    overdue: Annotated[bool, Query(description=OVERDUE_HELP)] = False,
    fmt: FormatQuery = ExportFormat.csv,
) -> Response:
    """Action items of every incident by due date."""
    export = exports.action_items_export(
        owner=owner, overdue_on=calendar.today() if overdue else None
    )
    return download(request.app.state.engine, export, fmt, calendar)
