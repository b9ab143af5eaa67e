"""Timeline, postmortem (复盘) and action items of an incident."""

from typing import Any, TypeVar

from sqlmodel import Session, col, select

from incidents import audit
from incidents.actors import Actor
from incidents.calendar import Calendar
from incidents.db import get_or_raise, utcnow
from incidents.errors import Invalid, refuse_clearing
from incidents.grading import GradingPolicy
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
from incidents.service import acknowledge_if_unset, get_incident, update_incident

POSTMORTEM_WORKING_DAYS = 5
IncidentPart = TypeVar("IncidentPart", TimelineEntry, ActionItem)


def add_timeline_entry(
    session: Session,
    incident_id: int,
    data: TimelineEntryCreate,
    *,
    actor: Actor,
    policy: GradingPolicy,
    calendar: Calendar,
) -> TimelineEntry:
    """Add an entry; one that marks a milestone sets it to the entry's time, as an edit would
    (checked, audited, regraded). A person's first entry that fits the milestones' order is the
    incident's 响应 (acknowledged_at), unless it has one."""
    incident = get_incident(session, incident_id)
    entry = TimelineEntry.model_validate(
        data, update={"incident_id": incident_id, "author": actor.name}
    )
    _added(session, entry, actor=actor, action="timeline", text=data.text)
    if data.milestone is not None:
        field = data.milestone.field
        try:
            update_incident(
                session,
                incident_id,
                {field: data.at},
                actor=actor,
                policy=policy,
                calendar=calendar,
                reason=f"timeline entry {entry.id}",
            )
        except Invalid as exc:  # named on the entry's time: that is what the writer typed
            raise Invalid("at", f"{exc.field} {exc.message}") from None
    if actor.is_person:
        reason = f"first timeline entry by a person ({entry.id})"
        acknowledge_if_unset(session, incident, data.at, actor=actor, reason=reason)
    return entry


def _added(
    session: Session, part: IncidentPart, *, actor: Actor, action: str, text: str
) -> IncidentPart:
    """A new part of an incident, audited, with its id (which is answered to the caller)."""
    session.add(part)
    audit.record(session, incident_id=part.incident_id, actor=actor.name, action=action, new=text)
    session.flush()
    return part


def _of_incident(
    session: Session, incident_id: int, model: type[IncidentPart], *order: Any
) -> list[IncidentPart]:
    get_incident(session, incident_id)  # an unknown incident is a 404, not an empty list
    statement = select(model).where(model.incident_id == incident_id).order_by(*order)
    return list(session.exec(statement))


def timeline(session: Session, incident_id: int) -> list[TimelineEntry]:
    order = (col(TimelineEntry.at), col(TimelineEntry.id))
    return _of_incident(session, incident_id, TimelineEntry, *order)


def get_postmortem(session: Session, incident_id: int) -> Postmortem:
    get_incident(session, incident_id)  # an unknown incident is named as such
    return get_or_raise(session, Postmortem, incident_id)


def put_postmortem(
    session: Session, incident_id: int, data: PostmortemWrite, *, actor: Actor, calendar: Calendar
) -> Postmortem:
    """Create or replace the postmortem; the due date defaults to 5 working days after recovery."""
    incident = get_incident(session, incident_id)
    postmortem = session.get(Postmortem, incident_id)
    values = data.model_dump()
    if values["due_date"] is None:
        recovered_on = calendar.local_date(incident.recovered_at or incident.detected_at)
        values["due_date"] = calendar.working_days_after(recovered_on, POSTMORTEM_WORKING_DAYS)
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
    return _added(session, item, actor=actor, action="action_item", text=data.title)


def update_action_item(
    session: Session, item_id: int, changes: dict[str, Any], *, actor: Actor
) -> ActionItem:
    item = get_or_raise(session, ActionItem, item_id)
    refuse_clearing(changes, ("title", "type", "owner", "due_date", "status"))
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
    return item


def action_items(session: Session, incident_id: int) -> list[ActionItem]:
    order = (col(ActionItem.due_date), col(ActionItem.id))
    return _of_incident(session, incident_id, ActionItem, *order)
