from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import CalendarDep, Id, OncallDep, PageDep, SessionDep, ViewerDep
from api.pagination import ListPage
from incidents.alerts import silences
from incidents.alerts.service import get_alert
from incidents.alerts.silences import SilenceCreate, SilencePublic, SilenceUpdate

router = APIRouter(prefix="/silences", tags=["silences"])


@router.get("")
def list_silences(
    page: PageDep,
    session: SessionDep,
    actor: ViewerDep,
    calendar: CalendarDep,
    expired: Annotated[bool, Query(description="include expired silences")] = False,
) -> ListPage[SilencePublic]:
    """Pending and active silences, latest ending first (with `expired=true`, all of them)."""
    shown = silences.public_page(
        session,
        include_expired=expired,
        calendar=calendar,
        limit=page.limit,
        offset=page.offset,
    )
    return ListPage.of(shown, page)


@router.post("", status_code=201)
def create_silence(
    data: SilenceCreate, session: SessionDep, actor: OncallDep, calendar: CalendarDep
) -> SilencePublic:
    silence = silences.create_silence(session, data, actor=actor, calendar=calendar)
    return silences.public(session, silence, calendar=calendar)


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
    return silences.public(session, silence, calendar=calendar)


@router.get("/{silence_id}")
def read_silence(
    silence_id: Id, session: SessionDep, actor: ViewerDep, calendar: CalendarDep
) -> SilencePublic:
    return silences.public(session, silences.get_silence(session, silence_id), calendar=calendar)


@router.patch("/{silence_id}")
def update_silence(
    silence_id: Id,
    data: SilenceUpdate,
    session: SessionDep,
    actor: OncallDep,
    calendar: CalendarDep,
) -> SilencePublic:
    silence = silences.update_silence(session, silence_id, data, calendar=calendar)
    return silences.public(session, silence, calendar=calendar)


@router.delete("/{silence_id}")
def expire_silence(
    silence_id: Id, session: SessionDep, actor: OncallDep, calendar: CalendarDep
) -> SilencePublic:
    """Expire the silence now; it stays listed with `expired=true`, as do the alerts it held."""
    silence = silences.expire_silence(session, silence_id, actor=actor)
    return silences.public(session, silence, calendar=calendar)
