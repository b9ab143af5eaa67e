from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import CalendarDep, Id, OncallDep, PageDep, PolicyDep, SessionDep, ViewerDep
from api.pagination import ListPage
from incidents.alerts import service
from incidents.alerts.models import Alert, AlertPublic, AlertStatus, Promotion, Verdict
from incidents.models import IncidentPublic, QueryMoment

router = APIRouter(prefix="/alerts", tags=["alerts"])


class AlertQuery(BaseModel):
    status: AlertStatus | None = None
    source: str | None = Field(None, max_length=100, description="the source's name")
    from_: QueryMoment | None = Field(None, alias="from", description="received at or after")
    to: QueryMoment | None = Field(None, description="received before")
    followed_up: bool | None = None


@router.get("")
def list_alerts(
    query: Annotated[AlertQuery, Query()], page: PageDep, session: SessionDep, actor: ViewerDep
) -> ListPage[AlertPublic]:
    criteria = service.AlertFilter(
        status=query.status,
        source=query.source,
        received_from=query.from_,
        received_to=query.to,
        followed_up=query.followed_up,
    )
    return ListPage.of(
        service.list_alerts(session, criteria, limit=page.limit, offset=page.offset), page
    )


@router.get("/{alert_id}", response_model=AlertPublic)
def read_alert(alert_id: Id, session: SessionDep, actor: ViewerDep) -> Alert:
    return service.get_alert(session, alert_id)


@router.post("/{alert_id}/ack", response_model=AlertPublic)
def acknowledge(alert_id: Id, session: SessionDep, actor: OncallDep) -> Alert:
    return service.acknowledge(session, alert_id, actor=actor)


@router.post("/{alert_id}/verdict", response_model=AlertPublic)
def judge(alert_id: Id, data: Verdict, session: SessionDep, actor: OncallDep) -> Alert:
    return service.judge(session, alert_id, data.valid, data.note, actor=actor)


@router.post("/{alert_id}/promote", response_model=IncidentPublic)
def promote(
    alert_id: Id,
    session: SessionDep,
    actor: OncallDep,
    policy: PolicyDep,
    calendar: CalendarDep,
    data: Promotion | None = None,
) -> IncidentPublic:
    incident = service.promote(
        session,
        alert_id,
        actor=actor,
        policy=policy,
        calendar=calendar,
        incident_id=data.incident_id if data else None,
    )
    return IncidentPublic.of(incident, policy)
