"""The weekly stability section (【系统运行数据】 and 生产稳定性事件), from data, in zh or en.

The zh wording and layout are the team's own (see shared/seeds): "事故数AB级0次，CD级1次", events
as "M/D HH:MM what happened" with a 处置 line, oldest first. Markdown is what people paste into
the 周报; JSON carries the same figures with their parts; HTML is the Markdown's content for a page.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlmodel import Session, col, select

from incidents.calendar import Calendar
from incidents.figures import FIGURES, figures_of
from incidents.grading import Targets, net_loss
from incidents.metrics import (
    ALL_SYSTEMS,
    Availability,
    Durations,
    Metrics,
    Money,
    Rate,
    Window,
    as_dict,
    availability,
    availability_dict,
    compute,
)
from incidents.models import Incident
from incidents.settings import Settings
from incidents.weeks import Week

Lang = Literal["zh", "en"]

LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "heading": "第{number}周 {date}",
        "operations": "【系统运行数据】",
        "payments": "支付成功率：",
        "availability": "系统可用性：",
        "year_availability": "支付系统年度可用性：{value}",
        "week_availability": "本周{system}可用性：{value}（影响{minutes}分钟）",
        "grades": "事故数AB级{ab}次，CD级{cd}次",
        "ungraded": "无业务影响的稳定性事件{count}次",
        "money": "资损：{loss}（涉及金额 {involved}，追回 {recovered}）",
        "money_net": "资损：{loss}（涉及金额 {involved}，追回 {recovered}，净资损 {net_loss}）",
        "event_loss": "（资损 {loss}）",
        "follow_up": "稳定性跟进：",
        "previous": "上周 {value}",
        "none": "—",
        "events": "生产稳定性事件",
        "no_events": "本周无生产稳定性事件。",
        "remediation": "处置：",
        "review": "（业务影响待确认）",
        "durations": "{name}：均值 {mean}，中位数 {median}，P90 {p90}（{count}起）",
        "minutes": "{value}分钟",
        "rank": "第{value}",
        "follow_up_rate": "报警{minutes}分钟跟进率",
        "silenced": "静默报警{count}条（维护窗口内，不计入跟进率）",
        "closed_loop_rate": "监控跟进闭环率",
        "validity_rate": "监控有效率",
        "monitoring_detection_rate": "监控发现率",
        "action_items_on_time_rate": "改进项按期闭环率",
        "postmortem_completion_rate": "复盘完成率",
        "one_five_ten_rate": "1-5-10达标率",
        "repeat_incident_rate": "重复故障率",
        "mttd": "MTTD（发现）",
        "mtta": "MTTA（跟进）",
        "mttr": "MTTR（恢复）",
    },
    "en": {
        "heading": "Week {number} {date}",
        "operations": "System operations",
        "payments": "Payment success:",
        "availability": "Availability:",
        "year_availability": "Payment system availability, year to date: {value}",
        "week_availability": "{system} this week: {value} ({minutes} min of impact)",
        "grades": "Incidents: {ab} of grade A/B, {cd} of grade C/D",
        "ungraded": "{count} stability events without business impact",
        "money": "Money lost: {loss} (involved {involved}, recovered {recovered})",
        "money_net": (
            "Money lost: {loss} (involved {involved}, recovered {recovered}, net loss {net_loss})"
        ),
        "event_loss": " (money lost {loss})",
        "follow_up": "Follow-up:",
        "previous": "last week {value}",
        "none": "—",
        "events": "Production stability events",
        "no_events": "No production stability events this week.",
        "remediation": "Remediation: ",
        "review": " (business impact to be confirmed)",
        "durations": "{name}: mean {mean}, median {median}, P90 {p90} ({count})",
        "minutes": "{value} min",
        "rank": "#{value}",
        "follow_up_rate": "Alerts followed up within {minutes} min",
        "silenced": "{count} silenced alerts (maintenance windows, left out of the rates)",
        "closed_loop_rate": "Alerts with a conclusion",
        "validity_rate": "Valid alerts",
        "monitoring_detection_rate": "Incidents found by monitoring",
        "action_items_on_time_rate": "Action items closed on time",
        "postmortem_completion_rate": "Postmortems published",
        "one_five_ten_rate": "1-5-10 targets met",
        "repeat_incident_rate": "Repeat incidents",
        "mttd": "MTTD (detect)",
        "mtta": "MTTA (follow up)",
        "mttr": "MTTR (recover)",
    },
}
FIGURE_NAMES = {
    "zh": {k: v.zh for k, v in FIGURES.items()},
    "en": {k: v.en for k, v in FIGURES.items()},
}


@dataclass
class WeeklyReport:
    week: Week
    lang: Lang
    follow_up_minutes: int
    metrics: Metrics
    previous: Metrics
    year_availability: list[Availability]
    figures: dict[str, Decimal]
    previous_figures: dict[str, Decimal]
    events: list[Incident]
    calendar: Calendar


def build(
    session: Session, week: Week, settings: Settings, lang: Lang, *, targets: Targets
) -> WeeklyReport:
    """The week's section; `targets` are the grading policy's 1-5-10 targets."""
    calendar = settings.calendar
    window = Window.of_week(week, calendar)
    year = Window.year_to_date(week, calendar)
    events = session.exec(
        select(Incident)
        .where(Incident.in_week(week, calendar))
        .order_by(col(Incident.detected_at), col(Incident.id))
    ).all()
    return WeeklyReport(
        week=week,
        lang=lang,
        follow_up_minutes=settings.follow_up_minutes,
        metrics=compute(session, window, settings, targets=targets),
        previous=compute(session, window.previous(calendar), settings, targets=targets),
        year_availability=availability(session, year.incidents(calendar), year.start, year.end),
        figures=figures_of(session, week),
        previous_figures=figures_of(session, week.shifted(-1)),
        events=list(events),
        calendar=calendar,
    )


def _percent(value: float | None, digits: int) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def _figure(name: str, value: Decimal) -> str:
    unit = FIGURES[name].unit
    return f"{value.normalize():f}{unit}"


def _year_availability(report: WeeklyReport, computed: Availability) -> str:
    stated = report.figures.get("year_availability")
    if stated is None:
        return _percent(computed.value, 3)
    return _figure("year_availability", stated)


def _yuan(amount: Decimal) -> str:
    return f"¥{amount:,.2f}"


def _money_lines(money: Money, labels: dict[str, str]) -> list[str]:
    """The week's 资损, when there was any; net loss is named once something was recovered."""
    if money.loss <= 0:
        return []
    template = labels["money_net"] if money.recovered > 0 else labels["money"]
    return [
        template.format(
            loss=_yuan(money.loss),
            involved=_yuan(money.involved),
            recovered=_yuan(money.recovered),
            net_loss=_yuan(money.net_loss),
        )
    ]


def _duration(seconds: float | None, labels: dict[str, str]) -> str:
    if seconds is None:
        return "—"
    return labels["minutes"].format(value=f"{seconds / 60:.1f}".removesuffix(".0"))


def _with_detail(report: WeeklyReport, label: str, value: str, detail: str) -> str:
    """ "label：value（detail）" in zh, "label: value (detail)" in en."""
    if report.lang == "zh":
        return f"{label}：{value}（{detail}）" if detail else f"{label}：{value}"
    return f"{label}: {value} ({detail})" if detail else f"{label}: {value}"


def _rate_line(name: str, rate: Rate, previous: Rate, report: WeeklyReport) -> str:
    labels = LABELS[report.lang]
    separator = "，" if report.lang == "zh" else ", "
    before = labels["previous"].format(value=_percent(previous.value, 1))
    return _with_detail(
        report,
        labels[name].format(minutes=report.follow_up_minutes),
        _percent(rate.value, 1),
        f"{rate.numerator}/{rate.denominator}{separator}{before}",
    )


def _durations_line(name: str, durations: Durations, labels: dict[str, str]) -> str:
    return labels["durations"].format(
        name=labels[name],
        mean=_duration(durations.mean, labels),
        median=_duration(durations.median, labels),
        p90=_duration(durations.p90, labels),
        count=durations.count,
    )


# Listed only when this week or the last counts anything in them, so a week from before the
# facts they need were recorded reads as it did.
OCCASIONAL_RATES = ("one_five_ten_rate", "repeat_incident_rate")


def shown_rates(report: WeeklyReport) -> tuple[str, ...]:
    """The rates the section lists: 1-5-10 达标率 too when this week or the last has an incident
    with all its times known, 重复故障率 when one has an incident with a 复盘 root-cause
    category (and a system)."""
    return Metrics.RATES + tuple(
        name
        for name in OCCASIONAL_RATES
        if getattr(report.metrics, name).denominator or getattr(report.previous, name).denominator
    )


def _figure_lines(report: WeeklyReport) -> list[str]:
    labels = LABELS[report.lang]
    separator = "，" if report.lang == "zh" else ", "
    lines = []
    for name, kind in FIGURES.items():
        value = report.figures.get(name)
        if value is None or not kind.listed:
            continue
        shown = (
            labels["rank"].format(value=value.normalize())
            if name == "health_rank"
            else _figure(name, value)
        )
        before = report.previous_figures.get(name)
        detail = ""
        if before is not None:
            change = value - before
            sign = "+" if change > 0 else ""
            previous = labels["previous"].format(value=_figure(name, before))
            detail = f"{previous}{separator}{sign}{change.normalize():f}"
        lines.append(_with_detail(report, FIGURE_NAMES[report.lang][name], shown, detail))
    return lines


@dataclass(frozen=True)
class Block:
    """One piece of the section, rendered alike as Markdown and as HTML."""

    kind: Literal["h1", "h2", "p", "ul", "ol"]
    text: str = ""
    items: tuple[str, ...] = ()
    notes: tuple[str | None, ...] = ()  # for "ol": the 处置 line under each item


def _as_is(text: str) -> str:
    return text


def _event_item(
    incident: Incident, report: WeeklyReport, user_text: Callable[[str], str]
) -> tuple[str, str | None]:
    labels = LABELS[report.lang]
    local = report.calendar.local(incident.detected_at)
    what = user_text(" ".join((incident.description or incident.title).split()))
    review = labels["review"] if incident.needs_review else ""
    loss = incident.loss_cny
    lost = labels["event_loss"].format(loss=_yuan(loss)) if loss else ""
    remediation = (
        f"{labels['remediation']}{user_text(' '.join(incident.remediation.split()))}"
        if incident.remediation
        else None
    )
    return f"{local.month}/{local.day} {local:%H:%M} {what}{lost}{review}", remediation


def blocks(report: WeeklyReport, user_text: Callable[[str], str] = _as_is) -> list[Block]:
    """The section's pieces; `user_text` treats every piece people typed (chat robots need it
    neutralised so an incident's text cannot mention @all or inject a link)."""
    labels = LABELS[report.lang]
    metrics, previous = report.metrics, report.previous
    grades = metrics.incidents_by_grade
    heading = labels["heading"].format(
        number=report.week.number, date=report.week.report_date.isoformat()
    )
    result = [Block("h1", heading), Block("h2", labels["operations"])]
    figure_lines = _figure_lines(report)
    if figure_lines:
        result += [Block("p", labels["payments"]), Block("ul", items=tuple(figure_lines))]
    year_all = next(row for row in report.year_availability if row.system == ALL_SYSTEMS)
    availability_lines = [
        labels["year_availability"].format(value=_year_availability(report, year_all)),
        labels["grades"].format(ab=grades["A"] + grades["B"], cd=grades["C"] + grades["D"]),
    ]
    if grades["ungraded"]:
        availability_lines.append(labels["ungraded"].format(count=grades["ungraded"]))
    availability_lines += _money_lines(metrics.money, labels)
    availability_lines += [
        labels["week_availability"].format(
            system=user_text(row.system),
            value=_percent(row.value, 3),
            minutes=f"{row.impact_minutes:.0f}",
        )
        for row in metrics.availability
        if row.system != ALL_SYSTEMS and row.impact_minutes > 0
    ]
    follow_up_lines = [
        _rate_line(name, getattr(metrics, name), getattr(previous, name), report)
        for name in shown_rates(report)
    ]
    # Only in weeks with silenced alerts, so a week without any reads as it always did.
    if metrics.silenced_alerts:
        follow_up_lines.append(labels["silenced"].format(count=metrics.silenced_alerts))
    follow_up_lines += [
        _durations_line(name, getattr(metrics, name), labels) for name in Metrics.DURATIONS
    ]
    result += [
        Block("p", labels["availability"]),
        Block("ul", items=tuple(availability_lines)),
        Block("p", labels["follow_up"]),
        Block("ul", items=tuple(follow_up_lines)),
        Block("h2", labels["events"]),
    ]
    if not report.events:
        return [*result, Block("p", labels["no_events"])]
    events = [_event_item(incident, report, user_text) for incident in report.events]
    return [
        *result,
        Block("ol", items=tuple(text for text, _ in events), notes=tuple(n for _, n in events)),
    ]


def to_markdown(report: WeeklyReport, user_text: Callable[[str], str] = _as_is) -> str:
    return blocks_to_markdown(blocks(report, user_text))


def blocks_to_markdown(blocks: Iterable[Block]) -> str:
    """Blocks as Markdown, the one way every report of ours is written as text."""
    lines: list[str] = []
    for block in blocks:
        if block.kind == "h1":
            lines += [f"# {block.text}", ""]
        elif block.kind == "h2":
            lines += [f"## {block.text}", ""]
        elif block.kind == "p":
            lines += [block.text, ""]
        elif block.kind == "ul":
            lines += [f"- {item}" for item in block.items] + [""]
        else:
            notes = block.notes or (None,) * len(block.items)
            for number, (item, note) in enumerate(zip(block.items, notes, strict=True), 1):
                lines.append(f"{number}. {item}")
                if note:
                    lines.append(f"   {note}")
            lines.append("")
    return "\n".join(lines).rstrip("\n") + "\n"


MONEY_COLUMNS = ("amount_involved_cny", "loss_cny", "recovered_cny")


def _amount_text(amount: Decimal | None) -> str | None:
    return None if amount is None else f"{amount:.2f}"


def to_json(report: WeeklyReport) -> dict[str, Any]:
    return {
        "week": {
            "label": report.week.label,
            "number": report.week.number,
            "year": report.week.year,
            "monday": report.week.monday.isoformat(),
            "report_date": report.week.report_date.isoformat(),
            "numbering": report.week.numbering,
        },
        "lang": report.lang,
        "figures": {
            name: {
                "value": float(value),
                "previous": float(report.previous_figures[name])
                if name in report.previous_figures
                else None,
            }
            for name, value in report.figures.items()
        },
        "metrics": as_dict(report.metrics, report.previous),
        "availability_year_to_date": availability_dict(report.year_availability),
        "events": [
            {
                "id": incident.id,
                "detected_at": report.calendar.local(incident.detected_at).isoformat(),
                "title": incident.title,
                "description": incident.description,
                "remediation": incident.remediation,
                "system": incident.system,
                "grade": incident.grade,
                "business_impact": incident.business_impact,
                "needs_review": incident.needs_review,
                **{name: _amount_text(getattr(incident, name)) for name in MONEY_COLUMNS},
                "net_loss_cny": _amount_text(net_loss(incident.loss_cny, incident.recovered_cny)),
            }
            for incident in report.events
        ],
        "markdown": to_markdown(report),
    }


# The documents' HTML templates (the weekly section, the period report, the 复盘报告).
DOCUMENT_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)


def to_html(report: WeeklyReport) -> str:
    """A standalone page of the section; every piece of user text is escaped."""
    return DOCUMENT_TEMPLATES.get_template("weekly_report.html").render(
        lang=report.lang, blocks=blocks(report)
    )
