"""Escalation end to end: three steps on three signed robots on 127.0.0.1, each mentioning its
person; the second step's link acknowledges the alert and the third step never goes out."""

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from api.main import create_app
from incidents import escalation, oncall
from incidents.alerts.models import Alert, AlertStatus, Source, SourceKind
from incidents.escalation import PolicyWrite, RoutingWrite
from incidents.jobs import escalation_job
from incidents.oncall import RotaWrite
from incidents.outbox import Channel, ChannelKind
from incidents.settings import Settings
from notifiers.drain import deliver_due
from tests.notifiers.receiver import Receiver, Recorded, Reply
from tests.notifiers.robots import DINGTALK_OK, dingtalk_robot, feishu_bot

TOKEN = "robot-token-escalation"
SECRET = "SECescalation-0123456789"
ACK_LINK = re.compile(r"\(http://127\.0\.0\.1:8000(/ack/[0-9]+\.[0-9]+\.[0-9]+\.[A-Za-z0-9_-]+)\)")


def wecom_markdown_robot(request: Recorded) -> Reply:
    if request.query.get("key") != [TOKEN] or request.json()["msgtype"] != "markdown":
        return Reply(200, {"errcode": 93000, "errmsg": "invalid webhook url"})
    return DINGTALK_OK


@pytest.fixture
def robots() -> Iterator[dict[str, Receiver]]:
    started = {kind: Receiver().start() for kind in ("dingtalk", "wecom", "feishu")}
    yield started
    for receiver in started.values():
        receiver.stop()


def set_up(session: Session, robots: dict[str, Receiver]) -> Source:
    source = Source(kind=SourceKind.alertmanager, name="prod-am", key="k" * 20)
    session.add(source)
    for kind, name, url, secret in (
        (ChannelKind.dingtalk, "钉钉", f"/robot/send?access_token={TOKEN}", SECRET),
        (ChannelKind.wecom, "企微", f"/cgi-bin/webhook/send?key={TOKEN}", None),
        (ChannelKind.feishu, "飞书", f"/open-apis/bot/v2/hook/{TOKEN}", SECRET),
    ):
        base = robots[kind.value].base
        session.add(Channel(kind=kind, name=name, url=base + url, secret=secret, events=[]))
    session.flush()
    members = [
        {"name": "张三", "mobile": "13800000001", "wecom_id": "zhangsan"},
        {"name": "李四", "mobile": "13800000002", "wecom_id": "lisi"},
        {"name": "赵组长", "feishu_id": "ou_zhao", "in_rotation": False},
    ]
    rota = {"name": "支付值班", "start_date": "2026-01-01", "members": members}
    oncall.create_rota(session, RotaWrite.model_validate(rota))
    steps = [
        {"after_minutes": 0, "notify": "current", "channel": "钉钉"},
        {"after_minutes": 5, "notify": "secondary", "channel": "企微"},
        {"after_minutes": 15, "notify": "person", "person": "赵组长", "channel": "飞书"},
    ]
    policy = {"name": "支付升级", "rota": "支付值班", "steps": steps}
    escalation.create_policy(session, PolicyWrite.model_validate(policy))
    rules = {"rules": [{"source": "prod-am", "severity": "critical", "rota": "支付值班"}]}
    escalation.set_rules(session, RoutingWrite.model_validate(rules))
    session.commit()
    return source


def test_three_steps_stop_where_the_signed_link_acknowledges(
    engine: Engine, session: Session, settings: Settings, robots, client: httpx.Client
) -> None:
    source = set_up(session, robots)
    now = datetime.now(UTC)
    arrived = now - timedelta(minutes=6)
    alert = Alert(
        source_id=source.id,
        fingerprint="pay-errors",
        status=AlertStatus.firing,
        title="支付成功率低于99%",
        severity="critical",
        starts_at=arrived,
        received_at=arrived,
        last_seen_at=arrived,
    )
    session.add(alert)
    session.commit()
    rota = oncall.rota_named(session, "支付值班")
    duty = oncall.on_call(session, rota, arrived, settings.calendar)
    assert duty.secondary is not None

    def run(minutes_after_arrival: int) -> None:
        escalation_job(engine, settings, arrived + timedelta(minutes=minutes_after_arrival))
        # The robots check the signature's timestamp against their own clock: send now.
        deliver_due(engine, client=client, public_url=settings.public_url, now=datetime.now(UTC))

    robots["dingtalk"].script(dingtalk_robot(TOKEN, SECRET))
    run(0)
    first = robots["dingtalk"].last.json()
    assert first["at"]["atMobiles"] == [duty.primary.mobile]
    assert first["markdown"]["text"].endswith(f"@{duty.primary.mobile}")
    assert "第1/3步" in first["markdown"]["text"]

    run(3)  # step 2 is not due yet
    assert robots["wecom"].requests == []

    robots["wecom"].script(wecom_markdown_robot)
    run(5)
    content = robots["wecom"].last.json()["markdown"]["content"]
    assert content.endswith(f"<@{duty.secondary.wecom_id}>")
    (link,) = ACK_LINK.findall(content)

    with TestClient(create_app(settings)) as browser:
        page = browser.get(link)
        assert page.status_code == 200, page.text
        assert "已确认" in page.text
        assert "支付成功率低于99%" in page.text
        session.refresh(alert)
        assert alert.acked_by == f"{duty.secondary.name} (link)"
        assert alert.first_follow_up_at is not None

        run(15)
        run(30)
        assert robots["feishu"].requests == []
        again = browser.get(link)
        assert again.status_code == 409
        assert "这个链接已经用过了" in again.text

    steps = [(n.step, n.person) for n in escalation.notices_of(session, alert.id)]
    assert steps == [(1, duty.primary.name), (2, duty.secondary.name)]
    result = escalation.metrics(session, arrived - timedelta(hours=1), now + timedelta(hours=1))
    assert result.followed_up_after_step == {2: 1}
    assert session.exec(select(Alert.acked_at)).one() is not None


def test_a_feishu_step_mentions_the_named_person(
    engine: Engine, session: Session, settings: Settings, robots, client: httpx.Client
) -> None:
    source = set_up(session, robots)
    arrived = datetime.now(UTC) - timedelta(minutes=20)
    session.add(
        Alert(
            source_id=source.id,
            fingerprint="late",
            status=AlertStatus.firing,
            title="清结算延迟",
            severity="critical",
            starts_at=arrived,
            received_at=arrived,
            last_seen_at=arrived,
        )
    )
    session.commit()
    robots["dingtalk"].script(dingtalk_robot(TOKEN, SECRET))
    robots["wecom"].script(wecom_markdown_robot)
    robots["feishu"].script(feishu_bot(SECRET))
    for minute in range(3):  # one step a run, the job running late
        escalation_job(engine, settings, arrived + timedelta(minutes=20, seconds=60 * minute))
    result = deliver_due(engine, client=client, public_url=settings.public_url)
    assert (result.sent, result.failed, result.retrying) == (3, 0, 0), result.details
    card = robots["feishu"].last.json()["card"]
    assert card["elements"][0]["content"].endswith("<at id=ou_zhao></at>")
    assert card["elements"][1]["actions"][0]["url"].startswith("http://127.0.0.1:8000/ack/")
