"""`stabilog team`: which team answers for each system; `stabilog scoreboard`: 故障积分."""

from datetime import datetime
from typing import Annotated

import typer
from pydantic import TypeAdapter, ValidationError

from api.cli.context import cli_actor, current_policy, fail, open_session, reported
from incidents import scoreboard, teams
from incidents.models import QueryMoment
from incidents.scoreboard import Standing
from incidents.settings import get_settings

app = typer.Typer(help="Which team (责任团队) answers for each system.", no_args_is_help=True)

_MOMENT = TypeAdapter(QueryMoment)


@app.command("map")
def map_system(
    system: Annotated[str, typer.Argument(help="the system, as incidents name it")],
    team: Annotated[str, typer.Argument(help="责任团队")],
) -> None:
    """Map a system to a team: its incidents without a team take it, now and when filed."""
    with reported():
        data = teams.SystemTeamWrite.model_validate({"team": team})
    with open_session() as session:
        mapping, given = teams.map_system(session, system, data.team, actor=cli_actor())
        typer.echo(f"{mapping.system} → {mapping.team} ({given} incidents given the team)")


@app.command("list")
def list_mappings() -> None:
    """Every system and its team."""
    with open_session() as session:
        rows = teams.list_mappings(session)
    for row in rows:
        typer.echo(f"{row.system}\t{row.team}")
    typer.echo(f"{len(rows)} systems", err=True)


@app.command("unmap")
def unmap_system(system: Annotated[str, typer.Argument()]) -> None:
    """Remove a system's team; its incidents keep the team they have."""
    with open_session() as session:
        teams.unmap_system(session, system)
    typer.echo(f"{system} has no team now")


def _moment(name: str, text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return _MOMENT.validate_python(text)
    except ValidationError as exc:
        fail(f"{name}: {exc.errors()[0]['msg']}")


def _rows(title: str, standings: list[Standing], *, unnamed: str) -> list[str]:
    lines = [f"{title}\tpoints\tincidents\tA\tB\tC\tD\tregulatory\tmissed 1-5-10\tred line"]
    for standing in standings:
        grades = "\t".join(str(n) for n in standing.by_grade.values())
        red_line = "" if standing.red_line is None else str(standing.red_line)
        if standing.over_red_line:
            red_line += " OVER"
        lines.append(
            f"{standing.name or unnamed}\t{standing.points}\t{standing.incidents}\t{grades}"
            f"\t{standing.regulatory}\t{standing.missed_one_five_ten}\t{red_line}".rstrip("\t")
        )
    return lines


def show_scoreboard(
    from_: Annotated[
        str | None, typer.Option("--from", help="start (a date or a time), with --to")
    ] = None,
    to: Annotated[str | None, typer.Option(help="end, not included")] = None,
    period: Annotated[
        str | None, typer.Option(help="2023-09, 2023-Q3, 2023-H2, 2023 or a date range")
    ] = None,
) -> None:
    """故障积分 per team and per system (this month when no window is given)."""
    settings = get_settings()
    calendar = settings.calendar
    policy = current_policy()
    with reported():
        start = _moment("--from", from_)
        end = _moment("--to", to)
        window = scoreboard.window_of(calendar, start=start, end=end, period=period)
    with open_session() as session:
        board = scoreboard.compute(session, window, policy=policy, calendar=calendar)
    last = calendar.local(board.end)
    typer.echo(f"故障积分 {calendar.local(board.start):%Y-%m-%d %H:%M} – {last:%Y-%m-%d %H:%M}")
    for line in _rows("team", board.teams, unnamed="(no team)"):
        typer.echo(line)
    typer.echo("")
    for line in _rows("system", board.systems, unnamed="(no system)"):
        typer.echo(line)
