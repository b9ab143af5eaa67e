"""The `stabilog` command: the same domain functions as the API, from a shell."""

import signal
import threading

import typer

from api.cli import (
    action_items,
    doctor,
    exports,
    grading,
    incidents,
    notifications,
    postmortems,
    regulatory,
    reports,
    sources,
    teams,
    tokens,
)
from api.cli.context import current_policy, migrate_embedded_database
from api.scheduler import build_scheduler
from incidents.calendar import CalendarFileError
from incidents.db import engine_for
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


@app.command()
def serve(
    host: str | None = typer.Option(None, help="Address to bind (default STABILOG_HOST)."),
    port: int | None = typer.Option(None, help="Port (default STABILOG_PORT)."),
) -> None:
    """Run the API and web pages (migrating the embedded SQLite database first)."""
    import uvicorn

    from api.main import create_app

    settings = get_settings()
    migrate_embedded_database()
    service = create_app(settings, run_scheduler=settings.scheduler)
    uvicorn.run(service, host=host or settings.host, port=port or settings.port)


@app.command()
def scheduler() -> None:
    """Run only the scheduled jobs (weekly section, reminders, digest, outbox), until stopped."""
    migrate_embedded_database()
    settings = get_settings()
    jobs = build_scheduler(engine_for(settings.database_url), settings, current_policy())
    jobs.start()
    typer.echo("scheduler running; Ctrl-C to stop")
    stop = threading.Event()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signal_number, lambda *_: stop.set())
    stop.wait()
    jobs.shutdown()
