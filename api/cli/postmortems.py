"""`stabilog postmortem`: the 复盘's review workflow and its document, from a shell."""

from typing import Annotated, Literal

import typer

from api.cli.context import cli_actor, current_policy, open_session, reported
from incidents import postmortem_report, postmortems
from incidents.models import PostmortemReviewCreate, ReviewVerdict
from incidents.settings import get_settings

app = typer.Typer(help="Submit, review and publish 复盘 (postmortems).", no_args_is_help=True)

IncidentId = Annotated[int, typer.Argument(help="the incident's id", min=1, max=2**31 - 1)]


@app.command("submit")
def submit(incident_id: IncidentId) -> None:
    """待复盘 → 复盘中: send the draft to its named reviewers."""
    with open_session() as session:
        postmortem = postmortems.submit_for_review(session, incident_id, actor=cli_actor())
        reviewers = ", ".join(postmortem.reviewers)
    typer.echo(f"postmortem of incident {incident_id} is in review by {reviewers}")


@app.command("review")
def review(
    incident_id: IncidentId,
    reviewer: Annotated[
        str, typer.Option(help="the named reviewer whose verdict this is (the shell is an admin)")
    ],
    verdict: Annotated[ReviewVerdict, typer.Option(help="approve or request_changes")],
    comment: Annotated[
        str | None, typer.Option(help="what to change (required to request changes)")
    ] = None,
) -> None:
    """Record a named reviewer's verdict; requesting changes sends the 复盘 back to draft."""
    with reported():
        data = PostmortemReviewCreate.model_validate({"verdict": verdict, "comment": comment})
    with open_session() as session:
        postmortems.review_postmortem(
            session, incident_id, data, actor=cli_actor(), reviewer=reviewer
        )
        status = postmortems.get_postmortem(session, incident_id).status
    typer.echo(f"{reviewer}: {verdict.value}; postmortem of incident {incident_id} is {status}")


@app.command("publish")
def publish(
    incident_id: IncidentId,
    reason: Annotated[
        str | None,
        typer.Option(help="publish over missing approvals, saying why (kept in the audit trail)"),
    ] = None,
) -> None:
    """复盘中 → 已复盘, once complete and approved; every missing part is named otherwise."""
    with open_session() as session:
        postmortems.publish_postmortem(session, incident_id, actor=cli_actor(), reason=reason)
    typer.echo(f"postmortem of incident {incident_id} is published")


@app.command("report")
def report(
    incident_id: IncidentId,
    format: Annotated[Literal["markdown", "html"], typer.Option()] = "markdown",
    lang: Annotated[Literal["zh", "en"] | None, typer.Option()] = None,
) -> None:
    """Print the 复盘报告 (Markdown or a standalone HTML page)."""
    settings = get_settings()
    with open_session() as session:
        built = postmortem_report.build(
            session,
            incident_id,
            calendar=settings.calendar,
            targets=current_policy().targets,
            lang=lang or settings.report_lang,
        )
        text = (
            postmortem_report.to_html(built)
            if format == "html"
            else postmortem_report.to_markdown(built)
        )
    typer.echo(text, nl=False)
