"""/silences: the team's silences (maintenance windows, known noise), a form to make one and a
button to end one — the same domain functions as the API and `stabilog silence`."""

from datetime import datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import TypeAdapter, ValidationError
from sqlmodel import Session

from api.deps import SessionDep
from api.web.auth import FormData, FormWriter, PageActor
from api.web.forms import RowId, checked, field_errors, given, invalid_errors
from api.web.rendering import PageRoute, render, see_other
from incidents.alerts import silences
from incidents.alerts.sources import list_sources
from incidents.db import utcnow
from incidents.errors import Invalid
from incidents.models import Moment

router = APIRouter(route_class=PageRoute, include_in_schema=False)

Show = Literal["current", "all"]
_MOMENT = TypeAdapter(Moment)
# The lengths the form offers; a longer or odd one is typed as an end instead.
DURATIONS = {
    "1h": timedelta(hours=1),
    "2h": timedelta(hours=2),
    "4h": timedelta(hours=4),
    "8h": timedelta(hours=8),
    "1d": timedelta(days=1),
    "3d": timedelta(days=3),
    "7d": timedelta(days=7),
}
FIELDS = ("matchers", "source_id", "starts_at", "ends_at", "duration", "weekly", "reason")


def _page(
    request: Request,
    session: Session,
    show: Show,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    calendar = request.app.state.calendar
    rows, total = silences.public_page(
        session, include_expired=show == "all", calendar=calendar, limit=500, offset=0
    )
    return render(
        request,
        "silences.html",
        {
            "silences": rows,
            "total": total,
            "show": show,
            "sources": list_sources(session),
            "source_names": {source.id: source.name for source in list_sources(session)},
            "durations": list(DURATIONS),
            "form": form or {"duration": "2h"},
            "errors": errors or {},
        },
        status=status,
    )


@router.get("/silences", response_class=HTMLResponse)
def silences_page(
    request: Request, session: SessionDep, actor: PageActor, show: Show = "current"
) -> HTMLResponse:
    return _page(request, session, show)


def _body(form: dict[str, str]) -> dict[str, Any]:
    """The API's body from the form's fields (an empty field is a field not given)."""
    body: dict[str, Any] = {
        "matchers": [
            line.strip() for line in form.get("matchers", "").splitlines() if line.strip()
        ],
        "reason": form.get("reason", ""),
    }
    if form.get("source_id"):
        body["source_id"] = form["source_id"]
    if form.get("starts_at"):
        body["starts_at"] = form["starts_at"]
    if form.get("ends_at"):
        body["ends_at"] = form["ends_at"]
    elif form.get("duration") in DURATIONS:
        start = _moment("starts_at", form["starts_at"]) if form.get("starts_at") else utcnow()
        body["starts_at"] = start
        body["ends_at"] = start + DURATIONS[form["duration"]]
    else:
        raise Invalid("ends_at", code="silence_end_or_length")
    if form.get("weekly"):
        try:
            body["weekdays"], body["window_start"], body["window_end"] = silences.parse_weekly(
                form["weekly"]
            )
        except Invalid as exc:
            raise Invalid("weekly", exc.message) from exc
    return body


def _moment(field: str, text: str) -> datetime:
    try:
        return _MOMENT.validate_python(text)
    except ValidationError as exc:
        english = exc.errors()[0]["msg"].removeprefix("Value error, ")
        raise Invalid(field, english, code="bad_time") from exc


def _field(name: str) -> str:
    """The form field a refusal concerns: matchers.1.value is the matchers box."""
    name = name.split(".", 1)[0]
    return "weekly" if name in ("weekdays", "window_start", "window_end") else name


@router.post("/silences", response_class=HTMLResponse)
def create(request: Request, session: SessionDep, actor: FormWriter, form: FormData) -> Response:
    filled = given(form, FIELDS)
    try:
        body = _body(filled) | {"allow_long": checked(form, "allow_long")}
        data = silences.SilenceCreate.model_validate(body)
        made = silences.create_silence(
            session, data, actor=actor, calendar=request.app.state.calendar
        )
        session.flush()
    except ValidationError as exc:
        problems = {_field(field): text for field, text in field_errors(exc).items()}
    except Invalid as exc:
        problems = {_field(field): text for field, text in invalid_errors(exc).items()}
    else:
        return see_other(f"/silences#silence-{made.id}")
    session.rollback()
    return _page(request, session, "current", form=dict(form), errors=problems, status=422)


@router.post("/silences/{silence_id}/expire", response_class=HTMLResponse)
def expire(silence_id: RowId, session: SessionDep, actor: FormWriter, form: FormData) -> Response:
    silences.expire_silence(session, silence_id, actor=actor)
    return see_other(f"/silences?show=all#silence-{silence_id}")
