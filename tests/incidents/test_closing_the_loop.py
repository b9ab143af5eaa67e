"""One C incident from filing to a published 复盘 with two reviewers and two action items, one
verified on time and one rejected once then verified late, and the rates the team is measured
on (issue 13's walk-through), on a frozen clock, on SQLite and PostgreSQL."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from incidents import metrics
from incidents.action_items import Step, add_action_item, take_step
from incidents.actors import Actor
from incidents.calendar import DEFAULT_CALENDAR
from incidents.grading import load_policy
from incidents.models import (
    ActionItemCreate,
    IncidentCreate,
    PostmortemReviewCreate,
    PostmortemWrite,
    Role,
    TimelineEntryCreate,
)
from incidents.postmortems import (
    add_timeline_entry,
    publish_postmortem,
    put_postmortem,
    review_postmortem,
    submit_for_review,
)
from incidents.service import create_incident
from incidents.settings import Settings

SHANGHAI = ZoneInfo("Asia/Shanghai")
POLICY = load_policy(None)
ONCALL = Actor("值班-小王", Role.oncall)
OWNER = Actor("王五", Role.oncall)  # owns the 复盘 and both action items
ZHANG, LI = Actor("张三", Role.oncall), Actor("李四", Role.oncall)  # the reviewers; 李四 verifies


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def rates(session: Session, week: str) -> metrics.Metrics:
    window = metrics.Window.of_week(DEFAULT_CALENDAR.parse_week(week), DEFAULT_CALENDAR)
    return metrics.compute(
        session, window, Settings(database_url="sqlite://"), targets=POLICY.targets
    )


def test_a_c_incident_closes_its_loop_and_the_rates_say_so(session: Session) -> None:
    incident = create_incident(
        session,
        IncidentCreate(
            title="中信存管POS入金到账通知付款方变动，履约POS付款单失败",
            system="中信存管",
            detected_at=local("2023-09-04 10:19"),
            failed_orders=545,
        ),
        actor=ONCALL,
        policy=POLICY,
        calendar=DEFAULT_CALENDAR,
    )
    assert incident.grade == "C"
    for at, milestone in (("2023-09-04 10:19", "detected"), ("2023-09-04 11:02", "recovered")):
        add_timeline_entry(
            session,
            incident.id,
            TimelineEntryCreate(at=local(at), text=milestone, milestone=milestone),
            actor=ONCALL,
            policy=POLICY,
            calendar=DEFAULT_CALENDAR,
        )
    put_postmortem(
        session,
        incident.id,
        PostmortemWrite(
            summary="到账通知付款方变动，POS 入金被误判为网银到账",
            root_cause="银行到账通知报文变更未同步",
            root_cause_category="dependency",
            owner=OWNER.name,
            reviewers=[ZHANG.name, LI.name],
        ),
        actor=ONCALL,
        calendar=DEFAULT_CALENDAR,
    )
    on_time, late = (
        add_action_item(
            session,
            incident.id,
            ActionItemCreate(title=title, owner=OWNER.name, verifier=LI.name, due_date=due),
            actor=OWNER,
            calendar=DEFAULT_CALENDAR,
            now=local("2023-09-05 09:00"),
        )
        for title, due in (
            ("到账通知报文契约测试", date(2023, 9, 7)),
            ("夜间告警", date(2023, 9, 8)),
        )
    )
    session.commit()

    submit_for_review(session, incident.id, actor=OWNER)
    review_postmortem(
        session,
        incident.id,
        PostmortemReviewCreate(verdict="request_changes", comment="补充灰度为何没有发现"),
        actor=ZHANG,
    )
    put_postmortem(
        session,
        incident.id,
        PostmortemWrite(
            summary="到账通知付款方变动，POS 入金被误判为网银到账",
            root_cause="银行到账通知报文变更未同步",
            root_cause_category="dependency",
            went_wrong="灰度只覆盖了网银渠道",
            owner=OWNER.name,
            reviewers=[ZHANG.name, LI.name],
        ),
        actor=OWNER,
        calendar=DEFAULT_CALENDAR,
    )
    submit_for_review(session, incident.id, actor=OWNER)
    for reviewer in (ZHANG, LI):
        review_postmortem(
            session, incident.id, PostmortemReviewCreate(verdict="approve"), actor=reviewer
        )
    published = publish_postmortem(session, incident.id, actor=OWNER)
    assert published.status == "published"

    for item_id, which, actor, when, comment in (
        (on_time.id, Step.done, OWNER, "2023-09-06 18:00", None),
        (on_time.id, Step.verify, LI, "2023-09-07 20:00", None),  # on its due day
        (late.id, Step.done, OWNER, "2023-09-07 17:00", None),
        (late.id, Step.reject, LI, "2023-09-08 11:00", "夜间时段未覆盖"),
        (late.id, Step.done, OWNER, "2023-09-08 20:00", None),
        (late.id, Step.verify, LI, "2023-09-11 09:30", None),  # the next working day: late
    ):
        take_step(session, item_id, which, actor=actor, comment=comment, now=local(when))
    session.commit()

    week = rates(session, "2023-09-09")
    assert (
        week.postmortem_completion_rate.numerator,
        week.postmortem_completion_rate.denominator,
    ) == (1, 1)
    on_time_rate = week.action_items_on_time_rate
    assert (on_time_rate.numerator, on_time_rate.denominator) == (1, 2)
