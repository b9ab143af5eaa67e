"""The list pages' download buttons: the same files as `GET /api/v1/export/…`, for whoever is
signed in to the pages (the cookie), keeping the page's filters.

Page routes rather than the JSON route taking the cookie too: the API stays bearer-only, as
api/web/auth.py keeps the cookie to the pages, and a bad filter answers as the pages do.
"""

from typing import Literal

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.responses import Response

from api.routes.exports import download
from api.routes.incidents import IncidentQuery
from api.web.alerts import FILTERS
from api.web.auth import PageActor
from api.web.rendering import PageRoute
from incidents import exports
from incidents.exports import ExportFormat

router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.get("/incidents/export")
def export_incidents(
    request: Request,
    actor: PageActor,
    week: str = "",
    grade: str = "",
    system: str = "",
    team: str = "",
    status: str = "",
    q: str = Query("", max_length=200),
    format: ExportFormat = ExportFormat.csv,
) -> Response:
    # The page's form sends every field, the unused ones empty.
    typed = {"week": week, "grade": grade, "system": system, "team": team}
    typed |= {"status": status, "q": q}
    try:
        query = IncidentQuery.model_validate({k: v.strip() for k, v in typed.items() if v.strip()})
    except ValidationError as exc:
        raise RequestValidationError(exc.errors()) from exc
    calendar = request.app.state.calendar
    export = exports.incidents_export(query.criteria(calendar), calendar)
    return download(request.app.state.engine, export, format, calendar)


@router.get("/alerts/export")
def export_alerts(
    request: Request,
    actor: PageActor,
    show: Literal["firing", "unfollowed", "all"] = "firing",
    format: ExportFormat = ExportFormat.csv,
) -> Response:
    export = exports.alerts_export(FILTERS[show])
    return download(request.app.state.engine, export, format, request.app.state.calendar)
