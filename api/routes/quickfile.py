"""What a typed time means, asked while it is typed: `GET /api/v1/time/parse?text=…` for API
clients and `GET /time/parse?text=…` for the filing page's script (signed in by its cookie), one
answer from one parser (incidents/timeparse.py, as filing reads the incident's times).

The answer: the instant (`at`, with the team's offset), the wall clock and the report week it
falls in, whether a clock without its day was taken as yesterday's (`moved_back`), whether it is
ahead of now (`in_future`: filing refuses it unless `confirm_future`), and `shown`, the line the
form prints under the field ("2026-09-07 周一 14:42 (第37周)", plus a note) in the page's
language, or the API's `Accept-Language` (as its error messages are). An unreadable time answers
422 naming `text` (the API's error shape; the page's script gets `{"error": …}`).
"""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api.deps import ViewerDep
from api.errors import request_lang
from api.web.auth import PageActor
from api.web.i18n import WORDS, Lang, page_lang
from api.web.rendering import PageRoute
from incidents.calendar import Calendar
from incidents.db import utcnow
from incidents.timeparse import CLOCK_SLACK, MAX_INPUT_LENGTH, read_time

router = APIRouter(tags=["incidents"])
page_router = APIRouter(route_class=PageRoute, include_in_schema=False)

TypedTime = Annotated[
    str, Query(max_length=MAX_INPUT_LENGTH * 2, description="a time as typed: 9/7 14:42, 现在 …")
]


class TimeReading(BaseModel):
    at: str  # ISO 8601 with the team's offset
    local: str  # on the team's clock, as the form shows it: 2026-09-07 14:42
    week: str  # the report week it falls in: 2026-W37
    relative: bool  # counted back from now: 现在, 10分钟前
    moved_back: bool  # a clock without its day, taken as yesterday's
    in_future: bool  # filing refuses it unless confirm_future
    shown: str  # the line under the form's field


def time_reading(text: str, calendar: Calendar, lang: Lang, now: datetime) -> dict[str, Any]:
    """`text` read as an incident's time is read when filed, and the line that shows it."""
    read = read_time(text, tz=calendar.tz, reference=now, recent_past=True)
    local = calendar.local(read.at)
    week = calendar.report_week_of(read.at, None)
    words = WORDS[lang]
    weekday = words.weekday_names.split(",")[local.weekday()]
    in_future = read.at > now + CLOCK_SLACK
    shown = (
        f"{local:%Y-%m-%d} {weekday} {local:%H:%M} ({words.time_week.format(number=week.number)})"
    )
    notes = []
    if read.moved_back:
        notes.append(words.time_moved_back.format(clock=f"{local:%H:%M}"))
    if in_future:
        notes.append(words.time_in_future)
    return {
        "at": local.isoformat(),
        "local": f"{local:%Y-%m-%d %H:%M}",
        "week": week.label,
        "relative": read.relative,
        "moved_back": read.moved_back,
        "in_future": in_future,
        "shown": "；".join([shown, *notes]) if lang == "zh" else "; ".join([shown, *notes]),
    }


@router.get("/time/parse", response_model=TimeReading)
def parse_typed_time(request: Request, actor: ViewerDep, text: TypedTime) -> dict[str, Any]:
    """What a typed time means when filed; an unreadable one is a 422 naming `text`."""
    try:
        return time_reading(text, request.app.state.calendar, request_lang(request), utcnow())
    except ValueError as exc:
        raise RequestValidationError(
            [{"loc": ("query", "text"), "msg": str(exc), "type": "value_error", "input": text}]
        ) from None


@page_router.get("/time/parse")
def parse_typed_time_for_page(request: Request, actor: PageActor, text: TypedTime) -> JSONResponse:
    """The same for the filing page's script, worded in the page's language; an unreadable time
    answers 422 with `error`, which the script shows under the field (in English with the
    parser's reason; in Chinese, what to write instead)."""
    try:
        return JSONResponse(
            time_reading(text, request.app.state.calendar, page_lang(request), utcnow())
        )
    except ValueError as exc:
        words = WORDS[page_lang(request)]
        return JSONResponse({"error": words.time_unreadable.format(reason=exc)}, status_code=422)
