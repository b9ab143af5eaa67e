"""`stabilog action-item`: list action items and move them by the same steps as the API.

The CLI acts as an admin (api/cli/context.cli_actor), so it may take the owner's steps and the
verifier's; the audit trail and `verified_by` name the operating-system user.
"""

from typing import Annotated

import typer

from api.cli.context import cli_actor, open_session
from incidents import action_items
from incidents.action_items import RULES, Step
from incidents.settings import get_settings

app = typer.Typer(help="Action items (改进项): list, and move them.", no_args_is_help=True)

ItemId = Annotated[int, typer.Argument(help="the item's id (see `action-item list`)", min=1)]


@app.command("list")
def list_items(
    owner: Annotated[str | None, typer.Option(help="only this owner's items")] = None,
    overdue: Annotated[bool, typer.Option(help="only items not closed, due before today")] = False,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
) -> None:
    """Items by due date: id, due date, status, owner, verifier, tracker, title."""
    calendar = get_settings().calendar
    with open_session() as session:
        items, total = action_items.list_action_items(
            session,
            owner=owner,
            overdue_on=calendar.today() if overdue else None,
            limit=limit,
            offset=0,
        )
    for item in items:
        typer.echo(
            f"{item.id}\t{item.due_date.isoformat()}\t{item.status}\t{item.owner}"
            f"\t{item.verifier or '-'}\t{item.tracker or '-'}\t#{item.incident_id} {item.title}"
        )
    typer.echo(f"{len(items)} of {total}", err=True)


HELP = {
    Step.start: "The owner starts the work (open → in_progress).",
    Step.done: "The owner says the work is done; it waits for the verifier.",
    Step.not_doing: "The owner asks not to do it; --comment gives the reason.",
    Step.verify: "The verifier accepts the work: the item is closed.",
    Step.reject: "The verifier sends done work (or a request not to do it) back; --comment: why.",
    Step.approve_not_doing: "The verifier agrees not to do it: the item is closed.",
}


def _add_step(step: Step) -> None:
    required = " (required)" if RULES[step].needs_comment else ""

    def take(
        item_id: ItemId,
        comment: Annotated[str | None, typer.Option(help=f"a comment{required}")] = None,
    ) -> None:
        with open_session() as session:
            item = action_items.take_step(
                session, item_id, step, actor=cli_actor(), comment=comment
            )
        typer.echo(f"action item {item.id}: {item.status}")

    app.command(step.value, help=HELP[step])(take)


for _step in Step:
    _add_step(_step)
