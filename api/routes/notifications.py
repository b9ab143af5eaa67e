from typing import Annotated

from fastapi import APIRouter, Query, status

from api.deps import AdminDep, Id, OncallDep, PageDep, SessionDep, ViewerDep
from api.pagination import ListPage
from incidents import outbox
from incidents.outbox import (
    ChannelCreate,
    ChannelPublic,
    ChannelUpdate,
    Notification,
    NotificationPublic,
    NotificationStatus,
)
from notifiers import subscriptions

router = APIRouter(tags=["notifications"])


@router.post("/channels", status_code=status.HTTP_201_CREATED)
def add_channel(data: ChannelCreate, session: SessionDep, actor: AdminDep) -> ChannelPublic:
    return subscriptions.public(subscriptions.add_channel(session, data))


@router.get("/channels")
def list_channels(session: SessionDep, actor: AdminDep) -> list[ChannelPublic]:
    return [subscriptions.public(channel) for channel in subscriptions.list_channels(session)]


@router.patch("/channels/{channel_id}")
def edit_channel(
    channel_id: Id, data: ChannelUpdate, session: SessionDep, actor: AdminDep
) -> ChannelPublic:
    changes = data.model_dump(exclude_unset=True)
    return subscriptions.public(subscriptions.update_channel(session, channel_id, changes))


@router.delete("/channels/{channel_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_channel(channel_id: Id, session: SessionDep, actor: AdminDep) -> None:
    subscriptions.remove_channel(session, channel_id)


@router.get("/notifications")
def list_notifications(
    page: PageDep,
    session: SessionDep,
    actor: ViewerDep,
    status: Annotated[NotificationStatus | None, Query()] = None,
) -> ListPage[NotificationPublic]:
    """The outbox: what was sent, what is waiting, and what failed for good (with why)."""
    return ListPage.of(
        outbox.list_notifications(session, status, limit=page.limit, offset=page.offset), page
    )


@router.post("/notifications/{notification_id}/retry", response_model=NotificationPublic)
def retry_notification(notification_id: Id, session: SessionDep, actor: OncallDep) -> Notification:
    return outbox.retry(session, notification_id)
