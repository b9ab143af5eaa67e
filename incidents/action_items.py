"""Action items (改进项): filed with an owner and a verifier (验收人), moved by explicit steps that
only the right person may take, announced at every change of status, and reminded before, on
and after their due date.

The owner starts an item, marks it done, or asks not to do it (with a reason); the verifier
accepts the work (verified), sends it back with a comment (in_progress), or grants not doing.
Every step is open to an admin too. An item is closed, with `closed_at`, once verified or not
doing: 改进项按期闭环率 counts those closed by their due date (incidents/metrics.py), so the due
date, the verifier and the acceptance criteria change only by the verifier's (or an admin's)
hand, and not at all once the item is closed.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from incidents import audit
from incidents.actors import Actor
from incidents.calendar import Calendar
from incidents.db import paged, utcnow
from incidents.errors import Forbidden, Invalid, NotFound, refuse_clearing
from incidents.messages import Message
from incidents.models import (
    AWAITING_VERIFIER,
    CLOSED_ACTION_STATUSES,
    ActionItem,
    ActionItemCreate,
    ActionItemStatus,
    AuditEntry,
    Incident,
    Postmortem,
    Role,
)
from incidents.outbox import NotificationEvent, announce, neutralise
from incidents.service import get_incident

# Reminded this many working days before the due date, then on it.
REMINDER_WORKING_DAYS = 2
# Reminders of one run at most (a team has a handful due on any day), and items per owner in the
# weekly digest of overdue ones.
REMINDER_BATCH = 200
DIGEST_ITEMS = 50
# A day that is no working day for longer than this is a calendar without working days.
LONGEST_BREAK = timedelta(days=60)

# Only the verifier (or an admin) changes these: they decide whether an item is closed on time
# and what closing it takes.
VERIFIER_FIELDS = ("due_date", "verifier", "acceptance_criteria")
REQUIRED_FIELDS = ("title", "type", "owner", "due_date", "verifier")

# The audit trail's action for a change of an item, followed by its id.
STEP_ACTION = "action_item:"
# The statuses as the team's chat reads them.
STATUS_TEXT = {
    ActionItemStatus.open: "待处理",
    ActionItemStatus.in_progress: "进行中",
    ActionItemStatus.done: "已完成，待验收",
    ActionItemStatus.verified: "已验收",
    ActionItemStatus.not_doing_requested: "申请不做，待验收人批准",
    ActionItemStatus.not_doing: "不做（验收人已批准）",
}


class Party(StrEnum):
    owner = "owner"
    verifier = "verifier"


class Step(StrEnum):
    """What a person does to an item; the value is the API's and the CLI's word for it."""

    start = "start"
    done = "done"
    not_doing = "not-doing"
    verify = "verify"
    reject = "reject"
    approve_not_doing = "approve-not-doing"

    @property
    def label(self) -> str:
        """The name of the button that takes the step, as a message names it (its label key)."""
        return f"ai_step_{self.name}"


@dataclass(frozen=True)
class Rule:
    before: tuple[ActionItemStatus, ...]
    after: ActionItemStatus
    by: Party
    # Rejecting says why; asking not to do it gives the reason. Other comments are optional.
    needs_comment: bool = False


_OPEN = (ActionItemStatus.open, ActionItemStatus.in_progress)
RULES = {
    Step.start: Rule((ActionItemStatus.open,), ActionItemStatus.in_progress, Party.owner),
    Step.done: Rule(_OPEN, ActionItemStatus.done, Party.owner),
    Step.not_doing: Rule(_OPEN, ActionItemStatus.not_doing_requested, Party.owner, True),
    Step.verify: Rule((ActionItemStatus.done,), ActionItemStatus.verified, Party.verifier),
    Step.reject: Rule(AWAITING_VERIFIER, ActionItemStatus.in_progress, Party.verifier, True),
    Step.approve_not_doing: Rule(
        (ActionItemStatus.not_doing_requested,), ActionItemStatus.not_doing, Party.verifier
    ),
}


def may_act_as(actor: Actor, item: ActionItem, party: Party) -> bool:
    """The item's owner or verifier by name (the token's name), or an admin."""
    return actor.role.at_least(Role.admin) or actor.name == getattr(item, party.value)


def steps_open_to(actor: Actor, item: ActionItem) -> list[Step]:
    """The steps `actor` may take on `item` now, in RULES' order (the page's buttons)."""
    return [
        step
        for step, rule in RULES.items()
        if item.status in rule.before and may_act_as(actor, item, rule.by)
    ]


# --- reading ----------------------------------------------------------------------------------


def get_action_item(session: Session, item_id: int, *, for_update: bool = False) -> ActionItem:
    # FOR UPDATE (PostgreSQL; SQLite has one writer anyway): two people stepping on one item at
    # once are served in turn, the second judged on the status the first left.
    item = session.get(ActionItem, item_id, with_for_update=for_update)
    if item is None:
        raise NotFound("action item", item_id)
    return item


def action_items(session: Session, incident_id: int) -> list[ActionItem]:
    get_incident(session, incident_id)  # an unknown incident is a 404, not an empty list
    statement = (
        select(ActionItem)
        .where(ActionItem.incident_id == incident_id)
        .order_by(col(ActionItem.due_date), col(ActionItem.id))
    )
    return list(session.exec(statement))


def last_steps(session: Session, incident_id: int) -> dict[int, AuditEntry]:
    """The latest step of each of the incident's items (who, when, the comment), by item id."""
    entries = session.exec(
        select(AuditEntry)
        .where(
            AuditEntry.incident_id == incident_id,
            col(AuditEntry.field) == "status",
            col(AuditEntry.action).startswith(STEP_ACTION, autoescape=True),
        )
        .order_by(col(AuditEntry.id))
    )
    return {int(entry.action.removeprefix(STEP_ACTION)): entry for entry in entries}


def list_action_items(
    session: Session,
    *,
    owner: str | None = None,
    overdue_on: date | None = None,
    limit: int,
    offset: int,
) -> tuple[list[ActionItem], int]:
    """Items by due date; of one owner; or overdue on a day (not closed, due before it)."""
    conditions = action_item_conditions(owner=owner, overdue_on=overdue_on)
    statement = (
        select(ActionItem).where(*conditions).order_by(col(ActionItem.due_date), col(ActionItem.id))
    )
    return paged(session, statement, limit=limit, offset=offset)


def action_item_conditions(*, owner: str | None, overdue_on: date | None) -> list[Any]:
    """The list's filters as WHERE conditions, shared by the list and the export."""
    conditions: list[Any] = []
    if owner is not None:
        conditions.append(col(ActionItem.owner) == owner)
    if overdue_on is not None:
        conditions.append(_overdue(overdue_on))
    return conditions


def _overdue(today: date) -> Any:
    return col(ActionItem.status).not_in(CLOSED_ACTION_STATUSES) & (
        col(ActionItem.due_date) < today
    )


# --- writing ----------------------------------------------------------------------------------


def _check_due_date(due: date, calendar: Calendar, now: datetime | None) -> None:
    today = calendar.today(now)
    if due < today:
        when = {"due": due, "today": today, "timezone": calendar.timezone}
        raise Invalid("due_date", code="due_in_past", params=when)


def default_verifier(session: Session, incident: Incident) -> str | None:
    """The 复盘's owner, else the incident's."""
    postmortem = session.get(Postmortem, incident.id)
    return (postmortem.owner if postmortem else None) or incident.owner


def add_action_item(
    session: Session,
    incident_id: int,
    data: ActionItemCreate,
    *,
    actor: Actor,
    calendar: Calendar,
    now: datetime | None = None,
) -> ActionItem:
    """A new item, open, with a verifier (given or by default) and a due date not in the past."""
    incident = get_incident(session, incident_id)
    _check_due_date(data.due_date, calendar, now)
    verifier = data.verifier or default_verifier(session, incident)
    if verifier is None:
        raise Invalid("verifier", code="verifier_required")
    item = ActionItem.model_validate(
        data, update={"incident_id": incident_id, "verifier": verifier}
    )
    session.add(item)
    entry = audit.record(
        session, incident_id=incident_id, actor=actor.name, action="action_item", new=item.title
    )
    session.flush()  # the ids name the item and the change in the message
    _announce_status(session, item, incident, entry.id, actor=actor, comment=None)
    return item


def update_action_item(
    session: Session,
    item_id: int,
    changes: dict[str, Any],
    *,
    actor: Actor,
    calendar: Calendar,
    now: datetime | None = None,
) -> ActionItem:
    """Change fields (never the status: that takes a step)."""
    item = get_action_item(session, item_id, for_update=True)
    refuse_clearing(changes, REQUIRED_FIELDS)
    changed = {name for name, value in changes.items() if getattr(item, name) != value}
    guarded = [name for name in VERIFIER_FIELDS if name in changed]
    if guarded and item.status in CLOSED_ACTION_STATUSES:
        raise Invalid(guarded[0], code="item_closed", params={"status": item.status})
    # An item without a verifier (older than verification) may be given one by anybody.
    if guarded and item.verifier is not None and not may_act_as(actor, item, Party.verifier):
        who = {"verifier": item.verifier, "fields": guarded}
        raise Forbidden(Message("verifier_fields_forbidden", who))
    if "due_date" in changed:
        _check_due_date(changes["due_date"], calendar, now)
    before = {name: getattr(item, name) for name in changes}
    for name, value in changes.items():
        setattr(item, name, value)
    audit.record_changes(
        session,
        incident_id=item.incident_id,
        actor=actor.name,
        action=f"{STEP_ACTION}{item_id}",
        before=before,
        after={name: getattr(item, name) for name in changes},
    )
    return item


def take_step(
    session: Session,
    item_id: int,
    step: Step,
    *,
    actor: Actor,
    comment: str | None = None,
    now: datetime | None = None,
) -> ActionItem:
    """Move the item by `step`, if `actor` may and its status allows; audited (the comment as
    the entry's reason) and announced as event `action_item`, once per step taken."""
    item = get_action_item(session, item_id, for_update=True)
    rule = RULES[step]
    if not may_act_as(actor, item, rule.by):
        named = getattr(item, rule.by.value) or "none named"
        who = {"by": rule.by.value, "named": named, "step": step.value, "step_label": step.label}
        raise Forbidden(Message("item_step_forbidden", who))
    if item.status not in rule.before:
        params = {
            "step": step.value,
            "step_label": step.label,
            "status": item.status,
            "allowed": list(rule.before),
            "allowed_or": " or ".join(rule.before),
        }
        raise Invalid("status", code="item_step_status", params=params)
    comment = (comment or "").strip() or None
    if rule.needs_comment and comment is None:
        why = "comment_not_doing" if step == Step.not_doing else "comment_reject"
        raise Invalid("comment", code=why)
    before = item.status
    item.status = rule.after
    if step == Step.not_doing:
        item.not_doing_reason = comment
    elif step == Step.reject:
        item.not_doing_reason = None  # a request turned down leaves the item to be done
    if rule.after in CLOSED_ACTION_STATUSES:
        item.closed_at = item.verified_at = now or utcnow()
        item.verified_by = actor.name
    entry = audit.record(
        session,
        incident_id=item.incident_id,
        actor=actor.name,
        action=f"{STEP_ACTION}{item_id}",
        field="status",
        old=before,
        new=item.status,
        reason=comment,
    )
    session.flush()
    incident = get_incident(session, item.incident_id)
    _announce_status(session, item, incident, entry.id, actor=actor, comment=comment)
    return item


# --- messages ---------------------------------------------------------------------------------


def _facts(item: ActionItem, incident: Incident) -> list[str]:
    lines = [
        f"- 负责人：{neutralise(item.owner)}",
        f"- 验收人：{neutralise(item.verifier or '—')}",
        f"- 截止日期：{item.due_date.isoformat()}",
    ]
    if item.acceptance_criteria:
        lines.append(f"- 验收标准：{neutralise(item.acceptance_criteria)}")
    lines.append(f"- 跟踪：{neutralise(item.tracker or '—')}")
    lines.append(f"- 事故：#{incident.id} {neutralise(incident.title)}")
    return lines


def _announce_status(
    session: Session,
    item: ActionItem,
    incident: Incident,
    change: int | None,
    *,
    actor: Actor,
    comment: str | None,
) -> None:
    """The item's new status for the team's chat and trackers (a generic webhook syncs its
    tracker from `状态` and `跟踪`); `change` is the audit entry of the change, so each change
    goes to a channel once."""
    status = ActionItemStatus(item.status)
    lines = [f"- 状态：{STATUS_TEXT[status]}（{status.value}）", *_facts(item, incident)]
    lines.append(f"- 操作人：{neutralise(actor.name)}")
    if comment:
        lines.append(f"- 说明：{neutralise(comment)}")
    announce(
        session,
        NotificationEvent.action_item,
        f"action_item:{item.id}:{change}:{status.value}",
        title=f"【改进项{STATUS_TEXT[status]}】{item.title}",
        markdown="\n".join(lines),
        path=f"/incidents/{item.incident_id}#action-item-{item.id}",
    )


def _previous_working_day(day: date, calendar: Calendar) -> date:
    earlier = day - timedelta(days=1)
    while not calendar.is_working_day(earlier) and day - earlier < LONGEST_BREAK:
        earlier -= timedelta(days=1)
    return earlier


def announce_due(session: Session, today: date, calendar: Calendar) -> int:
    """On a working day: each item not closed and due within REMINDER_WORKING_DAYS working days
    is reminded once ("soon"), and each due today, or on the days off just before, once ("due").
    The owner's work or, once done, the verifier's 验收 is what is due. Returns messages queued."""
    soon_until = calendar.working_days_after(today, REMINDER_WORKING_DAYS)
    since = _previous_working_day(today, calendar)
    rows = session.exec(
        select(ActionItem, Incident)
        .join(Incident, col(Incident.id) == col(ActionItem.incident_id))
        .where(
            col(ActionItem.status).not_in(CLOSED_ACTION_STATUSES),
            col(ActionItem.due_date) > since,
            col(ActionItem.due_date) <= soon_until,
        )
        .order_by(col(ActionItem.due_date), col(ActionItem.id))
        .limit(REMINDER_BATCH)
    ).all()
    queued = 0
    for item, incident in rows:
        kind = "due" if item.due_date <= today else "soon"
        when = "今日到期" if item.due_date == today else f"{item.due_date:%m/%d}到期"
        waiting = "待验收" if item.status in AWAITING_VERIFIER else "待完成"
        status = ActionItemStatus(item.status)
        lines = [f"- 状态：{STATUS_TEXT[status]}（{status.value}）", *_facts(item, incident)]
        queued += announce(
            session,
            NotificationEvent.action_due,
            f"action_due:{item.id}:{kind}:{item.due_date.isoformat()}",
            title=f"【改进项{when}，{waiting}】{item.title}",
            markdown="\n".join(lines),
            path=f"/incidents/{item.incident_id}#action-item-{item.id}",
        )
    return queued


def announce_overdue(session: Session, today: date, week_label: str) -> int:
    """Every item overdue on `today`, one message per owner (items waiting for 验收 name their
    verifier), once per owner and `week_label`. Returns messages queued."""
    owners = session.exec(
        select(col(ActionItem.owner), func.count())
        .where(_overdue(today))
        .group_by(col(ActionItem.owner))
        .order_by(col(ActionItem.owner))
    ).all()
    queued = 0
    for owner, count in owners:
        rows = session.exec(
            select(ActionItem, Incident.title)
            .join(Incident, col(Incident.id) == col(ActionItem.incident_id))
            .where(_overdue(today), col(ActionItem.owner) == owner)
            .order_by(col(ActionItem.due_date), col(ActionItem.id))
            .limit(DIGEST_ITEMS)
        ).all()
        lines = []
        for item, title in rows:
            late = (today - item.due_date).days
            waiting = (
                f"待{neutralise(item.verifier or '管理员')}验收"
                if item.status in AWAITING_VERIFIER
                else STATUS_TEXT[ActionItemStatus(item.status)]
            )
            tracker = f" {neutralise(item.tracker)}" if item.tracker else ""
            lines.append(
                f"- {item.due_date:%m/%d}（逾期{late}天）{neutralise(item.title)}：{waiting}"
                f"{tracker}（#{item.incident_id} {neutralise(title)}）"
            )
        if count > len(rows):
            lines.append(f"- 另有{count - len(rows)}项，见 stabilog action-item list --overdue")
        queued += announce(
            session,
            NotificationEvent.action_overdue,
            f"action_overdue:{week_label}:{owner}",
            title=f"改进项逾期周报：{owner} {count}项",
            markdown="\n".join(lines),
            path="/incidents",
        )
    return queued
