"""What Stabilog tells the team's chat, queued in the outbox with the change that caused it."""

from datetime import datetime

from sqlmodel import Session

from incidents.models import Grade, Incident
from incidents.settings import get_settings
from incidents.timeparse import to_local
from notifiers.base import Message, neutralise
from notifiers.models import NotificationEvent
from notifiers.outbox import enqueue

ANNOUNCED_GRADES = (Grade.A, Grade.B)


def page_url(path: str) -> str:
    return get_settings().public_url.rstrip("/") + path


def local_text(moment: datetime | None) -> str:
    return "—" if moment is None else f"{to_local(moment, get_settings().tz):%Y-%m-%d %H:%M}"


def announce_grade(session: Session, incident: Incident) -> None:
    """An incident filed or regraded A or B goes out once per grade it reaches."""
    if incident.grade not in ANNOUNCED_GRADES:
        return
    lines = [
        f"- 系统：{neutralise(incident.system or '—')}",
        f"- 发现时间：{local_text(incident.detected_at)}",
        f"- 影响：{neutralise(incident.impact or incident.description or '—')}",
        f"- 定级依据：{neutralise(incident.grade_reason or '—')}",
        f"- 状态：{incident.status}",
    ]
    enqueue(
        session,
        NotificationEvent.incident,
        f"incident:{incident.id}:grade:{incident.grade}",
        Message(
            title=f"【{incident.grade}级事故】{incident.title}",
            markdown="\n".join(lines),
            url=page_url(f"/incidents/{incident.id}"),
            event=NotificationEvent.incident,
        ),
    )
