"""/oncall: who is on call in every rota now (or at a typed moment), the overrides to come, the
routing rules and the escalation policies — the same domain functions as the API."""

from datetime import datetime

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import TypeAdapter, ValidationError

from api.deps import SessionDep
from api.web.auth import PageActor
from api.web.rendering import PageRoute, render
from incidents import escalation, oncall
from incidents.db import utcnow
from incidents.models import QueryMoment

router = APIRouter(route_class=PageRoute, include_in_schema=False)

_MOMENT = TypeAdapter(QueryMoment)


@router.get("/oncall", response_class=HTMLResponse)
def oncall_page(
    request: Request,
    session: SessionDep,
    actor: PageActor,
    at: str | None = Query(None, max_length=40),
) -> HTMLResponse:
    calendar = request.app.state.calendar
    errors: dict[str, str] = {}
    moment: datetime = utcnow()
    if at:
        try:
            moment = _MOMENT.validate_python(at)
        except ValidationError as exc:
            errors["at"] = exc.errors()[0]["msg"]
    rotas = [
        {
            "duty": oncall.on_call(session, rota, moment, calendar),
            "members": oncall.members_of(session, rota.id or 0),
            "overrides": oncall.list_overrides(session, rota.id or 0, ending_after=moment),
        }
        for rota in oncall.list_rotas(session)
    ]
    policies = escalation.policies_public(session)
    return render(
        request,
        "oncall.html",
        {
            "rotas": rotas,
            "moment": moment,
            "filters": {"at": at} if at else {},
            "errors": errors,
            "rules": escalation.list_rules(session),
            "policies": policies,
        },
        status=422 if errors else 200,
    )
