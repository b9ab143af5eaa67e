from datetime import datetime
from decimal import Decimal

from fastapi import APIRouter, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from api.deps import CalendarDep, Id, OncallDep, PolicyDep, SessionDep, SettingsDep, ViewerDep
from incidents.importer import (
    ImportPlan,
    PlannedEvent,
    decode_report,
    import_weekly,
    resolve_review,
    review_queue,
)
from incidents.models import Detection, Grade, IncidentPublic, WriteModel

router = APIRouter(prefix="/import", tags=["import"])


class EventPreview(BaseModel):
    """An event as the import stores it, with the text each value was read from."""

    line_number: int
    detected_at: datetime
    title: str
    system: str | None
    detection: Detection | None
    source: str | None
    failed_orders: int | None
    failed_transactions: int | None
    affected_users: int | None
    impact_minutes: int | None
    amount_involved_cny: Decimal | None
    loss_cny: Decimal | None
    business_impact: bool | None
    remediation: str | None
    grade: str | None
    grade_reason: str
    exists: bool = Field(description="imported before: this import leaves it be")
    review_reason: str | None = Field(description="why it awaits a person's review, if it does")
    evidence: dict[str, str] = Field(description="each value's field name → the text read")

    @classmethod
    def of(cls, planned: PlannedEvent) -> "EventPreview":
        event = planned.event
        return cls(
            **{name: getattr(event, name) for name in _EVENT_FIELDS},
            grade=planned.grade,
            grade_reason=planned.grade_reason,
            exists=planned.exists,
            review_reason=planned.review_reason,
        )


_EVENT_FIELDS = tuple(
    name
    for name in EventPreview.model_fields
    if name not in {"grade", "grade_reason", "exists", "review_reason"}
)


class ReconciliationAnswer(BaseModel):
    stated: dict[str, int]
    computed: dict[str, int]
    agrees: bool
    reason: str


class ImportAnswer(BaseModel):
    week: str
    report_date: str
    dry_run: bool
    created: list[IncidentPublic]
    existing: int
    events: list[EventPreview]
    reconciliation: ReconciliationAnswer | None = Field(
        description="the report's own 事故数 against the computed grades; null if it states none"
    )
    needs_review: list[int] = Field(description="line numbers of the events awaiting review")
    stated_figures: dict[str, Decimal] = Field(description="figures the report states")
    figures: dict[str, Decimal] = Field(
        description="the week's figures the import sets (would set, if a dry run)"
    )


def _reconciliation(plan: ImportPlan) -> ReconciliationAnswer | None:
    found = plan.reconciliation
    if found is None:
        return None
    return ReconciliationAnswer(
        stated=found.stated, computed=found.computed, agrees=found.agrees, reason=found.reason
    )


@router.post(
    "/weekly",
    status_code=status.HTTP_200_OK,
    openapi_extra={
        "requestBody": {"content": {"text/plain": {"schema": {"type": "string"}}}, "required": True}
    },
)
async def import_weekly_report(
    request: Request,
    session: SessionDep,
    actor: OncallDep,
    policy: PolicyDep,
    settings: SettingsDep,
    dry_run: bool = Query(False, description="show what would be stored, storing nothing"),
) -> ImportAnswer:
    """A weekly report (UTF-8 or GBK text); creates the stability events it lists, once, and sets
    the week's figures it states. With dry_run=true, answers the same and writes nothing."""
    text = decode_report(await request.body(), name="body")
    result = await run_in_threadpool(
        import_weekly,
        session,
        text,
        actor=actor,
        policy=policy,
        settings=settings,
        dry_run=dry_run,
    )
    plan = result.plan
    return ImportAnswer(
        week=result.week.label,
        report_date=result.week.report_date.isoformat(),
        dry_run=result.dry_run,
        created=[IncidentPublic.of(incident, policy) for incident in result.created],
        existing=result.existing,
        events=[EventPreview.of(planned) for planned in plan.events],
        reconciliation=_reconciliation(plan),
        needs_review=[planned.event.line_number for planned in plan.needs_review],
        stated_figures={name: stated.value for name, stated in plan.parsed.stated_figures.items()},
        figures=plan.figures,
    )


class ReviewItemAnswer(BaseModel):
    incident: IncidentPublic
    reason: str = Field(description="why it awaits review, e.g. report says AB 1, computed AB 0")


class ReviewVerdict(WriteModel):
    grade: Grade | None = Field(
        description="the grade (recorded as an override, reason 'imported report'), or null: no"
        " business impact"
    )


@router.get("/review")
def imported_events_to_review(
    session: SessionDep, actor: ViewerDep, policy: PolicyDep
) -> list[ReviewItemAnswer]:
    """Imported events awaiting a person's verdict, oldest first (at most 200)."""
    return [
        ReviewItemAnswer(incident=IncidentPublic.of(item.incident, policy), reason=item.reason)
        for item in review_queue(session)
    ]


@router.post("/review/{incident_id}")
def review_imported_event(
    incident_id: Id,
    verdict: ReviewVerdict,
    session: SessionDep,
    actor: OncallDep,
    policy: PolicyDep,
    calendar: CalendarDep,
) -> IncidentPublic:
    """A person's verdict on an imported event; it then leaves the review queue."""
    incident = resolve_review(
        session, incident_id, verdict.grade, actor=actor, policy=policy, calendar=calendar
    )
    return IncidentPublic.of(incident, policy)
