"""The rota: turns across a hand-off, 调班 overrides, the holiday turn on the China calendar."""

from datetime import date, datetime
from typing import Any

import pytest
from sqlmodel import Session

from incidents import oncall
from incidents.actors import Actor
from incidents.calendar import Calendar
from incidents.errors import Invalid
from incidents.models import Role
from incidents.oncall import OverrideWrite, RotaWrite

CALENDAR = Calendar("Asia/Shanghai")
LEAD = Actor(name="组长", role=Role.oncall)


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=CALENDAR.tz)


def a_rota(**overrides: Any) -> RotaWrite:
    fields: dict[str, Any] = {
        "name": "支付值班",
        "period": "daily",
        "handoff_time": "09:30",
        "start_date": "2026-12-01",
        "members": [
            {"name": "张三", "mobile": "13800000001"},
            {"name": "李四", "dingtalk_id": "lisi01"},
            {"name": "王五", "feishu_id": "ou_wangwu"},
            {"name": "赵组长", "mobile": "13800000009", "in_rotation": False},
        ],
    }
    fields.update(overrides)
    return RotaWrite.model_validate(fields)


def who(session: Session, rota: oncall.Rota, at: str) -> tuple[str, str | None]:
    duty = oncall.on_call(session, rota, local(at), CALENDAR)
    return duty.primary.name, duty.secondary.name if duty.secondary else None


def test_a_daily_rota_hands_off_at_its_hour(session: Session) -> None:
    rota = oncall.create_rota(session, a_rota())
    assert who(session, rota, "2026-12-01T09:29") == ("王五", "张三")  # yesterday's shift
    assert who(session, rota, "2026-12-01T09:30") == ("张三", "李四")
    assert who(session, rota, "2026-12-02T03:00") == ("张三", "李四")  # the night is still his
    assert who(session, rota, "2026-12-02T09:30") == ("李四", "王五")
    # The lead is reachable by name but never takes a turn.
    assert who(session, rota, "2026-12-03T10:00") == ("王五", "张三")
    duty = oncall.on_call(session, rota, local("2026-12-02T03:00"), CALENDAR)
    assert (duty.shift_start, duty.shift_end) == (
        local("2026-12-01T09:30"),
        local("2026-12-02T09:30"),
    )
    assert duty.override is None
    assert not duty.holiday


def test_a_weekly_rota_hands_off_every_seven_days_from_its_start(session: Session) -> None:
    rota = oncall.create_rota(session, a_rota(period="weekly", start_date="2026-11-30"))
    assert who(session, rota, "2026-12-06T23:00") == ("张三", "李四")
    assert who(session, rota, "2026-12-07T09:29") == ("张三", "李四")
    assert who(session, rota, "2026-12-07T09:30") == ("李四", "王五")


def test_an_override_puts_its_member_on_call_and_keeps_the_turn_as_secondary(
    session: Session,
) -> None:
    rota = oncall.create_rota(session, a_rota())
    swap = OverrideWrite.model_validate(
        {
            "member": "王五",
            "starts_at": local("2026-12-01T12:00"),
            "ends_at": local("2026-12-01T18:00"),
        }
    )
    oncall.add_override(session, rota.id, swap, actor=LEAD)
    assert who(session, rota, "2026-12-01T11:59") == ("张三", "李四")
    assert who(session, rota, "2026-12-01T12:00") == ("王五", "张三")
    duty = oncall.on_call(session, rota, local("2026-12-01T13:00"), CALENDAR)
    assert duty.override is not None
    assert duty.override.created_by == "组长"
    assert (duty.shift_start, duty.shift_end) == (
        local("2026-12-01T12:00"),
        local("2026-12-01T18:00"),
    )
    assert who(session, rota, "2026-12-01T18:00") == ("张三", "李四")


@pytest.mark.parametrize(
    ("member", "starts", "ends", "field"),
    [
        ("李四", "2026-12-01T17:00", "2026-12-01T20:00", "starts_at"),  # overlaps the first
        ("李四", "2026-12-01T10:00", "2026-12-01T12:01", "starts_at"),
        ("李四", "2026-12-02T10:00", "2026-12-02T10:00", "ends_at"),
        ("路人甲", "2026-12-03T10:00", "2026-12-03T11:00", "member"),
    ],
)
def test_overrides_that_cannot_be_told_apart_are_refused(
    session: Session, member: str, starts: str, ends: str, field: str
) -> None:
    rota = oncall.create_rota(session, a_rota())
    first = {
        "member": "王五",
        "starts_at": local("2026-12-01T12:00"),
        "ends_at": local("2026-12-01T18:00"),
    }
    oncall.add_override(session, rota.id, OverrideWrite.model_validate(first), actor=LEAD)
    data = OverrideWrite.model_validate(
        {"member": member, "starts_at": local(starts), "ends_at": local(ends)}
    )
    with pytest.raises(Invalid) as refused:
        oncall.add_override(session, rota.id, data, actor=LEAD)
    assert refused.value.field == field
    # Back to back is no overlap.
    after = {
        "member": "李四",
        "starts_at": local("2026-12-01T18:00"),
        "ends_at": local("2026-12-01T20:00"),
    }
    oncall.add_override(session, rota.id, OverrideWrite.model_validate(after), actor=LEAD)


def test_days_off_go_to_the_holiday_turn_on_the_statutory_calendar(session: Session) -> None:
    # 2025 National Day: 10-01…10-08 off; Sunday 09-28 is a working day (调休).
    rota = oncall.create_rota(
        session,
        a_rota(period="weekly", start_date="2025-09-22", holiday_members=["王五", "赵组长"]),
    )
    assert who(session, rota, "2025-09-28T10:00") == ("张三", "李四")  # a worked Sunday
    monday = oncall.on_call(session, rota, local("2025-09-29T10:00"), CALENDAR)
    assert (monday.primary.name, monday.holiday) == ("李四", False)
    # The week's shift ends where the holiday begins.
    assert monday.shift_end == local("2025-10-01T09:30")
    first = oncall.on_call(session, rota, local("2025-10-01T10:00"), CALENDAR)
    # The holiday turn counts days from the rota's start: 10-01 is day 9, the second name.
    assert (first.primary.name, first.secondary and first.secondary.name) == ("赵组长", "王五")
    assert first.holiday
    assert first.shift_end == local("2025-10-02T09:30")
    assert who(session, rota, "2025-10-02T10:00") == ("王五", "赵组长")
    # Saturday 10-11 is worked; the week's member took over when the holiday ended (10-09).
    back = oncall.on_call(session, rota, local("2025-10-11T10:00"), CALENDAR)
    assert (back.primary.name, back.holiday) == ("王五", False)
    assert (back.shift_start, back.shift_end) == (
        local("2025-10-09T09:30"),
        local("2025-10-12T09:30"),
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"members": []}, "members"),
        ({"members": [{"name": "赵组长", "in_rotation": False}]}, "members"),
        ({"members": [{"name": "张三"}, {"name": "张三"}]}, "members.1.name"),
        ({"holiday_members": ["张三", "路人甲"]}, "holiday_members.1"),
    ],
)
def test_rotas_nobody_can_be_on_call_from_are_refused(
    session: Session, changes: dict[str, Any], field: str
) -> None:
    with pytest.raises(Invalid) as refused:
        oncall.create_rota(session, a_rota(**changes))
    assert refused.value.field == field


def test_a_rota_name_is_taken_once_and_replacing_keeps_the_overrides_of_members_who_stay(
    session: Session,
) -> None:
    rota = oncall.create_rota(session, a_rota())
    with pytest.raises(Invalid) as refused:
        oncall.create_rota(session, a_rota())
    assert refused.value.field == "name"
    soon = {
        "member": "王五",
        "starts_at": local("2099-01-01T00:00"),
        "ends_at": local("2099-01-02T00:00"),
    }
    oncall.add_override(session, rota.id, OverrideWrite.model_validate(soon), actor=LEAD)
    with pytest.raises(Invalid) as refused:
        oncall.replace_rota(session, rota.id, a_rota(members=[{"name": "张三"}]))
    assert refused.value.field == "members"
    oncall.replace_rota(
        session,
        rota.id,
        a_rota(members=[{"name": "王五"}, {"name": "张三"}], start_date=date(2026, 12, 1)),
    )
    assert who(session, rota, "2026-12-01T10:00") == ("王五", "张三")
