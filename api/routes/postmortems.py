"""The 复盘's review workflow (submit, review, publish) and its document, the 复盘报告.

The fields are written with PUT /incidents/{id}/postmortem (routes/incidents.py); the status
moves only here.
"""

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from api.deps import CalendarDep, Id, OncallDep, PolicyDep, SessionDep, SettingsDep, ViewerDep
from incidents import postmortem_report, postmortems
from incidents.models import (
    Postmortem,
    PostmortemPublic,
    PostmortemPublish,
    PostmortemReview,
    PostmortemReviewCreate,
    PostmortemReviewPublic,
)

router = APIRouter(prefix="/incidents/{incident_id}/postmortem", tags=["postmortems"])


@router.post("/submit", response_model=PostmortemPublic)
def submit_for_review(incident_id: Id, session: SessionDep, actor: OncallDep) -> Postmortem:
    """待复盘 → 复盘中: the draft goes to its named reviewers."""
    return postmortems.submit_for_review(session, incident_id, actor=actor)


@router.post("/review", response_model=PostmortemReviewPublic)
def review(
    incident_id: Id, data: PostmortemReviewCreate, session: SessionDep, actor: OncallDep
) -> PostmortemReview:
    """The caller's verdict, as one of the named reviewers (403 otherwise, whatever the role;
    a write, so on-call at least, like every other); requesting changes needs a comment and
    sends the 复盘 back to draft."""
    return postmortems.review_postmortem(session, incident_id, data, actor=actor)


@router.post("/publish", response_model=PostmortemPublic)
def publish(
    incident_id: Id,
    session: SessionDep,
    actor: OncallDep,
    data: PostmortemPublish | None = None,
) -> Postmortem:
    """复盘中 → 已复盘. Refused with 422 naming every missing part, each on its field; an admin's
    `reason` publishes over missing approvals (audited), never over missing content."""
    reason = data.reason if data is not None else None
    return postmortems.publish_postmortem(session, incident_id, actor=actor, reason=reason)


@router.get("/reviews", response_model=list[PostmortemReviewPublic])
def read_reviews(incident_id: Id, session: SessionDep, actor: ViewerDep) -> list[PostmortemReview]:
    """Every verdict, oldest first; the latest of each reviewer is the one that counts."""
    return postmortems.reviews(session, incident_id)


@router.get("/report", response_model=None)
def report(
    incident_id: Id,
    session: SessionDep,
    actor: ViewerDep,
    settings: SettingsDep,
    calendar: CalendarDep,
    policy: PolicyDep,
    format: Literal["markdown", "html"] = "markdown",
    lang: Literal["zh", "en"] | None = None,
) -> Response:
    """The 复盘报告, prefilled from the incident; Markdown, or a standalone printable page."""
    built = postmortem_report.build(
        session,
        incident_id,
        calendar=calendar,
        targets=policy.targets,
        lang=lang or settings.report_lang,
    )
    if format == "html":
        return HTMLResponse(postmortem_report.to_html(built))
    markdown = postmortem_report.to_markdown(built)
    return PlainTextResponse(markdown, media_type="text/markdown; charset=utf-8")
