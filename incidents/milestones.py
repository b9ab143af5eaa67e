"""An incident's milestones, from occurrence to resolution, and the 1-5-10 measures.

The one ordered definition: the order check of every write, the milestone a timeline entry marks,
the minutes of each stage, the 1-5-10 verdict here and its 达标率 in SQL (`incidents/metrics.py`)
all read `Milestone`, `STAGES` and `ONE_FIVE_TEN`.
"""

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from incidents.errors import Invalid
from incidents.grading import Targets


class Milestone(StrEnum):
    """In the order they happen; the incident's field is `<name>_at`. Only detected is required."""

    occurred = "occurred"  # 发生
    detected = "detected"  # 发现
    acknowledged = "acknowledged"  # 响应
    located = "located"  # 定位
    mitigation_started = "mitigation_started"  # 止损开始
    mitigated = "mitigated"  # 止损生效
    recovered = "recovered"  # 业务恢复
    resolved = "resolved"  # 根因修复

    @property
    def field(self) -> str:
        return f"{self.value}_at"


MILESTONES: tuple[Milestone, ...] = tuple(Milestone)
MILESTONE_FIELDS: tuple[str, ...] = tuple(milestone.field for milestone in MILESTONES)


@dataclass(frozen=True)
class Stage:
    """The time from one milestone to a later one."""

    name: str
    start: Milestone
    end: Milestone

    def duration(self, incident: Any) -> timedelta | None:
        start, end = getattr(incident, self.start.field), getattr(incident, self.end.field)
        return None if start is None or end is None else end - start


# Time to detect, then each later stage counted from detection, as MTTA and MTTR are.
STAGES = (
    Stage("detect", Milestone.occurred, Milestone.detected),
    Stage("acknowledge", Milestone.detected, Milestone.acknowledged),
    Stage("locate", Milestone.detected, Milestone.located),
    Stage("mitigate", Milestone.detected, Milestone.mitigated),
    Stage("recover", Milestone.detected, Milestone.recovered),
)


@dataclass(frozen=True)
class TargetStage:
    """One step of 1-5-10 and the attribute of the policy's `Targets` that bounds it."""

    stage: Stage
    target: str  # detect_minutes, locate_minutes or recover_minutes

    def limit(self, targets: Targets) -> timedelta:
        return timedelta(minutes=getattr(targets, self.target))


# DESIGN.md: detected ≤ T1 after occurrence, located ≤ T5 after detection, recovered ≤ T10 after
# location. Unlike STAGES, recovery is counted from location here.
ONE_FIVE_TEN = (
    TargetStage(Stage("detect", Milestone.occurred, Milestone.detected), "detect_minutes"),
    TargetStage(Stage("locate", Milestone.detected, Milestone.located), "locate_minutes"),
    TargetStage(Stage("recover", Milestone.located, Milestone.recovered), "recover_minutes"),
)
# The times 1-5-10 needs (occurred, detected, located, recovered); an incident without one of
# them is not counted in 达标率.
ONE_FIVE_TEN_MILESTONES = tuple(
    dict.fromkeys(m for step in ONE_FIVE_TEN for m in (step.stage.start, step.stage.end))
)


class OneFiveTen(StrEnum):
    met = "met"
    missed_detect = "missed:detect"
    missed_locate = "missed:locate"
    missed_recover = "missed:recover"
    unknown = "unknown"


def check_order(values: Mapping[str, datetime | None], written: Collection[str]) -> None:
    """Each given time is not before the nearest earlier given one, in `MILESTONES` order.

    Raises Invalid naming both fields, on the later one ("must not be before …"); when only the
    earlier one was written (a PATCH moving `located_at` past the stored `recovered_at`), on
    that one instead ("must not be after …"), so the error stands beside what was typed. A pair
    neither of which was written is let be: before 0.2 only detection bounded recovery and
    resolution, so a stored resolution may precede recovery, and that must not block other edits.
    """
    previous: tuple[str, datetime] | None = None
    for field in MILESTONE_FIELDS:
        moment = values.get(field)
        if moment is None:
            continue
        if previous is not None and moment < previous[1]:
            earlier = previous[0]
            if field in written:
                raise Invalid(field, code="not_before", params={"other": earlier})
            if earlier in written:
                raise Invalid(earlier, code="not_after", params={"other": field})
        previous = (field, moment)


def times_of(incident: Any) -> dict[str, datetime | None]:
    return {field: getattr(incident, field) for field in MILESTONE_FIELDS}


def fits(incident: Any, milestone: Milestone, moment: datetime) -> bool:
    """Whether setting `milestone` to `moment` keeps the incident's times in order."""
    try:
        check_order(times_of(incident) | {milestone.field: moment}, (milestone.field,))
    except Invalid:
        return False
    return True


def _minutes(duration: timedelta | None) -> float | None:
    return None if duration is None else round(duration.total_seconds() / 60, 1)


def stage_minutes(incident: Any) -> dict[str, float | None]:
    """Minutes of each of `STAGES`; None where a time is missing."""
    return {stage.name: _minutes(stage.duration(incident)) for stage in STAGES}


def one_five_ten(incident: Any, targets: Targets) -> OneFiveTen:
    """Met when every step is within its target; a known miss wins over a missing time (it can
    no longer be met), and the first missed step is named."""
    unknown = False
    for step in ONE_FIVE_TEN:
        duration = step.stage.duration(incident)
        if duration is None:
            unknown = True
        elif duration > step.limit(targets):
            return OneFiveTen(f"missed:{step.stage.name}")
    return OneFiveTen.unknown if unknown else OneFiveTen.met
