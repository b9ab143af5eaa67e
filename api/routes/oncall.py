"""The on-call rota, routing rules, escalation policies and what escalation did."""

from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field

from api.deps import AdminDep, CalendarDep, Id, OncallDep, SessionDep, ViewerDep
from incidents import escalation, oncall
from incidents.alerts.service import get_alert
from incidents.db import utcnow
from incidents.escalation import (
    EscalationMetrics,
    NoticePublic,
    PolicyPublic,
    PolicyWrite,
    RoutingWrite,
    RulePublic,
)
from incidents.models import QueryMoment
from incidents.oncall import OnCallPublic, OverridePublic, OverrideWrite, RotaPublic, RotaWrite

router = APIRouter(tags=["on-call"])


@router.get("/rotas")
def list_rotas(session: SessionDep, actor: ViewerDep) -> list[RotaPublic]:
    return [oncall.public(session, rota) for rota in oncall.list_rotas(session)]


@router.post("/rotas", status_code=status.HTTP_201_CREATED)
def create_rota(data: RotaWrite, session: SessionDep, actor: AdminDep) -> RotaPublic:
    return oncall.public(session, oncall.create_rota(session, data))


@router.get("/rotas/{rota_id}")
def read_rota(rota_id: Id, session: SessionDep, actor: ViewerDep) -> RotaPublic:
    return oncall.public(session, oncall.get_rota(session, rota_id))


@router.put("/rotas/{rota_id}")
def replace_rota(rota_id: Id, data: RotaWrite, session: SessionDep, actor: AdminDep) -> RotaPublic:
    """The rota as given, members included; overrides of members who stay are kept."""
    return oncall.public(session, oncall.replace_rota(session, rota_id, data))


@router.delete("/rotas/{rota_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_rota(rota_id: Id, session: SessionDep, actor: AdminDep) -> None:
    oncall.delete_rota(session, rota_id)


@router.get("/rotas/{rota_id}/overrides", response_model=list[OverridePublic])
def list_overrides(rota_id: Id, session: SessionDep, actor: ViewerDep) -> list[oncall.RotaOverride]:
    """The overrides (调班) not yet over."""
    oncall.get_rota(session, rota_id)
    return oncall.list_overrides(session, rota_id, ending_after=utcnow())


@router.post(
    "/rotas/{rota_id}/overrides",
    status_code=status.HTTP_201_CREATED,
    response_model=OverridePublic,
)
def add_override(
    rota_id: Id, data: OverrideWrite, session: SessionDep, actor: OncallDep
) -> oncall.RotaOverride:
    """调班: a member on call from–to; overrides of one rota never overlap."""
    return oncall.add_override(session, rota_id, data, actor=actor)


@router.delete("/rotas/{rota_id}/overrides/{override_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_override(rota_id: Id, override_id: Id, session: SessionDep, actor: OncallDep) -> None:
    oncall.delete_override(session, rota_id, override_id)


class OnCallQuery(BaseModel):
    at: QueryMoment | None = Field(None, description="a moment (default: now)")


@router.get("/oncall")
def who_is_on_call(
    query: Annotated[OnCallQuery, Query()],
    session: SessionDep,
    actor: ViewerDep,
    calendar: CalendarDep,
) -> list[OnCallPublic]:
    """Who is on call in every rota, now or at `at`."""
    at = query.at or utcnow()
    return [duty.public() for duty in oncall.on_call_everywhere(session, at, calendar)]


@router.get("/routing-rules")
def list_rules(session: SessionDep, actor: ViewerDep) -> list[RulePublic]:
    return escalation.list_rules(session)


@router.put("/routing-rules")
def set_rules(data: RoutingWrite, session: SessionDep, actor: AdminDep) -> list[RulePublic]:
    """The whole ordered list at once; an alert goes to the rota of the first rule it matches."""
    return escalation.set_rules(session, data)


@router.get("/escalation-policies")
def list_policies(session: SessionDep, actor: ViewerDep) -> list[PolicyPublic]:
    return escalation.policies_public(session)


@router.post("/escalation-policies", status_code=status.HTTP_201_CREATED)
def create_policy(data: PolicyWrite, session: SessionDep, actor: AdminDep) -> PolicyPublic:
    return escalation.policy_public(session, escalation.create_policy(session, data))


@router.put("/escalation-policies/{policy_id}")
def replace_policy(
    policy_id: Id, data: PolicyWrite, session: SessionDep, actor: AdminDep
) -> PolicyPublic:
    policy = escalation.replace_policy(session, policy_id, data)
    return escalation.policy_public(session, policy)


@router.delete("/escalation-policies/{policy_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_policy(policy_id: Id, session: SessionDep, actor: AdminDep) -> None:
    escalation.delete_policy(session, policy_id)


@router.get("/alerts/{alert_id}/escalation", response_model=list[NoticePublic])
def alert_escalation(
    alert_id: Id, session: SessionDep, actor: ViewerDep
) -> list[escalation.EscalationNotice]:
    """The steps taken for the alert: who was notified, on which channel, when."""
    get_alert(session, alert_id)
    return escalation.notices_of(session, alert_id)


class WindowQuery(BaseModel):
    from_: QueryMoment = Field(alias="from")
    to: QueryMoment


@router.get("/escalation/metrics")
def escalation_metrics(
    query: Annotated[WindowQuery, Query()], session: SessionDep, actor: ViewerDep
) -> EscalationMetrics:
    """Of the alerts received in [from, to) that escalated, how many were followed up after
    step k, and how many never were."""
    return escalation.metrics(session, query.from_, query.to)
