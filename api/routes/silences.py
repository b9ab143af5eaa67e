from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import CalendarDep, Id, OncallDep, PageDep, SessionDep, ViewerDep
from api.pagination import ListPage
from incidents.alerts import silences
from incidents.alerts.service import get_alert
from incidents.alerts.silences import SilenceCreate, SilencePublic, SilenceUpdate
from incidents.calendar import Calendar
from incidents.db import utcnow

router = APIRouter(prefix="/silences", tags=["silences"])


def _public(session: SessionDep, silence: silences.Silence, calendar: Calendar) -> SilencePublic:
    assert silence.id is not None
    held = silences.alerts_held(session, [silence.id]).get(silence.id, 0)
    return silences.public(silence, now=utcnow(), calendar=calendar, held=held)


@router.get("")
def list_silences(
    page: PageDep,
    session: SessionDep,
    actor: ViewerDep,
    calendar: CalendarDep,
    expired: Annotated[bool, Query(description="include expired silences")] = False,
) -> ListPage[SilencePublic]:
    """Pending and active silences, latest ending first (with `expired=true`, all of them)."""
    found, total = silences.list_silences(
        session, include_expired=expired, limit=page.limit, offset=page.offset
    )
    held = silences.alerts_held(session, [silence.id for silence in found if silence.id])
    now = utcnow()
    items = [
        silences.public(silence, now=now, calendar=calendar, held=held.get(silence.id or 0, 0))
        for silence in found
    ]
    return ListPage.of((items, total), page)


@router.post("", status_code=201)
def create_silence(
    data: SilenceCreate, session: SessionDep, actor: OncallDep, calendar: CalendarDep
) -> SilencePublic:
    silence = silences.create_silence(session, data, actor=actor, calendar=calendar)
    return _public(session, silence, calendar)


@router.post("/for-alert/{alert_id}", status_code=201)
def silence_alert(
    alert_id: Id,
    session: SessionDep,
    actor: OncallDep,
    calendar: CalendarDep,
    hours: Annotated[int, Query(ge=1, le=72)] = 2,
) -> SilencePublic:
    """Silence this alert's source and labels for `hours` (2 unless said), from now."""
    data = silences.silence_for_alert(get_alert(session, alert_id), hours=hours)
    silence = silences.create_silence(session, data, actor=actor, calendar=calendar)
    return _public(session, silence, calendar)


@router.get("/{silence_id}")
def read_silence(
    silence_id: Id, session: SessionDep, actor: ViewerDep, calendar: CalendarDep
) -> SilencePublic:
    return _public(session, silences.get_silence(session, silence_id), calendar)


@router.patch("/{silence_id}")
def update_silence(
    silence_id: Id,
    data: SilenceUpdate,
    session: SessionDep,
    actor: OncallDep,
    calendar: CalendarDep,
) -> SilencePublic:
    silence = silences.update_silence(session, silence_id, data, calendar=calendar)
    return _public(session, silence, calendar)


@router.delete("/{silence_id}")
def expire_silence(
    silence_id: Id, session: SessionDep, actor: OncallDep, calendar: CalendarDep
) -> SilencePublic:
    """Expire the silence now; it stays listed with `expired=true`, as do the alerts it held."""
    silence = silences.expire_silence(session, silence_id, actor=actor)
    return _public(session, silence, calendar)
