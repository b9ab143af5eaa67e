from fastapi import APIRouter, Request, status
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel

from api.deps import OncallDep, PolicyDep, SessionDep, SettingsDep
from incidents.errors import Invalid
from incidents.importer import import_weekly
from incidents.models import IncidentPublic

router = APIRouter(prefix="/import", tags=["import"])


class ImportAnswer(BaseModel):
    week: str
    report_date: str
    created: list[IncidentPublic]
    existing: int


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
) -> ImportAnswer:
    """A weekly report in the seed's format; creates the stability events it lists, once."""
    try:
        text = (await request.body()).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Invalid("body", f"not UTF-8 text (byte {exc.start})") from exc
    result = await run_in_threadpool(
        import_weekly,
        session,
        text,
        actor=actor,
        policy=policy,
        settings=settings,
    )
    return ImportAnswer(
        week=result.week.label,
        report_date=result.week.report_date.isoformat(),
        created=[IncidentPublic.of(incident, policy) for incident in result.created],
        existing=result.existing,
    )
