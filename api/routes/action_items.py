"""Action items: listed across incidents, their fields edited, their status moved by steps.

Each step is its own POST, taken by the item's owner or its verifier (the token's name) or an
admin; anyone else gets 403, a step the status does not allow 422.
"""

from typing import Annotated

from fastapi import APIRouter, Body, Query

from api.deps import CalendarDep, Id, OncallDep, PageDep, SessionDep, ViewerDep
from api.pagination import ListPage
from incidents import action_items
from incidents.action_items import Step
from incidents.models import ActionItem, ActionItemNote, ActionItemPublic, ActionItemUpdate

router = APIRouter(prefix="/action-items", tags=["action items"])

STEP_HELP = {
    Step.start: "The owner starts the work: open → in_progress.",
    Step.done: "The owner says the work is done: open or in_progress → done, waiting for 验收.",
    Step.not_doing: (
        "The owner asks not to do it, the reason in `comment`: open or in_progress →"
        " not_doing_requested, waiting for the verifier."
    ),
    Step.verify: "The verifier accepts the work: done → verified, closed.",
    Step.reject: (
        "The verifier sends done work or a request not to do it back, saying why in `comment`:"
        " → in_progress."
    ),
    Step.approve_not_doing: (
        "The verifier agrees it is not to be done: not_doing_requested → not_doing, closed."
    ),
}
OVERDUE_HELP = "only the items not closed and due before today (in the team's zone)"


@router.get("", response_model=ListPage[ActionItemPublic])
def list_action_items(
    page: PageDep,
    session: SessionDep,
    actor: ViewerDep,
    calendar: CalendarDep,
    owner: Annotated[str | None, Query(max_length=100)] = None,
    overdue: Annotated[bool, Query(description=OVERDUE_HELP)] = False,
) -> ListPage[ActionItemPublic]:
    """Items of every incident by due date."""
    found = action_items.list_action_items(
        session,
        owner=owner,
        overdue_on=calendar.today() if overdue else None,
        limit=page.limit,
        offset=page.offset,
    )
    return ListPage.of(found, page)


@router.patch("/{item_id}", response_model=ActionItemPublic)
def edit_action_item(
    item_id: Id,
    data: ActionItemUpdate,
    session: SessionDep,
    actor: OncallDep,
    calendar: CalendarDep,
) -> ActionItem:
    """Fields, not the status (the steps below move it). The due date, the verifier and the
    acceptance criteria are the verifier's (or an admin's) to change, and fixed once closed."""
    changes = data.model_dump(exclude_unset=True)
    return action_items.update_action_item(
        session, item_id, changes, actor=actor, calendar=calendar
    )


def _add_step(step: Step) -> None:
    def take_step(
        item_id: Id,
        session: SessionDep,
        actor: OncallDep,
        data: Annotated[ActionItemNote | None, Body()] = None,
    ) -> ActionItem:
        comment = data.comment if data is not None else None
        return action_items.take_step(session, item_id, step, actor=actor, comment=comment)

    router.post(
        f"/{{item_id}}/{step.value}",
        response_model=ActionItemPublic,
        summary=f"{step.value.replace('-', ' ').capitalize()} an action item",
        description=STEP_HELP[step],
        operation_id=f"action_item_{step.name}",
    )(take_step)


for _step in Step:
    _add_step(_step)
