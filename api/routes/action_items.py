from fastapi import APIRouter

from api.deps import Id, OncallDep, SessionDep
from incidents import postmortems
from incidents.models import ActionItem, ActionItemPublic, ActionItemUpdate

router = APIRouter(prefix="/action-items", tags=["action items"])


@router.patch("/{item_id}", response_model=ActionItemPublic)
def edit_action_item(
    item_id: Id, data: ActionItemUpdate, session: SessionDep, actor: OncallDep
) -> ActionItem:
    changes = data.model_dump(exclude_unset=True)
    return postmortems.update_action_item(session, item_id, changes, actor=actor)
