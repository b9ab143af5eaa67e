"""Timeline and postmortem (复盘) of an incident; its action items are incidents/action_items.py."""

from typing import Any, TypeVar

from sqlmodel import Session, col, func, select

from incidents import audit
from incidents.actors import Actor
from incidents.calendar import Calendar
from incidents.db import get_or_raise, utcnow
from incidents.errors import Forbidden, Incomplete, Invalid
from incidents.grading import GradingPolicy
from incidents.messages import Message
from incidents.milestones import Milestone
from incidents.models import (
    DETECTION_CHANNELS,
    ActionItem,
    ActionItemStatus,
    Grade,
    Incident,
    Postmortem,
    PostmortemReview,
    PostmortemReviewCreate,
    PostmortemStatus,
    PostmortemWrite,
    ReviewVerdict,
    Role,
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
            params = {"other": exc.field, "inner": exc.message}
            raise Invalid("at", code="entry_time", params=params) from None
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
    """Create or replace the postmortem's fields; the due date defaults to 5 working days after
    recovery, the detection channel to the incident's detection, the responsible team to the
    incident's team. The status is not a field: submit, review and publish move it. A published
    复盘 may still be corrected, but not lose what publishing asked for."""
    incident = get_incident(session, incident_id)
    postmortem = session.get(Postmortem, incident_id)
    current = postmortem.status if postmortem is not None else PostmortemStatus.draft
    if data.status is not None and data.status != current:
        raise Invalid("status", code=_STATUS_IS_AN_ACTION[data.status])
    values = data.model_dump(exclude={"status"})
    if values["due_date"] is None:
        recovered_on = calendar.local_date(incident.recovered_at or incident.detected_at)
        values["due_date"] = calendar.working_days_after(recovered_on, POSTMORTEM_WORKING_DAYS)
    if values["detection_channel"] is None and incident.detection is not None:
        values["detection_channel"] = DETECTION_CHANNELS[incident.detection]
    if values["responsible_team"] is None:
        values["responsible_team"] = incident.team  # 责任团队: the incident's, unless named here
    if postmortem is None:
        postmortem = Postmortem(incident_id=incident_id, **values)
        before: dict[str, object] = {}
        missing_before: list[tuple[str, str]] = []
        session.add(postmortem)
    else:
        before = {name: getattr(postmortem, name) for name in values}
        missing_before = missing_for_publishing(session, incident, postmortem)
        for name, value in values.items():
            setattr(postmortem, name, value)
    if postmortem.status == PostmortemStatus.published:
        missing = missing_for_publishing(session, incident, postmortem)
        lost = [part for part in missing if part not in missing_before]
        if lost:
            raise Incomplete(lost)
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


# Why PUT refuses a new status, by the status asked for (codes of incidents.messages).
_STATUS_IS_AN_ACTION = {
    PostmortemStatus.draft: "pm_status_draft",
    PostmortemStatus.in_review: "pm_status_in_review",
    PostmortemStatus.published: "pm_status_published",
}
# What publishing needs, besides every reviewer's approval.
MIN_WHYS = 3
WHYS_NEEDED_FOR = (Grade.A, Grade.B)


def missing_for_publishing(
    session: Session, incident: Incident, postmortem: Postmortem
) -> list[tuple[str, str]]:
    """Every part the 复盘 lacks to be published, each as (field, why); approvals aside."""
    missing: list[tuple[str, str]] = []
    if not (postmortem.root_cause or "").strip():
        missing.append(("root_cause", Message("required_to_publish")))
    if postmortem.root_cause_category is None:
        missing.append(("root_cause_category", Message("required_to_publish")))
    marks = select(TimelineEntry.milestone).where(
        TimelineEntry.incident_id == incident.id,
        col(TimelineEntry.milestone).in_(TIMELINE_MARKS),
    )
    marked = set(session.exec(marks.distinct()))
    for milestone, what in TIMELINE_MARKS.items():
        if milestone not in marked:
            mark = {
                "what": what,
                "milestone": milestone.value,
                "mark": f"milestone_{milestone.value}",
            }
            missing.append(("timeline", Message("timeline_mark_missing", mark)))
    counted = select(func.count()).where(
        ActionItem.incident_id == incident.id, ActionItem.status != ActionItemStatus.not_doing
    )
    if not session.exec(counted).one() and not (postmortem.no_action_reason or "").strip():
        missing.append(("action_items", Message("action_item_or_reason")))
    whys = [why for why in postmortem.five_whys if why.strip()]
    if incident.grade in WHYS_NEEDED_FOR and len(whys) < MIN_WHYS:
        counts = {"grade": incident.grade, "least": MIN_WHYS, "given": len(whys)}
        missing.append(("five_whys", Message("whys_needed", counts)))
    return missing


# The milestones the timeline must mark before publishing, and what they are called.
TIMELINE_MARKS = {Milestone.detected: "detection", Milestone.recovered: "recovery"}


def reviews(session: Session, incident_id: int) -> list[PostmortemReview]:
    """Every verdict, oldest first."""
    get_postmortem(session, incident_id)
    order = (col(PostmortemReview.at), col(PostmortemReview.id))
    statement = select(PostmortemReview).where(PostmortemReview.incident_id == incident_id)
    return list(session.exec(statement.order_by(*order)))


def latest_verdicts(session: Session, incident_id: int) -> dict[str, PostmortemReview]:
    """Each reviewer's latest verdict (a 复盘 has a handful of reviews, read whole)."""
    return {review.reviewer: review for review in reviews(session, incident_id)}


def missing_approvals(session: Session, postmortem: Postmortem) -> list[tuple[str, str]]:
    """The named reviewers whose latest verdict is not an approval, as (field, why)."""
    if not postmortem.reviewers:
        return [("reviewers", Message("name_a_reviewer"))]
    latest = latest_verdicts(session, postmortem.incident_id)
    missing: list[tuple[str, str]] = []
    for name in postmortem.reviewers:
        review = latest.get(name)
        if review is None:
            missing.append(("reviewers", Message("not_reviewed_yet", {"name": name})))
        elif review.verdict != ReviewVerdict.approve:
            missing.append(("reviewers", Message("changes_requested", {"name": name})))
    return missing


def _move(
    session: Session,
    postmortem: Postmortem,
    status: PostmortemStatus,
    *,
    actor: Actor,
    reason: str | None = None,
) -> None:
    audit.record(
        session,
        incident_id=postmortem.incident_id,
        actor=actor.name,
        action="postmortem",
        field="status",
        old=postmortem.status,
        new=status,
        reason=reason,
    )
    postmortem.status = status
    postmortem.published_at = utcnow() if status == PostmortemStatus.published else None
    postmortem.updated_at = utcnow()


def submit_for_review(session: Session, incident_id: int, *, actor: Actor) -> Postmortem:
    """待复盘 → 复盘中: a draft with its reviewers named goes to them."""
    postmortem = get_postmortem(session, incident_id)
    if postmortem.status != PostmortemStatus.draft:
        raise Invalid("status", code="submit_only_draft", params={"status": postmortem.status})
    if not postmortem.reviewers:
        raise Invalid("reviewers", code="reviewer_before_submit")
    _move(session, postmortem, PostmortemStatus.in_review, actor=actor)
    return postmortem


def review_postmortem(
    session: Session,
    incident_id: int,
    data: PostmortemReviewCreate,
    *,
    actor: Actor,
    reviewer: str | None = None,
) -> PostmortemReview:
    """A named reviewer's verdict; requesting changes (with a comment saying which) sends a 复盘
    in review back to draft. `reviewer` records the verdict of someone else, which only an admin
    may (the CLI acts as one, for the reviewer it names)."""
    postmortem = get_postmortem(session, incident_id)
    name = reviewer if reviewer is not None else actor.name
    if name != actor.name and not actor.role.at_least(Role.admin):
        raise Forbidden(Message("review_for_another"))
    if name not in postmortem.reviewers:
        raise Forbidden(Message("not_a_reviewer", {"name": name}))
    if postmortem.status == PostmortemStatus.published:
        raise Invalid("status", code="review_over")
    comment = (data.comment or "").strip() or None
    if data.verdict == ReviewVerdict.request_changes and comment is None:
        raise Invalid("comment", code="say_which_changes")
    review = PostmortemReview(
        incident_id=incident_id, reviewer=name, verdict=data.verdict, comment=comment
    )
    session.add(review)
    audit.record(
        session,
        incident_id=incident_id,
        actor=actor.name,
        action="postmortem_review",
        field=name,
        new=data.verdict,
        reason=comment,
    )
    if (
        data.verdict == ReviewVerdict.request_changes
        and postmortem.status == PostmortemStatus.in_review
    ):
        _move(
            session,
            postmortem,
            PostmortemStatus.draft,
            actor=actor,
            reason=f"{name} requested changes",
        )
    session.flush()
    return review


def publish_postmortem(
    session: Session, incident_id: int, *, actor: Actor, reason: str | None = None
) -> Postmortem:
    """复盘中 → 已复盘, once complete and approved by every named reviewer; refused with every
    missing part at once. An admin's `reason` publishes over missing approvals (never over
    missing content), and is kept in the audit trail with the names it passed over."""
    incident = get_incident(session, incident_id)
    postmortem = get_postmortem(session, incident_id)
    if postmortem.status == PostmortemStatus.published:
        raise Invalid("status", code="published_already")
    overriding = reason is not None and bool(reason.strip())
    if overriding and not actor.role.at_least(Role.admin):
        raise Forbidden(Message("publish_over_approvals"))
    missing: list[tuple[str, str]] = []
    if postmortem.status != PostmortemStatus.in_review:
        missing.append(("status", Message("submit_first")))
    missing += missing_for_publishing(session, incident, postmortem)
    unapproved = missing_approvals(session, postmortem)
    if not overriding:
        missing += unapproved
    if missing:
        raise Incomplete(missing)
    note = reason.strip() if reason is not None and overriding else None
    if note is not None and unapproved:
        passed_over = "; ".join(why for _, why in unapproved)
        note = f"published over missing approvals ({passed_over}): {note}"
    _move(session, postmortem, PostmortemStatus.published, actor=actor, reason=note)
    return postmortem
