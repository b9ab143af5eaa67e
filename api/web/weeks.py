"""The week on a big screen: the stability section to paste, every metric with its parts, and
twelve weeks of incidents by grade and of follow-up rates as server-drawn SVG."""

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from api.deps import SessionDep
from api.web.auth import PageActor
from api.web.charts import grade_chart, rate_chart
from api.web.i18n import WORDS, page_lang
from api.web.rendering import PageRoute, render, see_other
from incidents import metrics, report
from incidents.calendar import Calendar
from incidents.metrics import weekly_series

router = APIRouter(route_class=PageRoute, include_in_schema=False)

CHART_WEEKS = 12


@router.get("/weeks", response_class=HTMLResponse)
def this_week(request: Request, actor: PageActor, week: str = "") -> Response:
    """The current week, or the one typed into the week field."""
    calendar: Calendar = request.app.state.calendar
    chosen = calendar.parse_week(week) if week.strip() else calendar.week_of(calendar.today())
    return see_other(f"/weeks/{chosen.label}")


@router.get("/weeks/{week}", response_class=HTMLResponse)
def week_page(request: Request, week: str, session: SessionDep, actor: PageActor) -> HTMLResponse:
    settings = request.app.state.settings
    lang = page_lang(request)
    words = WORDS[lang]
    chosen = settings.calendar.parse_week(week)
    targets = request.app.state.grading_policy.targets
    built = report.build(session, chosen, settings, lang, targets=targets)
    weeks = [chosen.shifted(-back) for back in range(CHART_WEEKS - 1, -1, -1)]
    history = weekly_series(session, weeks, settings)
    labels = [words.week_label.format(number=week.number) for week in weeks]
    minutes = settings.follow_up_minutes
    grades = grade_chart(
        words.chart_grades, labels, [figures.incidents_by_grade for figures in history]
    )
    rates = rate_chart(
        words.chart_rates,
        labels,
        [
            (
                "follow-up",
                words.follow_up_rate.format(minutes=minutes),
                [figures.follow_up_rate for figures in history],
            ),
            (
                "closed-loop",
                words.closed_loop_rate,
                [figures.closed_loop_rate for figures in history],
            ),
        ],
    )
    rate_rows = [
        (
            report.LABELS[lang][name].format(minutes=minutes),
            getattr(built.metrics, name),
            getattr(built.previous, name),
        )
        for name in report.shown_rates(built)
    ]
    duration_rows = [
        (report.LABELS[lang][name], getattr(built.metrics, name))
        for name in metrics.Metrics.DURATIONS
    ]
    return render(
        request,
        "week.html",
        {
            "week": chosen,
            "markdown": report.to_markdown(built),
            "blocks": report.blocks(built),
            "rate_rows": rate_rows,
            "duration_rows": duration_rows,
            "by_grade": built.metrics.incidents_by_grade,
            "availability": built.metrics.availability,
            "all_systems": metrics.ALL_SYSTEMS,
            "grade_chart": grades,
            "rate_chart": rates,
            "prev_label": chosen.shifted(-1).label,
            "next_label": chosen.shifted(1).label,
        },
    )
