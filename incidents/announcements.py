"""What Stabilog tells the team's chat about incidents, queued with the change that caused it."""

from datetime import datetime

from sqlmodel import Session

from incidents.calendar import Calendar
from incidents.messages import grade_reason_text
from incidents.models import Grade, Incident, IncidentStatus
from incidents.outbox import NotificationEvent, announce, neutralise

ANNOUNCED_GRADES = (Grade.A, Grade.B)
# The team's chat reads Chinese; the status's own value follows, as action items' messages do.
STATUS_WORDS = {
    IncidentStatus.open: "处理中",
    IncidentStatus.mitigated: "已缓解",
    IncidentStatus.resolved: "已解决",
    IncidentStatus.closed: "已关闭",
}


def local_text(moment: datetime | None, calendar: Calendar) -> str:
    return "—" if moment is None else f"{calendar.local(moment):%Y-%m-%d %H:%M}"


def _chinese_reason(incident: Incident) -> str:
    return grade_reason_text(incident.grade, incident.grade_hits, incident.grade_reason, "zh")


def announce_grade(session: Session, incident: Incident, calendar: Calendar) -> None:
    """An incident filed or regraded A or B goes out once per grade it reaches."""
    if incident.grade not in ANNOUNCED_GRADES:
        return
    lines = [
        f"- 系统：{neutralise(incident.system or '—')}",
        f"- 发现时间：{local_text(incident.detected_at, calendar)}",
        f"- 影响：{neutralise(incident.impact or incident.description or '—')}",
        f"- 定级依据：{neutralise(_chinese_reason(incident) or '—')}",
        f"- 状态：{STATUS_WORDS[incident.status]}（{incident.status}）",
    ]
    announce(
        session,
        NotificationEvent.incident,
        f"incident:{incident.id}:grade:{incident.grade}",
        title=f"【{incident.grade}级事故】{incident.title}",
        markdown="\n".join(lines),
        path=f"/incidents/{incident.id}",
    )
