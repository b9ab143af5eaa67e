"""故障积分: points per team and per system over a window (this month by default), each team's
红线 marked — the same domain function as GET /api/v1/scoreboard."""

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import TypeAdapter, ValidationError

from api.deps import SessionDep
from api.web.auth import PageActor
from api.web.rendering import PageRoute, render
from incidents import scoreboard
from incidents.errors import Invalid
from incidents.models import QueryMoment

router = APIRouter(route_class=PageRoute, include_in_schema=False)

_MOMENT = TypeAdapter(QueryMoment)
FILTERS = ("from", "to", "period")


@router.get("/scoreboard", response_class=HTMLResponse)
def scoreboard_page(
    request: Request,
    session: SessionDep,
    actor: PageActor,
    from_: str | None = Query(None, alias="from", max_length=40),
    to: str | None = Query(None, max_length=40),
    period: str | None = Query(None, max_length=40),
) -> HTMLResponse:
    calendar = request.app.state.calendar
    policy = request.app.state.grading_policy
    filters = {
        name: value for name, value in zip(FILTERS, (from_, to, period), strict=True) if value
    }
    errors: dict[str, str] = {}
    times = {}
    for name in ("from", "to"):
        try:
            times[name] = _MOMENT.validate_python(filters[name]) if name in filters else None
        except ValidationError as exc:
            errors[name] = exc.errors()[0]["msg"]
    board = None
    if not errors:
        try:
            window = scoreboard.window_of(
                calendar, start=times["from"], end=times["to"], period=filters.get("period")
            )
        except Invalid as exc:
            errors = dict(exc.problems)
        else:
            board = scoreboard.compute(session, window, policy=policy, calendar=calendar)
    return render(
        request,
        "scoreboard.html",
        {"board": board, "filters": filters, "errors": errors, "points": policy.scoreboard},
        status=422 if errors else 200,
    )
