from fastapi import APIRouter

from api.deps import Id, OncallDep, PageDep, SessionDep, ViewerDep
from api.pagination import ListPage
from incidents import regulatory
from incidents.db import get_or_raise, utcnow
from incidents.models import Incident
from incidents.regulatory import RegulatoryReport, RegulatoryReportPublic, RegulatoryReportRecord

router = APIRouter(prefix="/regulatory-reports", tags=["regulatory reports"])


@router.get("")
def register(
    page: PageDep, session: SessionDep, actor: ViewerDep
) -> ListPage[RegulatoryReportPublic]:
    """Every report to the regulator with its clock: open (due in), overdue (by), reported on
    time or late — newest deadline first."""
    rows, total = regulatory.register(session, limit=page.limit, offset=page.offset)
    now = utcnow()
    shown = [regulatory.public(report, incident, now) for report, incident in rows]
    return ListPage.of((shown, total), page)


@router.get("/{report_id}")
def read_report(report_id: Id, session: SessionDep, actor: ViewerDep) -> RegulatoryReportPublic:
    report = get_or_raise(session, RegulatoryReport, report_id)
    incident = session.get_one(Incident, report.incident_id)
    return regulatory.public(report, incident, utcnow())


@router.patch("/{report_id}")
def record_report(
    report_id: Id, data: RegulatoryReportRecord, session: SessionDep, actor: OncallDep
) -> RegulatoryReportPublic:
    """Record that the regulator was told (when, how, the reference), or the written report."""
    report = regulatory.record(session, report_id, data, actor=actor)
    incident = session.get_one(Incident, report.incident_id)
    return regulatory.public(report, incident, utcnow())
