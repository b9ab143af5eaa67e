"""`stabilog doctor`: what a team checks after installing or upgrading, one line a check."""

import typer
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from incidents.alerts import tally
from incidents.calendar import Calendar, CalendarFileError, load_team_days, statutory_years
from incidents.db import engine_for
from incidents.grading import PolicyError, load_policy
from incidents.schema import revisions
from incidents.settings import get_settings


def doctor() -> None:
    """Check the database, the grading policy, the calendar file and the years the statutory
    calendar knows; exit 1 when something is wrong."""
    settings = get_settings()
    failed = False

    def show(status: str, check: str, detail: str) -> None:
        nonlocal failed
        failed = failed or status == "FAIL"
        typer.echo(f"{status:<7} {check}: {detail}")

    database = make_url(settings.database_url).render_as_string(hide_password=True)
    try:
        current, newest = revisions(settings.database_url)
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        show("FAIL", "database", f"{database} unreachable: {reason}")
    else:
        if current == newest:
            show("ok", "database", f"{database} at the newest revision ({newest})")
            with engine_for(settings.database_url).connect() as connection:
                counted = tally.agreement(connection)
            if counted.agrees:
                show("ok", "alert tallies", f"{counted.alerts} alerts counted")
            else:
                show(
                    "FAIL",
                    "alert tallies",
                    f"{counted.alerts} alerts ({counted.follow_ups} followed up) but the tallies"
                    f" count {counted.tallied_alerts} ({counted.tallied_follow_ups});"
                    " run stabilog recount-alerts",
                )
        else:
            at = f"revision {current}" if current else "no revision"
            show(
                "FAIL", "database", f"{database} at {at}, newest is {newest}; run stabilog migrate"
            )

    try:
        policy = load_policy(settings.grading_policy)
    except PolicyError as exc:
        show("FAIL", "grading policy", str(exc))
    else:
        default = " (packaged default)" if settings.grading_policy is None else ""
        show("ok", "grading policy", f"{policy.source_name}{default}")

    try:
        team = load_team_days(settings.calendar_file)
    except CalendarFileError as exc:
        show("FAIL", "calendar file", str(exc))
    else:
        if settings.calendar_file is None:
            show("ok", "calendar file", "none")
        else:
            counts = f"[holidays] {len(team.holidays)}, [working_days] {len(team.working_days)}"
            show("ok", "calendar file", f"{settings.calendar_file} ({counts})")

    years = statutory_years()
    show("ok", "statutory calendar", f"{years.start}–{years.stop - 1}")
    this_year = Calendar(settings.timezone).today().year
    for year in (this_year, this_year + 1):
        if year not in years:
            show(
                "warning",
                "statutory calendar",
                f"{year} not covered: its working days count Monday–Friday until chinesecalendar"
                " is upgraded (pip install -U chinesecalendar)",
            )
    if failed:
        raise typer.Exit(code=1)
