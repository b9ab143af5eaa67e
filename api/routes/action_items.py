from fastapi import APIRouter

from api.deps import Id, OncallDep, SessionDep
from incidents import postmortems
from incidents.models import ActionItemPublic, ActionItemUpdate

router = APIRouter(prefix="/action-items", tags=["action items"])


@router.patch("/{item_id}")
def edit_action_item(
    item_id: Id, data: ActionItemUpdate, session: SessionDep, actor: OncallDep
) -> ActionItemPublic:
    changes = data.model_dump(exclude_unset=True)
    return postmortems.update_action_item(session, item_id, changes, actor=actor)
