"""The on-call rota (值班表): members taking turns, hand-off time and period, 调班 overrides, a
different turn on days off, and who is on call at a given moment.

A rota hands off at `handoff_time` on the team's wall clock: every day (daily) or every seven
days counted from `start_date` (weekly, so the start date's weekday is the hand-off day). The
member of a slot is `members[slot % n]` among those `in_rotation`; the secondary (备班) is the
next one in line. Members not in rotation (the team lead) can still be named by an escalation
step. When `holiday_members` is set, a day that is not a working day on the China statutory
calendar (with the team's own file) is covered by that list instead, one name per day, so a
weekly rota's weekend and 国庆 go to the holiday turn. An override (调班) puts one member on call
from–to and wins over both; overrides of one rota never overlap, so the answer is never a guess.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import PlainSerializer, StringConstraints, WithJsonSchema, field_validator
from sqlalchemy import JSON, String, Time, UniqueConstraint, delete
from sqlmodel import Field, Session, SQLModel, col, select

from incidents.actors import Actor
from incidents.calendar import Calendar
from incidents.db import UTCDateTime, get_or_raise, utcnow
from incidents.errors import Invalid, NotFound
from incidents.models import SHORT, Moment, OneLine, WriteModel

NAME_MAX = 100
MAX_MEMBERS = 50
# What a chat robot accepts as a mention id, and nothing that could open markup around it
# (`<@id>`, `<at id=…>`): letters, digits and _ . @ -.
MENTION_ID = r"^[A-Za-z0-9_.@-]{1,100}$"
MOBILE = r"^\+?[0-9]{5,20}$"
EMAIL = r"^[^@\s<>]{1,100}@[^@\s<>]{1,100}$"
MentionId = Annotated[str, StringConstraints(pattern=MENTION_ID)]
# A weekly rota with a holiday turn ends a shift at the first day off; no week has more.
DAYS_IN_WEEK = 7


class RotaPeriod(StrEnum):
    daily = "daily"
    weekly = "weekly"


PERIOD_DAYS = {RotaPeriod.daily: 1, RotaPeriod.weekly: DAYS_IN_WEEK}


class Rota(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=NAME_MAX, unique=True)
    period: RotaPeriod = Field(default=RotaPeriod.daily, sa_type=String(10))
    handoff_time: time = Field(sa_type=Time)
    start_date: date
    holiday_members: list[str] = Field(default_factory=list, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class RotaMember(SQLModel, table=True):
    __tablename__ = "rota_member"
    __table_args__ = (UniqueConstraint("rota_id", "name", name="uq_rota_member_name"),)
    id: int | None = Field(default=None, primary_key=True)
    rota_id: int = Field(foreign_key="rota.id", index=True, ondelete="CASCADE")
    position: int
    name: str = Field(max_length=NAME_MAX)
    mobile: str | None = Field(default=None, max_length=30)
    email: str | None = Field(default=None, max_length=200)
    dingtalk_id: str | None = Field(default=None, max_length=100)
    wecom_id: str | None = Field(default=None, max_length=100)
    feishu_id: str | None = Field(default=None, max_length=100)
    in_rotation: bool = True

    def mention(self) -> dict[str, str]:
        """How chat robots reach this person (the outbox row's `mentions`, notifiers' Mention)."""
        fields = {
            "name": self.name,
            "mobile": self.mobile,
            "email": self.email,
            "dingtalk": self.dingtalk_id,
            "wecom": self.wecom_id,
            "feishu": self.feishu_id,
        }
        return {key: value for key, value in fields.items() if value}


class RotaOverride(SQLModel, table=True):
    """调班: `member` is on call from `starts_at` until `ends_at`, whatever the turn says."""

    __tablename__ = "rota_override"
    id: int | None = Field(default=None, primary_key=True)
    rota_id: int = Field(foreign_key="rota.id", index=True, ondelete="CASCADE")
    member: str = Field(max_length=NAME_MAX)
    starts_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    ends_at: datetime = Field(sa_type=UTCDateTime, nullable=False)
    reason: str | None = Field(default=None, max_length=500)
    created_by: str = Field(max_length=SHORT)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


# --- input and answers ------------------------------------------------------------------------


class MemberWrite(WriteModel):
    name: OneLine = Field(min_length=1, max_length=NAME_MAX)
    mobile: Annotated[str, StringConstraints(pattern=MOBILE)] | None = None
    email: Annotated[str, StringConstraints(pattern=EMAIL)] | None = None
    dingtalk_id: MentionId | None = None
    wecom_id: MentionId | None = None
    feishu_id: MentionId | None = None
    in_rotation: bool = True


# A time of day on the team's clock, written and answered "09:30": JSON Schema's "time" format
# is RFC 3339's, which requires an offset a wall-clock hand-off does not have.
WallClock = Annotated[
    time,
    PlainSerializer(lambda value: value.strftime("%H:%M"), return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": r"^\d{2}:\d{2}(:\d{2})?$", "examples": ["09:30"]}),
]


class RotaWrite(WriteModel):
    name: OneLine = Field(min_length=1, max_length=NAME_MAX)
    period: RotaPeriod = RotaPeriod.daily
    handoff_time: WallClock = Field(default=time(9, 30), description="hand-off on the team's clock")
    start_date: date = Field(description="the first member's first shift starts this day")
    members: list[MemberWrite] = Field(max_length=MAX_MEMBERS)
    holiday_members: list[str] = Field(
        default_factory=list,
        max_length=MAX_MEMBERS,
        description="who covers days off, one a day in this order (empty: the turn as usual)",
    )

    @field_validator("handoff_time")
    @classmethod
    def _wall_clock(cls, value: time) -> time:
        if value.tzinfo is not None:
            raise ValueError("a time of day on the team's clock, without an offset")
        return value


class MemberPublic(SQLModel):
    name: str
    mobile: str | None
    email: str | None
    dingtalk_id: str | None
    wecom_id: str | None
    feishu_id: str | None
    in_rotation: bool


class RotaPublic(SQLModel):
    id: int
    name: str
    period: RotaPeriod
    handoff_time: WallClock
    start_date: date
    holiday_members: list[str]
    members: list[MemberPublic]
    created_at: Moment


class OverrideWrite(WriteModel):
    member: OneLine = Field(min_length=1, max_length=NAME_MAX)
    starts_at: Moment
    ends_at: Moment
    reason: str | None = Field(default=None, max_length=500)


class OverridePublic(SQLModel):
    id: int
    rota_id: int
    member: str
    starts_at: Moment
    ends_at: Moment
    reason: str | None
    created_by: str
    created_at: Moment


class OnCallPublic(SQLModel):
    rota_id: int
    rota: str
    at: Moment
    primary: MemberPublic
    secondary: MemberPublic | None
    shift_start: Moment
    shift_end: Moment
    override_id: int | None
    holiday: bool


# --- rotas ------------------------------------------------------------------------------------


def _check_rota(data: RotaWrite) -> None:
    seen: set[str] = set()
    for index, member in enumerate(data.members):
        if member.name in seen:
            raise Invalid(
                f"members.{index}.name", code="member_twice", params={"name": member.name}
            )
        seen.add(member.name)
    if not any(member.in_rotation for member in data.members):
        raise Invalid("members", code="rota_needs_member")
    for index, name in enumerate(data.holiday_members):
        if name not in seen:
            raise Invalid(f"holiday_members.{index}", code="not_rota_member", params={"name": name})


def _name_taken(session: Session, name: str, rota_id: int | None) -> None:
    other = session.exec(select(Rota.id).where(col(Rota.name) == name)).first()
    if other is not None and other != rota_id:
        raise Invalid("name", code="rota_name_taken", params={"name": name})


def _set_members(session: Session, rota: Rota, members: list[MemberWrite]) -> None:
    session.execute(delete(RotaMember).where(col(RotaMember.rota_id) == rota.id))
    for position, member in enumerate(members):
        session.add(RotaMember(rota_id=rota.id or 0, position=position, **member.model_dump()))
    session.flush()


def create_rota(session: Session, data: RotaWrite) -> Rota:
    _check_rota(data)
    _name_taken(session, data.name, None)
    rota = Rota(**data.model_dump(exclude={"members"}))
    session.add(rota)
    session.flush()
    _set_members(session, rota, data.members)
    return rota


def replace_rota(session: Session, rota_id: int, data: RotaWrite) -> Rota:
    """The rota as given, members included; overrides of members who stay are kept."""
    rota = _locked(session, rota_id)
    _check_rota(data)
    _name_taken(session, data.name, rota_id)
    names = {member.name for member in data.members}
    orphaned = session.exec(
        select(RotaOverride.member).where(
            col(RotaOverride.rota_id) == rota_id,
            col(RotaOverride.ends_at) > utcnow(),
            col(RotaOverride.member).not_in(names),
        )
    ).first()
    if orphaned is not None:
        raise Invalid("members", code="member_has_override", params={"name": orphaned})
    for key, value in data.model_dump(exclude={"members"}).items():
        setattr(rota, key, value)
    _set_members(session, rota, data.members)
    return rota


def delete_rota(session: Session, rota_id: int) -> None:
    session.delete(get_or_raise(session, Rota, rota_id))


def get_rota(session: Session, rota_id: int) -> Rota:
    return get_or_raise(session, Rota, rota_id)


def rota_named(session: Session, name: str) -> Rota:
    rota = session.exec(select(Rota).where(col(Rota.name) == name)).first()
    if rota is None:
        raise NotFound("rota", name)
    return rota


def list_rotas(session: Session) -> list[Rota]:
    return list(session.exec(select(Rota).order_by(col(Rota.name))).all())


def members_of(session: Session, rota_id: int) -> list[RotaMember]:
    return list(
        session.exec(
            select(RotaMember)
            .where(col(RotaMember.rota_id) == rota_id)
            .order_by(col(RotaMember.position))
        ).all()
    )


def public(session: Session, rota: Rota) -> RotaPublic:
    members = [MemberPublic.model_validate(member) for member in members_of(session, rota.id or 0)]
    return RotaPublic.model_validate({**rota.model_dump(), "members": members})


def _locked(session: Session, rota_id: int) -> Rota:
    """The rota, its row locked on PostgreSQL until the transaction ends: two overrides written
    at once are checked against each other, not each against the table without the other."""
    rota = session.exec(select(Rota).where(col(Rota.id) == rota_id).with_for_update()).first()
    if rota is None:
        raise NotFound("rota", rota_id)
    return rota


# --- overrides (调班) -------------------------------------------------------------------------


def add_override(
    session: Session, rota_id: int, data: OverrideWrite, *, actor: Actor
) -> RotaOverride:
    rota = _locked(session, rota_id)
    if data.member not in {member.name for member in members_of(session, rota_id)}:
        who = {"name": data.member, "rota": rota.name}
        raise Invalid("member", code="not_member_of_rota", params=who)
    if data.ends_at <= data.starts_at:
        raise Invalid("ends_at", code="must_be_after", params={"other": "starts_at"})
    clash = session.exec(
        select(RotaOverride).where(
            col(RotaOverride.rota_id) == rota_id,
            col(RotaOverride.starts_at) < data.ends_at,
            col(RotaOverride.ends_at) > data.starts_at,
        )
    ).first()
    if clash is not None:
        overlap = {
            "other": clash.id,
            "member": clash.member,
            "start": f"{clash.starts_at:%Y-%m-%d %H:%M}",
            "end": f"{clash.ends_at:%Y-%m-%d %H:%M}",
        }
        raise Invalid("starts_at", code="override_overlaps", params=overlap)
    override = RotaOverride(rota_id=rota_id, created_by=actor.name, **data.model_dump())
    session.add(override)
    session.flush()
    return override


def list_overrides(session: Session, rota_id: int, *, ending_after: datetime) -> list[RotaOverride]:
    return list(
        session.exec(
            select(RotaOverride)
            .where(col(RotaOverride.rota_id) == rota_id, col(RotaOverride.ends_at) > ending_after)
            .order_by(col(RotaOverride.starts_at))
        ).all()
    )


def delete_override(session: Session, rota_id: int, override_id: int) -> None:
    override = get_or_raise(session, RotaOverride, override_id)
    if override.rota_id != rota_id:
        raise NotFound("rota override", override_id)
    session.delete(override)


# --- who is on call ---------------------------------------------------------------------------


@dataclass(frozen=True)
class OnCall:
    rota: Rota
    at: datetime
    primary: RotaMember
    secondary: RotaMember | None
    shift_start: datetime
    shift_end: datetime
    override: RotaOverride | None
    holiday: bool

    def public(self) -> OnCallPublic:
        return OnCallPublic(
            rota_id=self.rota.id or 0,
            rota=self.rota.name,
            at=self.at,
            primary=MemberPublic.model_validate(self.primary),
            secondary=None
            if self.secondary is None
            else MemberPublic.model_validate(self.secondary),
            shift_start=self.shift_start,
            shift_end=self.shift_end,
            override_id=None if self.override is None else self.override.id,
            holiday=self.holiday,
        )


def _handoff(rota: Rota, day: date, calendar: Calendar) -> datetime:
    return datetime.combine(day, rota.handoff_time, tzinfo=calendar.tz).astimezone(UTC)


def _next_in_line(line: list[RotaMember], index: int) -> RotaMember | None:
    return line[(index + 1) % len(line)] if len(line) > 1 else None


def _turn(
    rota: Rota, members: list[RotaMember], at: datetime, calendar: Calendar
) -> tuple[RotaMember, RotaMember | None, datetime, datetime, bool]:
    """The turn's member and secondary at `at`, the shift's bounds, and whether it is a day-off
    turn; overrides aside."""
    local = calendar.local(at)
    # Before the hand-off, the night still belongs to yesterday's shift.
    duty_day = local.date() - timedelta(days=1 if local.time() < rota.handoff_time else 0)
    by_name = {member.name: member for member in members}
    if rota.holiday_members and not calendar.is_working_day(duty_day):
        line = [by_name[name] for name in rota.holiday_members]
        index = (duty_day - rota.start_date).days % len(line)
        start = _handoff(rota, duty_day, calendar)
        end = _handoff(rota, duty_day + timedelta(days=1), calendar)
        return line[index], _next_in_line(line, index), start, end, True
    line = [member for member in members if member.in_rotation]
    length = PERIOD_DAYS[RotaPeriod(rota.period)]
    slot = (duty_day - rota.start_date).days // length
    first_day = rota.start_date + timedelta(days=slot * length)
    last_day = first_day + timedelta(days=length)
    if rota.holiday_members:  # the shift gives way to the holiday turn on its first day off
        day = duty_day + timedelta(days=1)
        while day < last_day and calendar.is_working_day(day):
            day += timedelta(days=1)
        last_day = day
        day = duty_day  # and takes over again after the last one
        while day > first_day and calendar.is_working_day(day - timedelta(days=1)):
            day -= timedelta(days=1)
        first_day = day
    index = slot % len(line)
    start, end = _handoff(rota, first_day, calendar), _handoff(rota, last_day, calendar)
    return line[index], _next_in_line(line, index), start, end, False


def on_call(session: Session, rota: Rota, at: datetime, calendar: Calendar) -> OnCall:
    members = members_of(session, rota.id or 0)
    primary, secondary, start, end, holiday = _turn(rota, members, at, calendar)
    override = session.exec(
        select(RotaOverride).where(
            col(RotaOverride.rota_id) == rota.id,
            col(RotaOverride.starts_at) <= at,
            col(RotaOverride.ends_at) > at,
        )
    ).first()
    if override is not None:
        stand_in = next(member for member in members if member.name == override.member)
        # The member whose turn it was stays reachable, as the secondary.
        if stand_in.name != primary.name:
            secondary = primary
        primary, start, end = stand_in, override.starts_at, override.ends_at
    return OnCall(rota, at, primary, secondary, start, end, override, holiday)


def on_call_everywhere(session: Session, at: datetime, calendar: Calendar) -> list[OnCall]:
    return [on_call(session, rota, at, calendar) for rota in list_rotas(session)]


def member_named(session: Session, rota_id: int, name: str) -> RotaMember | None:
    return session.exec(
        select(RotaMember).where(col(RotaMember.rota_id) == rota_id, col(RotaMember.name) == name)
    ).first()
