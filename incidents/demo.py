"""`stabilog demo`: a realistic sample, so a new user sees a full report at once.

The seed report's week (第37周 2023-09-09, imported from the team's own text, with its 支付成功率
and 健康分), preceded by weeks of synthetic history: alerts from two monitoring sources with
follow-ups as on-call really leaves them (most within five minutes, some late, some never),
incidents graded by the policy, postmortems and action items. Deterministic: the same seed
number gives the same data.
"""

import random
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from sqlmodel import Session, select

from incidents.actors import Actor
from incidents.alerts.models import Alert, AlertStatus, Source, SourceKind
from incidents.errors import Invalid
from incidents.figures import set_figures
from incidents.grading import GradingPolicy
from incidents.importer import import_weekly
from incidents.models import (
    ActionItem,
    ActionItemStatus,
    ActionItemType,
    Detection,
    IncidentCreate,
    IncidentStatus,
    Postmortem,
    PostmortemStatus,
    Role,
)
from incidents.service import create_incident
from incidents.settings import Settings
from incidents.weeks import Week

SEED_REPORT = Path(__file__).with_name("seed_week37.txt")
SEED_DATE = date(2023, 9, 9)
DEMO_ACTOR = Actor(name="demo", role=Role.admin)
SYSTEMS = ("履约", "银商专线", "中信存管", "收银台", "账户", "清结算", "POS收单")
ALERT_TITLES = (
    "{system} 接口错误率高于1%",
    "{system} P99 延迟超过 800ms",
    "{system} 数据库连接池耗尽",
    "监控宝：{system} 页面多个监测点不可用",
    "{system} 银行回调超时",
)
INCIDENT_TITLES = (
    "{system} 合作机构接口调用失败",
    "{system} 支付回调延迟，部分订单状态未更新",
    "{system} 专线抖动，交易自动切换",
    "{system} 发布后出现异常退款",
)
SEED_FIGURES = {
    "deposit_success_rate": Decimal("99.998"),
    "payout_success_rate": Decimal("99.962"),
    "first_pay_success_rate": Decimal("99.09"),
    "health_score": Decimal("656"),
    "health_rank": Decimal("5"),
}


@dataclass
class DemoSummary:
    weeks: int
    incidents: int
    alerts: int


def load_demo(
    session: Session, *, settings: Settings, policy: GradingPolicy, weeks: int = 12, seed: int = 37
) -> DemoSummary:
    if weeks < 1 or weeks > 104:
        raise Invalid("weeks", code="demo_weeks")
    if session.exec(select(Source).where(Source.name == "demo-alertmanager")).first():
        raise Invalid("demo", code="demo_loaded")
    rng = random.Random(seed)
    seed_week = settings.calendar.week_of(SEED_DATE)
    imported = import_weekly(
        session, SEED_REPORT.read_text("utf-8"), actor=DEMO_ACTOR, policy=policy, settings=settings
    )
    set_figures(session, seed_week, SEED_FIGURES, actor_name=DEMO_ACTOR.name)
    sources = [
        Source(
            kind=SourceKind.alertmanager, name="demo-alertmanager", key=secrets.token_urlsafe(24)
        ),
        Source(
            kind=SourceKind.jiankongbao,
            name="demo-jiankongbao",
            key=secrets.token_urlsafe(24),
            secret=secrets.token_urlsafe(16),
        ),
    ]
    session.add_all(sources)
    session.flush()
    incidents = len(imported.created)
    alerts = 0
    for back in range(weeks):
        week = seed_week.shifted(-back)
        if back:
            set_figures(session, week, _history_figures(rng, back), actor_name=DEMO_ACTOR.name)
            incidents += _history_incidents(session, rng, week, settings, policy)
        alerts += _alerts(session, rng, week, settings, sources)
    return DemoSummary(weeks=weeks, incidents=incidents, alerts=alerts)


def _history_figures(rng: random.Random, weeks_back: int) -> dict[str, Decimal]:
    return {
        "deposit_success_rate": Decimal(str(round(99.99 + rng.random() * 0.009, 3))),
        "payout_success_rate": Decimal(str(round(99.9 + rng.random() * 0.09, 3))),
        "first_pay_success_rate": Decimal(str(round(98.8 + rng.random() * 0.5, 2))),
        "health_score": Decimal(635 - weeks_back * 3 + rng.randint(-5, 5)),
        "health_rank": Decimal(rng.randint(4, 8)),
    }


def _moment_in(rng: random.Random, week: Week, settings: Settings) -> datetime:
    day = week.monday + timedelta(days=rng.randrange(7))
    clock = time(rng.randrange(24), rng.randrange(60))
    return datetime.combine(day, clock, tzinfo=settings.calendar.tz)


def _history_incidents(
    session: Session, rng: random.Random, week: Week, settings: Settings, policy: GradingPolicy
) -> int:
    count = rng.randint(2, 5)
    for _ in range(count):
        system = rng.choice(SYSTEMS)
        detected = _moment_in(rng, week, settings)
        hit = rng.random() < 0.4
        incident = create_incident(
            session,
            IncidentCreate(
                title=rng.choice(INCIDENT_TITLES).format(system=system),
                system=system,
                occurred_at=detected - timedelta(minutes=rng.randint(0, 15)),
                detected_at=detected,
                recovered_at=detected + timedelta(minutes=rng.randint(3, 90)),
                detection=rng.choice([Detection.monitoring, Detection.alert, Detection.manual]),
                description=f"{system}出现异常，值班同学跟进处理",
                remediation="回滚变更后业务恢复" if hit else "自动恢复，未影响业务",
                business_impact=hit,
                failed_orders=rng.choice([20, 150, 545, 1200]) if hit else None,
                core_system=hit and rng.random() < 0.5,
                status=IncidentStatus.closed,
            ),
            actor=DEMO_ACTOR,
            policy=policy,
            calendar=settings.calendar,
        )
        assert incident.id is not None  # create_incident flushed it
        if incident.grade is not None:
            published = rng.random() < 0.7
            session.add(
                Postmortem(
                    incident_id=incident.id,
                    summary="见时间线",
                    status=PostmortemStatus.published if published else PostmortemStatus.draft,
                )
            )
            due = detected.date() + timedelta(days=14)
            closed = rng.random() < 0.7
            closed_at = (
                datetime.combine(due, time(18), tzinfo=settings.calendar.tz)
                - timedelta(days=rng.randint(-2, 5))
                if closed
                else None
            )
            session.add(
                ActionItem(
                    incident_id=incident.id,
                    title=f"{system}增加告警覆盖",
                    type=ActionItemType.detect,
                    owner=rng.choice(["张三", "李四", "王五"]),
                    verifier="稳定性负责人",
                    due_date=due,
                    status=ActionItemStatus.verified if closed else ActionItemStatus.open,
                    closed_at=closed_at,
                    verified_at=closed_at,
                    verified_by="稳定性负责人" if closed else None,
                )
            )
    return count


def _alerts(
    session: Session,
    rng: random.Random,
    week: Week,
    settings: Settings,
    sources: list[Source],
) -> int:
    count = rng.randint(30, 45)
    for number in range(count):
        source = rng.choice(sources)
        assert source.id is not None  # the caller flushed the sources
        system = rng.choice(SYSTEMS)
        arrived = _moment_in(rng, week, settings)
        roll = rng.random()
        # Most alerts are answered within the window, some late, some never (as on-call does).
        delay = (
            timedelta(seconds=rng.randint(20, 290))
            if roll < 0.8
            else timedelta(minutes=rng.randint(6, 40))
            if roll < 0.93
            else None
        )
        followed = arrived + delay if delay else None
        judged = followed is not None and rng.random() < 0.8
        resolved = arrived + timedelta(minutes=rng.randint(2, 60))
        session.add(
            Alert(
                source_id=source.id,
                fingerprint=f"demo-{week.label}-{number}",
                status=AlertStatus.resolved,
                title=rng.choice(ALERT_TITLES).format(system=system),
                severity=rng.choice(["critical", "warning", "warning"]),
                system=system,
                labels={"service": system},
                starts_at=arrived,
                ends_at=resolved,
                received_at=arrived,
                last_seen_at=resolved,
                resolved_at=resolved,
                acked_at=followed,
                acked_by="值班" if followed else None,
                valid=(rng.random() < 0.65) if judged else None,
                verdict_at=followed if judged else None,
                verdict_by="值班" if judged else None,
                first_follow_up_at=followed,
            )
        )
    return count
