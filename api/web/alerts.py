"""The alert inbox: newest first, each alert one click from ack, a verdict, an incident or a
two-hour silence, with the follow-up clock of 报警5分钟跟进率 running beside it. A storm's alerts
are one row that expands (`?storm=ID` lists them all); silenced and flapping alerts are marked."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError
from sqlmodel import Session

from api.deps import MAX_ID, PolicyDep, SessionDep
from api.pagination import PAGE_ROWS, page_links, page_offset
from api.web.auth import FormData, FormWriter, PageActor, safe_next
from api.web.forms import RowId, field_errors
from api.web.i18n import WORDS, page_lang
from api.web.rendering import PageRoute, render, see_other
from incidents.alerts import noise, service, silences
from incidents.alerts.models import Alert, AlertStatus, Verdict
from incidents.alerts.sources import list_sources
from incidents.db import utcnow
from incidents.errors import Invalid
from incidents.messages import join_all

router = APIRouter(route_class=PageRoute, include_in_schema=False)

Show = Literal["firing", "unfollowed", "all"]
FILTERS: dict[str, service.AlertFilter] = {
    "firing": service.AlertFilter(status=AlertStatus.firing),
    "unfollowed": service.AlertFilter(followed_up=False),
    "all": service.AlertFilter(),
}


@dataclass(frozen=True)
class Clock:
    """Where an alert stands against the follow-up window."""

    deadline: datetime
    seconds_left: int | None  # while not followed up: negative once the window has closed
    took_seconds: int | None  # once followed up
    in_time: bool | None


def clock_of(alert: Alert, now: datetime, minutes: int) -> Clock:
    window = timedelta(minutes=minutes)
    deadline = alert.received_at + window
    if alert.first_follow_up_at is not None:
        took = alert.first_follow_up_at - alert.received_at
        return Clock(deadline, None, int(took.total_seconds()), took <= window)
    return Clock(deadline, int((deadline - now).total_seconds()), None, None)


def _inbox(
    request: Request,
    session: Session,
    show: Show,
    page: int,
    *,
    storm_id: int | None = None,
    errors: dict[int, str] | None = None,
    bulk_error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    storm, storms = None, []
    if storm_id is not None:
        storm, items, total = noise.storm_alerts(
            session, storm_id, limit=PAGE_ROWS, offset=page_offset(page)
        )
        query: dict[str, Any] = {"storm": storm_id}
    else:
        conditions = service.alert_conditions(FILTERS[show])
        items, total = noise.inbox_alerts(
            session, conditions, limit=PAGE_ROWS, offset=page_offset(page)
        )
        storms = noise.inbox_storms(session, conditions) if page == 1 else []
        query = {"show": show}
    now = utcnow()
    minutes = request.app.state.settings.follow_up_minutes
    sources = {source.id: source.name for source in list_sources(session)}

    return render(
        request,
        "alerts.html",
        {
            "rows": [(alert, clock_of(alert, now, minutes)) for alert in items],
            "storm": storm,
            "storms": [
                (row, [(alert, clock_of(alert, now, minutes)) for alert in row.alerts])
                for row in storms
            ],
            "sources": sources,
            "show": show,
            **page_links("/alerts", query, page, len(items), total),
            "errors": errors or {},
            "bulk_error": bulk_error,
        },
        status=status,
    )


@router.get("/alerts", response_class=HTMLResponse)
def inbox(
    request: Request,
    session: SessionDep,
    actor: PageActor,
    show: Show = "firing",
    page: int = Query(1, ge=1, le=200_000),
    storm: int | None = Query(None, ge=1, le=MAX_ID),
) -> HTMLResponse:
    return _inbox(request, session, show, page, storm_id=storm)


def _back(form: Any) -> str:
    return safe_next(form.get("back")) if form.get("back", "").startswith("/alerts") else "/alerts"


def _refused(
    request: Request, session: Session, form: Any, alert_id: int, message: str
) -> HTMLResponse:
    """The inbox again, with the problem beside the alert it concerns."""
    show = form.get("show", "firing")
    return _inbox(
        request,
        session,
        show if show in FILTERS else "firing",
        1,
        errors={alert_id: message},
        status=422,
    )


BULK_ACTIONS = ("ack", "valid", "invalid")


@router.post("/alerts/bulk", response_class=HTMLResponse)
def bulk(request: Request, session: SessionDep, actor: FormWriter, form: FormData) -> Response:
    """The ticked rows of the 全部 table acknowledged, or judged valid or noise, at once; each
    alert exactly as its own button would."""
    action = form.get("action", "")
    ticked = list(dict.fromkeys(form.getlist("alert_id")))
    ids = [int(value) for value in ticked if value.isdigit() and 0 < int(value) <= MAX_ID]
    if action not in BULK_ACTIONS or not ids or len(ids) != len(ticked):
        words = WORDS[page_lang(request)]
        return _inbox(request, session, "all", 1, bulk_error=words.bulk_none_selected, status=422)
    if action == "ack":
        for alert_id in ids:
            service.acknowledge(session, alert_id, actor=actor)
    else:
        try:
            verdict = Verdict.model_validate(
                {"valid": action == "valid", "note": form.get("note", "").strip() or None}
            )
        except ValidationError as exc:
            message = join_all(list(field_errors(exc).values()))
            return _inbox(request, session, "all", 1, bulk_error=message, status=422)
        for alert_id in ids:
            service.judge(session, alert_id, verdict.valid, verdict.note, actor=actor)
    return see_other(_back(form))


@router.post("/alerts/{alert_id}/ack", response_class=HTMLResponse)
def acknowledge(
    alert_id: RowId, session: SessionDep, actor: FormWriter, form: FormData
) -> Response:
    service.acknowledge(session, alert_id, actor=actor)
    return see_other(f"{_back(form)}#alert-{alert_id}")


@router.post("/alerts/{alert_id}/verdict", response_class=HTMLResponse)
def judge(
    request: Request, alert_id: RowId, session: SessionDep, actor: FormWriter, form: FormData
) -> Response:
    try:
        verdict = Verdict.model_validate(
            {"valid": form.get("valid", ""), "note": form.get("note", "").strip() or None}
        )
    except ValidationError as exc:
        message = join_all(list(field_errors(exc).values()))
        return _refused(request, session, form, alert_id, message)
    service.judge(session, alert_id, verdict.valid, verdict.note, actor=actor)
    return see_other(f"{_back(form)}#alert-{alert_id}")


@router.post("/alerts/{alert_id}/silence", response_class=HTMLResponse)
def silence(
    request: Request, alert_id: RowId, session: SessionDep, actor: FormWriter, form: FormData
) -> Response:
    """Silence this alert's source and labels for two hours, from now, in one click."""
    data = silences.silence_for_alert(service.get_alert(session, alert_id))
    silences.create_silence(session, data, actor=actor, calendar=request.app.state.calendar)
    return see_other(f"{_back(form)}#alert-{alert_id}")


@router.post("/alerts/{alert_id}/promote", response_class=HTMLResponse)
def promote(
    request: Request,
    alert_id: RowId,
    session: SessionDep,
    actor: FormWriter,
    policy: PolicyDep,
    form: FormData,
) -> Response:
    try:
        incident = service.promote(
            session, alert_id, actor=actor, policy=policy, calendar=request.app.state.calendar
        )
    except Invalid as exc:
        session.rollback()
        return _refused(request, session, form, alert_id, exc.message)
    return see_other(f"/incidents/{incident.id}")
