"""Action items that get verified: who may take which step, what each step announces, the
改进项按期闭环率 they make, and the reminders before, on and after the due date."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from incidents import jobs, metrics
from incidents.action_items import (
    Step,
    add_action_item,
    steps_open_to,
    take_step,
    update_action_item,
)
from incidents.actors import Actor
from incidents.calendar import DEFAULT_CALENDAR
from incidents.errors import Forbidden, Invalid
from incidents.grading import load_policy
from incidents.jobs import JobRun
from incidents.models import (
    ActionItemCreate,
    ActionItemStatus,
    Postmortem,
    Role,
)
from incidents.outbox import Channel, Notification
from incidents.settings import Settings
from incidents.weeks import parse_week
from tests.builders import file_in_domain

SHANGHAI = ZoneInfo("Asia/Shanghai")
ONCALL = Actor("值班-小王", Role.oncall)
OWNER = Actor("王五", Role.oncall)
VERIFIER = Actor("李四", Role.oncall)
ADMIN = Actor("admin-user", Role.admin)
TRACKER = "https://jira.example.com/browse/PAY-1234"


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def file(session: Session, **fields) -> int:
    fields = {"title": "中信存管到账通知失败", "detected_at": local("2023-08-31 10:19")} | fields
    return file_in_domain(session, actor=ONCALL, **fields).id


def add(session: Session, incident_id: int, due: str, now: str = "2023-09-01 10:00", **fields):
    data = ActionItemCreate(
        title=fields.pop("title", "到账通知字段变更监控"),
        owner=fields.pop("owner", OWNER.name),
        due_date=date.fromisoformat(due),
        **fields,
    )
    item = add_action_item(
        session, incident_id, data, actor=ONCALL, calendar=DEFAULT_CALENDAR, now=local(now)
    )
    session.commit()
    return item


def step(session: Session, item_id: int, which: Step, actor: Actor, when: str, comment=None):
    item = take_step(session, item_id, which, actor=actor, comment=comment, now=local(when))
    session.commit()
    return item


def subscribe(session: Session, *events: str) -> None:
    session.add(
        Channel(kind="webhook", name="tracker-sync", url="http://127.0.0.1:9/x", events=events)
    )
    session.commit()


def messages(session: Session, event: str) -> list[Notification]:
    return list(
        session.exec(
            select(Notification)
            .where(col(Notification.event) == event)
            .order_by(col(Notification.id))
        )
    )


def on_time_rate(session: Session, week: str) -> tuple[int, int]:
    window = metrics.Window.of_week(parse_week(week), DEFAULT_CALENDAR)
    computed = metrics.compute(
        session, window, Settings(database_url="sqlite://"), targets=load_policy(None).targets
    )
    rate = computed.action_items_on_time_rate
    return rate.numerator, rate.denominator


def test_verified_on_time_and_rejected_then_verified_late(session: Session) -> None:
    incident_id = file(session, owner=VERIFIER.name)
    on_time = add(session, incident_id, "2023-09-07", tracker=TRACKER)
    late = add(session, incident_id, "2023-09-08", acceptance_criteria="夜间时段也告警")
    assert (on_time.verifier, late.verifier) == (VERIFIER.name, VERIFIER.name)  # incident owner

    step(session, on_time.id, Step.start, OWNER, "2023-09-04 10:00")
    step(session, on_time.id, Step.done, OWNER, "2023-09-06 18:00")
    verified = step(session, on_time.id, Step.verify, VERIFIER, "2023-09-07 23:30")
    assert verified.status == ActionItemStatus.verified
    assert verified.closed_at == verified.verified_at == local("2023-09-07 23:30")
    assert verified.verified_by == VERIFIER.name

    step(session, late.id, Step.done, OWNER, "2023-09-07 17:00")
    assert on_time_rate(session, "2023-09-09") == (1, 2)  # done is not closed: 验收 is
    sent_back = step(session, late.id, Step.reject, VERIFIER, "2023-09-08 11:00", "夜间未覆盖")
    assert (sent_back.status, sent_back.closed_at) == (ActionItemStatus.in_progress, None)
    step(session, late.id, Step.done, OWNER, "2023-09-08 20:00")
    step(session, late.id, Step.verify, VERIFIER, "2023-09-11 09:00")  # a working day late

    assert on_time_rate(session, "2023-09-09") == (1, 2)
    assert on_time_rate(session, "2023-09-16") == (0, 0)  # counted in the week it was due


def test_only_the_owner_and_the_verifier_take_their_steps(session: Session) -> None:
    item = add(session, file(session), "2023-09-20", verifier=VERIFIER.name)
    with pytest.raises(Forbidden, match=r"owner \(王五\)"):
        take_step(session, item.id, Step.done, actor=VERIFIER)
    assert steps_open_to(OWNER, item) == [Step.start, Step.done, Step.not_doing]
    assert steps_open_to(VERIFIER, item) == []
    step(session, item.id, Step.done, OWNER, "2023-09-10 10:00")
    with pytest.raises(Forbidden, match=r"verifier \(李四\)"):
        take_step(session, item.id, Step.verify, actor=OWNER)
    assert steps_open_to(VERIFIER, item) == [Step.verify, Step.reject]
    with pytest.raises(Invalid) as refused:
        take_step(session, item.id, Step.reject, actor=VERIFIER, comment="  ")
    assert refused.value.field == "comment"
    with pytest.raises(Invalid) as refused:
        take_step(session, item.id, Step.approve_not_doing, actor=VERIFIER)
    assert refused.value.field == "status"
    session.rollback()
    assert step(session, item.id, Step.verify, ADMIN, "2023-09-11 10:00").verified_by == ADMIN.name


def test_not_doing_is_asked_for_with_a_reason_and_granted_by_the_verifier(session) -> None:
    item = add(session, file(session), "2023-09-20", verifier=VERIFIER.name)
    with pytest.raises(Invalid) as refused:
        take_step(session, item.id, Step.not_doing, actor=OWNER)
    assert refused.value.field == "comment"
    session.rollback()
    asked = step(session, item.id, Step.not_doing, OWNER, "2023-09-05 10:00", "银行侧改造覆盖")
    assert (asked.status, asked.not_doing_reason, asked.closed_at) == (
        ActionItemStatus.not_doing_requested,
        "银行侧改造覆盖",
        None,
    )
    granted = step(session, item.id, Step.approve_not_doing, VERIFIER, "2023-09-06 10:00")
    assert granted.status == ActionItemStatus.not_doing
    assert granted.closed_at == local("2023-09-06 10:00")
    assert on_time_rate(session, "2023-09-23") == (1, 1)


def test_the_verifier_defaults_to_the_postmortem_owner_then_the_incident_owner(session) -> None:
    with pytest.raises(Invalid) as refused:
        add(session, file(session), "2023-09-20")
    assert refused.value.field == "verifier"
    session.rollback()
    incident_id = file(session, owner="事故负责人")
    assert add(session, incident_id, "2023-09-20").verifier == "事故负责人"
    session.add(Postmortem(incident_id=incident_id, owner="复盘负责人"))
    session.commit()
    assert add(session, incident_id, "2023-09-20").verifier == "复盘负责人"
    assert add(session, incident_id, "2023-09-20", verifier="张三").verifier == "张三"


def test_a_due_date_in_the_past_is_refused_today_is_not(session: Session) -> None:
    incident_id = file(session, owner=VERIFIER.name)
    # 00:30 on 9/5 in Shanghai is still 9/4 in UTC: "today" is the team's.
    assert add(session, incident_id, "2023-09-05", now="2023-09-05 00:30").due_date.day == 5
    with pytest.raises(Invalid) as refused:
        add(session, incident_id, "2023-09-04", now="2023-09-05 00:30")
    assert refused.value.field == "due_date"


def test_the_due_date_is_the_verifiers_and_fixed_once_closed(session: Session) -> None:
    item = add(session, file(session), "2023-09-08", verifier=VERIFIER.name)
    moved = {"due_date": date(2023, 9, 15)}
    now = local("2023-09-05 10:00")
    with pytest.raises(Forbidden):
        update_action_item(session, item.id, moved, actor=OWNER, calendar=DEFAULT_CALENDAR, now=now)
    session.rollback()
    update_action_item(
        session, item.id, {"tracker": "PAY-7"}, actor=OWNER, calendar=DEFAULT_CALENDAR, now=now
    )
    update_action_item(session, item.id, moved, actor=VERIFIER, calendar=DEFAULT_CALENDAR, now=now)
    session.commit()
    step(session, item.id, Step.done, OWNER, "2023-09-16 10:00")
    step(session, item.id, Step.verify, VERIFIER, "2023-09-16 11:00")
    with pytest.raises(Invalid, match="closed"):
        update_action_item(
            session,
            item.id,
            {"due_date": date(2023, 9, 20)},
            actor=ADMIN,
            calendar=DEFAULT_CALENDAR,
            now=local("2023-09-16 12:00"),
        )


def test_each_change_of_status_is_announced_once_with_the_tracker(session: Session) -> None:
    subscribe(session, "action_item")
    item = add(session, file(session), "2023-09-20", verifier=VERIFIER.name, tracker=TRACKER)
    step(session, item.id, Step.done, OWNER, "2023-09-05 10:00")
    with pytest.raises(Invalid):
        take_step(session, item.id, Step.done, actor=OWNER)  # done already: no second message
    session.rollback()
    step(session, item.id, Step.reject, VERIFIER, "2023-09-06 10:00", "<@all> 缺夜间告警")
    step(session, item.id, Step.done, OWNER, "2023-09-07 10:00")
    step(session, item.id, Step.verify, VERIFIER, "2023-09-08 10:00")

    sent = messages(session, "action_item")
    statuses = [message.markdown.splitlines()[0] for message in sent]
    assert statuses == [
        "- 状态：待处理（open）",
        "- 状态：已完成，待验收（done）",
        "- 状态：进行中（in_progress）",
        "- 状态：已完成，待验收（done）",
        "- 状态：已验收（verified）",
    ]
    assert len({message.dedup_key for message in sent}) == 5
    assert all(f"- 跟踪：{TRACKER}" in message.markdown for message in sent)
    assert sent[-1].title == "【改进项已验收】到账通知字段变更监控"
    assert "- 说明：＜＠all＞ 缺夜间告警" in sent[2].markdown
    assert sent[0].url == f"/incidents/{item.incident_id}#action-item-{item.id}"


def reminders(engine: Engine, settings: Settings, when: str) -> None:
    jobs.action_item_reminder_job(engine, settings, local(when))


def titles(session: Session, event: str) -> list[str]:
    session.expire_all()
    return [message.title for message in messages(session, event)]


def test_reminders_two_working_days_before_on_the_day_and_weekly_when_overdue(
    session: Session, engine: Engine, settings: Settings
) -> None:
    subscribe(session, "action_due", "action_overdue")
    incident_id = file(session, owner=VERIFIER.name)
    add(session, incident_id, "2023-09-12", title="加夜间告警")  # a Tuesday
    waiting = add(session, incident_id, "2023-09-13", title="补对账脚本", owner="张三")
    step(session, waiting.id, Step.done, Actor("张三", Role.oncall), "2023-09-05 10:00")
    add(session, incident_id, "2023-10-31", title="远期改造")

    reminders(engine, settings, "2023-09-07 09:30")  # Thursday: the 12th is 3 working days on
    assert titles(session, "action_due") == []
    reminders(engine, settings, "2023-09-08 09:30")  # Friday: 2 working days before
    reminders(engine, settings, "2023-09-08 10:30")  # the day's run is done
    reminders(engine, settings, "2023-09-09 09:30")  # Saturday: nobody is reminded
    reminders(engine, settings, "2023-09-11 09:30")  # Monday: the 13th is 2 working days on
    reminders(engine, settings, "2023-09-12 09:30")  # due
    reminders(engine, settings, "2023-09-13 09:30")
    assert titles(session, "action_due") == [
        "【改进项09/12到期，待完成】加夜间告警",
        "【改进项09/13到期，待验收】补对账脚本",
        "【改进项今日到期，待完成】加夜间告警",
        "【改进项今日到期，待验收】补对账脚本",
    ]
    # The digests of the weeks of 9/4 and 9/11 went out on 9/7 and 9/11: nothing was overdue.
    assert titles(session, "action_overdue") == []
    reminders(engine, settings, "2023-09-18 09:30")
    reminders(engine, settings, "2023-09-19 09:30")
    assert titles(session, "action_overdue") == [
        "改进项逾期周报：张三 1项",
        "改进项逾期周报：王五 1项",
    ]
    digest = messages(session, "action_overdue")[0].markdown
    assert "09/13（逾期5天）补对账脚本：待李四验收" in digest
    reminders(engine, settings, "2023-09-25 09:30")  # another week, still overdue
    assert len(titles(session, "action_overdue")) == 4
    assert len(titles(session, "action_due")) == 4
    with Session(engine) as fresh:
        slots = fresh.exec(select(JobRun.slot).where(JobRun.job == "action_overdue_week")).all()
    assert sorted(slots) == ["2023-09-04", "2023-09-11", "2023-09-18", "2023-09-25"]


def test_reminders_follow_the_statutory_calendar(
    session: Session, engine: Engine, settings: Settings
) -> None:
    # 2023's National Day holiday ran 9/29–10/6; Saturday 10/7 and Sunday 10/8 were worked.
    subscribe(session, "action_due")
    add(session, file(session, owner=VERIFIER.name), "2023-10-09", now="2023-09-20 10:00")
    reminders(engine, settings, "2023-10-06 09:30")  # a holiday: nobody is reminded
    assert titles(session, "action_due") == []
    reminders(engine, settings, "2023-10-07 09:30")  # a working Saturday, 2 working days before
    assert titles(session, "action_due") == ["【改进项10/09到期，待完成】到账通知字段变更监控"]
