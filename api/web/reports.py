"""The period report page: a period picker, then the report (month, quarter, half, year or a
range of dates) with its charts, drawn by the domain as the HTML report draws them."""

from datetime import date

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.deps import SessionDep
from api.web.auth import PageActor
from api.web.i18n import page_lang
from api.web.rendering import PageRoute, render
from incidents import period_report
from incidents.calendar import Calendar
from incidents.errors import Invalid

router = APIRouter(route_class=PageRoute, include_in_schema=False)


def suggested_periods(today: date) -> list[str]:
    """The picker's choices: this and last month, quarter and half, this and last year."""
    quarter, half = (today.month - 1) // 3 + 1, (today.month - 1) // 6 + 1
    month = f"{today.year}-{today.month:02d}"
    last_month = (
        f"{today.year}-{today.month - 1:02d}" if today.month > 1 else f"{today.year - 1}-12"
    )
    last_quarter = f"{today.year}-Q{quarter - 1}" if quarter > 1 else f"{today.year - 1}-Q4"
    last_half = f"{today.year}-H1" if half == 2 else f"{today.year - 1}-H2"
    return [
        month,
        last_month,
        f"{today.year}-Q{quarter}",
        last_quarter,
        f"{today.year}-H{half}",
        last_half,
        str(today.year),
        str(today.year - 1),
    ]


@router.get("/reports", response_class=HTMLResponse)
def reports_page(
    request: Request, session: SessionDep, actor: PageActor, period: str = ""
) -> HTMLResponse:
    """The report of the period typed or chosen; without one, the current quarter's."""
    settings = request.app.state.settings
    calendar: Calendar = settings.calendar
    choices = suggested_periods(calendar.today())
    text = period.strip() or choices[2]
    context: dict = {"period": text, "choices": choices, "error": None, "body": None}
    try:
        chosen = calendar.parse_period(text)
    except Invalid as exc:
        session.rollback()  # nothing was written; the page shows the refusal beside the field
        context["error"] = exc.message
        return render(request, "reports.html", context, status=422)
    built = period_report.build(
        session,
        chosen,
        settings,
        page_lang(request),
        targets=request.app.state.grading_policy.targets,
    )
    context["period"] = chosen.label
    context["body"] = period_report.to_html_body(built)
    return render(request, "reports.html", context)
