"""One alert's page (/alerts/{id}): its facts, its follow-up, and each escalation step with who
was notified when; and the page an escalation message's signed link opens (/ack/…), which
acknowledges without signing in and offers 有效 / 无效, 升级为事故 after sign-in."""

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from api.deps import SessionDep
from api.web.alerts import clock_of
from api.web.auth import FormData, PageActor
from api.web.rendering import PageRoute, render
from incidents import escalation
from incidents.ack_links import AckLinkRefused, Refusal
from incidents.alerts import service
from incidents.alerts.models import Alert, Source
from incidents.db import utcnow

router = APIRouter(route_class=PageRoute, include_in_schema=False)

# Answers of a refused link: forged (not ours), expired, already used.
REFUSAL_STATUS = {Refusal.forged: 403, Refusal.expired: 410, Refusal.used: 409}
Token = Path(max_length=200)
# Chat clients that fetch a link to preview it: their visit is nobody's tap, so it changes
# nothing (DingTalk, WeCom and Feishu do not unfurl robot messages' links; Slack does).
LINK_PREVIEWERS = (
    "Slackbot-LinkExpanding",
    "Slack-ImgProxy",
    "facebookexternalhit",
    "TelegramBot",
    "Discordbot",
    "WhatsApp",
)


def _source_name(session: Session, alert: Alert) -> str:
    source = session.get(Source, alert.source_id)
    return source.name if source is not None else ""


# `:int` so that /alerts/export and the other pages under /alerts never reach this route.
@router.get("/alerts/{alert_id:int}", response_class=HTMLResponse)
def alert_page(
    request: Request, alert_id: int, session: SessionDep, actor: PageActor
) -> HTMLResponse:
    alert = service.get_alert(session, alert_id)
    minutes = request.app.state.settings.follow_up_minutes
    return render(
        request,
        "alert.html",
        {
            "alert": alert,
            "clock": clock_of(alert, utcnow(), minutes),
            "source": _source_name(session, alert),
            "notices": escalation.notices_of(session, alert_id),
            "here": f"/alerts/{alert_id}",
        },
    )


def _ack_page(
    request: Request,
    token: str,
    *,
    outcome: str,
    alert: Alert | None,
    status: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "ack.html",
        {"token": token, "outcome": outcome, "alert": alert},
        status=status,
    )


def _refused(request: Request, session: Session, token: str, exc: AckLinkRefused) -> HTMLResponse:
    alert = session.get(Alert, exc.alert_id) if exc.alert_id is not None else None
    return _ack_page(
        request,
        token,
        outcome=f"link_{exc.refusal.value}",
        alert=alert,
        status=REFUSAL_STATUS[exc.refusal],
    )


@router.get("/ack/{token}", response_class=HTMLResponse)
def acknowledge_by_link(request: Request, session: SessionDep, token: str = Token) -> HTMLResponse:
    agent = request.headers.get("user-agent", "")
    if any(previewer in agent for previewer in LINK_PREVIEWERS):
        return _ack_page(request, token, outcome="link_preview", alert=None)
    try:
        alert = escalation.acknowledge_by_link(session, token)
    except AckLinkRefused as exc:
        return _refused(request, session, token, exc)
    return _ack_page(request, token, outcome="ack_done", alert=alert)


@router.post("/ack/{token}/verdict", response_class=HTMLResponse)
def judge_by_link(
    request: Request, session: SessionDep, form: FormData, token: str = Token
) -> HTMLResponse:
    valid = form.get("valid")
    if valid not in ("true", "false"):
        return _ack_page(request, token, outcome="verdict_missing", alert=None, status=422)
    try:
        alert = escalation.judge_by_link(session, token, valid == "true")
    except AckLinkRefused as exc:
        return _refused(request, session, token, exc)
    return _ack_page(
        request,
        token,
        outcome="judged_valid" if alert.valid else "judged_invalid",
        alert=alert,
    )
