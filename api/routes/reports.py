from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import OncallDep, SessionDep, ViewerDep
from incidents import figures, metrics, report
from incidents.errors import Invalid
from incidents.models import Moment
from incidents.weeks import parse_week

router = APIRouter(tags=["reports and metrics"])


@router.get("/reports/weekly/{week}", response_model=None)
def weekly_report(
    request: Request,
    week: str,
    session: SessionDep,
    actor: ViewerDep,
    lang: Literal["zh", "en"] | None = None,
    format: Literal["markdown", "json", "html"] = "markdown",
) -> Response | dict:
    """The weekly stability section: 【系统运行数据】 and 生产稳定性事件."""
    settings = request.app.state.settings
    chosen = parse_week(week, settings.week_numbering, settings.report_day)
    built = report.build(session, chosen, settings, lang or settings.report_lang)
    if format == "json":
        return report.to_json(built)
    if format == "html":
        return HTMLResponse(report.to_html(built))
    return PlainTextResponse(report.to_markdown(built), media_type="text/markdown; charset=utf-8")


class MetricsQuery(BaseModel):
    from_: Moment = Field(alias="from")
    to: Moment


@router.get("/metrics")
def window_metrics(
    request: Request,
    query: Annotated[MetricsQuery, Query()],
    session: SessionDep,
    actor: ViewerDep,
) -> dict:
    """Every metric over [from, to), each rate beside the window of the same length before."""
    if query.to <= query.from_:
        raise Invalid("to", "must be after from")
    settings = request.app.state.settings
    window = metrics.Window(query.from_, query.to)
    current = metrics.compute(session, window, settings)
    return metrics.as_dict(
        current, metrics.compute(session, window.previous(settings.tz), settings)
    )


class FigureValues(BaseModel):
    """Any of the week's figures; rates in percent (99.998)."""

    model_config = ConfigDict(extra="forbid")  # a misspelt figure must not vanish silently

    deposit_success_rate: Decimal | None = Field(None, max_digits=14, decimal_places=4)
    payout_success_rate: Decimal | None = Field(None, max_digits=14, decimal_places=4)
    first_pay_success_rate: Decimal | None = Field(None, max_digits=14, decimal_places=4)
    health_score: Decimal | None = Field(None, max_digits=14, decimal_places=4)
    health_rank: Decimal | None = Field(None, max_digits=14, decimal_places=4)


@router.put("/weekly-figures/{week}")
def set_weekly_figures(
    request: Request, week: str, data: FigureValues, session: SessionDep, actor: OncallDep
) -> dict[str, Decimal]:
    settings = request.app.state.settings
    chosen = parse_week(week, settings.week_numbering, settings.report_day)
    values = data.model_dump(exclude_none=True)
    return figures.set_figures(session, chosen, values, actor_name=actor.name)


@router.get("/weekly-figures/{week}")
def read_weekly_figures(
    request: Request, week: str, session: SessionDep, actor: ViewerDep
) -> dict[str, Decimal]:
    settings = request.app.state.settings
    chosen = parse_week(week, settings.week_numbering, settings.report_day)
    return figures.figures_of(session, chosen)
