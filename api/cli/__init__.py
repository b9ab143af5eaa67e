"""The `stabilog` command: the same domain functions as the API, from a shell."""

import typer

from api.cli import (
    action_items,
    backup,
    doctor,
    exports,
    grading,
    incidents,
    notifications,
    oncall,
    postmortems,
    regulatory,
    reports,
    serve,
    silences,
    sources,
    teams,
    tokens,
)
from api.cli.context import open_session
from incidents.alerts import tally
from incidents.calendar import CalendarFileError
from incidents.schema import upgrade_to_head
from incidents.settings import get_settings

app = typer.Typer(
    help="Stabilog: stability incident log and postmortems for payment systems.",
    no_args_is_help=True,
)
app.add_typer(grading.app, name="grading")
app.add_typer(tokens.app, name="token")
app.add_typer(incidents.app, name="incident")
app.add_typer(sources.app, name="source")
app.add_typer(silences.app, name="silence")
app.add_typer(reports.report_app, name="report")
app.add_typer(reports.figures_app, name="figures")
app.command("import")(reports.import_report)
app.command("demo")(reports.demo)
app.add_typer(notifications.channel_app, name="channel")
app.add_typer(notifications.notifications_app, name="notifications")
app.add_typer(regulatory.app, name="regulatory")
app.add_typer(action_items.app, name="action-item")
app.add_typer(postmortems.app, name="postmortem")
app.command("doctor")(doctor.doctor)
app.add_typer(teams.app, name="team")
app.command("scoreboard")(teams.show_scoreboard)
app.add_typer(exports.app, name="export")
app.add_typer(oncall.app, name="oncall")
app.command("backup")(backup.backup)
app.command("restore")(backup.restore)
app.command("serve")(serve.serve)
app.command("scheduler")(serve.scheduler)


@app.callback()
def read_times_on_the_team_calendar(context: typer.Context) -> None:
    """Stabilog: stability incident log and postmortems for payment systems."""
    if context.invoked_subcommand == "doctor":
        return  # it reports an unusable calendar file itself, and reads no typed times
    try:
        calendar = get_settings().calendar
    except CalendarFileError as exc:  # as create_app does, refuse to start on it
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(code=1) from exc
    # Times typed as flags are read, and times printed are shown, in the team's zone.
    context.with_resource(calendar.activated())


@app.command()
def migrate() -> None:
    """Bring the configured database to the newest schema."""
    upgrade_to_head(get_settings().database_url)
    typer.echo("database is at the newest revision")


@app.command("recount-alerts")
def recount_alerts() -> None:
    """Recount the alert tallies the figures read from every stored alert (after alerts were
    stored by a release older than revision 0018, or edited by hand in SQL)."""
    with open_session() as session:
        tally.rebuild(session.connection())
    typer.echo("alert tallies recounted")
