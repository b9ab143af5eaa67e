from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field

from api.deps import CalendarDep, OncallDep, PolicyDep, SessionDep, SettingsDep, ViewerDep
from incidents import figures, metrics, period_report, report
from incidents.errors import Invalid
from incidents.models import QueryMoment

router = APIRouter(tags=["reports and metrics"])


@router.get("/reports/weekly/{week}", response_model=None)
def weekly_report(
    week: str,
    session: SessionDep,
    actor: ViewerDep,
    settings: SettingsDep,
    policy: PolicyDep,
    lang: Literal["zh", "en"] | None = None,
    format: Literal["markdown", "json", "html"] = "markdown",
) -> Response | dict:
    """The weekly stability section: 【系统运行数据】 and 生产稳定性事件."""
    chosen = settings.calendar.parse_week(week)
    lang = lang or settings.report_lang
    built = report.build(session, chosen, settings, lang, targets=policy.targets)
    if format == "json":
        return report.to_json(built)
    if format == "html":
        return HTMLResponse(report.to_html(built))
    return PlainTextResponse(report.to_markdown(built), media_type="text/markdown; charset=utf-8")


# After /reports/weekly/{week}: a period is one path segment, so the two never overlap, and
# the weekly route is declared first for whoever adds a one-segment weekly path later.
@router.get("/reports/{period}", response_model=None)
def period_report_of(
    period: str,
    session: SessionDep,
    actor: ViewerDep,
    settings: SettingsDep,
    policy: PolicyDep,
    lang: Literal["zh", "en"] | None = None,
    format: Literal["markdown", "json", "html"] = "markdown",
) -> Response | dict:
    """A month (2023-09), quarter (2023-Q3), half (2023-H2), year (2023) or range of dates
    (2023-07-01..2023-09-30), beside the period before it."""
    chosen = settings.calendar.parse_period(period)
    built = period_report.build(
        session, chosen, settings, lang or settings.report_lang, targets=policy.targets
    )
    if format == "json":
        return period_report.to_json(built)
    if format == "html":
        return HTMLResponse(period_report.to_html(built))
    return PlainTextResponse(
        period_report.to_markdown(built), media_type="text/markdown; charset=utf-8"
    )


class MetricsQuery(BaseModel):
    from_: QueryMoment = Field(alias="from")
    to: QueryMoment


@router.get("/metrics")
def window_metrics(
    query: Annotated[MetricsQuery, Query()],
    session: SessionDep,
    actor: ViewerDep,
    settings: SettingsDep,
    policy: PolicyDep,
) -> dict:
    """Every metric over [from, to), each rate beside the window of the same length before."""
    if query.to <= query.from_:
        raise Invalid("to", code="must_be_after", params={"other": "from"})
    window = metrics.Window(query.from_, query.to)
    targets = policy.targets
    current = metrics.compute(session, window, settings, targets=targets)
    previous = metrics.compute(
        session, window.previous(settings.calendar), settings, targets=targets
    )
    return metrics.as_dict(current, previous)


@router.put("/weekly-figures/{week}")
def set_weekly_figures(
    week: str,
    data: figures.FigureValues,
    session: SessionDep,
    actor: OncallDep,
    calendar: CalendarDep,
) -> dict[str, Decimal]:
    chosen = calendar.parse_week(week)
    values = data.model_dump(exclude_none=True)
    return figures.set_figures(session, chosen, values, actor_name=actor.name)


@router.get("/weekly-figures/{week}")
def read_weekly_figures(
    week: str, session: SessionDep, actor: ViewerDep, calendar: CalendarDep
) -> dict[str, Decimal]:
    chosen = calendar.parse_week(week)
    return figures.figures_of(session, chosen)
