"""The follow-up and stability metrics of DESIGN.md, each computed in SQL over a whole window.

Rates carry their numerator and denominator; durations their count, mean, median and P90
(one long incident swamps a mean). Percentiles are nearest-rank: PostgreSQL's percentile_disc
in the same aggregate as the count and mean, on SQLite one row_number() sort of the values.
The alert figures read the alert tallies (incidents/alerts/tally.py), which count MTTA's
percentiles in whole seconds, rounded up.
"""

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Float,
    and_,
    case,
    func,
    or_,
    type_coerce,
)
from sqlalchemy.dialects import postgresql
from sqlmodel import Session, col, select

from incidents.alerts import tally
from incidents.availability import ALL_SYSTEMS, downtime_seconds
from incidents.calendar import Calendar
from incidents.db import computed_once, count_if, windows_table
from incidents.grading import Targets
from incidents.milestones import ONE_FIVE_TEN, ONE_FIVE_TEN_MILESTONES, STAGES, Stage
from incidents.models import (
    CLOSED_ACTION_STATUSES,
    ActionItem,
    Detection,
    Grade,
    Incident,
    Postmortem,
    PostmortemStatus,
)
from incidents.settings import Settings
from incidents.sqltime import local_date, seconds_between
from incidents.weeks import Week

MONITORING_DETECTIONS = (Detection.monitoring, Detection.alert)


@dataclass(frozen=True)
class Rate:
    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None


@dataclass(frozen=True)
class Durations:
    """Seconds; None where there is nothing to measure."""

    count: int
    mean: float | None
    median: float | None
    p90: float | None


@dataclass(frozen=True)
class Availability:
    system: str  # ALL_SYSTEMS for the payment system as a whole
    impact_minutes: float
    period_minutes: float

    @property
    def value(self) -> float:
        return max(0.0, 1 - self.impact_minutes / self.period_minutes)


@dataclass(frozen=True)
class Money:
    """Yuan summed over a window's incidents: 涉及金额, 资损, 追回, and net loss (each incident's
    loss less its recovery, never below 0, so one recovery cannot hide another's loss)."""

    involved: Decimal
    loss: Decimal
    recovered: Decimal
    net_loss: Decimal


@dataclass(frozen=True)
class Window:
    """[start, end) in UTC, and which incidents count in it."""

    start: datetime
    end: datetime
    week: Week | None = None  # a report week: membership follows report_week, as the report does

    @classmethod
    def of_week(cls, week: Week, calendar: Calendar) -> "Window":
        start, end = calendar.window(week)
        return cls(start, end, week)

    @classmethod
    def year_to_date(cls, week: Week, calendar: Calendar) -> "Window":
        """From 1 January of the report date's year to the end of the week."""
        new_year = calendar.day_start(date(week.report_date.year, 1, 1))
        return cls(new_year, calendar.window(week)[1])

    def previous(self, calendar: Calendar) -> "Window":
        if self.week is not None:
            return Window.of_week(self.week.shifted(-1), calendar)
        return Window(self.start - (self.end - self.start), self.start)

    def incidents(self, calendar: Calendar) -> ColumnElement[bool]:
        if self.week is not None:
            return Incident.in_week(self.week, calendar)
        return and_(col(Incident.detected_at) >= self.start, col(Incident.detected_at) < self.end)


@dataclass
class Metrics:
    start: datetime
    end: datetime
    follow_up_rate: Rate
    closed_loop_rate: Rate
    validity_rate: Rate
    monitoring_detection_rate: Rate
    action_items_on_time_rate: Rate
    postmortem_completion_rate: Rate
    mttd: Durations
    mtta: Durations
    mttr: Durations
    # 1-5-10 达标率: met / incidents whose occurred, detected, located and recovered are known.
    # Not in RATES: the weekly section lists it only in weeks that have such incidents.
    one_five_ten_rate: Rate
    # 重复故障率: incidents repeating a system and 复盘 root-cause category of the 90 days before
    # / incidents whose system and category are known. Not in RATES either, for the same reason.
    repeat_incident_rate: Rate
    stage_durations: dict[str, Durations]  # per milestones.STAGES name: detect … recover
    incidents: int
    incidents_by_grade: dict[str, int]
    money: Money
    availability: list[Availability] = field(default_factory=list)
    # Alerts a silence held (a maintenance window): counted apart, in none of the alert rates.
    silenced_alerts: int = 0

    RATES = (
        "follow_up_rate",
        "closed_loop_rate",
        "validity_rate",
        "monitoring_detection_rate",
        "action_items_on_time_rate",
        "postmortem_completion_rate",
    )
    DURATIONS = ("mttd", "mtta", "mttr")


def _rate(session: Session, numerator: Any, denominator: Any, model: Any, *where: Any) -> Rate:
    row = session.exec(select(numerator, denominator).select_from(model).where(*where)).one()
    return Rate(int(row[0] or 0), int(row[1] or 0))


PERCENTILE_SHARES = (0.5, 0.9)  # median and P90


def _duration_aggregates(session: Session, seconds: Any) -> list[Any]:
    """Count and mean of the non-NULL `seconds` as columns of an aggregate over a window, and
    on PostgreSQL both nearest-rank percentiles too: `percentile_disc` is the value at rank
    ceil(p × n), the same as `_ranked`'s, in the same pass over the window."""
    columns: list[Any] = [func.count(seconds), func.avg(seconds)]
    if session.get_bind().dialect.name == "postgresql":
        ranked = func.percentile_disc(postgresql.array(PERCENTILE_SHARES)).within_group(seconds)
        columns.append(type_coerce(ranked, postgresql.ARRAY(Float)))
    return columns


def _durations_of(
    session: Session,
    values: Any,
    count: int,
    mean: Any,
    percentiles: list[Any] | None = None,
) -> Durations:
    """A Durations from `_duration_aggregates`' columns; SQLite's percentiles sorted apart
    from `values`, a query of the same seconds as its one column `value`."""
    if not count:
        return Durations(0, None, None, None)
    median, p90 = percentiles or _ranked(session, values, count)
    return Durations(int(count), float(mean), float(median), float(p90))


def _ranked(session: Session, values: Any, count: int) -> list[Any]:
    # Nearest rank: the value at position ceil(p × n) of the sorted values. One numbered sort
    # yields both ranks, of only the values (sorting them beside other columns computed alike
    # takes twice as long); a year's stage is 100,000 of them on the bench.
    ranks = [max(1, math.ceil(share * count)) for share in PERCENTILE_SHARES]
    value = computed_once(session, values).c.value
    numbered = (
        select(value.label("value"), func.row_number().over(order_by=value).label("rank"))
        .where(value.is_not(None))
        .subquery()
    )
    by_rank = dict(
        session.exec(
            select(numbered.c.rank, numbered.c.value).where(numbered.c.rank.in_(set(ranks)))
        ).all()
    )
    return [by_rank[rank] for rank in ranks]


# The stages MTTD and MTTR measure.
HEADLINE_STAGES = tuple(stage for stage in STAGES if stage.name in ("detect", "recover"))


def _stage_durations(
    session: Session, incident_scope: ColumnElement[bool], stages: tuple[Stage, ...]
) -> dict[str, Durations]:
    """The `stages` durations of the window's incidents from one aggregate over them (on
    SQLite, one sort more per stage for its percentiles)."""
    measured = computed_once(
        session,
        select(*(_stage_seconds(stage).label(stage.name) for stage in stages)).where(
            incident_scope
        ),
    )
    per_stage = [_duration_aggregates(session, measured.c[stage.name]) for stage in stages]
    row = session.exec(select(*(column for columns in per_stage for column in columns))).one()
    width = len(per_stage[0])
    return {
        stage.name: _durations_of(
            session,
            select(_stage_seconds(stage).label("value")).where(incident_scope),
            *row[index * width : (index + 1) * width],
        )
        for index, stage in enumerate(stages)
    }


FEN = Decimal("0.01")


def _money(session: Session, incident_scope: ColumnElement[bool]) -> Money:
    loss = col(Incident.loss_cny)
    unrecovered = loss - func.coalesce(col(Incident.recovered_cny), 0)
    net_loss = case((unrecovered > 0, unrecovered), else_=0)
    amounts = (col(Incident.amount_involved_cny), loss, col(Incident.recovered_cny), net_loss)
    sums = (func.coalesce(func.sum(amount), 0) for amount in amounts)
    row = session.exec(select(*sums).where(incident_scope)).one()
    # SQLite keeps Numeric as floating point: a sum is exact again once rounded to the fen.
    return Money(*(Decimal(str(value)).quantize(FEN) for value in row))


def _stage_seconds(stage: Stage) -> Any:
    end, start = (col(getattr(Incident, milestone.field)) for milestone in (stage.end, stage.start))
    return seconds_between(end, start)


def _one_five_ten_rate(
    session: Session, incident_scope: ColumnElement[bool], targets: Targets
) -> Rate:
    """`milestones.one_five_ten` counted in SQL: met among the incidents with every time known."""
    known = and_(
        *(
            col(getattr(Incident, milestone.field)).is_not(None)
            for milestone in ONE_FIVE_TEN_MILESTONES
        )
    )
    met = and_(
        known,
        *(
            _stage_seconds(step.stage) <= step.limit(targets).total_seconds()
            for step in ONE_FIVE_TEN
        ),
    )
    return _rate(session, count_if(met), count_if(known), Incident, incident_scope)


def one_five_ten_missed(targets: Targets) -> ColumnElement[bool]:
    """`milestones.one_five_ten` is missed:* — some step with both its times known took longer
    than its target (a step with a time missing is NULL here, so never a miss)."""
    return or_(
        *(_stage_seconds(step.stage) > step.limit(targets).total_seconds() for step in ONE_FIVE_TEN)
    )


# DESIGN.md's 重复故障率: a system and root-cause category that occurred this long before.
REPEAT_LOOKBACK = timedelta(days=90)


def _repeat_incident_rate(session: Session, incident_scope: ColumnElement[bool]) -> Rate:
    """Of the window's incidents whose system and 复盘 root-cause category are known, those
    whose system had an incident of that category in the 90 days before their detection.

    An incident without a system, a 复盘 or its category is left out of both counts: whether it
    repeats is unknown, and counting it as "no repeat" would make a week look better the fewer
    复盘 were written. The figure of a week can so still change once its 复盘 are written.
    """
    category = col(Postmortem.root_cause_category)
    detected_at = col(Incident.detected_at)
    known = (col(Incident.system).is_not(None), category.is_not(None))
    first, last = session.exec(
        select(func.min(detected_at), func.max(detected_at))
        .join(Postmortem, col(Postmortem.incident_id) == col(Incident.id))
        .where(*known, incident_scope)
    ).one()
    if first is None:
        return Rate(0, 0)
    # Each incident's previous one of its system and category, by detection: a repeat when it
    # is at most 90 days earlier. Only the incidents from 90 days before the window's first
    # are numbered, and all of them: the previous one of each lies in between.
    numbered = (
        select(
            case((incident_scope, 1), else_=0).label("in_window"),
            detected_at.label("detected_at"),
            func.lag(detected_at)
            .over(
                partition_by=(col(Incident.system), category),
                order_by=(detected_at, col(Incident.id)),
            )
            .label("previous"),
        )
        .join(Postmortem, col(Postmortem.incident_id) == col(Incident.id))
        .where(
            *known,
            detected_at >= first - REPEAT_LOOKBACK,
            detected_at <= last,
        )
        .subquery()
    )
    repeats = and_(
        numbered.c.previous.is_not(None),
        seconds_between(numbered.c.detected_at, numbered.c.previous)
        <= REPEAT_LOOKBACK.total_seconds(),
    )
    in_window = numbered.c.in_window == 1
    row = session.exec(
        select(count_if(and_(in_window, repeats)), count_if(in_window)).select_from(numbered)
    ).one()
    return Rate(int(row[0]), int(row[1]))


def availability(
    session: Session, incident_scope: ColumnElement[bool], start: datetime, end: datetime
) -> list[Availability]:
    """Per system and for all systems together: 1 − downtime / the window, the downtime on the
    union of the impact intervals of the incidents in scope (an overlap counts once)."""
    period_minutes = (end - start).total_seconds() / 60
    downtime = downtime_seconds(session, incident_scope, start)
    overall = downtime.pop(ALL_SYSTEMS, 0.0)
    return [Availability(ALL_SYSTEMS, overall / 60, period_minutes)] + [
        Availability(system, seconds / 60, period_minutes)
        for system, seconds in sorted(downtime.items())
    ]


def compute(
    session: Session,
    window: Window,
    settings: Settings,
    *,
    targets: Targets,
    with_availability: bool = True,
    all_stages: bool = True,
) -> Metrics:
    """Every metric of the window; `targets` are the grading policy's 1-5-10 targets. Without
    `with_availability`, `availability` is left empty: a period review measures its own.
    Without `all_stages`, `stage_durations` holds only the stages MTTD and MTTR are (detect
    and recover), all a period review shows: each stage's percentiles cost SQLite a sort of
    the window's incidents."""
    calendar = settings.calendar
    incident_scope = window.incidents(calendar)
    offset = calendar.local(window.start).utcoffset() or timedelta()
    first_day = calendar.local_date(window.start)
    last_day = calendar.local_date(window.end - timedelta(microseconds=1))

    stages = _stage_durations(session, incident_scope, STAGES if all_stages else HEADLINE_STAGES)
    grades = dict(
        session.exec(
            select(col(Incident.grade), func.count())
            .where(incident_scope)
            .group_by(col(Incident.grade))
        ).all()
    )
    alerts = _alert_figures(session, window, settings.follow_up_minutes)
    return Metrics(
        start=window.start,
        end=window.end,
        follow_up_rate=alerts.follow_up_rate,
        closed_loop_rate=alerts.closed_loop_rate,
        validity_rate=alerts.validity_rate,
        monitoring_detection_rate=_rate(
            session,
            count_if(col(Incident.detection).in_(MONITORING_DETECTIONS)),
            func.count(),
            Incident,
            incident_scope,
        ),
        action_items_on_time_rate=_action_items_on_time(session, first_day, last_day, offset),
        postmortem_completion_rate=_postmortems_done(session, incident_scope),
        # MTTD and MTTR are the detect and recover stages (detected − occurred, recovered −
        # detected): measured once.
        mttd=stages["detect"],
        mtta=alerts.mtta,
        mttr=stages["recover"],
        one_five_ten_rate=_one_five_ten_rate(session, incident_scope, targets),
        repeat_incident_rate=_repeat_incident_rate(session, incident_scope),
        stage_durations=stages,
        incidents=sum(grades.values()),
        incidents_by_grade={grade: grades.get(Grade(grade), 0) for grade in GRADE_LETTERS}
        | {"ungraded": grades.get(None, 0)},
        money=_money(session, incident_scope),
        availability=availability(session, incident_scope, window.start, window.end)
        if with_availability
        else [],
        silenced_alerts=alerts.silenced,
    )


@dataclass(frozen=True)
class _AlertFigures:
    follow_up_rate: Rate
    closed_loop_rate: Rate
    validity_rate: Rate
    mtta: Durations
    silenced: int


def _alert_figures(session: Session, window: Window, follow_up_minutes: int) -> _AlertFigures:
    """The window's alert rates and MTTA from the alert tallies (incidents/alerts/tally.py).
    A silenced alert paged nobody on purpose: nobody was meant to follow it up, so it is in
    none of them. Followed up in time: first followed up at most `follow_up_minutes` after
    arrival. MTTA's percentiles are whole seconds, rounded up."""
    (counts,) = tally.counts(session, [(window.start, window.end)], follow_up_minutes)
    mtta = Durations(0, None, None, None)
    ranked = tally.follow_up_percentiles(session, window.start, window.end, PERCENTILE_SHARES)
    if counts.followed and ranked:
        mean = counts.follow_up_seconds / counts.followed
        mtta = Durations(counts.followed, mean, float(ranked[0]), float(ranked[1]))
    return _AlertFigures(
        follow_up_rate=Rate(counts.in_time, counts.alerts),
        closed_loop_rate=Rate(counts.concluded, counts.alerts),
        validity_rate=Rate(counts.valid, counts.judged),
        mtta=mtta,
        silenced=counts.silenced,
    )


def _action_items_on_time(
    session: Session, first_day: date, last_day: date, offset: timedelta
) -> Rate:
    """改进项按期闭环率: of the items due in the window, those closed on or before their due date
    (local): verified by their verifier, or granted not doing. Work the owner marked done but
    nobody verified yet is not closed (incidents/action_items.py)."""
    closed_on = local_date(col(ActionItem.closed_at), int(offset.total_seconds()))
    on_time = and_(
        col(ActionItem.status).in_(CLOSED_ACTION_STATUSES),
        closed_on <= col(ActionItem.due_date),
    )
    return _rate(
        session,
        count_if(on_time),
        func.count(),
        ActionItem,
        col(ActionItem.due_date) >= first_day,
        col(ActionItem.due_date) <= last_day,
    )


def _postmortems_done(session: Session, incident_scope: ColumnElement[bool]) -> Rate:
    published = col(Postmortem.status) == PostmortemStatus.published
    row = session.exec(
        select(count_if(published), func.count())
        .select_from(Incident)
        .outerjoin(Postmortem, col(Postmortem.incident_id) == col(Incident.id))
        .where(incident_scope, col(Incident.grade).is_not(None))
    ).one()
    return Rate(int(row[0]), int(row[1]))


# --- the twelve-week series of the week page's charts -----------------------------------------
# compute() answers every metric of one window in about seventeen queries; the charts need three
# figures for each of twelve weeks, and twelve computations cost the page its 200 ms budget on
# PostgreSQL. These two grouped queries count the same things by the same definitions, and
# tests hold them equal to compute() week by week.

GRADE_LETTERS = ("A", "B", "C", "D")


@dataclass(frozen=True)
class WeekFigures:
    week: Week
    incidents_by_grade: dict[str, int]
    follow_up_rate: Rate
    closed_loop_rate: Rate


def weekly_series(session: Session, weeks: list[Week], settings: Settings) -> list[WeekFigures]:
    """The figures of each of `weeks` (consecutive, oldest first)."""
    windows = [Window.of_week(week, settings.calendar) for week in weeks]
    grades = _grades_by_week(session, weeks, windows)
    alerts = _alert_rates_by_week(session, windows, settings.follow_up_minutes)
    return [
        WeekFigures(
            week=week,
            incidents_by_grade={g: grades.get((index, g), 0) for g in GRADE_LETTERS}
            | {"ungraded": grades.get((index, None), 0)},
            follow_up_rate=Rate(*alerts.get(index, (0, 0, 0))[::2]),
            closed_loop_rate=Rate(*alerts.get(index, (0, 0, 0))[1:]),
        )
        for index, week in enumerate(weeks)
    ]


def _grades_by_week(
    session: Session, weeks: list[Week], windows: list[Window]
) -> dict[tuple[int, str | None], int]:
    """An incident is in exactly one week (Incident.in_week): the one its report_week names,
    else its detection's. Counted as two grouped queries, each a range of an index."""
    report_week, detected = col(Incident.report_week), col(Incident.detected_at)
    counts: dict[tuple[int, str | None], int] = {}
    filed = session.exec(
        select(report_week, col(Incident.grade), func.count())
        .where(report_week.between(weeks[0].monday, weeks[-1].sunday))
        .group_by(report_week, col(Incident.grade))
    ).all()
    for day, grade, count in filed:
        key = ((cast(date, day) - weeks[0].monday).days // 7, grade)
        counts[key] = counts.get(key, 0) + int(count)
    table = windows_table([(window.start, window.end) for window in windows])
    detected_in = session.exec(
        select(table.c.index, col(Incident.grade), func.count())
        .select_from(table)
        .join(Incident, and_(detected >= table.c.opens, detected < table.c.closes))
        .where(report_week.is_(None))
        .group_by(table.c.index, col(Incident.grade))
    ).all()
    for index, grade, count in detected_in:
        key = (int(index), grade)
        counts[key] = counts.get(key, 0) + int(count)
    return counts


def _alert_rates_by_week(
    session: Session, windows: list[Window], follow_up_minutes: int
) -> dict[int, tuple[int, int, int]]:
    """Per week index: (followed up in time, concluded, arrived), silenced alerts left out."""
    counts = tally.counts(
        session, [(window.start, window.end) for window in windows], follow_up_minutes
    )
    return {index: (week.in_time, week.concluded, week.alerts) for index, week in enumerate(counts)}


def rate_dict(rate: Rate, previous: Rate | None) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "numerator": rate.numerator,
        "denominator": rate.denominator,
        "value": rate.value,
    }
    if previous is not None:
        shown["previous"] = rate_dict(previous, None)
    return shown


def durations_dict(durations: Durations) -> dict[str, Any]:
    return {
        "count": durations.count,
        "mean_seconds": durations.mean,
        "median_seconds": durations.median,
        "p90_seconds": durations.p90,
    }


def availability_dict(rows: list[Availability]) -> list[dict[str, Any]]:
    return [
        {
            "system": row.system,
            "impact_minutes": row.impact_minutes,
            "period_minutes": row.period_minutes,
            "value": row.value,
        }
        for row in rows
    ]


def money_dict(money: Money, previous: Money | None) -> dict[str, Any]:
    """Yuan as text with both fen ("12345.00"), as the incidents API answers amounts: exact."""
    shown: dict[str, Any] = {
        "involved_cny": f"{money.involved:.2f}",
        "loss_cny": f"{money.loss:.2f}",
        "recovered_cny": f"{money.recovered:.2f}",
        "net_loss_cny": f"{money.net_loss:.2f}",
    }
    if previous is not None:
        shown["previous"] = money_dict(previous, None)
    return shown


def as_dict(metrics: Metrics, previous: Metrics | None = None) -> dict[str, Any]:
    """Every figure with its parts, and each rate beside the previous window's."""
    return {
        "from": metrics.start.isoformat(),
        "to": metrics.end.isoformat(),
        "rates": {
            name: rate_dict(getattr(metrics, name), getattr(previous, name) if previous else None)
            for name in (*Metrics.RATES, "one_five_ten_rate", "repeat_incident_rate")
        },
        "durations": {name: durations_dict(getattr(metrics, name)) for name in Metrics.DURATIONS},
        "stage_durations": {
            name: durations_dict(durations) for name, durations in metrics.stage_durations.items()
        },
        "incidents": metrics.incidents,
        "incidents_by_grade": metrics.incidents_by_grade,
        "money": money_dict(metrics.money, previous.money if previous else None),
        "availability": availability_dict(metrics.availability),
        "silenced_alerts": metrics.silenced_alerts,
    }
