"""Incident pages: the filtered list, the filing form with its grade preview, one incident with
its timeline, remediation, postmortem and action items. Each write calls the function the JSON
API calls and answers POST-redirect-GET; a refused value is shown beside its field."""

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import ValidationError
from sqlmodel import Session
from starlette.datastructures import ImmutableMultiDict

from api.deps import PolicyDep, SessionDep
from api.pagination import PAGE_ROWS, page_links, page_offset
from api.web.auth import FormData, FormWriter, OncallPage, PageActor, can_write
from api.web.forms import (
    SENTENCE_MAX,
    RowId,
    checked,
    field_errors,
    given,
    invalid_errors,
    sentence_form,
    tri_state,
)
from api.web.i18n import page_lang
from api.web.preview import preview_grade
from api.web.rendering import PageRoute, render, see_other
from incidents import action_items, postmortem_report, postmortems, service, similar
from incidents.action_items import RULES, Step
from incidents.calendar import Calendar
from incidents.db import utcnow
from incidents.errors import Invalid, NotFound
from incidents.grading import GradingPolicy
from incidents.impact import GRADED_INPUT_FIELDS
from incidents.incident_story import duplicate_facts, history, linked_alerts, status_lags
from incidents.messages import Message, hit_lines
from incidents.milestones import MILESTONES, STAGES, Milestone, one_five_ten, stage_minutes
from incidents.models import (
    AWAITING_VERIFIER,
    CLOSED_ACTION_STATUSES,
    ActionItemCreate,
    ActionItemType,
    AmountCnyAlias,
    Detection,
    DetectionChannel,
    Grade,
    Incident,
    IncidentCreate,
    IncidentStatus,
    IncidentUpdate,
    Postmortem,
    PostmortemReviewCreate,
    PostmortemStatus,
    PostmortemWrite,
    RecoveryMethod,
    Role,
    RootCauseCategory,
    TimelineEntryCreate,
    net_loss,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)

# The filing form is IncidentCreate (less amount_cny, a deprecated spelling the API and the CLI
# still read): a yes/no field is a checkbox, one that may also be left to the domain
# (business_impact) a select of "", yes and no; every other field is typed text, money too.
FILING_FIELDS = {
    name: info
    for name, info in IncidentCreate.model_fields.items()
    if name not in AmountCnyAlias.model_fields and name != "regulatory"  # deprecated, too
}
# Fields of several values: a checkbox per value (the policy's regulatory triggers).
FILING_LISTS = ("regulatory_triggers",)
FILING_CHECKBOXES = tuple(name for name, info in FILING_FIELDS.items() if info.annotation is bool)
FILING_TRI_STATES = tuple(
    name for name, info in FILING_FIELDS.items() if info.annotation == bool | None
)
FILING_TEXT_FIELDS = tuple(
    name
    for name in FILING_FIELDS
    if name not in (*FILING_CHECKBOXES, *FILING_TRI_STATES, *FILING_LISTS)
)
MONEY_FIELDS = ("amount_involved_cny", "loss_cny", "recovered_cny")
# The milestones after detection; occurrence and detection are set when filing.
EDIT_TIMES = tuple(
    milestone.field
    for milestone in MILESTONES
    if milestone not in (Milestone.occurred, Milestone.detected)
)
TRIGGERS_ON_FORM = "triggers_on_form"
EDIT_FIELDS = ("status", "owner", "team", *EDIT_TIMES, "remediation", *MONEY_FIELDS)
POSTMORTEM_TEXTS = (
    "summary",
    "impact",
    "trigger",
    "direct_cause",
    "root_cause",
    "went_well",
    "went_wrong",
    "got_lucky",
    "lessons_learned",
    "no_action_reason",
)
# The 复盘's one-line fields and its selects (the status is moved by its own buttons).
POSTMORTEM_LINES = ("owner", "responsible_team", "related_change", "due_date")
POSTMORTEM_SELECTS = ("root_cause_category", "detection_channel", "recovery_method")
ROLLOUT = "staged_rollout_should_have_caught"
SHOWN_WHYS = 5
LIST_SEPARATORS = str.maketrans({"，": ",", "、": ",", ";": ",", "；": ","})
ENUMS = {
    "grades": list(Grade),
    "statuses": list(IncidentStatus),
    "detections": list(Detection),
    "categories": list(RootCauseCategory),
    "pm_statuses": list(PostmortemStatus),
    "ai_types": list(ActionItemType),
    "milestones": list(Milestone),
    "channels": list(DetectionChannel),
    "recovery_methods": list(RecoveryMethod),
}


def _calendar(request: Request) -> Calendar:
    return request.app.state.calendar


# The list ---------------------------------------------------------------------------------


@router.get("/incidents", response_class=HTMLResponse)
def incident_list(
    request: Request,
    session: SessionDep,
    actor: PageActor,
    week: str = "",
    grade: str = "",
    system: str = "",
    team: str = "",
    status: str = "",
    q: str = Query("", max_length=200),
    page: int = Query(1, ge=1, le=200_000),
) -> HTMLResponse:
    errors: dict[str, str] = {}
    chosen_week = None
    if week.strip():
        try:
            chosen_week = _calendar(request).parse_week(week)
        except Invalid as exc:
            errors["week"] = exc.message
    if grade and grade not in Grade.__members__:
        errors["grade"] = "A–D"
    if status and status not in IncidentStatus.__members__:
        errors["status"] = Message("one_of", {"field": "status", "expected": list(IncidentStatus)})
    criteria = service.IncidentFilter(
        week=chosen_week,
        grade=Grade(grade) if grade and "grade" not in errors else None,
        system=system.strip() or None,
        team=team.strip() or None,
        status=IncidentStatus(status) if status and "status" not in errors else None,
        text=q.strip() or None,
    )
    items, total = service.list_incidents(
        session, criteria, _calendar(request), limit=PAGE_ROWS, offset=page_offset(page)
    )
    filters = {"week": week, "grade": grade, "system": system, "team": team}
    filters |= {"status": status, "q": q}
    kept = {name: value for name, value in filters.items() if value}

    return render(
        request,
        "incidents.html",
        {
            "items": items,
            **page_links("/incidents", kept, page, len(items), total),
            "filters": filters,
            "errors": errors,
            **ENUMS,
        },
        status=422 if errors else 200,
    )


# Filing -----------------------------------------------------------------------------------


def _filing_values(form: ImmutableMultiDict) -> dict[str, Any]:
    """The filing form as IncidentCreate takes it: empty fields and unanswered selects left out."""
    values: dict[str, Any] = given(form, FILING_TEXT_FIELDS)
    for name in FILING_CHECKBOXES:
        values[name] = checked(form, name)
    for name in FILING_LISTS:
        values[name] = [value for value in form.getlist(name) if value]
    for name in FILING_TRI_STATES:
        if (answer := tri_state(form, name)) is not None:
            values[name] = answer
    return values


def _filing_page(
    request: Request,
    form: ImmutableMultiDict,
    errors: dict[str, str] | None = None,
    *,
    status: int = 200,
    sentence_read: tuple[str, ...] | None = None,
) -> HTMLResponse:
    """`sentence_read`: the fields a 快速登记 sentence filled, when the form comes from one."""
    values = _filing_values(form)
    result = preview_grade(request.app.state.grading_policy, values, _calendar(request))
    # The selects are shown as chosen ("yes", "no" or ""), not as the bools they mean.
    shown = values | {name: form.get(name, "") for name in FILING_TRI_STATES}
    return render(
        request,
        "incident_new.html",
        {
            "values": shown,
            "errors": errors or {},
            "preview": result,
            "grade_fields": GRADED_INPUT_FIELDS,
            "triggers": request.app.state.grading_policy.triggers,
            "sentence_read": sentence_read,
            **ENUMS,
        },
        status=status,
    )


@router.get("/incidents/new", response_class=HTMLResponse)
def filing_form(
    request: Request, actor: OncallPage, text: str = Query("", max_length=SENTENCE_MAX)
) -> HTMLResponse:
    """The filing form; with `text` (the 快速登记 box) filled in from that one sentence."""
    if not text.strip():
        return _filing_page(request, ImmutableMultiDict())
    form, read = sentence_form(text, _calendar(request), utcnow())
    return _filing_page(request, form, sentence_read=read)


@router.get("/incidents/grade-preview")
def grade_preview(request: Request, actor: PageActor) -> JSONResponse:
    """The grade and the rules that fired for the form as typed so far."""
    form = ImmutableMultiDict(
        [(key, value[:200]) for key, value in request.query_params.multi_items()]
    )
    result = preview_grade(
        request.app.state.grading_policy, _filing_values(form), _calendar(request)
    )
    # The reasons in the page's language; reason_text stays the English filing stores.
    reasons = hit_lines(result.grade, result.hits, page_lang(request)) if result.grade else []
    return JSONResponse(
        {"grade": result.grade, "reasons": reasons, "reason_text": result.reason_text}
    )


@router.get("/incidents/similar")
def similar_incidents(
    request: Request,
    session: SessionDep,
    actor: PageActor,
    title: str = Query("", max_length=200),
    system: str = Query("", max_length=100),
    root_cause: str = Query("", max_length=2000),
) -> JSONResponse:
    """Earlier incidents like the form as typed so far, for its 类似的历史事件 panel."""
    found = similar.find_similar(
        session, similar.SimilarQuery(title=title, system=system, root_cause=root_cause)
    )
    now = utcnow()
    return JSONResponse(
        [
            _similar_item(item, _calendar(request)) | duplicate_facts(session, item, now)
            for item in found
        ]
    )


def _similar_item(item: similar.SimilarIncident, calendar: Calendar) -> dict[str, Any]:
    """One line of the panel as the page's script shows it (the incident page renders the same
    from the SimilarIncident itself)."""
    return {
        "url": f"/incidents/{item.id}",
        "title": item.title,
        "grade": item.grade,
        "date": f"{calendar.local(item.detected_at):%Y-%m-%d}",
        "system": item.system,
        "same_system": item.same_system,
        "root_cause": item.root_cause,
        "remediation": item.remediation,
    }


@router.post("/incidents/new", response_class=HTMLResponse)
def file_incident(
    request: Request,
    session: SessionDep,
    actor: FormWriter,
    policy: PolicyDep,
    form: FormData,
) -> Response:
    try:
        data = IncidentCreate.model_validate(_filing_values(form))
        incident = service.create_incident(
            session, data, actor=actor, policy=policy, calendar=_calendar(request)
        )
    except ValidationError as exc:
        return _filing_page(request, form, field_errors(exc), status=422)
    except Invalid as exc:
        session.rollback()  # nothing of a refused filing is kept
        return _filing_page(request, form, invalid_errors(exc), status=422)
    return see_other(f"/incidents/{incident.id}")


# One incident -----------------------------------------------------------------------------


def _edit_defaults(incident: Incident, request: Request) -> dict[str, Any]:
    """The edit form as rendered; a field posted back unchanged is not an edit."""
    calendar = _calendar(request)
    defaults = {
        "status": str(incident.status),
        "owner": incident.owner or "",
        "team": incident.team or "",
        "remediation": incident.remediation or "",
    }
    for name in EDIT_TIMES:
        moment = getattr(incident, name)
        defaults[name] = f"{calendar.local(moment):%Y-%m-%d %H:%M}" if moment else ""
    for name in MONEY_FIELDS:
        amount = getattr(incident, name)
        defaults[name] = "" if amount is None else f"{amount:f}"
    return defaults | {"regulatory_triggers": list(incident.regulatory_triggers)}


def _incident_page(
    request: Request,
    session: Session,
    incident_id: int,
    *,
    form_name: str | None = None,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    incident = service.get_incident(session, incident_id)
    try:
        postmortem = postmortems.get_postmortem(session, incident_id)
    except NotFound:
        postmortem = None
    week = _calendar(request).report_week_of(incident.detected_at, incident.report_week)
    forms: dict[str, dict[str, Any]] = {
        "edit": _edit_defaults(incident, request),
        "timeline": {},
        "postmortem": _postmortem_values(postmortem),
        "action_item": {},
    }
    if form_name is not None:
        forms[form_name] = values or {}
    return render(
        request,
        "incident.html",
        {
            "incident": incident,
            "net_loss": net_loss(incident.loss_cny, incident.recovered_cny),
            "triggers": request.app.state.grading_policy.triggers,
            **_milestone_facts(incident, request.app.state.grading_policy),
            "timeline": postmortems.timeline(session, incident_id),
            "similar": similar.similar_to(session, incident_id),
            "linked_alerts": linked_alerts(session, incident_id),
            "history": history(session, incident_id),
            "status_lags": status_lags(incident),
            "postmortem": postmortem,
            "whys": _whys(forms["postmortem"]),
            **_review_facts(request, session, postmortem),
            **_action_item_facts(request, session, incident_id),
            "week": week,
            "forms": forms,
            "form_name": form_name,
            "errors": errors or {},
            **ENUMS,
        },
        status=status,
    )


def _action_item_facts(request: Request, session: Session, incident_id: int) -> dict[str, Any]:
    """The items, the steps the signed-in person may take on each, and each one's last step."""
    items = action_items.action_items(session, incident_id)
    actor = getattr(request.state, "actor", None)
    return {
        "action_items": items,
        "ai_steps": {
            item.id: action_items.steps_open_to(actor, item)
            if actor is not None and can_write(actor)
            else []
            for item in items
        },
        "ai_last_steps": action_items.last_steps(session, incident_id),
        "ai_comment_steps": [step for step, rule in RULES.items() if rule.needs_comment],
        "closed_statuses": CLOSED_ACTION_STATUSES,
        "awaiting_verifier": AWAITING_VERIFIER,
    }


def _milestone_facts(incident: Incident, policy: GradingPolicy) -> dict[str, Any]:
    """Each milestone's time with the minutes of the stage it ends, and the 1-5-10 verdict."""
    minutes = stage_minutes(incident)
    ending = {stage.end: stage for stage in STAGES}
    rows = [
        (
            milestone.field,
            minutes[ending[milestone].name] if milestone in ending else None,
            f"after_{ending[milestone].start}" if milestone in ending else None,
        )
        for milestone in MILESTONES
    ]
    verdict = one_five_ten(incident, policy.targets)
    return {
        "milestone_rows": rows,
        "one_five_ten": verdict,
        "missed_stage": verdict.removeprefix("missed:") if verdict.startswith("missed:") else None,
        "targets": policy.targets,
    }


def _postmortem_values(postmortem: Postmortem | None) -> dict[str, Any]:
    if postmortem is None:
        return {}
    values = {name: getattr(postmortem, name) for name in PostmortemWrite.model_fields}
    values["reviewers"] = ", ".join(postmortem.reviewers)
    values["due_date"] = postmortem.due_date.isoformat() if postmortem.due_date else ""
    rollout = postmortem.staged_rollout_should_have_caught
    values[ROLLOUT] = "" if rollout is None else ("yes" if rollout else "no")
    return values


def _review_facts(
    request: Request, session: Session, postmortem: Postmortem | None
) -> dict[str, Any]:
    """The reviewers' verdicts, and which of submit, review and publish the signed-in person is
    offered (the domain refuses the rest anyway)."""
    if postmortem is None:
        return {"pm_reviews": [], "pm_latest": {}, "can_review": False, "is_admin": False}
    actor = getattr(request.state, "actor", None)
    reviews = postmortems.reviews(session, postmortem.incident_id)
    return {
        "pm_reviews": reviews,
        "pm_latest": {review.reviewer: review for review in reviews},
        "can_review": actor is not None
        and can_write(actor)
        and actor.name in postmortem.reviewers
        and postmortem.status != PostmortemStatus.published,
        "is_admin": actor is not None and actor.role.at_least(Role.admin),
    }


def _whys(shown: dict[str, Any]) -> list[str]:
    whys = list(shown.get("five_whys") or [])
    return whys + [""] * max(0, SHOWN_WHYS - len(whys))


def _submit(
    request: Request,
    session: Session,
    incident_id: int,
    *,
    form_name: str,
    shown: dict[str, Any],
    write: Callable[[], object],
    anchor: str = "",
) -> Response:
    """Run one form's write; on bad input show the incident page again with the field errors."""
    try:
        write()
    except (ValidationError, Invalid) as exc:
        session.rollback()  # nothing of a refused form is kept
        errors = field_errors(exc) if isinstance(exc, ValidationError) else invalid_errors(exc)
        return _incident_page(
            request,
            session,
            incident_id,
            form_name=form_name,
            values=shown,
            errors=errors,
            status=422,
        )
    return see_other(f"/incidents/{incident_id}{anchor}")


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
def incident_page(
    request: Request, incident_id: RowId, session: SessionDep, actor: PageActor
) -> HTMLResponse:
    return _incident_page(request, session, incident_id)


@router.post("/incidents/{incident_id}/edit", response_class=HTMLResponse)
def edit_incident(
    request: Request,
    incident_id: RowId,
    session: SessionDep,
    actor: FormWriter,
    policy: PolicyDep,
    form: FormData,
) -> Response:
    incident = service.get_incident(session, incident_id)
    defaults = _edit_defaults(incident, request)
    posted: dict[str, Any] = {
        name: form.get(name, "").strip() for name in EDIT_FIELDS if name in form
    }
    changes = {name: value or None for name, value in posted.items() if value != defaults[name]}
    # Unticking every box sends no value at all; the marker says the boxes were on the form.
    if TRIGGERS_ON_FORM in form:
        posted["regulatory_triggers"] = ticked = form.getlist("regulatory_triggers")
        if set(ticked) != set(incident.regulatory_triggers):
            changes["regulatory_triggers"] = ticked

    def write() -> None:
        data = IncidentUpdate.model_validate(changes)
        service.update_incident(
            session,
            incident_id,
            data.model_dump(exclude_unset=True),
            actor=actor,
            policy=policy,
            calendar=_calendar(request),
        )

    return _submit(request, session, incident_id, form_name="edit", shown=posted, write=write)


@router.post("/incidents/{incident_id}/timeline", response_class=HTMLResponse)
def add_timeline_entry(
    request: Request,
    incident_id: RowId,
    session: SessionDep,
    actor: FormWriter,
    policy: PolicyDep,
    form: FormData,
) -> Response:
    values = {**given(form, ("at", "text", "milestone")), "key_event": checked(form, "key_event")}
    return _submit(
        request,
        session,
        incident_id,
        form_name="timeline",
        shown=values,
        write=lambda: postmortems.add_timeline_entry(
            session,
            incident_id,
            TimelineEntryCreate.model_validate(values),
            actor=actor,
            policy=policy,
            calendar=_calendar(request),
        ),
        anchor="#timeline",
    )


@router.post("/incidents/{incident_id}/postmortem", response_class=HTMLResponse)
def write_postmortem(
    request: Request, incident_id: RowId, session: SessionDep, actor: FormWriter, form: FormData
) -> Response:
    values: dict[str, Any] = given(
        form, (*POSTMORTEM_TEXTS, *POSTMORTEM_LINES, *POSTMORTEM_SELECTS)
    )
    if (rollout := tri_state(form, ROLLOUT)) is not None:
        values[ROLLOUT] = rollout
    values["five_whys"] = [why.strip() for why in form.getlist("five_whys") if why.strip()]
    reviewers = form.get("reviewers", "").translate(LIST_SEPARATORS)
    values["reviewers"] = [name.strip() for name in reviewers.split(",") if name.strip()]
    return _submit(
        request,
        session,
        incident_id,
        form_name="postmortem",
        shown={**values, "reviewers": form.get("reviewers", ""), ROLLOUT: form.get(ROLLOUT, "")},
        write=lambda: postmortems.put_postmortem(
            session,
            incident_id,
            PostmortemWrite.model_validate(values),
            actor=actor,
            calendar=_calendar(request),
        ),
        anchor="#postmortem",
    )


@router.post("/incidents/{incident_id}/postmortem/submit", response_class=HTMLResponse)
def submit_postmortem(
    request: Request, incident_id: RowId, session: SessionDep, actor: FormWriter
) -> Response:
    return _submit(
        request,
        session,
        incident_id,
        form_name="pm_actions",
        shown={},
        write=lambda: postmortems.submit_for_review(session, incident_id, actor=actor),
        anchor="#postmortem",
    )


@router.post("/incidents/{incident_id}/postmortem/review", response_class=HTMLResponse)
def review_postmortem(
    request: Request, incident_id: RowId, session: SessionDep, actor: FormWriter, form: FormData
) -> Response:
    """Approve, or request changes with a comment; a signed-in person not named is refused."""
    values = {"verdict": form.get("verdict", ""), "comment": form.get("comment", "").strip()}
    return _submit(
        request,
        session,
        incident_id,
        form_name="pm_review",
        shown=values,
        write=lambda: postmortems.review_postmortem(
            session, incident_id, PostmortemReviewCreate.model_validate(values), actor=actor
        ),
        anchor="#postmortem",
    )


@router.post("/incidents/{incident_id}/postmortem/publish", response_class=HTMLResponse)
def publish_postmortem(
    request: Request, incident_id: RowId, session: SessionDep, actor: FormWriter, form: FormData
) -> Response:
    """Every missing part is listed beside the button; an admin's reason publishes over missing
    approvals."""
    reason = form.get("reason", "").strip() or None
    return _submit(
        request,
        session,
        incident_id,
        form_name="pm_actions",
        shown={"reason": form.get("reason", "")},
        write=lambda: postmortems.publish_postmortem(
            session, incident_id, actor=actor, reason=reason
        ),
        anchor="#postmortem",
    )


@router.get("/incidents/{incident_id}/postmortem/report", response_class=HTMLResponse)
def postmortem_report_page(
    request: Request, incident_id: RowId, session: SessionDep, actor: PageActor, policy: PolicyDep
) -> HTMLResponse:
    """The 复盘报告 to print, in the page's language (Chinese unless ?lang=en)."""
    built = postmortem_report.build(
        session,
        incident_id,
        calendar=_calendar(request),
        targets=policy.targets,
        lang=page_lang(request),
    )
    return render(
        request,
        "postmortem_report.html",
        {"incident": built.incident, "article": postmortem_report.to_html_fragment(built)},
    )


AI_FIELDS = ("title", "type", "owner", "due_date", "verifier", "acceptance_criteria", "tracker")


@router.post("/incidents/{incident_id}/action-items", response_class=HTMLResponse)
def add_action_item(
    request: Request, incident_id: RowId, session: SessionDep, actor: FormWriter, form: FormData
) -> Response:
    values = given(form, AI_FIELDS)
    return _submit(
        request,
        session,
        incident_id,
        form_name="action_item",
        shown=values,
        write=lambda: action_items.add_action_item(
            session,
            incident_id,
            ActionItemCreate.model_validate(values),
            actor=actor,
            calendar=_calendar(request),
        ),
        anchor="#action-items",
    )


@router.post("/action-items/{item_id}/{step}", response_class=HTMLResponse)
def take_action_item_step(
    request: Request,
    item_id: RowId,
    step: Step,
    session: SessionDep,
    actor: FormWriter,
    form: FormData,
) -> Response:
    """One button of an item: a step its owner or verifier (or an admin) may take; a missing
    comment is shown beside the item's comment field."""
    item = action_items.get_action_item(session, item_id)
    comment = form.get("comment", "")
    return _submit(
        request,
        session,
        item.incident_id,
        form_name=f"action_step_{item_id}",
        shown={"comment": comment, "step": step.value},
        write=lambda: action_items.take_step(session, item_id, step, actor=actor, comment=comment),
        anchor=f"#action-item-{item_id}",
    )
