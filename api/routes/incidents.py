from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from pydantic import BaseModel, Field

from api.deps import Id, OncallDep, PageDep, PolicyDep, SessionDep, ViewerDep
from api.pagination import ListPage
from incidents import audit, postmortems, service
from incidents.models import (
    ActionItemCreate,
    ActionItemPublic,
    AuditEntryPublic,
    Grade,
    IncidentCreate,
    IncidentPublic,
    IncidentStatus,
    IncidentUpdate,
    Moment,
    PostmortemPublic,
    PostmortemWrite,
    TimelineEntryCreate,
    TimelineEntryPublic,
)
from incidents.weeks import parse_week

router = APIRouter(prefix="/incidents", tags=["incidents"])


class GradeOverride(BaseModel):
    grade: Grade | None = Field(description="A–D, or null to hand the grade back to the policy")
    reason: str = Field(min_length=1, max_length=2000)


class IncidentQuery(BaseModel):
    week: str | None = Field(None, max_length=20, description="a date inside it or 2023-W37")
    from_: Moment | None = Field(None, alias="from")
    to: Moment | None = None
    grade: Grade | None = None
    system: str | None = Field(None, max_length=100)
    status: IncidentStatus | None = None
    q: str | None = Field(None, max_length=200)


@router.post("", status_code=status.HTTP_201_CREATED)
def file_incident(
    data: IncidentCreate, session: SessionDep, actor: OncallDep, policy: PolicyDep
) -> IncidentPublic:
    return service.create_incident(session, data, actor=actor, policy=policy)


@router.get("")
def list_incidents(
    request: Request,
    query: Annotated[IncidentQuery, Query()],
    page: PageDep,
    session: SessionDep,
    actor: ViewerDep,
) -> ListPage[IncidentPublic]:
    settings = request.app.state.settings
    week = None
    if query.week is not None:
        week = parse_week(query.week, settings.week_numbering, settings.report_day)
    criteria = service.IncidentFilter(
        week=week,
        detected_from=query.from_,
        detected_to=query.to,
        grade=query.grade,
        system=query.system,
        status=query.status,
        text=query.q,
    )
    items, total = service.list_incidents(session, criteria, limit=page.limit, offset=page.offset)
    return ListPage(items=items, total=total, limit=page.limit, offset=page.offset)


@router.get("/{incident_id}")
def read_incident(incident_id: Id, session: SessionDep, actor: ViewerDep) -> IncidentPublic:
    return service.get_incident(session, incident_id)


@router.patch("/{incident_id}")
def edit_incident(
    incident_id: Id,
    data: IncidentUpdate,
    session: SessionDep,
    actor: OncallDep,
    policy: PolicyDep,
) -> IncidentPublic:
    changes = data.model_dump(exclude_unset=True)
    return service.update_incident(session, incident_id, changes, actor=actor, policy=policy)


@router.post("/{incident_id}/grade")
def override_grade(
    incident_id: Id,
    data: GradeOverride,
    session: SessionDep,
    actor: OncallDep,
    policy: PolicyDep,
) -> IncidentPublic:
    return service.override_grade(
        session, incident_id, data.grade, data.reason, actor=actor, policy=policy
    )


@router.get("/{incident_id}/audit")
def audit_trail(incident_id: Id, session: SessionDep, actor: ViewerDep) -> list[AuditEntryPublic]:
    service.get_incident(session, incident_id)
    return audit.trail(session, incident_id)


@router.post("/{incident_id}/timeline", status_code=status.HTTP_201_CREATED)
def add_timeline_entry(
    incident_id: Id, data: TimelineEntryCreate, session: SessionDep, actor: OncallDep
) -> TimelineEntryPublic:
    return postmortems.add_timeline_entry(session, incident_id, data, actor=actor)


@router.get("/{incident_id}/timeline")
def read_timeline(
    incident_id: Id, session: SessionDep, actor: ViewerDep
) -> list[TimelineEntryPublic]:
    return postmortems.timeline(session, incident_id)


@router.put("/{incident_id}/postmortem")
def write_postmortem(
    incident_id: Id, data: PostmortemWrite, session: SessionDep, actor: OncallDep
) -> PostmortemPublic:
    return postmortems.put_postmortem(session, incident_id, data, actor=actor)


@router.get("/{incident_id}/postmortem")
def read_postmortem(incident_id: Id, session: SessionDep, actor: ViewerDep) -> PostmortemPublic:
    return postmortems.get_postmortem(session, incident_id)


@router.post("/{incident_id}/action-items", status_code=status.HTTP_201_CREATED)
def add_action_item(
    incident_id: Id, data: ActionItemCreate, session: SessionDep, actor: OncallDep
) -> ActionItemPublic:
    return postmortems.add_action_item(session, incident_id, data, actor=actor)


@router.get("/{incident_id}/action-items")
def read_action_items(
    incident_id: Id, session: SessionDep, actor: ViewerDep
) -> list[ActionItemPublic]:
    return postmortems.action_items(session, incident_id)
