"""Routing, escalation policies, the steps the job takes, acknowledge links, the step metrics."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from incidents import escalation, oncall
from incidents.ack_links import AckLinkRefused, Refusal, link_path, link_secret
from incidents.actors import Actor
from incidents.alerts import service
from incidents.alerts.models import Alert, AlertStatus, Source, SourceKind
from incidents.calendar import Calendar
from incidents.errors import Invalid
from incidents.escalation import PolicyWrite, RoutingWrite
from incidents.jobs import escalation_job
from incidents.models import Role
from incidents.oncall import RotaWrite
from incidents.outbox import Channel, ChannelKind, Notification, NotificationEvent
from incidents.settings import Settings

CALENDAR = Calendar("Asia/Shanghai")
T0 = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)  # 14:00 in Shanghai, 张三's shift
TTL = timedelta(hours=24)
PERSON = Actor(name="张三", role=Role.oncall)


def a_rota(name: str = "支付值班") -> RotaWrite:
    return RotaWrite.model_validate(
        {
            "name": name,
            "handoff_time": "09:30",
            "start_date": "2026-12-01",
            "members": [
                {"name": "张三", "mobile": "13800000001"},
                {"name": "李四", "wecom_id": "lisi"},
                {"name": "赵组长", "feishu_id": "ou_zhao", "in_rotation": False},
            ],
        }
    )


def three_steps(rota: str = "支付值班") -> PolicyWrite:
    return PolicyWrite.model_validate(
        {
            "name": f"{rota}升级",
            "rota": rota,
            "steps": [
                {"after_minutes": 0, "notify": "current", "channel": "钉钉值班群"},
                {"after_minutes": 5, "notify": "secondary", "channel": "企微值班群"},
                {"after_minutes": 15, "notify": "person", "person": "赵组长", "channel": "飞书"},
            ],
        }
    )


@pytest.fixture
def setup(session: Session) -> dict[str, Any]:
    source = Source(kind=SourceKind.alertmanager, name="prod-am", key="k" * 20)
    other = Source(kind=SourceKind.generic, name="batch", key="b" * 20)
    session.add_all([source, other])
    for kind, name in (
        (ChannelKind.dingtalk, "钉钉值班群"),
        (ChannelKind.wecom, "企微值班群"),
        (ChannelKind.feishu, "飞书"),
    ):
        # Subscribed to nothing: an escalation step names its channel.
        session.add(Channel(kind=kind, name=name, url="http://127.0.0.1:9/hook", events=[]))
    session.flush()
    oncall.create_rota(session, a_rota())
    escalation.create_policy(session, three_steps())
    escalation.set_rules(
        session, RoutingWrite.model_validate({"rules": [{"source": "prod-am", "rota": "支付值班"}]})
    )
    session.commit()
    return {"source": source, "other": other}


def an_alert(session: Session, source: Source, **overrides: Any) -> Alert:
    fields: dict[str, Any] = {
        "source_id": source.id,
        "fingerprint": f"fp-{datetime.now(UTC).timestamp()}",
        "status": AlertStatus.firing,
        "title": "支付成功率低于99%",
        "severity": "critical",
        "system": "支付网关",
        "starts_at": T0,
        "received_at": T0,
        "last_seen_at": T0,
    }
    fields.update(overrides)
    alert = Alert(**fields)
    session.add(alert)
    session.commit()
    return alert


def taken(session: Session, alert: Alert) -> list[tuple[int, str, str]]:
    return [(n.step, n.person, n.channel) for n in escalation.notices_of(session, alert.id)]


def escalate(session: Session, at: datetime) -> list[escalation.StepTaken]:
    steps = escalation.escalate_due(session, at, calendar=CALENDAR, link_ttl=TTL)
    session.commit()
    return steps


def test_steps_are_taken_when_due_one_per_run_until_someone_follows_up(session, setup) -> None:
    alert = an_alert(session, setup["source"])
    escalate(session, T0)
    assert taken(session, alert) == [(1, "张三", "钉钉值班群")]
    escalate(session, T0 + timedelta(minutes=4))
    assert len(taken(session, alert)) == 1
    escalate(session, T0 + timedelta(minutes=5))
    assert taken(session, alert)[1] == (2, "李四", "企微值班群")
    service.acknowledge(session, alert.id, actor=PERSON)
    session.commit()
    assert escalate(session, T0 + timedelta(minutes=30)) == []
    assert len(taken(session, alert)) == 2
    messages = session.exec(select(Notification).order_by(Notification.id)).all()
    assert [(m.event, m.dedup_key) for m in messages] == [
        (NotificationEvent.escalation, f"escalation:{alert.id}:1"),
        (NotificationEvent.escalation, f"escalation:{alert.id}:2"),
    ]
    assert messages[0].mentions == [{"name": "张三", "mobile": "13800000001"}]
    assert messages[1].mentions == [{"name": "李四", "wecom": "lisi"}]
    assert "李四（支付值班，第2/3步）" in messages[1].markdown
    assert messages[1].url.startswith(f"/ack/{alert.id}.2.")


def test_a_late_run_takes_the_steps_in_order_and_the_named_person_last(session, setup) -> None:
    alert = an_alert(session, setup["source"])
    for _ in range(3):
        escalate(session, T0 + timedelta(hours=1))
    assert taken(session, alert) == [
        (1, "张三", "钉钉值班群"),
        (2, "李四", "企微值班群"),
        (3, "赵组长", "飞书"),
    ]
    assert escalate(session, T0 + timedelta(hours=2)) == []


@pytest.mark.parametrize(
    "noise",
    [{"flapping": True}, {"status": AlertStatus.resolved}, {"received_at": T0 - timedelta(days=2)}],
)
def test_alerts_that_may_not_page_or_are_over_are_not_escalated(session, setup, noise) -> None:
    alert = an_alert(session, setup["source"], **noise)
    escalate(session, T0 + timedelta(minutes=1))
    assert taken(session, alert) == []


def test_routing_takes_the_first_rule_that_matches(session, setup) -> None:
    oncall.create_rota(session, a_rota("批量值班"))
    escalation.create_policy(session, three_steps("批量值班"))
    rules = {
        "rules": [
            {"source": "prod-am", "severity": "WARNING", "rota": "批量值班"},
            {"source": "prod-am", "rota": "支付值班"},
            {"severity": "critical", "rota": "批量值班"},
        ]
    }
    listed = escalation.set_rules(session, RoutingWrite.model_validate(rules))
    first = listed[0]
    assert (first.source, first.severity, first.rota) == ("prod-am", "warning", "批量值班")
    session.commit()
    warning = an_alert(session, setup["source"], severity="Warning", fingerprint="w")
    critical = an_alert(session, setup["source"], fingerprint="c")
    batch_info = an_alert(session, setup["other"], severity="info", fingerprint="i")
    batch_critical = an_alert(session, setup["other"], fingerprint="bc")
    escalate(session, T0)
    rota_of = {
        alert.fingerprint: [n.rota for n in escalation.notices_of(session, alert.id)]
        for alert in (warning, critical, batch_info, batch_critical)
    }
    assert rota_of == {"w": ["批量值班"], "c": ["支付值班"], "i": [], "bc": ["批量值班"]}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda data: data["steps"][1].update(channel="不存在的群"), "steps.1.channel"),
        (lambda data: data.update(rota="不存在的值班表"), "rota"),
        (lambda data: data["steps"][2].update(person="路人甲"), "steps.2.person"),
        (lambda data: data["steps"][2].update(after_minutes=3), "steps.2.after_minutes"),
        (lambda data: data["steps"][0].update(person="张三"), "steps.0.person"),
    ],
)
def test_policies_pointing_at_nothing_are_refused(session, setup, change, field) -> None:
    oncall.create_rota(session, a_rota("另一个"))
    data = three_steps("另一个").model_dump()
    change(data)
    with pytest.raises(Invalid) as refused:
        escalation.create_policy(session, PolicyWrite.model_validate(data))
    assert refused.value.field == field


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"rota": "不存在"}, "rules.1.rota"),
        ({"source": "nope", "rota": "支付值班"}, "rules.1.source"),
    ],
)
def test_rules_naming_unknown_rotas_or_sources_are_refused(session, setup, rule, field) -> None:
    data = {"rules": [{"rota": "支付值班"}, rule]}
    with pytest.raises(Invalid) as refused:
        escalation.set_rules(session, RoutingWrite.model_validate(data))
    assert refused.value.field == field


def test_two_instances_take_each_step_once(engine: Engine, session, setup) -> None:
    alert = an_alert(session, setup["source"])
    settings = Settings(database_url=str(engine.url))
    for _ in range(2):  # two instances, the same minute
        escalation_job(engine, settings, T0)
    # Another minute's run finds the step already taken even without the job's slot.
    with Session(engine) as second:
        assert escalation.escalate_due(second, T0, calendar=CALENDAR, link_ttl=TTL) == []
    assert len(taken(session, alert)) == 1
    assert len(session.exec(select(Notification)).all()) == 1


def test_a_link_acknowledges_once_and_says_so_when_reused_forged_or_expired(session, setup) -> None:
    alert = an_alert(session, setup["source"])
    escalate(session, T0)
    token = session.exec(select(Notification)).one().url.removeprefix("/ack/")
    now = T0 + timedelta(minutes=2)
    acked = escalation.acknowledge_by_link(session, token, now)
    assert acked.acked_by == "张三 (link)"
    assert acked.first_follow_up_at is not None
    session.commit()
    with pytest.raises(AckLinkRefused) as reused:
        escalation.acknowledge_by_link(session, token, now)
    assert reused.value.refusal == Refusal.used
    judged = escalation.judge_by_link(session, token, False, now)
    assert (judged.valid, judged.verdict_by) == (False, "张三 (link)")
    session.commit()
    with pytest.raises(AckLinkRefused) as again:
        escalation.judge_by_link(session, token, True, now)
    assert again.value.refusal == Refusal.used
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    other_alert = token.replace(f"{alert.id}.", f"{alert.id + 1}.", 1)
    for bad in (forged, other_alert, "1.1.1", "../../etc"):
        with pytest.raises(AckLinkRefused) as refused:
            escalation.acknowledge_by_link(session, bad, now)
        assert refused.value.refusal == Refusal.forged
    stale = link_path(link_secret(session), alert.id, 1, T0).removeprefix("/ack/")
    with pytest.raises(AckLinkRefused) as expired:
        escalation.acknowledge_by_link(session, stale, now)
    assert expired.value.refusal == Refusal.expired


def test_metrics_count_alerts_by_the_step_after_which_they_were_followed_up(session, setup) -> None:
    early, late, _never, quiet = (
        an_alert(session, setup["source"], fingerprint=name)
        for name in ("early", "late", "never", "quiet")
    )
    quiet.flapping = True  # never escalated: not counted at all
    session.add(quiet)
    session.commit()
    escalate(session, T0)
    early.first_follow_up_at = T0 + timedelta(minutes=1)
    session.add(early)
    session.commit()
    escalate(session, T0 + timedelta(minutes=5))
    late.first_follow_up_at = T0 + timedelta(minutes=6)
    session.add(late)
    session.commit()
    result = escalation.metrics(session, T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    assert result.escalated == 3
    assert result.followed_up_after_step == {1: 1, 2: 1}
    assert result.not_followed_up == 1
    outside = escalation.metrics(session, T0 + timedelta(hours=1), T0 + timedelta(hours=2))
    assert (outside.escalated, outside.followed_up_after_step) == (0, {})
