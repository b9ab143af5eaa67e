"""Downtime on the union of impact intervals: two incidents hurting one system at once count
their overlap once, for the system and for all systems together.

An incident's interval starts at its occurrence (else its detection) and lasts its stated
impact_minutes, else until its recovery. Intervals are measured in seconds from an origin (the
window's start) in SQL, then merged by gaps and islands, so no incident row leaves the database.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, case, cast, func, literal, or_
from sqlmodel import Session, col, select

from incidents.db import UTCDateTime, computed_once
from incidents.models import Incident
from incidents.sqltime import seconds_between

ALL_SYSTEMS = "*"  # the payment system as a whole
UNKNOWN = "-"  # incidents without a system


def impact_began() -> Any:
    return func.coalesce(col(Incident.occurred_at), col(Incident.detected_at))


def downtime_seconds(
    session: Session,
    scope: ColumnElement[bool],
    origin: datetime,
    *,
    clip_to_seconds: float | None = None,
) -> dict[str, float]:
    """Seconds of downtime per system and under ALL_SYSTEMS, of the business-impacting incidents
    in `scope`. With `clip_to_seconds`, only [origin, origin + clip) counts (a period review);
    without, each interval counts whole wherever it lies (a week's report counts the incidents
    reported in it, some of which happened the week before)."""
    began = impact_began()
    offset = seconds_between(began, literal(origin, type_=UTCDateTime))
    length = func.coalesce(
        col(Incident.impact_minutes) * 60, seconds_between(col(Incident.recovered_at), began), 0
    )
    intervals = computed_once(
        session,
        select(
            col(Incident.system).label("system"),
            offset.label("s"),
            (offset + length).label("e"),
        ).where(scope, col(Incident.business_impact).is_(True)),
    )
    if clip_to_seconds is not None:
        intervals = computed_once(
            session,
            select(
                intervals.c.system,
                case((intervals.c.s < 0, 0.0), else_=intervals.c.s).label("s"),
                case((intervals.c.e > clip_to_seconds, clip_to_seconds), else_=intervals.c.e).label(
                    "e"
                ),
            ).where(intervals.c.e > 0, intervals.c.s < clip_to_seconds),
        )
    overall = _union_seconds(session, intervals, by_system=False)
    return {**_union_seconds(session, intervals, by_system=True), **overall}


def _union_seconds(session: Session, intervals: Any, *, by_system: bool) -> dict[str, float]:
    """Gaps and islands: an interval starting after every earlier one (by start) ended opens a
    new island; each island spans from its first start to its latest end."""
    group = (
        func.coalesce(intervals.c.system, UNKNOWN)
        if by_system
        else cast(literal(ALL_SYSTEMS), String)
    )
    ordered = (intervals.c.s, intervals.c.e)
    reached = (
        select(
            group.label("grp"),
            intervals.c.s,
            intervals.c.e,
            func.max(intervals.c.e)
            .over(partition_by=group, order_by=ordered, rows=(None, -1))
            .label("reached"),
        )
        # An impact of unknown length still names its system, with no downtime.
        .where(intervals.c.e >= intervals.c.s)
        .subquery()
    )
    opens = case((or_(reached.c.reached.is_(None), reached.c.s > reached.c.reached), 1), else_=0)
    islands = select(
        reached.c.grp,
        reached.c.s,
        reached.c.e,
        func.sum(opens)
        .over(partition_by=reached.c.grp, order_by=(reached.c.s, reached.c.e), rows=(None, 0))
        .label("island"),
    ).subquery()
    spans = (
        select(
            islands.c.grp,
            (func.max(islands.c.e) - func.min(islands.c.s)).label("seconds"),
        )
        .group_by(islands.c.grp, islands.c.island)
        .subquery()
    )
    rows = session.exec(select(spans.c.grp, func.sum(spans.c.seconds)).group_by(spans.c.grp)).all()
    return {str(grp): float(seconds or 0) for grp, seconds in rows}
