"""故障积分: points per team (责任团队) and per system over a window, against each team's 红线.

An incident counts when it is graded (an ungraded stability event is no 故障) and falls in the
window as the metrics count it (`metrics.Window`). It scores the policy's points for its grade,
plus `regulatory` when it has a report to the regulator, plus `missed_one_five_ten` when its
1-5-10 verdict is missed:* (the same steps and targets as `milestones.one_five_ten`, in SQL as
`metrics.one_five_ten_missed`). Everything is summed in SQL, one grouped query per view.

A team reaching its red line in a month is announced once (event `scoreboard`): the hourly
`jobs.scoreboard_job` checks the month so far, and the dedup key `scoreboard:<team>:<YYYY-MM>`
makes it one message per channel, however many instances run the job.
"""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func
from sqlmodel import Field, Session, SQLModel, col, select

from incidents.calendar import Calendar
from incidents.db import count_if
from incidents.errors import Invalid
from incidents.grading import GRADES, GradingPolicy
from incidents.metrics import Window, one_five_ten_missed
from incidents.models import Incident, Moment
from incidents.outbox import NotificationEvent, announce, neutralise
from incidents.regulatory import RegulatoryReport


@dataclass(frozen=True)
class Standing:
    """One team's or one system's points; `name` None: incidents without a team (or system)."""

    name: str | None
    points: int
    incidents: int
    by_grade: dict[str, int]  # incidents per grade, every grade present
    regulatory: int  # incidents with a report to the regulator
    missed_one_five_ten: int  # incidents whose 1-5-10 was missed
    red_line: int | None = None  # teams only: the policy's 红线, when it sets one

    @property
    def over_red_line(self) -> bool:
        """Reaching the red line counts as crossing it."""
        return self.red_line is not None and self.points >= self.red_line


@dataclass(frozen=True)
class Board:
    start: datetime
    end: datetime
    teams: list[Standing]  # most points first, then by name; no team last
    systems: list[Standing]

    @property
    def over_red_line(self) -> list[Standing]:
        return [team for team in self.teams if team.over_red_line]


def _standings(
    session: Session, group: Any, scope: ColumnElement[bool], policy: GradingPolicy
) -> list[tuple[Any, ...]]:
    points = policy.scoreboard
    grade = col(Incident.grade)
    has_report = col(RegulatoryReport.id).is_not(None)
    missed = one_five_ten_missed(policy.targets)
    scored = (
        case(*((grade == letter, points.points_of(letter)) for letter in GRADES), else_=0)
        + case((has_report, points.regulatory), else_=0)
        + case((missed, points.missed_one_five_ten), else_=0)
    )
    columns: list[Any] = [
        group,
        func.coalesce(func.sum(scored), 0),
        func.count(),
        count_if(has_report),
        count_if(missed),
        *(count_if(grade == letter) for letter in GRADES),
    ]
    statement = (
        select(*columns)
        .select_from(Incident)
        .outerjoin(RegulatoryReport, col(RegulatoryReport.incident_id) == col(Incident.id))
        .where(scope, grade.is_not(None))
        .group_by(group)
    )
    return [tuple(row) for row in session.exec(statement).all()]


def _standing(row: tuple[Any, ...], red_line: int | None) -> Standing:
    name, points, incidents, regulatory, missed, *by_grade = row
    return Standing(
        name=name,
        points=int(points),
        incidents=int(incidents),
        by_grade={letter: int(n) for letter, n in zip(GRADES, by_grade, strict=True)},
        regulatory=int(regulatory),
        missed_one_five_ten=int(missed),
        red_line=red_line,
    )


def _ranked(standings: list[Standing]) -> list[Standing]:
    return sorted(standings, key=lambda s: (s.name is None, -s.points, s.name or ""))


def compute(
    session: Session, window: Window, *, policy: GradingPolicy, calendar: Calendar
) -> Board:
    """Points per team and per system of the incidents in `window`."""
    scope = window.incidents(calendar)
    scoreboard = policy.scoreboard
    teams = [
        _standing(row, scoreboard.red_line(row[0]))
        for row in _standings(session, col(Incident.team), scope, policy)
    ]
    systems = [
        _standing(row, None) for row in _standings(session, col(Incident.system), scope, policy)
    ]
    return Board(window.start, window.end, _ranked(teams), _ranked(systems))


def month_of(day: date) -> tuple[date, date]:
    """The first day of the month holding `day`, and of the month after."""
    first = day.replace(day=1)
    return first, date(first.year + first.month // 12, first.month % 12 + 1, 1)


def month_window(day: date, calendar: Calendar) -> Window:
    """The calendar month holding `day`, on the team's wall clock."""
    first, following = month_of(day)
    return Window(calendar.day_start(first), calendar.day_start(following))


def window_of(
    calendar: Calendar,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    period: str | None = None,
    now: datetime | None = None,
) -> Window:
    """The window asked for: [start, end), or a period (2023-09, 2023-Q3 …), or else this
    month so far and to its end. Raises Invalid naming the parameter."""
    if period is not None:
        if start is not None or end is not None:
            raise Invalid("period", code="period_or_range")
        first, last = calendar.period_window(calendar.parse_period(period))
        return Window(first, last)
    if start is None and end is None:
        return month_window(calendar.today(now), calendar)
    if start is None or end is None:
        raise Invalid("from" if start is None else "to", code="give_both")
    if end <= start:
        raise Invalid("to", code="must_be_after", params={"other": "from"})
    return Window(start, end)


def announce_red_lines(
    session: Session, day: date, *, policy: GradingPolicy, calendar: Calendar
) -> int:
    """Announce every team whose points this month (the month of `day`) reached its red line,
    once per team and month. Returns the messages queued."""
    if not policy.scoreboard.red_lines:
        return 0
    board = compute(session, month_window(day, calendar), policy=policy, calendar=calendar)
    month = f"{day:%Y-%m}"
    first, following = month_of(day)
    queued = 0
    for team in board.over_red_line:
        name = team.name or ""
        grades = " ".join(f"{g}×{n}" for g, n in team.by_grade.items() if n)
        queued += announce(
            session,
            NotificationEvent.scoreboard,
            f"scoreboard:{name}:{month}",
            title=f"{name} {month} 故障积分 {team.points} 已达红线 {team.red_line}",
            markdown=(
                f"**{neutralise(name)}** {month} 故障积分 **{team.points}**"
                f"（红线 {team.red_line}）\n\n"
                f"- 故障 {team.incidents} 起：{grades}\n"
                f"- 监管报送 {team.regulatory} 起，1-5-10 未达标 {team.missed_one_five_ten} 起"
            ),
            path=f"/scoreboard?from={first.isoformat()}&to={following.isoformat()}",
        )
    return queued


# --- the answer's shape -----------------------------------------------------------------------


class StandingPublic(SQLModel):
    name: str | None = Field(description="the team (or system); null: incidents without one")
    points: int
    incidents: int
    by_grade: dict[str, int]
    regulatory: int = Field(description="incidents with a report to the regulator")
    missed_one_five_ten: int = Field(description="incidents whose 1-5-10 verdict is missed:*")
    red_line: int | None = Field(default=None, description="the team's 红线 in the policy")
    over_red_line: bool = False


class BoardPublic(SQLModel):
    start: Moment
    end: Moment
    points: dict[str, int] = Field(
        description="the policy's points: A–D per grade, regulatory, missed_one_five_ten"
    )
    teams: list[StandingPublic]
    systems: list[StandingPublic]

    @classmethod
    def of(cls, board: Board, policy: GradingPolicy) -> "BoardPublic":
        points = policy.scoreboard

        def shown(standing: Standing) -> StandingPublic:
            return StandingPublic(
                **{name: getattr(standing, name) for name in StandingPublic.model_fields}
            )

        return cls(
            start=board.start,
            end=board.end,
            points={
                **dict(points.grade_points),
                "regulatory": points.regulatory,
                "missed_one_five_ten": points.missed_one_five_ten,
            },
            teams=[shown(team) for team in board.teams],
            systems=[shown(system) for system in board.systems],
        )
