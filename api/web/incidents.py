"""Incident pages: the filtered list, the filing form with its grade preview, one incident with
its timeline, remediation, postmortem and action items. Each write calls the function the JSON
API calls and answers POST-redirect-GET; a refused value is shown beside its field."""

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from api.deps import PolicyDep, SessionDep
from api.web.auth import FormData, FormWriter, OncallPage, PageActor
from api.web.forms import RowId, checked, field_errors, given, invalid_errors, tri_state
from api.web.preview import preview_grade
from api.web.rendering import PageRoute, render, see_other
from incidents import postmortems, service
from incidents.errors import Invalid, NotFound
from incidents.models import (
    CLOSED_ACTION_STATUSES,
    ActionItemCreate,
    ActionItemStatus,
    ActionItemType,
    Detection,
    Grade,
    Incident,
    IncidentCreate,
    IncidentStatus,
    IncidentUpdate,
    Postmortem,
    PostmortemStatus,
    PostmortemWrite,
    Role,
    RootCauseCategory,
    TimelineEntryCreate,
)
from incidents.timeparse import to_local
from incidents.weeks import parse_week, week_of

router = APIRouter(route_class=PageRoute, include_in_schema=False)

PAGE_SIZE = 50
FILING_TEXT_FIELDS = (
    "title",
    "system",
    "detected_at",
    "occurred_at",
    "recovered_at",
    "detection",
    "source",
    "description",
    "impact",
    "failed_orders",
    "failed_transactions",
    "affected_users",
    "impact_minutes",
    "amount_cny",
    "remediation",
    "report_week",
    "owner",
)
EDIT_FIELDS = ("status", "owner", "recovered_at", "resolved_at", "remediation")
EDIT_TIMES = ("recovered_at", "resolved_at")
POSTMORTEM_TEXTS = (
    "summary",
    "impact",
    "trigger",
    "direct_cause",
    "root_cause",
    "went_well",
    "went_wrong",
    "got_lucky",
)
SHOWN_WHYS = 5
LIST_SEPARATORS = str.maketrans({"，": ",", "、": ",", ";": ",", "；": ","})
ENUMS = {
    "grades": list(Grade),
    "statuses": list(IncidentStatus),
    "detections": list(Detection),
    "categories": list(RootCauseCategory),
    "pm_statuses": list(PostmortemStatus),
    "ai_types": list(ActionItemType),
}


def _tz(request: Request):
    return request.app.state.settings.tz


# The list ---------------------------------------------------------------------------------


@router.get("/incidents", response_class=HTMLResponse)
def incident_list(
    request: Request,
    session: SessionDep,
    actor: PageActor,
    week: str = "",
    grade: str = "",
    system: str = "",
    status: str = "",
    q: str = Query("", max_length=200),
    page: int = Query(1, ge=1, le=200_000),
) -> HTMLResponse:
    settings = request.app.state.settings
    errors: dict[str, str] = {}
    chosen_week = None
    if week.strip():
        try:
            chosen_week = parse_week(week, settings.week_numbering, settings.report_day)
        except Invalid as exc:
            errors["week"] = exc.message
    if grade and grade not in Grade.__members__:
        errors["grade"] = "A–D"
    if status and status not in IncidentStatus.__members__:
        errors["status"] = ", ".join(IncidentStatus)
    criteria = service.IncidentFilter(
        week=chosen_week,
        grade=Grade(grade) if grade and "grade" not in errors else None,
        system=system.strip() or None,
        status=IncidentStatus(status) if status and "status" not in errors else None,
        text=q.strip() or None,
    )
    offset = (page - 1) * PAGE_SIZE
    items, total = service.list_incidents(session, criteria, limit=PAGE_SIZE, offset=offset)
    filters = {"week": week, "grade": grade, "system": system, "status": status, "q": q}
    kept = {name: value for name, value in filters.items() if value}

    def page_url(number: int) -> str:
        return "/incidents?" + urlencode({**kept, "page": number})

    return render(
        request,
        "incidents.html",
        {
            "items": items,
            "total": total,
            "first": offset + 1 if items else 0,
            "last": offset + len(items),
            "filters": filters,
            "errors": errors,
            "prev_url": page_url(page - 1) if page > 1 else None,
            "next_url": page_url(page + 1) if offset + len(items) < total else None,
            **ENUMS,
        },
        status=422 if errors else 200,
    )


# Filing -----------------------------------------------------------------------------------


def _filing_page(
    request: Request,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    *,
    status: int = 200,
) -> HTMLResponse:
    result = preview_grade(request.app.state.grading_policy, values, _tz(request))
    return render(
        request,
        "incident_new.html",
        {"values": values, "errors": errors or {}, "preview": result, **ENUMS},
        status=status,
    )


@router.get("/incidents/new", response_class=HTMLResponse)
def filing_form(request: Request, actor: OncallPage) -> HTMLResponse:
    return _filing_page(request, {})


@router.get("/incidents/grade-preview")
def grade_preview(request: Request, actor: PageActor) -> JSONResponse:
    """The grade and the rules that fired for the form as typed so far."""
    values = {key: value[:200] for key, value in request.query_params.items()}
    result = preview_grade(request.app.state.grading_policy, values, _tz(request))
    return JSONResponse(
        {"grade": result.grade, "reasons": list(result.reasons), "reason_text": result.reason_text}
    )


@router.post("/incidents/new", response_class=HTMLResponse)
def file_incident(
    request: Request,
    session: SessionDep,
    actor: FormWriter,
    policy: PolicyDep,
    form: FormData,
) -> Response:
    values: dict[str, Any] = given(form, FILING_TEXT_FIELDS)
    values["core_system"] = checked(form, "core_system")
    values["regulatory"] = checked(form, "regulatory")
    shown = {**values, "business_impact": form.get("business_impact", "")}
    if (business_impact := tri_state(form, "business_impact")) is not None:
        values["business_impact"] = business_impact
    try:
        data = IncidentCreate.model_validate(values)
        incident = service.create_incident(session, data, actor=actor, policy=policy)
    except ValidationError as exc:
        return _filing_page(request, shown, field_errors(exc), status=422)
    except Invalid as exc:
        return _filing_page(request, shown, invalid_errors(exc), status=422)
    return see_other(f"/incidents/{incident.id}")


# One incident -----------------------------------------------------------------------------


def _edit_defaults(incident: Incident, request: Request) -> dict[str, str]:
    """The edit form as rendered; a field posted back unchanged is not an edit."""
    tz = _tz(request)
    defaults = {
        "status": str(incident.status),
        "owner": incident.owner or "",
        "remediation": incident.remediation or "",
    }
    for name in EDIT_TIMES:
        moment = getattr(incident, name)
        defaults[name] = to_local(moment, tz).strftime("%Y-%m-%d %H:%M") if moment else ""
    return defaults


def _incident_page(
    request: Request,
    session: Session,
    incident_id: int,
    *,
    form_name: str | None = None,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    settings = request.app.state.settings
    incident = service.get_incident(session, incident_id)
    try:
        postmortem = postmortems.get_postmortem(session, incident_id)
    except NotFound:
        postmortem = None
    if incident.report_week is not None:
        week = week_of(incident.report_week, settings.week_numbering, settings.report_day)
    else:
        detected_on = to_local(incident.detected_at, settings.tz).date()
        week = week_of(detected_on, settings.week_numbering, settings.report_day)
    forms: dict[str, dict[str, Any]] = {
        "edit": _edit_defaults(incident, request),
        "timeline": {},
        "postmortem": _postmortem_values(postmortem),
        "action_item": {},
    }
    if form_name is not None:
        forms[form_name] = values or {}
    return render(
        request,
        "incident.html",
        {
            "incident": incident,
            "timeline": postmortems.timeline(session, incident_id),
            "postmortem": postmortem,
            "whys": _whys(forms["postmortem"]),
            "action_items": postmortems.action_items(session, incident_id),
            "closed_statuses": CLOSED_ACTION_STATUSES,
            "week": week,
            "forms": forms,
            "form_name": form_name,
            "errors": errors or {},
            "can_write": request.state.actor.role.rank >= Role.oncall.rank,
            **ENUMS,
        },
        status=status,
    )


def _postmortem_values(postmortem: Postmortem | None) -> dict[str, Any]:
    if postmortem is None:
        return {}
    values = {name: getattr(postmortem, name) for name in PostmortemWrite.model_fields}
    values["reviewers"] = ", ".join(postmortem.reviewers)
    values["due_date"] = postmortem.due_date.isoformat() if postmortem.due_date else ""
    return values


def _whys(shown: dict[str, Any]) -> list[str]:
    whys = list(shown.get("five_whys") or [])
    return whys + [""] * max(0, SHOWN_WHYS - len(whys))


def _submit(
    request: Request,
    session: Session,
    incident_id: int,
    *,
    form_name: str,
    shown: dict[str, Any],
    write: Callable[[], object],
    anchor: str = "",
) -> Response:
    """Run one form's write; on bad input show the incident page again with the field errors."""
    try:
        write()
    except (ValidationError, Invalid) as exc:
        errors = field_errors(exc) if isinstance(exc, ValidationError) else invalid_errors(exc)
        return _incident_page(
            request,
            session,
            incident_id,
            form_name=form_name,
            values=shown,
            errors=errors,
            status=422,
        )
    return see_other(f"/incidents/{incident_id}{anchor}")


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
def incident_page(
    request: Request, incident_id: RowId, session: SessionDep, actor: PageActor
) -> HTMLResponse:
    return _incident_page(request, session, incident_id)


@router.post("/incidents/{incident_id}/edit", response_class=HTMLResponse)
def edit_incident(
    request: Request,
    incident_id: RowId,
    session: SessionDep,
    actor: FormWriter,
    policy: PolicyDep,
    form: FormData,
) -> Response:
    defaults = _edit_defaults(service.get_incident(session, incident_id), request)
    posted = {name: form.get(name, "").strip() for name in EDIT_FIELDS if name in form}
    changes = {name: value or None for name, value in posted.items() if value != defaults[name]}

    def write() -> None:
        data = IncidentUpdate.model_validate(changes)
        service.update_incident(
            session, incident_id, data.model_dump(exclude_unset=True), actor=actor, policy=policy
        )

    return _submit(request, session, incident_id, form_name="edit", shown=posted, write=write)


@router.post("/incidents/{incident_id}/timeline", response_class=HTMLResponse)
def add_timeline_entry(
    request: Request, incident_id: RowId, session: SessionDep, actor: FormWriter, form: FormData
) -> Response:
    values = {**given(form, ("at", "text")), "key_event": checked(form, "key_event")}
    return _submit(
        request,
        session,
        incident_id,
        form_name="timeline",
        shown=values,
        write=lambda: postmortems.add_timeline_entry(
            session, incident_id, TimelineEntryCreate.model_validate(values), actor=actor
        ),
        anchor="#timeline",
    )


@router.post("/incidents/{incident_id}/postmortem", response_class=HTMLResponse)
def write_postmortem(
    request: Request, incident_id: RowId, session: SessionDep, actor: FormWriter, form: FormData
) -> Response:
    values: dict[str, Any] = given(form, (*POSTMORTEM_TEXTS, "root_cause_category", "due_date"))
    values["status"] = form.get("status") or PostmortemStatus.draft.value
    values["five_whys"] = [why.strip() for why in form.getlist("five_whys") if why.strip()]
    reviewers = form.get("reviewers", "").translate(LIST_SEPARATORS)
    values["reviewers"] = [name.strip() for name in reviewers.split(",") if name.strip()]
    return _submit(
        request,
        session,
        incident_id,
        form_name="postmortem",
        shown={**values, "reviewers": form.get("reviewers", "")},
        write=lambda: postmortems.put_postmortem(
            session, incident_id, PostmortemWrite.model_validate(values), actor=actor
        ),
        anchor="#postmortem",
    )


@router.post("/incidents/{incident_id}/action-items", response_class=HTMLResponse)
def add_action_item(
    request: Request, incident_id: RowId, session: SessionDep, actor: FormWriter, form: FormData
) -> Response:
    values = given(form, ("title", "type", "owner", "due_date"))
    return _submit(
        request,
        session,
        incident_id,
        form_name="action_item",
        shown=values,
        write=lambda: postmortems.add_action_item(
            session, incident_id, ActionItemCreate.model_validate(values), actor=actor
        ),
        anchor="#action-items",
    )


@router.post("/action-items/{item_id}/status", response_class=HTMLResponse)
def set_action_item_status(
    item_id: RowId, session: SessionDep, actor: FormWriter, form: FormData
) -> Response:
    """One click: done, or open again."""
    wanted = form.get("status", "")
    if wanted not in (ActionItemStatus.done, ActionItemStatus.open):
        raise Invalid("status", "done or open")
    item = postmortems.update_action_item(
        session, item_id, {"status": ActionItemStatus(wanted)}, actor=actor
    )
    return see_other(f"/incidents/{item.incident_id}#action-items")
