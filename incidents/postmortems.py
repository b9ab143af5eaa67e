"""Timeline, postmortem (复盘) and action items of an incident."""

from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from sqlmodel import Session, col, select

from incidents import audit
from incidents.db import utcnow
from incidents.errors import Invalid, NotFound
from incidents.models import (
    CLOSED_ACTION_STATUSES,
    ActionItem,
    ActionItemCreate,
    ActionItemStatus,
    Postmortem,
    PostmortemStatus,
    PostmortemWrite,
    TimelineEntry,
    TimelineEntryCreate,
)
from incidents.service import Actor, get_incident
from incidents.settings import get_settings
from incidents.timeparse import to_local

POSTMORTEM_WORKING_DAYS = 5
IncidentPart = TypeVar("IncidentPart", TimelineEntry, ActionItem)


def add_timeline_entry(
    session: Session, incident_id: int, data: TimelineEntryCreate, *, actor: Actor
) -> TimelineEntry:
    get_incident(session, incident_id)
    entry = TimelineEntry.model_validate(
        data, update={"incident_id": incident_id, "author": actor.name}
    )
    session.add(entry)
    audit.record(
        session, incident_id=incident_id, actor=actor.name, action="timeline", new=data.text
    )
    session.commit()
    session.refresh(entry)
    return entry


def _of_incident(
    session: Session, incident_id: int, model: type[IncidentPart], *order: Any
) -> list[IncidentPart]:
    get_incident(session, incident_id)  # an unknown incident is a 404, not an empty list
    statement = select(model).where(model.incident_id == incident_id).order_by(*order)
    return list(session.exec(statement))


def timeline(session: Session, incident_id: int) -> list[TimelineEntry]:
    order = (col(TimelineEntry.at), col(TimelineEntry.id))
    return _of_incident(session, incident_id, TimelineEntry, *order)


def working_days_after(start: date, working_days: int) -> date:
    """The date `working_days` Monday-to-Friday days after `start`."""
    due = start
    remaining = working_days
    while remaining:
        due += timedelta(days=1)
        if due.weekday() < 5:
            remaining -= 1
    return due


def get_postmortem(session: Session, incident_id: int) -> Postmortem:
    postmortem = session.get(Postmortem, incident_id)
    if postmortem is None:
        raise NotFound("postmortem of incident", incident_id)
    return postmortem


def put_postmortem(
    session: Session, incident_id: int, data: PostmortemWrite, *, actor: Actor
) -> Postmortem:
    """Create or replace the postmortem; the due date defaults to 5 working days after recovery."""
    incident = get_incident(session, incident_id)
    postmortem = session.get(Postmortem, incident_id)
    values = data.model_dump()
    if values["due_date"] is None:
        recovered: datetime = incident.recovered_at or incident.detected_at
        recovered_on = to_local(recovered, get_settings().tz).date()
        values["due_date"] = working_days_after(recovered_on, POSTMORTEM_WORKING_DAYS)
    if postmortem is None:
        postmortem = Postmortem(incident_id=incident_id, **values)
        before: dict[str, object] = {}
        session.add(postmortem)
    else:
        before = {name: getattr(postmortem, name) for name in values}
        for name, value in values.items():
            setattr(postmortem, name, value)
    if postmortem.status == PostmortemStatus.published and postmortem.published_at is None:
        postmortem.published_at = utcnow()
    elif postmortem.status != PostmortemStatus.published:
        postmortem.published_at = None
    postmortem.updated_at = utcnow()
    audit.record_changes(
        session,
        incident_id=incident_id,
        actor=actor.name,
        action="postmortem",
        before=before,
        after={name: getattr(postmortem, name) for name in values},
    )
    session.commit()
    session.refresh(postmortem)
    return postmortem


def _settle_action_status(item: ActionItem) -> None:
    if item.status == ActionItemStatus.not_doing and not (item.not_doing_reason or "").strip():
        raise Invalid("not_doing_reason", "required when the status is not_doing")
    if item.status in CLOSED_ACTION_STATUSES:
        item.closed_at = item.closed_at or utcnow()
    else:
        item.closed_at = None


def add_action_item(
    session: Session, incident_id: int, data: ActionItemCreate, *, actor: Actor
) -> ActionItem:
    get_incident(session, incident_id)
    item = ActionItem.model_validate(data, update={"incident_id": incident_id})
    _settle_action_status(item)
    session.add(item)
    audit.record(
        session, incident_id=incident_id, actor=actor.name, action="action_item", new=data.title
    )
    session.commit()
    session.refresh(item)
    return item


def update_action_item(
    session: Session, item_id: int, changes: dict[str, Any], *, actor: Actor
) -> ActionItem:
    item = session.get(ActionItem, item_id)
    if item is None:
        raise NotFound("action item", item_id)
    for required in ("title", "type", "owner", "due_date", "status"):
        if required in changes and changes[required] is None:
            raise Invalid(required, "cannot be cleared")
    before = {name: getattr(item, name) for name in changes}
    for name, value in changes.items():
        setattr(item, name, value)
    _settle_action_status(item)
    audit.record_changes(
        session,
        incident_id=item.incident_id,
        actor=actor.name,
        action=f"action_item:{item_id}",
        before=before,
        after={name: getattr(item, name) for name in changes},
    )
    session.commit()
    session.refresh(item)
    return item


def action_items(session: Session, incident_id: int) -> list[ActionItem]:
    order = (col(ActionItem.due_date), col(ActionItem.id))
    return _of_incident(session, incident_id, ActionItem, *order)
