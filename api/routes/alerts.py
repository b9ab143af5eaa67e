from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import Id, OncallDep, PageDep, PolicyDep, SessionDep, ViewerDep
from api.pagination import ListPage
from incidents.alerts import follow_up
from incidents.alerts.models import AlertPublic, AlertStatus, Promotion, Verdict
from incidents.models import IncidentPublic, Moment

router = APIRouter(prefix="/alerts", tags=["alerts"])


class AlertQuery(BaseModel):
    status: AlertStatus | None = None
    source: str | None = Field(None, max_length=100, description="the source's name")
    from_: Moment | None = Field(None, alias="from", description="received at or after")
    to: Moment | None = Field(None, description="received before")
    followed_up: bool | None = None


@router.get("")
def list_alerts(
    query: Annotated[AlertQuery, Query()], page: PageDep, session: SessionDep, actor: ViewerDep
) -> ListPage[AlertPublic]:
    criteria = follow_up.AlertFilter(
        status=query.status,
        source=query.source,
        received_from=query.from_,
        received_to=query.to,
        followed_up=query.followed_up,
    )
    items, total = follow_up.list_alerts(session, criteria, limit=page.limit, offset=page.offset)
    return ListPage(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/{alert_id}")
def read_alert(alert_id: Id, session: SessionDep, actor: ViewerDep) -> AlertPublic:
    return follow_up.get_alert(session, alert_id)


@router.post("/{alert_id}/ack")
def acknowledge(alert_id: Id, session: SessionDep, actor: OncallDep) -> AlertPublic:
    return follow_up.acknowledge(session, alert_id, actor=actor)


@router.post("/{alert_id}/verdict")
def judge(alert_id: Id, data: Verdict, session: SessionDep, actor: OncallDep) -> AlertPublic:
    return follow_up.judge(session, alert_id, data.valid, data.note, actor=actor)


@router.post("/{alert_id}/promote")
def promote(
    alert_id: Id,
    session: SessionDep,
    actor: OncallDep,
    policy: PolicyDep,
    data: Promotion | None = None,
) -> IncidentPublic:
    return follow_up.promote(
        session,
        alert_id,
        actor=actor,
        policy=policy,
        incident_id=data.incident_id if data else None,
    )
