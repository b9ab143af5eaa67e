"""The register of reports to the regulator: every report with its clock, and the one-form
record of a report made — what an auditor asks for, and what on-call needs at the deadline."""

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from api.deps import SessionDep
from api.pagination import PAGE_ROWS, page_links, page_offset
from api.web.auth import FormData, FormWriter, PageActor
from api.web.forms import RowId, field_errors, given, invalid_errors
from api.web.rendering import PageRoute, render, see_other
from incidents import regulatory
from incidents.db import utcnow
from incidents.errors import Invalid
from incidents.regulatory import RegulatoryReportRecord, ReportChannel

router = APIRouter(route_class=PageRoute, include_in_schema=False)

RECORD_FIELDS = ("reported_at", "channel", "reference", "written_report_at")


def _register_page(
    request: Request,
    session: Session,
    page: int,
    *,
    report_id: int | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    rows, total = regulatory.register(session, limit=PAGE_ROWS, offset=page_offset(page))
    now = utcnow()
    policy = request.app.state.grading_policy
    return render(
        request,
        "regulatory.html",
        {
            "reports": [regulatory.public(report, incident, now) for report, incident in rows],
            "titles": {trigger.name: trigger.title for trigger in policy.triggers},
            "channels": list(ReportChannel),
            "form_report": report_id,
            "values": values or {},
            "errors": errors or {},
            **page_links("/regulatory", {}, page, len(rows), total),
        },
        status=status,
    )


@router.get("/regulatory", response_class=HTMLResponse)
def register_page(
    request: Request,
    session: SessionDep,
    actor: PageActor,
    page: int = Query(1, ge=1, le=200_000),
) -> HTMLResponse:
    return _register_page(request, session, page)


@router.post("/regulatory/{report_id}", response_class=HTMLResponse)
def record_report(
    request: Request, report_id: RowId, session: SessionDep, actor: FormWriter, form: FormData
) -> Response:
    values = given(form, RECORD_FIELDS)
    try:
        regulatory.record(
            session, report_id, RegulatoryReportRecord.model_validate(values), actor=actor
        )
    except (ValidationError, Invalid) as exc:
        session.rollback()
        errors = field_errors(exc) if isinstance(exc, ValidationError) else invalid_errors(exc)
        return _register_page(
            request, session, 1, report_id=report_id, values=values, errors=errors, status=422
        )
    return see_other(f"/regulatory#report-{report_id}")
