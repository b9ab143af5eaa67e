"""The period report (a month, quarter, half, year or range of days) beside the period before it.

Everything is counted in SQL over the whole period, as in metrics.py, whose `compute` answers
the rates and MTTx. What is new here:

- availability on the union of impact intervals: two incidents overlapping on one system count
  their overlap once (gaps-and-islands with window functions, on SQLite and PostgreSQL alike),
  the payment system as a whole on the union of every system's intervals, each against
  `availability_target` with the downtime budget left;
- counts by grade, system, 复盘 root-cause category and detection; the A/B incidents;
- alert noise: the ten loudest alert rules with their 有效率, and the alerts after hours;
- action items opened, closed and overdue, and the age of those still open at the end.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal
from typing import Any, NamedTuple

from markupsafe import Markup
from sqlalchemy import ColumnElement, and_, func, literal
from sqlmodel import Session, col, select

from incidents import charts
from incidents.alerts import tally
from incidents.availability import ALL_SYSTEMS, UNKNOWN, downtime_seconds, impact_began
from incidents.calendar import Calendar
from incidents.db import UTCDateTime, count_if, windows_table
from incidents.grading import Targets
from incidents.metrics import (
    Durations,
    Metrics,
    Money,
    Rate,
    Window,
    compute,
    durations_dict,
    money_dict,
    rate_dict,
    weekly_series,
)
from incidents.models import (
    CLOSED_ACTION_STATUSES,
    ActionItem,
    Grade,
    Incident,
    Postmortem,
)
from incidents.periods import Period
from incidents.postmortem_report import LABELS as POSTMORTEM_LABELS
from incidents.report import DOCUMENT_TEMPLATES, Block, Lang, blocks_to_markdown
from incidents.report import LABELS as WEEKLY_LABELS
from incidents.settings import Settings
from incidents.sqltime import seconds_between
from incidents.weeks import Week

TOP_RULES = 10
# Age of the action items still open at the period's end, in days: (upper bound, label).
AGE_BUCKETS: tuple[tuple[int | None, str], ...] = (
    (7, "0-7"),
    (30, "8-30"),
    (90, "31-90"),
    (None, "90+"),
)


@dataclass(frozen=True)
class SystemAvailability:
    system: str  # ALL_SYSTEMS for the payment system as a whole
    downtime_minutes: float  # the union of the impact intervals inside the period
    period_minutes: float
    target: float  # a share, 0.9999

    @property
    def value(self) -> float:
        return max(0.0, 1 - self.downtime_minutes / self.period_minutes)

    @property
    def budget_minutes(self) -> float:
        return self.period_minutes * (1 - self.target)

    @property
    def budget_left_minutes(self) -> float:
        """Negative once the target is missed."""
        return self.budget_minutes - self.downtime_minutes


@dataclass(frozen=True)
class RuleNoise:
    rule: str
    alerts: int
    validity: Rate


@dataclass(frozen=True)
class ActionItemFigures:
    opened: int
    closed: int
    overdue: int  # due before the period's end and not closed by then
    open_at_end: int
    age_buckets: dict[str, int]  # of the items open at the end, by age in days


class MajorIncident(NamedTuple):
    """An A/B incident as its line shows it: a year holds thousands, loaded as columns (a
    tuple: twenty thousand frozen dataclasses took 0.1 s to make)."""

    id: int
    detected_at: datetime
    grade: Grade
    system: str | None
    title: str


@dataclass(frozen=True)
class PeriodFigures:
    period: Period
    start: datetime
    end: datetime
    metrics: Metrics
    by_grade: dict[str, int]
    by_system: dict[str, int]
    by_team: dict[str, int]
    by_root_cause: dict[str, int]
    by_detection: dict[str, int]
    availability: list[SystemAvailability]
    noisy_rules: list[RuleNoise]
    alerts: int
    after_hours_alerts: int
    action_items: ActionItemFigures


@dataclass(frozen=True)
class WeekTrend:
    """One week of the period's charts (the weeks touching the period, whole)."""

    week: Week
    incidents_by_grade: dict[str, int]  # by report week, as the weekly section counts them
    follow_up_rate: Rate
    mttr_seconds: float | None  # mean recovered − detected of the incidents detected that week


@dataclass
class PeriodReport:
    lang: Lang
    follow_up_minutes: int
    current: PeriodFigures
    previous: PeriodFigures
    major: list[MajorIncident]  # the period's A and B incidents, oldest first
    calendar: Calendar
    after_hours: tuple[int, int]  # the hours [start, end) the alerts after hours were counted in
    weeks: list[WeekTrend]


def build(
    session: Session, period: Period, settings: Settings, lang: Lang, *, targets: Targets
) -> PeriodReport:
    calendar = settings.calendar
    current = figures(session, period, settings, targets=targets)
    # A period is not a report week: its incidents are those detected in it (a Window without
    # a week), whatever report_week an imported incident names.
    scope = Window(current.start, current.end).incidents(calendar)
    shown: tuple[Any, ...] = tuple(col(getattr(Incident, name)) for name in MajorIncident._fields)
    major = session.exec(
        select(*shown)
        .where(scope, col(Incident.grade).in_((Grade("A"), Grade("B"))))
        .order_by(col(Incident.detected_at), col(Incident.id))
    ).all()
    return PeriodReport(
        lang=lang,
        follow_up_minutes=settings.follow_up_minutes,
        current=current,
        previous=figures(session, period.previous(), settings, targets=targets),
        major=[MajorIncident(*row) for row in major],
        calendar=calendar,
        after_hours=(settings.after_hours_start, settings.after_hours_end),
        weeks=week_trends(session, period, settings),
    )


def figures(
    session: Session, period: Period, settings: Settings, *, targets: Targets
) -> PeriodFigures:
    calendar = settings.calendar
    start, end = calendar.period_window(period)
    window = Window(start, end)
    scope = window.incidents(calendar)
    period_minutes = (end - start).total_seconds() / 60
    # Availability is measured below on the union of intervals clipped to the period.
    metrics = compute(
        session, window, settings, targets=targets, with_availability=False, all_stages=False
    )
    category = col(Postmortem.root_cause_category)
    return PeriodFigures(
        period=period,
        start=start,
        end=end,
        metrics=metrics,
        by_grade=metrics.incidents_by_grade,
        by_system=_counts(session, col(Incident.system), scope),
        by_team=_counts(session, col(Incident.team), scope),
        by_root_cause=_counts(
            session,
            category,
            scope,
            join=(Postmortem, col(Postmortem.incident_id) == col(Incident.id)),
        ),
        by_detection=_counts(session, col(Incident.detection), scope),
        availability=union_availability(
            session, start, end, settings.availability_target / 100, period_minutes
        ),
        noisy_rules=noisy_rules(session, start, end),
        # Every alert of the period is in the follow-up denominator or silenced, counted apart.
        alerts=metrics.follow_up_rate.denominator + metrics.silenced_alerts,
        after_hours_alerts=after_hours_alerts(session, period, calendar, settings),
        action_items=action_item_figures(session, start, end, period, calendar),
    )


def _counts(
    session: Session,
    key: Any,
    scope: ColumnElement[bool],
    *,
    join: tuple[Any, Any] | None = None,
) -> dict[str, int]:
    query = select(key, func.count()).select_from(Incident)
    if join is not None:
        query = query.outerjoin(*join)
    rows = session.exec(query.where(scope).group_by(key)).all()
    counts = {(str(value) if value is not None else UNKNOWN): int(n) for value, n in rows}
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def week_trends(session: Session, period: Period, settings: Settings) -> list[WeekTrend]:
    """Per week of the period: incidents by grade and follow-up rate (metrics.weekly_series, the
    week page's figures) and the mean MTTR, each in one grouped query over all the weeks."""
    calendar = settings.calendar
    first, last = calendar.week_of(period.first), calendar.week_of(period.last)
    weeks = [first]
    while weeks[-1].monday < last.monday:
        weeks.append(weeks[-1].shifted(1))
    series = weekly_series(session, weeks, settings)
    windows = windows_table([calendar.window(week) for week in weeks])
    detected = col(Incident.detected_at)
    mttr = dict(
        session.exec(
            select(windows.c.index, func.avg(seconds_between(col(Incident.recovered_at), detected)))
            .select_from(windows)
            .join(Incident, and_(detected >= windows.c.opens, detected < windows.c.closes))
            .where(col(Incident.recovered_at).is_not(None))
            .group_by(windows.c.index)
        ).all()
    )
    return [
        WeekTrend(
            week=figures.week,
            incidents_by_grade=figures.incidents_by_grade,
            follow_up_rate=figures.follow_up_rate,
            mttr_seconds=float(mttr[n]) if mttr.get(n) is not None else None,
        )
        for n, figures in enumerate(series)
    ]


# --- availability on the union of impact intervals ----------------------------------------------


def union_availability(
    session: Session, start: datetime, end: datetime, target: float, period_minutes: float
) -> list[SystemAvailability]:
    """Per system (and for all together): the minutes of the period inside at least one
    incident's impact interval, clipped to the period — an incident begun before it may still
    reach into it."""
    # The incidents of a team are thousands, not millions: every one begun before the end.
    downtime = downtime_seconds(
        session,
        impact_began() < end,
        start,
        clip_to_seconds=(end - start).total_seconds(),
    )
    overall = downtime.pop(ALL_SYSTEMS, 0.0)
    return [SystemAvailability(ALL_SYSTEMS, overall / 60, period_minutes, target)] + [
        SystemAvailability(system, seconds / 60, period_minutes, target)
        for system, seconds in sorted(downtime.items())
    ]


# --- alert noise --------------------------------------------------------------------------------


def noisy_rules(session: Session, start: datetime, end: datetime) -> list[RuleNoise]:
    return [
        RuleNoise(rule.rule, rule.alerts, Rate(rule.valid, rule.judged))
        for rule in tally.loudest_rules(session, start, end, TOP_RULES)
    ]


def after_hours_alerts(
    session: Session, period: Period, calendar: Calendar, settings: Settings
) -> int:
    """Alerts arriving after hours (`after_hours_start`–`after_hours_end` on the team's clock)
    or on a day that is not a working day of the team's calendar: counted in the period's
    after-hours spans (whole hours of the alert tallies), not by the local hour of each alert
    (a year is two million)."""
    start, end = calendar.period_window(period)
    # The period's first offset for all of it, as sqltime's local hours (no daylight saving).
    zone = timezone(calendar.local(start).utcoffset() or timedelta())
    spans = [
        (max(start, opens), min(end, closes))
        for opens, closes in after_hours_spans(period, calendar, settings, zone)
    ]
    return tally.arrived_in(session, spans)


def after_hours_spans(
    period: Period, calendar: Calendar, settings: Settings, zone: tzinfo
) -> list[tuple[datetime, datetime]]:
    """The period's after-hours [opens, closes) on the clock of `zone`, oldest first, touching
    spans merged: a weekend is one span from Friday's `after_hours_start` to Monday's
    `after_hours_end`."""
    begin, finish = settings.after_hours_start, settings.after_hours_end
    spans: list[tuple[datetime, datetime]] = []
    for n in range(period.days):
        day = period.first + timedelta(days=n)
        midnight = datetime.combine(day, time(), tzinfo=zone)
        next_midnight = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone)
        if not calendar.is_working_day(day):
            pieces = [(midnight, next_midnight)]
        elif begin > finish:  # overnight: until `finish`, and from `begin` on
            pieces = [
                (midnight, midnight.replace(hour=finish)),
                (midnight.replace(hour=begin), next_midnight),
            ]
        else:
            pieces = [(midnight.replace(hour=begin), midnight.replace(hour=finish))]
        for opens, closes in pieces:
            if opens >= closes:
                continue
            if spans and spans[-1][1] == opens:
                spans[-1] = (spans[-1][0], closes)
            else:
                spans.append((opens, closes))
    return spans


# --- action items -------------------------------------------------------------------------------


def action_item_figures(
    session: Session, start: datetime, end: datetime, period: Period, calendar: Calendar
) -> ActionItemFigures:
    closed = and_(
        col(ActionItem.status).in_(CLOSED_ACTION_STATUSES), col(ActionItem.closed_at) < end
    )
    open_at_end = and_(col(ActionItem.created_at) < end, ~closed)
    age_days = seconds_between(literal(end, type_=UTCDateTime), col(ActionItem.created_at)) / 86400
    buckets: list[Any] = []
    lower: int | None = None
    for upper, _ in AGE_BUCKETS:
        condition = [open_at_end]
        if lower is not None:
            condition.append(age_days > lower)
        if upper is not None:
            condition.append(age_days <= upper)
        buckets.append(count_if(and_(*condition)).label(f"b{len(buckets)}"))
        lower = upper
    row = session.exec(
        select(
            count_if(and_(col(ActionItem.created_at) >= start, col(ActionItem.created_at) < end)),
            count_if(and_(closed, col(ActionItem.closed_at) >= start)),
            count_if(and_(open_at_end, col(ActionItem.due_date) < period.last + timedelta(1))),
            count_if(open_at_end),
            *buckets,
        ).select_from(ActionItem)
    ).one()
    values = [int(value or 0) for value in row]
    return ActionItemFigures(
        opened=values[0],
        closed=values[1],
        overdue=values[2],
        open_at_end=values[3],
        age_buckets={label: values[4 + i] for i, (_, label) in enumerate(AGE_BUCKETS)},
    )


# --- rendering ----------------------------------------------------------------------------------

LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "heading": "稳定性报告 {label}（{first} 至 {last}）",
        "compared": "对比上期 {label}（{first} 至 {last}）",
        "incidents": "事故",
        "total": "事故总数：{value}（上期 {previous}）",
        "by_grade": "按等级：",
        "by_system": "按系统：",
        "by_team": "按责任团队：",
        "by_root_cause": "按根因分类（复盘）：",
        "by_detection": "按发现方式：",
        "ungraded": "无业务影响事件",
        "count": "{name}：{value}（上期 {previous}）",
        "major": "A/B级事故",
        "no_major": "本期无A/B级事故。",
        "availability": "可用性（影响区间取并集，重叠只计一次）",
        "availability_line": (
            "{system}：{value}（目标 {target}，停机 {minutes}，预算剩余 {left}；上期 {previous}）"
        ),
        "all_systems": "支付系统整体",
        "money": "资损",
        "money_line": "资损 {loss}，涉及金额 {involved}，追回 {recovered}，净资损 {net_loss}"
        "（上期资损 {previous}）",
        "follow_up": "稳定性跟进",
        "noise": "报警噪音",
        "alerts_total": "报警总数：{value}（上期 {previous}）",
        "after_hours": "非工作时间报警（{begin}:00–{end}:00 及非工作日）：{value}（{share}）",
        "rule_line": "{rule}：{count}次，有效率 {validity}",
        "no_alerts": "本期无报警。",
        "action_items": "改进项",
        "action_line": "新增 {opened}，关闭 {closed}，逾期 {overdue}，期末未关闭 {open}",
        "ages": "未关闭改进项账龄（天）：{buckets}",
        "unknown": "未知",
        "minutes": "{value}分钟",
        "detection_monitoring": "监控",
        "detection_alert": "报警",
        "detection_manual": "人工发现",
        "detection_user_report": "用户反馈",
        "detection_external": "外部通知",
    },
    "en": {
        "heading": "Stability report {label} ({first} to {last})",
        "compared": "Compared with {label} ({first} to {last})",
        "incidents": "Incidents",
        "total": "Incidents: {value} (previous {previous})",
        "by_grade": "By grade:",
        "by_system": "By system:",
        "by_team": "By team:",
        "by_root_cause": "By root-cause category (postmortem):",
        "by_detection": "By detection:",
        "ungraded": "Events without business impact",
        "count": "{name}: {value} (previous {previous})",
        "major": "Grade A/B incidents",
        "no_major": "No grade A/B incidents in this period.",
        "availability": "Availability (union of impact intervals: overlaps count once)",
        "availability_line": (
            "{system}: {value} (target {target}, down {minutes}, budget left {left};"
            " previous {previous})"
        ),
        "all_systems": "Payment system overall",
        "money": "Money lost",
        "money_line": "Lost {loss}, involved {involved}, recovered {recovered}, net loss"
        " {net_loss} (previous lost {previous})",
        "follow_up": "Follow-up",
        "noise": "Alert noise",
        "alerts_total": "Alerts: {value} (previous {previous})",
        "after_hours": "Alerts after hours ({begin}:00–{end}:00 and non-working days): {value}"
        " ({share})",
        "rule_line": "{rule}: {count} alerts, {validity} valid",
        "no_alerts": "No alerts in this period.",
        "action_items": "Action items",
        "action_line": (
            "Opened {opened}, closed {closed}, overdue {overdue}, open at the end {open}"
        ),
        "ages": "Age of the open action items (days): {buckets}",
        "unknown": "unknown",
        "minutes": "{value} min",
        "detection_monitoring": "monitoring",
        "detection_alert": "alert",
        "detection_manual": "found by people",
        "detection_user_report": "user reports",
        "detection_external": "outside notice",
    },
}


def _percent(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def _minutes(value: float, labels: dict[str, str]) -> str:
    return labels["minutes"].format(value=f"{value:.1f}".removesuffix(".0"))


def _yuan(amount: Decimal) -> str:
    return f"¥{amount:,.2f}"


def _as_is(text: str) -> str:
    return text


def _count_lines(
    current: dict[str, int], previous: dict[str, int], labels: dict[str, str], name: Callable
) -> tuple[str, ...]:
    keys = list(current) + [key for key in previous if key not in current]
    return tuple(
        labels["count"].format(
            name=name(key), value=current.get(key, 0), previous=previous.get(key, 0)
        )
        for key in keys
    )


def blocks(report: PeriodReport, user_text: Callable[[str], str] = _as_is) -> list[Block]:
    labels = LABELS[report.lang]
    weekly = WEEKLY_LABELS[report.lang]
    current, previous = report.current, report.previous
    now, before = current.metrics, previous.metrics

    def named(key: str) -> str:
        return labels["unknown"] if key == UNKNOWN else user_text(key)

    def category_name(key: str) -> str:
        return POSTMORTEM_LABELS[report.lang].get(f"category_{key}") or named(key)

    def detection_name(key: str) -> str:
        return labels.get(f"detection_{key}") or named(key)

    def grade_name(key: str) -> str:
        return labels["ungraded"] if key == "ungraded" else key

    result = [
        Block(
            "h1",
            labels["heading"].format(
                label=current.period.label,
                first=current.period.first.isoformat(),
                last=current.period.last.isoformat(),
            ),
        ),
        Block(
            "p",
            labels["compared"].format(
                label=previous.period.label,
                first=previous.period.first.isoformat(),
                last=previous.period.last.isoformat(),
            ),
        ),
        Block("h2", labels["incidents"]),
        Block("p", labels["total"].format(value=now.incidents, previous=before.incidents)),
    ]
    for key, name in (
        ("by_grade", grade_name),
        ("by_system", named),
        ("by_team", named),
        ("by_root_cause", category_name),
        ("by_detection", detection_name),
    ):
        lines = _count_lines(getattr(current, key), getattr(previous, key), labels, name)
        if lines:
            result += [Block("p", labels[key]), Block("ul", items=lines)]
    result.append(Block("h2", labels["major"]))
    if report.major:
        result.append(
            Block(
                "ol",
                items=tuple(_major_line(i, report, user_text) for i in report.major),
                notes=tuple(None for _ in report.major),
            )
        )
    else:
        result.append(Block("p", labels["no_major"]))
    before_availability = {row.system: row for row in previous.availability}
    result += [
        Block("h2", labels["availability"]),
        Block(
            "ul",
            items=tuple(
                labels["availability_line"].format(
                    system=labels["all_systems"]
                    if row.system == ALL_SYSTEMS
                    else named(row.system),
                    value=_percent(row.value, 3),
                    target=_percent(row.target, 3),
                    minutes=_minutes(row.downtime_minutes, labels),
                    left=_minutes(row.budget_left_minutes, labels),
                    previous=_percent(
                        before_availability[row.system].value
                        if row.system in before_availability
                        else 1.0,
                        3,
                    ),
                )
                for row in current.availability
            ),
        ),
        Block("h2", labels["money"]),
        Block("p", _money_line(now.money, before.money, labels)),
        Block("h2", labels["follow_up"]),
        Block(
            "ul",
            items=tuple(_rate_line(name, now, before, report) for name in _shown_rates(now, before))
            + tuple(
                _durations_line(name, getattr(now, name), weekly) for name in Metrics.DURATIONS
            ),
        ),
        Block("h2", labels["noise"]),
        Block("p", labels["alerts_total"].format(value=current.alerts, previous=previous.alerts)),
        Block(
            "p",
            labels["after_hours"].format(
                begin=report.after_hours[0],
                end=report.after_hours[1],
                value=current.after_hours_alerts,
                share=_percent(Rate(current.after_hours_alerts, current.alerts).value),
            ),
        ),
    ]
    if current.noisy_rules:
        result.append(
            Block(
                "ol",
                items=tuple(
                    labels["rule_line"].format(
                        rule=user_text(rule.rule),
                        count=rule.alerts,
                        validity=f"{_percent(rule.validity.value)}"
                        f" ({rule.validity.numerator}/{rule.validity.denominator})",
                    )
                    for rule in current.noisy_rules
                ),
                notes=tuple(None for _ in current.noisy_rules),
            )
        )
    else:
        result.append(Block("p", labels["no_alerts"]))
    items = current.action_items
    result += [
        Block("h2", labels["action_items"]),
        Block(
            "ul",
            items=(
                labels["action_line"].format(
                    opened=items.opened,
                    closed=items.closed,
                    overdue=items.overdue,
                    open=items.open_at_end,
                ),
                labels["ages"].format(
                    buckets=", ".join(f"{k}: {v}" for k, v in items.age_buckets.items())
                ),
            ),
        ),
    ]
    return result


def _major_line(
    incident: MajorIncident, report: PeriodReport, user_text: Callable[[str], str]
) -> str:
    local = report.calendar.local(incident.detected_at)
    system = f" [{user_text(incident.system)}]" if incident.system else ""
    title = user_text(" ".join(incident.title.split()))
    return f"{local:%Y-%m-%d %H:%M} {incident.grade}{system} {title}"


def _money_line(money: Money, previous: Money, labels: dict[str, str]) -> str:
    return labels["money_line"].format(
        loss=_yuan(money.loss),
        involved=_yuan(money.involved),
        recovered=_yuan(money.recovered),
        net_loss=_yuan(money.net_loss),
        previous=_yuan(previous.loss),
    )


def _shown_rates(now: Metrics, before: Metrics) -> tuple[str, ...]:
    return Metrics.RATES + tuple(
        name
        for name in ("one_five_ten_rate", "repeat_incident_rate")
        if getattr(now, name).denominator or getattr(before, name).denominator
    )


def _rate_line(name: str, now: Metrics, before: Metrics, report: PeriodReport) -> str:
    weekly = WEEKLY_LABELS[report.lang]
    rate, previous = getattr(now, name), getattr(before, name)
    label = weekly[name].format(minutes=report.follow_up_minutes)
    if report.lang == "zh":
        return (
            f"{label}：{_percent(rate.value)}（{rate.numerator}/{rate.denominator}，"
            f"上期 {_percent(previous.value)}）"
        )
    return (
        f"{label}: {_percent(rate.value)} ({rate.numerator}/{rate.denominator},"
        f" previous {_percent(previous.value)})"
    )


def _durations_line(name: str, durations: Durations, weekly: dict[str, str]) -> str:
    def shown(seconds: float | None) -> str:
        if seconds is None:
            return "—"
        return weekly["minutes"].format(value=f"{seconds / 60:.1f}".removesuffix(".0"))

    return weekly["durations"].format(
        name=weekly[name],
        mean=shown(durations.mean),
        median=shown(durations.median),
        p90=shown(durations.p90),
        count=durations.count,
    )


def to_markdown(report: PeriodReport, user_text: Callable[[str], str] = _as_is) -> str:
    return blocks_to_markdown(blocks(report, user_text))


def _period_dict(period: Period, start: datetime, end: datetime) -> dict[str, Any]:
    return {
        "label": period.label,
        "kind": period.kind,
        "first": period.first.isoformat(),
        "last": period.last.isoformat(),
        "from": start.isoformat(),
        "to": end.isoformat(),
    }


def figures_dict(figures: PeriodFigures) -> dict[str, Any]:
    metrics = figures.metrics
    return {
        "period": _period_dict(figures.period, figures.start, figures.end),
        "incidents": metrics.incidents,
        "incidents_by_grade": figures.by_grade,
        "incidents_by_system": figures.by_system,
        "incidents_by_team": figures.by_team,
        "incidents_by_root_cause": figures.by_root_cause,
        "incidents_by_detection": figures.by_detection,
        "availability": [
            {
                "system": row.system,
                "downtime_minutes": row.downtime_minutes,
                "period_minutes": row.period_minutes,
                "value": row.value,
                "target": row.target,
                "budget_minutes": row.budget_minutes,
                "budget_left_minutes": row.budget_left_minutes,
            }
            for row in figures.availability
        ],
        "money": money_dict(metrics.money, None),
        "rates": {
            name: rate_dict(getattr(metrics, name), None)
            for name in (*Metrics.RATES, "one_five_ten_rate", "repeat_incident_rate")
        },
        "durations": {name: durations_dict(getattr(metrics, name)) for name in Metrics.DURATIONS},
        "alerts": {
            "total": figures.alerts,
            "after_hours": figures.after_hours_alerts,
            "top_rules": [
                {
                    "rule": rule.rule,
                    "alerts": rule.alerts,
                    "validity": rate_dict(rule.validity, None),
                }
                for rule in figures.noisy_rules
            ],
        },
        "action_items": {
            "opened": figures.action_items.opened,
            "closed": figures.action_items.closed,
            "overdue": figures.action_items.overdue,
            "open_at_end": figures.action_items.open_at_end,
            "age_days": figures.action_items.age_buckets,
        },
    }


def to_json(report: PeriodReport) -> dict[str, Any]:
    return {
        "lang": report.lang,
        "current": figures_dict(report.current),
        "previous": figures_dict(report.previous),
        "major_incidents": [
            {
                "id": incident.id,
                "detected_at": report.calendar.local(incident.detected_at).isoformat(),
                "grade": incident.grade,
                "system": incident.system,
                "title": incident.title,
            }
            for incident in report.major
        ],
        "markdown": to_markdown(report),
    }


# --- charts, each with the table of its numbers ---------------------------------------------------

CHART_LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "grades": "每周事故数（按等级）",
        "availability": "各系统停机时间与可用性目标（虚线为停机预算）",
        "mttr": "MTTR趋势（每周均值，分钟）",
        "follow_up": "报警{minutes}分钟跟进率趋势",
        "rules": "报警最多的规则",
        "week": "周",
        "system": "系统",
        "rule": "规则",
        "value": "可用性",
        "target": "目标",
        "downtime": "停机（分钟）",
        "budget": "预算（分钟）",
        "alerts": "报警数",
        "validity": "有效率",
        "mttr_minutes": "MTTR（分钟）",
        "rate": "跟进率",
        "all_systems": "整体",
        "figure": "{value}（目标 {target}）",
    },
    "en": {
        "grades": "Incidents per week, by grade",
        "availability": "Downtime per system against its target (dashed: downtime budget)",
        "mttr": "MTTR trend (weekly mean, minutes)",
        "follow_up": "Alerts followed up within {minutes} min, per week",
        "rules": "Noisiest alert rules",
        "week": "Week",
        "system": "System",
        "rule": "Rule",
        "value": "Availability",
        "target": "Target",
        "downtime": "Down (min)",
        "budget": "Budget (min)",
        "alerts": "Alerts",
        "validity": "Valid",
        "mttr_minutes": "MTTR (min)",
        "rate": "Followed up",
        "all_systems": "Overall",
        "figure": "{value} (target {target})",
    },
}


@dataclass(frozen=True)
class ChartView:
    id: str
    title: str
    svg: str  # self-contained SVG, its text escaped
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def chart_views(report: PeriodReport) -> list[ChartView]:
    """The report's five charts, each with the numbers it draws as a table."""
    labels = CHART_LABELS[report.lang]
    weeks = report.weeks
    names = [f"W{trend.week.number:02d}" for trend in weeks]
    grades = (*GRADE_ORDER,)
    grade_chart = charts.grade_chart(
        labels["grades"], names, [trend.incidents_by_grade for trend in weeks]
    )
    follow_title = labels["follow_up"].format(minutes=report.follow_up_minutes)
    rate_chart = charts.rate_chart(
        follow_title,
        names,
        [("follow-up", labels["rate"], [trend.follow_up_rate for trend in weeks])],
    )
    mttr_chart = charts.value_chart(
        labels["mttr"],
        names,
        [
            (
                "mttr",
                "MTTR",
                [None if t.mttr_seconds is None else t.mttr_seconds / 60 for t in weeks],
            )
        ],
        "",
    )
    systems = report.current.availability

    def system_name(system: str) -> str:
        return labels["all_systems"] if system == ALL_SYSTEMS else system

    availability_chart = charts.hbar_chart(
        labels["availability"],
        [
            (
                system_name(row.system),
                row.downtime_minutes,
                row.budget_minutes,
                labels["figure"].format(
                    value=_percent(row.value, 3), target=_percent(row.target, 3)
                ),
            )
            for row in systems
        ],
    )
    rules = report.current.noisy_rules
    rules_chart = charts.hbar_chart(
        labels["rules"],
        [(rule.rule, float(rule.alerts), None, str(rule.alerts)) for rule in rules],
    )
    week_rows = [f"{trend.week.label} ({trend.week.monday.isoformat()})" for trend in weeks]
    return [
        ChartView(
            "chart-period-grades",
            grade_chart.title,
            charts.chart_svg(grade_chart, "chart-period-grades"),
            (labels["week"], *grades),
            tuple(
                (week, *(str(trend.incidents_by_grade.get(g, 0)) for g in grades))
                for week, trend in zip(week_rows, weeks, strict=True)
            ),
        ),
        ChartView(
            "chart-period-availability",
            availability_chart.title,
            charts.hbar_svg(availability_chart, "chart-period-availability"),
            (
                labels["system"],
                labels["value"],
                labels["target"],
                labels["downtime"],
                labels["budget"],
            ),
            tuple(
                (
                    system_name(row.system),
                    _percent(row.value, 3),
                    _percent(row.target, 3),
                    f"{row.downtime_minutes:.1f}",
                    f"{row.budget_minutes:.1f}",
                )
                for row in systems
            ),
        ),
        ChartView(
            "chart-period-mttr",
            mttr_chart.title,
            charts.chart_svg(mttr_chart, "chart-period-mttr"),
            (labels["week"], labels["mttr_minutes"]),
            tuple(
                (week, "—" if t.mttr_seconds is None else f"{t.mttr_seconds / 60:.1f}")
                for week, t in zip(week_rows, weeks, strict=True)
            ),
        ),
        ChartView(
            "chart-period-follow-up",
            follow_title,
            charts.chart_svg(rate_chart, "chart-period-follow-up"),
            (labels["week"], labels["rate"]),
            tuple(
                (
                    week,
                    f"{_percent(t.follow_up_rate.value)}"
                    f" ({t.follow_up_rate.numerator}/{t.follow_up_rate.denominator})",
                )
                for week, t in zip(week_rows, weeks, strict=True)
            ),
        ),
        ChartView(
            "chart-period-rules",
            rules_chart.title,
            charts.hbar_svg(rules_chart, "chart-period-rules"),
            (labels["rule"], labels["alerts"], labels["validity"]),
            tuple(
                (
                    rule.rule,
                    str(rule.alerts),
                    f"{_percent(rule.validity.value)}"
                    f" ({rule.validity.numerator}/{rule.validity.denominator})",
                )
                for rule in rules
            ),
        ),
    ]


GRADE_ORDER = ("A", "B", "C", "D")


def to_html_body(report: PeriodReport) -> Markup:
    """The report's content (blocks, then each chart with its table), for a page to embed; every
    piece of user text is escaped (the charts' SVG escapes its own)."""
    return Markup(
        DOCUMENT_TEMPLATES.get_template("period_report_body.html").render(
            blocks=blocks(report),
            charts=[(view, Markup(view.svg)) for view in chart_views(report)],
        )
    )


def to_html(report: PeriodReport) -> str:
    """A standalone page of the report, charts included."""
    return DOCUMENT_TEMPLATES.get_template("period_report.html").render(
        lang=report.lang, title=blocks(report)[0].text, body=to_html_body(report)
    )
