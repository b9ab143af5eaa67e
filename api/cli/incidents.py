"""`stabilog incident`: file and list incidents from a shell."""

import sys
from datetime import datetime
from decimal import Decimal
from typing import Annotated

import typer

from api.cli.context import (
    cli_actor,
    cli_lang,
    current_policy,
    fail,
    flag,
    open_session,
    read_amount,
    reported,
)
from api.web.forms import SENTENCE_MAX
from api.web.preview import preview_grade
from incidents import service
from incidents.messages import grade_reason_text
from incidents.models import Detection, Grade, IncidentCreate, IncidentStatus
from incidents.phrases import read_sentence, sentence_title
from incidents.settings import get_settings

app = typer.Typer(help="File and list incidents.", no_args_is_help=True)

Text = Annotated[str | None, typer.Option()]


def stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


@app.command("file")
def file_incident(
    title: Text = None,
    detected_at: Annotated[
        str | None, typer.Option(help="发现时间: ISO 8601 or '9/7 14:42', '昨天 22:10' …")
    ] = None,
    system: Text = None,
    occurred_at: Text = None,
    acknowledged_at: Annotated[str | None, typer.Option(help="响应")] = None,
    located_at: Annotated[str | None, typer.Option(help="定位")] = None,
    mitigation_started_at: Annotated[str | None, typer.Option(help="止损开始")] = None,
    mitigated_at: Annotated[str | None, typer.Option(help="止损生效")] = None,
    recovered_at: Text = None,
    resolved_at: Text = None,
    detection: Annotated[Detection | None, typer.Option()] = None,
    source: Text = None,
    description: Text = None,
    impact: Text = None,
    business_impact: Annotated[
        bool | None, typer.Option("--business-impact/--no-business-impact")
    ] = None,
    failed_orders: Annotated[int | None, typer.Option()] = None,
    failed_transactions: Annotated[int | None, typer.Option()] = None,
    affected_users: Annotated[int | None, typer.Option()] = None,
    impact_minutes: Annotated[int | None, typer.Option()] = None,
    amount_involved_cny: Annotated[
        Decimal | None, typer.Option(parser=read_amount, metavar="CNY", help="涉及金额")
    ] = None,
    loss_cny: Annotated[
        Decimal | None, typer.Option(parser=read_amount, metavar="CNY", help="资损")
    ] = None,
    recovered_cny: Annotated[
        Decimal | None,
        typer.Option(parser=read_amount, metavar="CNY", help="追回 (at most --loss-cny)"),
    ] = None,
    # Deprecated, removed in 0.3: the old name of --amount-involved-cny, read by IncidentCreate.
    amount_cny: Annotated[
        Decimal | None, typer.Option(parser=read_amount, metavar="CNY", hidden=True)
    ] = None,
    core_system: Annotated[bool, typer.Option("--core-system/--non-core-system")] = False,
    regulatory_triggers: Annotated[
        list[str] | None,
        typer.Option(
            "--trigger",
            help="a regulatory trigger a person ticks, by name (repeat for several; the policy"
            " lists them: personal_data_leak, fund_safety, public_opinion …)",
        ),
    ] = None,
    # Deprecated, removed in 0.3: ticks the trigger other_major_event.
    regulatory: Annotated[bool | None, typer.Option(hidden=True)] = None,
    remediation: Annotated[str | None, typer.Option(help="处置")] = None,
    root_cause: Text = None,
    report_week: Annotated[str | None, typer.Option(help="e.g. 2023-09-09")] = None,
    status: Annotated[IncidentStatus, typer.Option()] = IncidentStatus.open,
    owner: Text = None,
    team: Annotated[
        str | None, typer.Option(help="责任团队; left out: the system's team (stabilog team map)")
    ] = None,
    text: Annotated[
        str | None,
        typer.Option(
            help="快速登记: one sentence as on-call writes it, read into the fields ('9/7 14:42"
            " 支付网关超时，失败订单 1,200 笔，持续 25 分钟，已回滚'); a flag given wins"
        ),
    ] = None,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="with --text: file without asking to confirm")
    ] = False,
    confirm_future: Annotated[
        bool, typer.Option(help="file even though a time is in the future")
    ] = False,
) -> None:
    """File an incident; asks for the title and detection time when they are not given."""
    fields = {
        name: value
        for name, value in locals().items()
        if value is not None and name not in ("text", "yes")
    }
    if amount_cny is not None:
        typer.echo(
            "warning: --amount-cny is deprecated, removed in 0.3: use --amount-involved-cny",
            err=True,
        )
    interactive = stdin_is_terminal()
    if text is not None:
        fields = _read_sentence(text) | fields
    for required, prompt in (("title", "Title"), ("detected_at", "Detected at (9/7 14:42)")):
        if required not in fields:
            if not interactive:
                fail(f"{flag(required)} is required")
            fields[required] = typer.prompt(prompt)
    with reported():
        data = IncidentCreate.model_validate(fields)
    if text is not None and not yes:
        _show_reading(data)
        if not interactive or not typer.confirm("File it?", default=True):
            fail("not filed (--yes files without asking)")
    with open_session() as session:
        incident = service.create_incident(
            session,
            data,
            actor=cli_actor(),
            policy=current_policy(),
            calendar=get_settings().calendar,
        )
    grade = incident.grade or "ungraded"
    reason = grade_reason_text(
        incident.grade, incident.grade_hits, incident.grade_reason, cli_lang()
    )
    typer.echo(f"filed incident {incident.id} ({grade}: {reason})")


def _read_sentence(text: str) -> dict[str, object]:
    """The fields one sentence states, read as the filing page's 快速登记 box reads it."""
    calendar = get_settings().calendar
    if len(text) > SENTENCE_MAX:
        fail(f"--text: at most {SENTENCE_MAX} characters")
    facts = read_sentence(text, tz=calendar.tz, reference=datetime.now(calendar.tz))
    title = sentence_title(text)
    return ({"title": title} if title else {}) | facts.values()


def _show_reading(data: IncidentCreate) -> None:
    """What will be filed, and the grade the policy gives it, before asking to confirm."""
    calendar = get_settings().calendar
    given = data.model_dump(exclude_defaults=True, exclude={"status"})
    for name, value in given.items():
        if isinstance(value, datetime):
            value = f"{calendar.local(value):%Y-%m-%d %H:%M}"
        typer.echo(f"  {flag(name):<24} {getattr(value, 'value', value)}")
    result = preview_grade(current_policy(), given, calendar)
    typer.echo(f"grade: {result.grade or 'ungraded'} ({result.reason_text})")


@app.command("list")
def list_incidents(
    week: Annotated[str | None, typer.Option(help="a date inside it, or 2023-W37")] = None,
    grade: Annotated[Grade | None, typer.Option()] = None,
    system: Text = None,
    team: Annotated[str | None, typer.Option(help="责任团队")] = None,
    status: Annotated[IncidentStatus | None, typer.Option()] = None,
    q: Annotated[str | None, typer.Option("-q", help="text in title, description, 处置")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
) -> None:
    """List incidents, newest first."""
    calendar = get_settings().calendar
    chosen_week = None
    if week is not None:
        with reported():
            chosen_week = calendar.parse_week(week)
    criteria = service.IncidentFilter(
        week=chosen_week,
        grade=grade,
        system=system,
        team=team,
        status=status,
        text=q,
    )
    with open_session() as session:
        items, total = service.list_incidents(session, criteria, calendar, limit=limit, offset=0)
    for incident in items:
        detected = f"{calendar.local(incident.detected_at):%Y-%m-%d %H:%M}"
        typer.echo(
            f"{incident.id}\t{detected}\t{incident.grade or '-'}\t{incident.system or '-'}"
            f"\t{incident.status}\t{incident.title}"
        )
    typer.echo(f"{len(items)} of {total}", err=True)
