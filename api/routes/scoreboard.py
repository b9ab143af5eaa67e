from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from api.deps import CalendarDep, PolicyDep, SessionDep, ViewerDep
from incidents import scoreboard
from incidents.models import QueryMoment
from incidents.scoreboard import BoardPublic

router = APIRouter(prefix="/scoreboard", tags=["scoreboard"])


class ScoreboardQuery(BaseModel):
    from_: QueryMoment | None = Field(None, alias="from")
    to: QueryMoment | None = None
    period: str | None = Field(
        None, max_length=40, description="2023-09, 2023-Q3, 2023-H2, 2023 or a date range"
    )


@router.get("")
def read_scoreboard(
    query: Annotated[ScoreboardQuery, Query()],
    session: SessionDep,
    actor: ViewerDep,
    policy: PolicyDep,
    calendar: CalendarDep,
) -> BoardPublic:
    """故障积分 per team and per system over [from, to) or a period (this month when neither is
    given), with each team's 红线 from the grading policy."""
    window = scoreboard.window_of(calendar, start=query.from_, end=query.to, period=query.period)
    board = scoreboard.compute(session, window, policy=policy, calendar=calendar)
    return BoardPublic.of(board, policy)
