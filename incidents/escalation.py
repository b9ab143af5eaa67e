"""Escalation until followed up: routing rules, escalation policies, the steps taken, the job's
work, acknowledging through a step's link, and "followed up after escalation step k".

Routing is a short ordered list of rules, source and severity → rota, the first match wins. A
rota's escalation policy is an ordered list of steps; step k is due `after_minutes` after the
alert arrived and notifies the rota's current person, its secondary or a named member, on the
step's channel, @-mentioning them. The job walks alerts that are firing, not followed up and
allowed to page (`incidents/alerts/noise.py`), and takes each alert's next due step, one per
run: an alert followed up (acknowledged, judged or linked) drops out of the walk, which is how
escalation stops. A step taken is a row unique per (alert, step), inserted before its message is
queued in the same transaction, so two instances never send one step twice.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, UniqueConstraint, delete, exists, func
from sqlmodel import Field, Session, SQLModel, col, select

from incidents.ack_links import (
    AckLink,
    AckLinkRefused,
    AckLinkUse,
    Refusal,
    link_path,
    link_secret,
    read_token,
)
from incidents.actors import Actor
from incidents.alerts import service
from incidents.alerts.models import Alert, AlertStatus, Source
from incidents.alerts.noise import pages_on_call
from incidents.calendar import Calendar
from incidents.db import UTCDateTime, dialect_insert, get_or_raise, utcnow
from incidents.errors import Invalid, NotFound
from incidents.models import Moment, OneLine, Role, WriteModel
from incidents.oncall import NAME_MAX, Rota, RotaMember, member_named, on_call, rota_named
from incidents.outbox import Channel, NotificationEvent, announce, neutralise

MAX_STEPS = 10
MAX_RULES = 100
# Alerts older than this are not escalated any more: a call a day late helps nobody.
ESCALATION_HORIZON = timedelta(hours=24)


class StepTarget(StrEnum):
    current = "current"  # the rota's on-call person now
    secondary = "secondary"  # the rota's secondary now (备班)
    person = "person"  # a named member of the rota, e.g. the team lead


# --- tables -----------------------------------------------------------------------------------


class EscalationPolicy(SQLModel, table=True):
    __tablename__ = "escalation_policy"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=NAME_MAX, unique=True)
    # One policy per rota: a routed alert escalates by its rota's policy.
    rota_id: int = Field(foreign_key="rota.id", unique=True, ondelete="CASCADE")
    # [{"after_minutes": 0, "notify": "current", "person": null, "channel_id": 3}, …]
    steps: list[dict[str, Any]] = Field(default_factory=list, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class RouteRule(SQLModel, table=True):
    __tablename__ = "route_rule"
    id: int | None = Field(default=None, primary_key=True)
    position: int
    source_id: int | None = Field(default=None, foreign_key="source.id", ondelete="CASCADE")
    severity: str | None = Field(default=None, max_length=50)  # compared case-insensitively
    rota_id: int = Field(foreign_key="rota.id", ondelete="CASCADE")


class EscalationNotice(SQLModel, table=True):
    """One step taken for one alert: who was notified, where, when."""

    __tablename__ = "escalation_notice"
    __table_args__ = (UniqueConstraint("alert_id", "step", name="uq_escalation_notice_step"),)
    id: int | None = Field(default=None, primary_key=True)
    alert_id: int = Field(foreign_key="alert.id", index=True, ondelete="CASCADE")
    step: int  # 1-based, in the policy's order
    rota: str = Field(max_length=NAME_MAX)
    person: str = Field(max_length=NAME_MAX)
    channel_id: int | None = Field(default=None, foreign_key="channel.id", ondelete="SET NULL")
    channel: str = Field(max_length=100)  # its name then, kept if the channel goes
    notified_at: datetime = Field(sa_type=UTCDateTime, nullable=False)


# --- input and answers ------------------------------------------------------------------------


class StepWrite(WriteModel):
    after_minutes: int = Field(ge=0, le=1440, description="minutes after the alert arrived")
    notify: StepTarget
    person: OneLine | None = Field(default=None, max_length=NAME_MAX)
    channel: OneLine = Field(min_length=1, max_length=100, description="a channel's name")


class PolicyWrite(WriteModel):
    name: OneLine = Field(min_length=1, max_length=NAME_MAX)
    rota: OneLine = Field(min_length=1, max_length=NAME_MAX, description="the rota's name")
    steps: list[StepWrite] = Field(min_length=1, max_length=MAX_STEPS)


class StepPublic(SQLModel):
    after_minutes: int
    notify: StepTarget
    person: str | None
    channel: str | None


class PolicyPublic(SQLModel):
    id: int
    name: str
    rota: str
    steps: list[StepPublic]
    created_at: Moment


class RuleWrite(WriteModel):
    source: OneLine | None = Field(default=None, max_length=100, description="any when empty")
    severity: OneLine | None = Field(default=None, max_length=50, description="any when empty")
    rota: OneLine = Field(min_length=1, max_length=NAME_MAX)


class RoutingWrite(WriteModel):
    rules: list[RuleWrite] = Field(max_length=MAX_RULES)


class RulePublic(SQLModel):
    position: int
    source: str | None
    severity: str | None
    rota: str


class NoticePublic(SQLModel):
    step: int
    rota: str
    person: str
    channel: str
    notified_at: Moment


class EscalationMetrics(SQLModel):
    escalated: int = Field(description="alerts of the window with at least one step taken")
    followed_up_after_step: dict[int, int] = Field(
        description="k → alerts followed up after step k was sent and before step k+1"
    )
    not_followed_up: int


# --- policies ---------------------------------------------------------------------------------


def _channel_named(session: Session, name: str, field: str) -> Channel:
    channel = session.exec(select(Channel).where(col(Channel.name) == name)).first()
    if channel is None:
        raise Invalid(field, code="no_channel_named", params={"name": name})
    return channel


def _rota_for(session: Session, name: str, field: str) -> Rota:
    try:
        return rota_named(session, name)
    except NotFound:
        raise Invalid(field, code="no_rota_named", params={"name": name}) from None


def _stored_steps(session: Session, rota: Rota, steps: list[StepWrite]) -> list[dict[str, Any]]:
    stored = []
    previous = 0
    for index, step in enumerate(steps):
        field = f"steps.{index}"
        if step.after_minutes < previous:
            raise Invalid(f"{field}.after_minutes", code="steps_in_order")
        previous = step.after_minutes
        if step.notify == StepTarget.person:
            if step.person is None:
                raise Invalid(f"{field}.person", code="name_member")
            if member_named(session, rota.id or 0, step.person) is None:
                who = {"name": step.person, "rota": rota.name}
                raise Invalid(f"{field}.person", code="not_member_of", params=who)
        elif step.person is not None:
            raise Invalid(f"{field}.person", code="person_only_for_person")
        channel = _channel_named(session, step.channel, f"{field}.channel")
        stored.append(
            {
                "after_minutes": step.after_minutes,
                "notify": step.notify.value,
                "person": step.person,
                "channel_id": channel.id,
            }
        )
    return stored


def _check_policy(session: Session, data: PolicyWrite, policy_id: int | None) -> Rota:
    rota = _rota_for(session, data.rota, "rota")
    for column, value, field in (
        (EscalationPolicy.name, data.name, "name"),
        (EscalationPolicy.rota_id, rota.id, "rota"),
    ):
        other = session.exec(select(EscalationPolicy.id).where(col(column) == value)).first()
        if other is not None and other != policy_id:
            raise Invalid(field, code="policy_taken")
    return rota


def create_policy(session: Session, data: PolicyWrite) -> EscalationPolicy:
    rota = _check_policy(session, data, None)
    policy = EscalationPolicy(
        name=data.name, rota_id=rota.id or 0, steps=_stored_steps(session, rota, data.steps)
    )
    session.add(policy)
    session.flush()
    return policy


def replace_policy(session: Session, policy_id: int, data: PolicyWrite) -> EscalationPolicy:
    policy = get_or_raise(session, EscalationPolicy, policy_id)
    rota = _check_policy(session, data, policy_id)
    policy.name, policy.rota_id = data.name, rota.id or 0
    policy.steps = _stored_steps(session, rota, data.steps)
    session.add(policy)
    session.flush()
    return policy


def delete_policy(session: Session, policy_id: int) -> None:
    session.delete(get_or_raise(session, EscalationPolicy, policy_id))


def policy_named(session: Session, name: str) -> EscalationPolicy:
    policy = session.exec(
        select(EscalationPolicy).where(col(EscalationPolicy.name) == name)
    ).first()
    if policy is None:
        raise NotFound("escalation policy", name)
    return policy


def list_policies(session: Session) -> list[EscalationPolicy]:
    return list(session.exec(select(EscalationPolicy).order_by(col(EscalationPolicy.name))).all())


def policies_public(session: Session) -> list[PolicyPublic]:
    """Every policy as shown, by name; the channels' names are read once for all of them."""
    channels = _channel_names(session)
    return [_policy_public(session, policy, channels) for policy in list_policies(session)]


def policy_public(session: Session, policy: EscalationPolicy) -> PolicyPublic:
    return _policy_public(session, policy, _channel_names(session))


def _channel_names(session: Session) -> dict[int | None, str]:
    return dict(session.exec(select(col(Channel.id), col(Channel.name))).all())


def _policy_public(
    session: Session, policy: EscalationPolicy, channels: dict[int | None, str]
) -> PolicyPublic:
    rota = session.get_one(Rota, policy.rota_id)
    steps = [
        StepPublic(
            after_minutes=step["after_minutes"],
            notify=step["notify"],
            person=step["person"],
            channel=channels.get(step["channel_id"]),
        )
        for step in policy.steps
    ]
    return PolicyPublic(
        id=policy.id or 0,
        name=policy.name,
        rota=rota.name,
        steps=steps,
        created_at=policy.created_at,
    )


# --- routing ----------------------------------------------------------------------------------


def set_rules(session: Session, data: RoutingWrite) -> list[RulePublic]:
    """The whole ordered list, replaced at once."""
    rows = []
    for index, rule in enumerate(data.rules):
        rota = _rota_for(session, rule.rota, f"rules.{index}.rota")
        source_id = None
        if rule.source is not None:
            source_id = session.exec(
                select(Source.id).where(col(Source.name) == rule.source)
            ).first()
            if source_id is None:
                source = {"name": rule.source}
                raise Invalid(f"rules.{index}.source", code="no_source_named", params=source)
        severity = rule.severity.lower() if rule.severity else None
        rows.append(
            RouteRule(position=index, source_id=source_id, severity=severity, rota_id=rota.id or 0)
        )
    session.execute(delete(RouteRule))
    session.add_all(rows)
    session.flush()
    return list_rules(session)


def list_rules(session: Session) -> list[RulePublic]:
    rows = session.exec(
        select(RouteRule, Rota.name, Source.name)
        .join(Rota, col(Rota.id) == RouteRule.rota_id)
        .outerjoin(Source, col(Source.id) == RouteRule.source_id)
        .order_by(col(RouteRule.position))
    ).all()
    return [
        RulePublic(position=rule.position, source=source, severity=rule.severity, rota=rota)
        for rule, rota, source in rows
    ]


def _route(rules: Sequence[RouteRule], source_id: int, severity: str | None) -> int | None:
    """The rota of the first rule the alert matches."""
    lowered = (severity or "").lower()
    for rule in rules:
        if rule.source_id is not None and rule.source_id != source_id:
            continue
        if rule.severity is not None and rule.severity != lowered:
            continue
        return rule.rota_id
    return None


# --- the job's work ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StepTaken:
    alert_id: int
    step: int
    person: str
    channel_id: int


def _person(
    session: Session, rota: Rota, step: dict[str, Any], now: datetime, calendar: Calendar
) -> RotaMember | None:
    if step["notify"] == StepTarget.person:
        return member_named(session, rota.id or 0, step["person"])
    duty = on_call(session, rota, now, calendar)
    if step["notify"] == StepTarget.secondary:
        return duty.secondary or duty.primary  # a rota of one has nobody else to call
    return duty.primary


def escalate_due(
    session: Session, now: datetime, *, calendar: Calendar, link_ttl: timedelta
) -> list[StepTaken]:
    """Take the next due step of every alert that is firing, not followed up and may page."""
    rules = session.exec(select(RouteRule).order_by(col(RouteRule.position))).all()
    if not rules:
        return []
    recent = col(Alert.received_at) > now - ESCALATION_HORIZON
    # Only the columns routing needs: an alert row also holds its labels and raw payload, and
    # every unanswered alert of the day is looked at each minute (those whose policy has run
    # out too, so none can crowd out a newer one).
    candidates = session.exec(
        select(Alert.id, Alert.source_id, Alert.severity, Alert.received_at)
        .where(
            col(Alert.status) == AlertStatus.firing,
            col(Alert.first_follow_up_at).is_(None),
            pages_on_call(),
            recent,
            col(Alert.received_at) <= now,
        )
        .order_by(col(Alert.received_at))
    ).all()
    policies = {policy.rota_id: policy for policy in list_policies(session)}
    steps_taken = dict(
        session.exec(
            select(EscalationNotice.alert_id, func.max(EscalationNotice.step))
            .join(Alert, col(Alert.id) == EscalationNotice.alert_id)
            .where(recent)
            .group_by(col(EscalationNotice.alert_id))
        ).all()
    )
    secret = link_secret(session)
    taken = []
    for alert_id, source_id, severity, received_at in candidates:
        rota_id = _route(rules, source_id, severity)
        policy = policies.get(rota_id) if rota_id is not None else None
        if policy is None:
            continue
        number = steps_taken.get(alert_id or 0, 0) + 1
        if number > len(policy.steps):
            continue
        step = policy.steps[number - 1]
        if received_at + timedelta(minutes=step["after_minutes"]) > now:
            continue
        alert = session.get_one(Alert, alert_id)
        rota = session.get_one(Rota, policy.rota_id)
        person = _person(session, rota, step, now, calendar)
        channel = session.get(Channel, step["channel_id"])
        if person is None or channel is None:
            continue  # the member or channel went since the policy was written
        if _record(session, alert, number, rota, person, channel, now):
            _announce(
                session,
                alert,
                number,
                policy,
                rota,
                person,
                channel,
                secret,
                now + link_ttl,
                calendar,
            )
            taken.append(StepTaken(alert.id or 0, number, person.name, channel.id or 0))
    return taken


def _record(
    session: Session,
    alert: Alert,
    number: int,
    rota: Rota,
    person: RotaMember,
    channel: Channel,
    now: datetime,
) -> bool:
    """The step's row, unless another instance took it first."""
    table = EscalationNotice.__table__  # type: ignore[attr-defined]
    inserted = session.execute(
        dialect_insert(session.get_bind().dialect.name)(table)
        .values(
            alert_id=alert.id,
            step=number,
            rota=rota.name,
            person=person.name,
            channel_id=channel.id,
            channel=channel.name,
            notified_at=now,
        )
        .on_conflict_do_nothing(index_elements=["alert_id", "step"])
        .returning(table.c.id)
    ).first()
    return inserted is not None


def _announce(
    session: Session,
    alert: Alert,
    number: int,
    policy: EscalationPolicy,
    rota: Rota,
    person: RotaMember,
    channel: Channel,
    secret: bytes,
    expires_at: datetime,
    calendar: Calendar,
) -> None:
    steps = policy.steps
    lines = [
        f"**{neutralise(alert.title)}**",
        "",
        f"- 级别：{neutralise(alert.severity or '—')}",
        f"- 系统：{neutralise(alert.system or '—')}",
        f"- 到达：{calendar.local(alert.received_at):%m-%d %H:%M}",
        f"- 通知：{neutralise(person.name)}（{neutralise(rota.name)}，第{number}/{len(steps)}步）",
    ]
    if number < len(steps):
        wait = steps[number]["after_minutes"]
        lines.append(f"- 到达后{wait}分钟仍无人跟进，将通知下一步")
    local_expiry = calendar.local(expires_at)
    lines += ["", f"点「查看详情」即确认，可再判有效/无效（链接{local_expiry:%m-%d %H:%M}前有效）"]
    announce(
        session,
        NotificationEvent.escalation,
        f"escalation:{alert.id}:{number}",
        title=f"【报警升级 {number}/{len(steps)}】{alert.title}",
        markdown="\n".join(lines),
        path=link_path(secret, alert.id or 0, number, expires_at),
        channel_id=channel.id,
        mentions=[person.mention()],
    )


def notices_of(session: Session, alert_id: int) -> list[EscalationNotice]:
    return list(
        session.exec(
            select(EscalationNotice)
            .where(col(EscalationNotice.alert_id) == alert_id)
            .order_by(col(EscalationNotice.step))
        ).all()
    )


# --- acknowledging through a step's link ------------------------------------------------------


def _link_actor(session: Session, link: AckLink) -> Actor:
    """The person the link's step notified, so the alert says who acknowledged it."""
    person = session.exec(
        select(EscalationNotice.person).where(
            col(EscalationNotice.alert_id) == link.alert_id,
            col(EscalationNotice.step) == link.step,
        )
    ).first()
    return Actor(name=f"{person or 'unknown'} (link)", role=Role.oncall)


def acknowledge_by_link(session: Session, token: str, now: datetime | None = None) -> Alert:
    """The one tap: acknowledge the alert, once per link (AckLinkRefused otherwise)."""
    now = now or utcnow()
    link = read_token(link_secret(session), token, now)
    service.get_alert(session, link.alert_id)
    table = AckLinkUse.__table__  # type: ignore[attr-defined]
    first_use = session.execute(
        dialect_insert(session.get_bind().dialect.name)(table)
        .values(signature=link.signature, alert_id=link.alert_id, step=link.step, used_at=now)
        .on_conflict_do_nothing(index_elements=["signature"])
        .returning(table.c.signature)
    ).first()
    if first_use is None:
        raise AckLinkRefused(Refusal.used, link.alert_id)
    return service.acknowledge(session, link.alert_id, actor=_link_actor(session, link))


def judge_by_link(session: Session, token: str, valid: bool, now: datetime | None = None) -> Alert:
    """有效 / 无效 from the page the link opened: only after the link acknowledged, once."""
    now = now or utcnow()
    link = read_token(link_secret(session), token, now)
    use = session.exec(
        select(AckLinkUse).where(col(AckLinkUse.signature) == link.signature).with_for_update()
    ).first()
    if use is None or use.judged_at is not None:
        raise AckLinkRefused(Refusal.used, link.alert_id)
    use.judged_at = now
    session.add(use)
    return service.judge(session, link.alert_id, valid, None, actor=_link_actor(session, link))


# --- metrics ----------------------------------------------------------------------------------


def metrics(session: Session, start: datetime, end: datetime) -> EscalationMetrics:
    """Of the alerts received in [start, end) that were escalated: how many were followed up
    after step k (k steps had gone out by then; 0: before the first), and how many never."""
    if end <= start:
        raise Invalid("to", code="must_be_after", params={"other": "from"})
    notified = select(EscalationNotice.id).where(col(EscalationNotice.alert_id) == Alert.id)
    steps_before = (
        select(func.count())
        .select_from(EscalationNotice)
        .where(
            col(EscalationNotice.alert_id) == Alert.id,
            col(EscalationNotice.notified_at) <= Alert.first_follow_up_at,
        )
        .correlate(Alert)
        .scalar_subquery()
    )
    escalated = (
        select(Alert.id, Alert.first_follow_up_at, steps_before.label("k"))
        .where(
            col(Alert.received_at) >= start,
            col(Alert.received_at) < end,
            exists(notified),
        )
        .subquery()
    )
    rows = session.exec(
        select(escalated.c.k, func.count())
        .where(escalated.c.first_follow_up_at.is_not(None))
        .group_by(escalated.c.k)
    ).all()
    total = session.exec(select(func.count()).select_from(escalated)).one()
    by_step = {int(k): count for k, count in rows}
    return EscalationMetrics(
        escalated=total,
        followed_up_after_step=dict(sorted(by_step.items())),
        not_followed_up=total - sum(by_step.values()),
    )
