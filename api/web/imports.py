"""Importing past weekly reports from the pages: upload (or paste), preview every event with the
text each value was read from, import; then review the events the import could not grade surely.

The upload form is multipart (a file input); the standard library's email parser reads it, so the
pages need no multipart package. Its CSRF token and role are checked as `form_writer` does for
urlencoded forms. The preview page's "import" button posts the decoded text back urlencoded, so
a GBK file previewed once imports exactly as previewed.
"""

import hmac
from email.parser import BytesParser
from email.policy import HTTP
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from api.deps import SessionDep
from api.web.auth import (
    CSRF_FIELD,
    FORM_CONTENT_TYPE,
    WRITER_ROLE,
    FormData,
    FormWriter,
    OncallPage,
    PageActor,
    PageForbidden,
    can_write,
)
from api.web.forms import RowId
from api.web.i18n import WORDS, Lang, page_lang
from api.web.rendering import PageRoute, invalid_message, render, see_other
from incidents.actors import Actor
from incidents.errors import Invalid
from incidents.figures import FIGURES
from incidents.importer import (
    ImportResult,
    decode_report,
    import_weekly,
    resolve_review,
    review_queue,
)
from incidents.models import Grade

router = APIRouter(route_class=PageRoute, include_in_schema=False)

MULTIPART = "multipart/form-data"
# The values a preview shows for each event, in this order, when the report gave them.
SHOWN_FIELDS = (
    "detected_at",
    "system",
    "failed_orders",
    "failed_transactions",
    "affected_users",
    "impact_minutes",
    "amount_involved_cny",
    "loss_cny",
    "detection",
    "source",
    "business_impact",
)
# What a reviewer may say of an event: a grade, or "none" for no business impact.
VERDICTS = ("A", "B", "C", "D", "none")


def _import_page(
    request: Request,
    *,
    result: ImportResult | None = None,
    text: str = "",
    error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "import.html",
        {
            "result": result,
            "text": text,
            "error": error,
            "shown_fields": SHOWN_FIELDS,
            "figure_labels": _figure_labels(page_lang(request)),
        },
        status=status,
    )


def _figure_labels(lang: Lang) -> dict[str, str]:
    labels = {name: kind.zh if lang == "zh" else kind.en for name, kind in FIGURES.items()}
    return labels | {"year_availability": WORDS[lang].import_year_availability}


@router.get("/import", response_class=HTMLResponse)
def upload_page(request: Request, actor: OncallPage) -> HTMLResponse:
    return _import_page(request)


async def _posted(request: Request) -> dict[str, bytes]:
    """The fields of a multipart or urlencoded form, as bytes."""
    content_type = request.headers.get("content-type", "")
    body = await request.body()
    kind = content_type.split(";")[0].strip().lower()
    if kind == FORM_CONTENT_TYPE:
        return {
            name: value.encode()
            for name, value in parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        }
    if kind != MULTIPART:
        return {}
    message = BytesParser(policy=HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    fields: dict[str, bytes] = {}
    if message.is_multipart():
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if isinstance(name, str):
                payload = part.get_payload(decode=True)
                fields[name] = payload if isinstance(payload, bytes) else b""
    return fields


async def upload_writer(request: Request, actor: PageActor) -> tuple[Actor, dict[str, bytes]]:
    """`form_writer` for a form that may be multipart: the fields, posted by an on-call with
    this site's CSRF token."""
    fields = await _posted(request)
    posted = fields.get(CSRF_FIELD, b"").decode("utf-8", "replace")
    if not hmac.compare_digest(posted, request.state.csrf):
        raise PageForbidden("csrf_failed")
    if not can_write(actor):
        raise PageForbidden("forbidden_role", WRITER_ROLE)
    return actor, fields


@router.post("/import", response_class=HTMLResponse)
async def upload(
    request: Request,
    session: SessionDep,
    posted: Annotated[tuple[Actor, dict[str, bytes]], Depends(upload_writer)],
) -> HTMLResponse:
    actor, fields = posted
    dry_run = fields.get("action", b"preview") != b"import"
    text = ""
    try:
        text = _report_text(fields)
        result = await run_in_threadpool(_import, session, request, text, actor, dry_run)
    except Invalid as exc:
        session.rollback()
        return _import_page(request, text=text, error=invalid_message(exc), status=422)
    return _import_page(request, result=result, text=text)


def _report_text(fields: dict[str, bytes]) -> str:
    """The uploaded file, else the pasted text."""
    if uploaded := fields.get("report"):
        return decode_report(uploaded, name="report")
    pasted = fields.get("text", b"").decode("utf-8", "replace")
    if not pasted.strip():
        raise Invalid("report", code="choose_report")
    return pasted


def _import(
    session: Session, request: Request, text: str, actor: Actor, dry_run: bool
) -> ImportResult:
    return import_weekly(
        session,
        text,
        actor=actor,
        policy=request.app.state.grading_policy,
        settings=request.app.state.settings,
        dry_run=dry_run,
    )


@router.get("/import/review", response_class=HTMLResponse)
def review_page(request: Request, session: SessionDep, actor: PageActor) -> HTMLResponse:
    return render(
        request, "import_review.html", {"items": review_queue(session), "verdicts": VERDICTS}
    )


@router.post("/import/review/{incident_id}", response_class=HTMLResponse)
def review(
    request: Request,
    incident_id: RowId,
    session: SessionDep,
    actor: FormWriter,
    form: FormData,
) -> Response:
    """One click: the grade chosen (an override with the reason "imported report"), or none."""
    verdict = form.get("grade", "")
    if verdict not in VERDICTS:
        raise Invalid("grade", code="one_of", params={"expected": list(VERDICTS)})
    resolve_review(
        session,
        incident_id,
        None if verdict == "none" else Grade(verdict),
        actor=actor,
        policy=request.app.state.grading_policy,
        calendar=request.app.state.calendar,
    )
    return see_other(f"/import/review#reviewed-{incident_id}")
