"""`stabilog silence`: maintenance windows and known noise (docs/silences.md)."""

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Annotated, Any

import typer
from pydantic import TypeAdapter, ValidationError
from sqlmodel import Session, select

from api.cli.context import cli_actor, fail, open_session
from incidents.alerts import silences
from incidents.alerts.models import Source
from incidents.db import utcnow
from incidents.errors import Invalid
from incidents.messages import from_pydantic
from incidents.models import Moment
from incidents.settings import get_settings

app = typer.Typer(
    help="Silences: alerts stored and shown, but paging nobody.", no_args_is_help=True
)

_MOMENT = TypeAdapter(Moment)
_DURATION = re.compile(r"^(?P<amount>\d+)\s*(?P<unit>m|min|h|d)$")
_UNITS = {"m": "minutes", "min": "minutes", "h": "hours", "d": "days"}
# The body's fields, as this command's flags name them.
_FLAGS = {
    "matchers": "match",
    "source_id": "source",
    "starts_at": "from",
    "ends_at": "until",
    "weekdays": "weekly",
    "window_start": "weekly",
    "window_end": "weekly",
    "allow_long": "long",
}


@contextmanager
def _as_flags() -> Iterator[None]:
    """Refusals naming this command's flags (--match, --until …) rather than body fields."""
    try:
        yield
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0])
        raise Invalid(_FLAGS.get(field, field), from_pydantic(error)) from exc
    except Invalid as exc:
        field = exc.field.split(".", 1)[0]
        raise Invalid(_FLAGS.get(field, field), exc.message) from exc


def _duration(text: str) -> timedelta:
    found = _DURATION.match(text.strip())
    if found is None:
        raise Invalid("for", code="duration_format")
    return timedelta(**{_UNITS[found["unit"]]: int(found["amount"])})


def _source_id(session: Session, name_or_id: str | None) -> int | None:
    if name_or_id is None:
        return None
    found = session.exec(select(Source).where(Source.name == name_or_id)).first()
    if found is None and name_or_id.isdigit():
        found = session.get(Source, int(name_or_id))
    if found is None:
        raise Invalid("source", code="no_source_named", params={"name": name_or_id})
    return found.id


@app.command("add")
def add(
    reason: Annotated[str, typer.Option(help="why, e.g. 周日变更窗口")],
    match: Annotated[
        list[str] | None,
        typer.Option(help='a matcher: service="pay", env!="test", instance=~"db-.*"; repeatable'),
    ] = None,
    source: Annotated[str | None, typer.Option(help="only this source (name or id)")] = None,
    from_: Annotated[str | None, typer.Option("--from", help="start (now when left out)")] = None,
    until: Annotated[str | None, typer.Option(help="end, e.g. '9/10 04:00'")] = None,
    for_: Annotated[str | None, typer.Option("--for", help="or a length: 90m, 2h, 3d")] = None,
    weekly: Annotated[
        str | None, typer.Option(help="only these days and hours, e.g. '周日 02:00-04:00'")
    ] = None,
    long: Annotated[bool, typer.Option("--long", help="allow more than 30 days")] = False,
) -> None:
    """Silence matching alerts: one-off (--for / --until) or weekly (--weekly, with --until)."""
    if (until is None) == (for_ is None):
        fail("give one of --until and --for")
    calendar = get_settings().calendar
    with open_session() as session, _as_flags():
        body: dict[str, Any] = {
            "matchers": match or [],
            "source_id": _source_id(session, source),
            "reason": reason,
            "allow_long": long,
        }
        starts_at = _MOMENT.validate_python(from_) if from_ else utcnow()
        body["starts_at"] = starts_at
        body["ends_at"] = until if until is not None else starts_at + _duration(for_ or "")
        if weekly is not None:
            body["weekdays"], body["window_start"], body["window_end"] = silences.parse_weekly(
                weekly
            )
        data = silences.SilenceCreate.model_validate(body)
        made = silences.create_silence(session, data, actor=cli_actor(), calendar=calendar)
        session.flush()
        typer.echo(f"silence {made.id}: {_describe(made)}")


@app.command("list")
def list_silences(
    all_: Annotated[bool, typer.Option("--all", help="expired ones too")] = False,
) -> None:
    """Pending and active silences (with --all, expired ones too), latest ending first."""
    calendar = get_settings().calendar
    with open_session() as session:
        shown, total = silences.public_page(
            session, include_expired=all_, calendar=calendar, limit=500, offset=0
        )
        for silence in shown:
            state = silence.state.value + (", holding now" if silence.holding_now else "")
            typer.echo(
                f"{silence.id}\t{state}\t{_describe(silence)}\t"
                f"{silence.alerts_held} alerts held\t{silence.created_by}: {silence.reason}"
            )
    typer.echo(f"{total} silences", err=True)


@app.command("expire")
def expire(silence_id: Annotated[int, typer.Argument(min=1)]) -> None:
    """End a silence now; the alerts it held keep its mark."""
    with open_session() as session:
        silence = silences.expire_silence(session, silence_id, actor=cli_actor())
        typer.echo(f"silence {silence.id} expired")


def _describe(silence: silences.Silence | silences.SilencePublic) -> str:
    calendar = get_settings().calendar
    matchers = " ".join(str(silences.Matcher.model_validate(m)) for m in silence.matchers)
    source = f"source {silence.source_id} " if silence.source_id else ""
    span = (
        f"{calendar.local(silence.starts_at):%Y-%m-%d %H:%M} – "
        f"{calendar.local(silence.ends_at):%Y-%m-%d %H:%M}"
    )
    if silence.weekdays:
        days = ",".join(str(day) for day in silence.weekdays)
        span += f", weekdays {days} {silence.window_start}–{silence.window_end}"
    return f"{source}{matchers or '(every alert)'} {span}".strip()
