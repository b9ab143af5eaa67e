from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field

from api.deps import MAX_ID, CalendarDep, Id, OncallDep, PageDep, PolicyDep, SessionDep, ViewerDep
from api.pagination import ListPage
from incidents import action_items, audit, postmortems, service, similar
from incidents.calendar import Calendar
from incidents.models import (
    ActionItem,
    ActionItemCreate,
    ActionItemPublic,
    AuditEntry,
    AuditEntryPublic,
    Grade,
    IncidentCreate,
    IncidentPublic,
    IncidentStatus,
    IncidentUpdate,
    Postmortem,
    PostmortemPublic,
    PostmortemWrite,
    QueryMoment,
    TimelineEntry,
    TimelineEntryCreate,
    TimelineEntryPublic,
    WriteModel,
)

router = APIRouter(prefix="/incidents", tags=["incidents"])


class GradeOverride(WriteModel):
    grade: Grade | None = Field(description="A–D, or null to hand the grade back to the policy")
    reason: str = Field(min_length=1, max_length=2000)


class IncidentQuery(BaseModel):
    week: str | None = Field(None, max_length=20, description="a date inside it or 2023-W37")
    from_: QueryMoment | None = Field(None, alias="from")
    to: QueryMoment | None = None
    grade: Grade | None = None
    system: str | None = Field(None, max_length=100)
    team: str | None = Field(None, max_length=100, description="责任团队")
    status: IncidentStatus | None = None
    q: str | None = Field(None, max_length=200)

    def criteria(self, calendar: Calendar) -> service.IncidentFilter:
        return service.IncidentFilter(
            week=calendar.parse_week(self.week) if self.week is not None else None,
            detected_from=self.from_,
            detected_to=self.to,
            grade=self.grade,
            system=self.system,
            team=self.team,
            status=self.status,
            text=self.q,
        )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=IncidentPublic)
def file_incident(
    data: IncidentCreate,
    session: SessionDep,
    actor: OncallDep,
    policy: PolicyDep,
    calendar: CalendarDep,
) -> IncidentPublic:
    incident = service.create_incident(session, data, actor=actor, policy=policy, calendar=calendar)
    return IncidentPublic.of(incident, policy)


@router.get("")
def list_incidents(
    query: Annotated[IncidentQuery, Query()],
    page: PageDep,
    session: SessionDep,
    actor: ViewerDep,
    calendar: CalendarDep,
    policy: PolicyDep,
) -> ListPage[IncidentPublic]:
    items, total = service.list_incidents(
        session, query.criteria(calendar), calendar, limit=page.limit, offset=page.offset
    )
    return ListPage.of(([IncidentPublic.of(item, policy) for item in items], total), page)


class SimilarParams(BaseModel):
    title: str = Field("", max_length=200, description="as typed so far")
    system: str | None = Field(None, max_length=100)
    root_cause: str = Field("", max_length=2000)
    exclude: int | None = Field(
        None, ge=1, le=MAX_ID, description="the incident itself, once filed"
    )
    limit: int = Field(similar.DEFAULT_LIMIT, ge=1, le=similar.MAX_LIMIT)


# Before /{incident_id}, which would take "similar" for an id and refuse it.
@router.get("/similar", response_model=list[similar.SimilarIncident])
def similar_incidents(
    query: Annotated[SimilarParams, Query()], session: SessionDep, actor: ViewerDep
) -> list[similar.SimilarIncident]:
    """Earlier incidents like the one being filed: the same system first, then by the share of
    the title's (or root cause's) trigrams their texts hold; a title under three characters
    matches by system only."""
    wanted = similar.SimilarQuery(
        title=query.title, system=query.system, root_cause=query.root_cause, exclude=query.exclude
    )
    return similar.find_similar(session, wanted, limit=query.limit)


@router.get("/{incident_id}", response_model=IncidentPublic)
def read_incident(
    incident_id: Id, session: SessionDep, actor: ViewerDep, policy: PolicyDep
) -> IncidentPublic:
    return IncidentPublic.of(service.get_incident(session, incident_id), policy)


@router.patch("/{incident_id}", response_model=IncidentPublic)
def edit_incident(
    incident_id: Id,
    data: IncidentUpdate,
    session: SessionDep,
    actor: OncallDep,
    policy: PolicyDep,
    calendar: CalendarDep,
) -> IncidentPublic:
    changes = data.model_dump(exclude_unset=True)
    incident = service.update_incident(
        session, incident_id, changes, actor=actor, policy=policy, calendar=calendar
    )
    return IncidentPublic.of(incident, policy)


@router.post("/{incident_id}/grade", response_model=IncidentPublic)
def override_grade(
    incident_id: Id,
    data: GradeOverride,
    session: SessionDep,
    actor: OncallDep,
    policy: PolicyDep,
    calendar: CalendarDep,
) -> IncidentPublic:
    incident = service.override_grade(
        session,
        incident_id,
        data.grade,
        data.reason,
        actor=actor,
        policy=policy,
        calendar=calendar,
    )
    return IncidentPublic.of(incident, policy)


@router.get("/{incident_id}/similar", response_model=list[similar.SimilarIncident])
def incidents_like_this_one(
    incident_id: Id,
    session: SessionDep,
    actor: ViewerDep,
    limit: Annotated[int, Query(ge=1, le=similar.MAX_LIMIT)] = similar.DEFAULT_LIMIT,
) -> list[similar.SimilarIncident]:
    """Incidents detected before this one like it: by its system, title and root causes."""
    return similar.similar_to(session, incident_id, limit=limit)


@router.get("/{incident_id}/audit", response_model=list[AuditEntryPublic])
def audit_trail(incident_id: Id, session: SessionDep, actor: ViewerDep) -> list[AuditEntry]:
    service.get_incident(session, incident_id)
    return audit.trail(session, incident_id)


@router.post(
    "/{incident_id}/timeline",
    status_code=status.HTTP_201_CREATED,
    response_model=TimelineEntryPublic,
)
def add_timeline_entry(
    incident_id: Id,
    data: TimelineEntryCreate,
    session: SessionDep,
    actor: OncallDep,
    policy: PolicyDep,
    calendar: CalendarDep,
) -> TimelineEntry:
    """An entry with a `milestone` sets that time of the incident to its `at`."""
    return postmortems.add_timeline_entry(
        session, incident_id, data, actor=actor, policy=policy, calendar=calendar
    )


@router.get("/{incident_id}/timeline", response_model=list[TimelineEntryPublic])
def read_timeline(incident_id: Id, session: SessionDep, actor: ViewerDep) -> list[TimelineEntry]:
    return postmortems.timeline(session, incident_id)


@router.put("/{incident_id}/postmortem", response_model=PostmortemPublic)
def write_postmortem(
    incident_id: Id,
    data: PostmortemWrite,
    session: SessionDep,
    actor: OncallDep,
    calendar: CalendarDep,
) -> Postmortem:
    """Write the 复盘's fields; its status stays (POST …/postmortem/submit, /review and /publish
    move it, routes/postmortems.py)."""
    return postmortems.put_postmortem(session, incident_id, data, actor=actor, calendar=calendar)


@router.get("/{incident_id}/postmortem", response_model=PostmortemPublic)
def read_postmortem(incident_id: Id, session: SessionDep, actor: ViewerDep) -> Postmortem:
    return postmortems.get_postmortem(session, incident_id)


@router.post(
    "/{incident_id}/action-items",
    status_code=status.HTTP_201_CREATED,
    response_model=ActionItemPublic,
)
def add_action_item(
    incident_id: Id,
    data: ActionItemCreate,
    session: SessionDep,
    actor: OncallDep,
    calendar: CalendarDep,
) -> ActionItem:
    """A new item, open; the verifier defaults to the 复盘's owner, else the incident's (422 when
    there is neither); a due date before today is a 422."""
    return action_items.add_action_item(session, incident_id, data, actor=actor, calendar=calendar)


@router.get("/{incident_id}/action-items", response_model=list[ActionItemPublic])
def read_action_items(incident_id: Id, session: SessionDep, actor: ViewerDep) -> list[ActionItem]:
    return action_items.action_items(session, incident_id)
