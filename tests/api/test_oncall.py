"""The on-call API and `stabilog oncall`: rotas, overrides, who is on call, routing, policies,
what escalation did, and 422s that name the field."""

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from api.cli import app
from incidents import escalation
from incidents.alerts.models import Alert, AlertStatus, Source, SourceKind
from incidents.calendar import Calendar
from incidents.models import Role
from incidents.outbox import Channel, ChannelKind

runner = CliRunner()
TZ = Calendar().tz
ROTA: dict[str, Any] = {
    "name": "支付值班",
    "period": "daily",
    "handoff_time": "09:30",
    "start_date": "2026-12-01",
    "members": [
        {"name": "张三", "mobile": "13800000001"},
        {"name": "李四", "wecom_id": "lisi"},
        {"name": "赵组长", "feishu_id": "ou_zhao", "in_rotation": False},
    ],
}
POLICY: dict[str, Any] = {
    "name": "支付升级",
    "rota": "支付值班",
    "steps": [
        {"after_minutes": 0, "notify": "current", "channel": "钉钉值班群"},
        {"after_minutes": 10, "notify": "person", "person": "赵组长", "channel": "钉钉值班群"},
    ],
}


def refused_field(response) -> str:
    assert response.status_code == 422, response.text
    return response.json()["detail"][0]["loc"][-1]


@pytest.fixture
def rota(client, auth) -> dict[str, Any]:
    response = client.post("/api/v1/rotas", json=ROTA, headers=auth[Role.admin])
    assert response.status_code == 201, response.text
    # A wall-clock time as it was written: JSON Schema's "time" would demand an offset.
    assert response.json()["handoff_time"] == ROTA["handoff_time"]
    return response.json()


def test_who_is_on_call_across_a_hand_off_and_an_override(client, auth, rota) -> None:
    viewer = auth[Role.viewer]

    def primary(at: str) -> tuple[str, str | None]:
        (duty,) = client.get("/api/v1/oncall", params={"at": at}, headers=viewer).json()
        return duty["primary"]["name"], duty["secondary"] and duty["secondary"]["name"]

    assert primary("2026-12-01 09:29") == ("李四", "张三")
    assert primary("2026-12-01 09:30") == ("张三", "李四")
    assert primary("2026-12-02 09:30") == ("李四", "张三")
    override = {"member": "赵组长", "starts_at": "2026-12-01 20:00", "ends_at": "2026-12-02 08:00"}
    url = f"/api/v1/rotas/{rota['id']}/overrides"
    assert client.post(url, json=override, headers=viewer).status_code == 403
    created = client.post(url, json=override, headers=auth[Role.oncall])
    assert created.status_code == 201, created.text
    assert created.json()["starts_at"] == "2026-12-01T20:00:00+08:00"
    assert primary("2026-12-01 21:00") == ("赵组长", "张三")
    (duty,) = client.get("/api/v1/oncall", params={"at": "2026-12-01 21:00"}, headers=viewer).json()
    assert duty["shift_end"] == "2026-12-02T08:00:00+08:00"
    assert duty["override_id"] == created.json()["id"]
    clash = {"member": "李四", "starts_at": "2026-12-02 07:00", "ends_at": "2026-12-02 09:00"}
    assert refused_field(client.post(url, json=clash, headers=auth[Role.oncall])) == "starts_at"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**ROTA, "members": []}, "members"),
        ({**ROTA, "members": [{"name": "赵组长", "in_rotation": False}]}, "members"),
        ({**ROTA, "holiday_members": ["路人甲"]}, "holiday_members.0"),
        ({**ROTA, "members": [{"name": "张三", "dingtalk_id": "<@all>"}]}, "dingtalk_id"),
        ({**ROTA, "period": "monthly"}, "period"),
    ],
)
def test_rotas_that_cannot_work_are_422_naming_the_field(client, auth, body, field) -> None:
    response = client.post("/api/v1/rotas", json=body, headers=auth[Role.admin])
    assert refused_field(response) == field


def test_policies_and_rules_pointing_at_nothing_are_422_naming_the_field(
    client, auth, rota, session: Session
) -> None:
    admin = auth[Role.admin]
    session.add(Channel(kind=ChannelKind.dingtalk, name="钉钉值班群", url="http://x/", events=[]))
    session.commit()
    unknown_channel = {**POLICY, "steps": [{**POLICY["steps"][0], "channel": "没有这个群"}]}
    response = client.post("/api/v1/escalation-policies", json=unknown_channel, headers=admin)
    assert refused_field(response) == "steps.0.channel"
    response = client.post(
        "/api/v1/escalation-policies", json={**POLICY, "rota": "x"}, headers=admin
    )
    assert refused_field(response) == "rota"
    created = client.post("/api/v1/escalation-policies", json=POLICY, headers=admin)
    assert created.status_code == 201, created.text
    assert [step["channel"] for step in created.json()["steps"]] == ["钉钉值班群", "钉钉值班群"]
    rules = {"rules": [{"severity": "critical", "rota": "支付值班"}, {"rota": "没有"}]}
    assert refused_field(client.put("/api/v1/routing-rules", json=rules, headers=admin)) == (
        "rules.1.rota"
    )
    rules = {"rules": [{"severity": "Critical", "rota": "支付值班"}]}
    assert client.put("/api/v1/routing-rules", json=rules, headers=admin).status_code == 200
    listed = client.get("/api/v1/routing-rules", headers=auth[Role.viewer]).json()
    assert listed == [{"position": 0, "source": None, "severity": "critical", "rota": "支付值班"}]


def test_the_steps_taken_and_the_metrics_are_answered(client, auth, rota, session) -> None:
    admin = auth[Role.admin]
    session.add(Channel(kind=ChannelKind.dingtalk, name="钉钉值班群", url="http://x/", events=[]))
    source = Source(kind=SourceKind.alertmanager, name="am", key="k" * 20)
    session.add(source)
    session.commit()
    client.post("/api/v1/escalation-policies", json=POLICY, headers=admin)
    client.put("/api/v1/routing-rules", json={"rules": [{"rota": "支付值班"}]}, headers=admin)
    received = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
    alert = Alert(
        source_id=source.id,
        fingerprint="f",
        status=AlertStatus.firing,
        title="支付失败",
        starts_at=received,
        received_at=received,
        last_seen_at=received,
    )
    session.add(alert)
    session.commit()
    for minutes in (0, 10):
        escalation.escalate_due(
            session,
            received + timedelta(minutes=minutes),
            calendar=Calendar(),
            link_ttl=timedelta(hours=1),
        )
    alert.first_follow_up_at = received + timedelta(minutes=12)
    session.add(alert)
    session.commit()
    steps = client.get(f"/api/v1/alerts/{alert.id}/escalation", headers=auth[Role.viewer]).json()
    assert [(s["step"], s["person"], s["notified_at"]) for s in steps] == [
        (1, "张三", "2026-12-01T14:00:00+08:00"),
        (2, "赵组长", "2026-12-01T14:10:00+08:00"),
    ]
    window = {"from": "2026-12-01", "to": "2026-12-02"}
    metrics = client.get("/api/v1/escalation/metrics", params=window, headers=auth[Role.viewer])
    assert metrics.json() == {
        "escalated": 1,
        "followed_up_after_step": {"2": 1},
        "not_followed_up": 0,
    }
    backwards = {"from": "2026-12-02", "to": "2026-12-01"}
    response = client.get("/api/v1/escalation/metrics", params=backwards, headers=auth[Role.viewer])
    assert refused_field(response) == "to"


def test_the_cli_applies_a_rota_and_says_who_is_on_call(cli_database, tmp_path: Path) -> None:
    path = tmp_path / "rota.json"
    path.write_text(json.dumps(ROTA, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(app, ["oncall", "rota-apply", str(path)])
    assert result.exit_code == 0, result.output
    assert "created" in result.output
    assert "replaced" in runner.invoke(app, ["oncall", "rota-apply", str(path)]).output
    result = runner.invoke(app, ["oncall", "now", "--at", "2026-12-01 10:00"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("支付值班\t张三 13800000001\t备班 李四\t2026-12-01 09:30")
    result = runner.invoke(
        app,
        [
            "oncall",
            "override",
            "支付值班",
            "李四",
            "--from",
            "2026-12-01 12:00",
            "--to",
            "2026-12-01 13:00",
        ],
    )
    assert result.exit_code == 0, result.output
    result = runner.invoke(app, ["oncall", "now", "--at", "2026-12-01 12:30"])
    assert result.output.split("\t")[1].startswith("李四")
    assert result.output.rstrip().endswith("调班")
    clash = runner.invoke(
        app,
        [
            "oncall",
            "override",
            "支付值班",
            "张三",
            "--from",
            "2026-12-01 12:30",
            "--to",
            "2026-12-01 14:00",
        ],
    )
    assert clash.exit_code == 2
    assert "--from: overlaps override" in clash.output
    empty = tmp_path / "empty.json"
    empty.write_text(json.dumps({**ROTA, "name": "空", "members": []}), encoding="utf-8")
    refused = runner.invoke(app, ["oncall", "rota-apply", str(empty)])
    assert refused.exit_code == 2
    assert "--members" in refused.output


def test_the_cli_applies_a_policy_once_per_name(cli_database, session: Session, tmp_path) -> None:
    session.add(Channel(kind=ChannelKind.dingtalk, name="钉钉值班群", url="http://x/", events=[]))
    session.commit()
    rota, policy = tmp_path / "rota.json", tmp_path / "policy.json"
    rota.write_text(json.dumps(ROTA, ensure_ascii=False), encoding="utf-8")
    assert runner.invoke(app, ["oncall", "rota-apply", str(rota)]).exit_code == 0
    policy.write_text(json.dumps(POLICY, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(app, ["oncall", "policy-apply", str(policy)])
    assert result.exit_code == 0, result.output
    assert result.output == "policy 支付升级: 2 steps\n"
    one_step = {**POLICY, "steps": POLICY["steps"][:1]}
    policy.write_text(json.dumps(one_step, ensure_ascii=False), encoding="utf-8")
    assert runner.invoke(app, ["oncall", "policy-apply", str(policy)]).exit_code == 0
    session.expire_all()
    [stored] = escalation.policies_public(session)
    assert (stored.name, len(stored.steps)) == ("支付升级", 1)
