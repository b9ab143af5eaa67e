"""Silences over the API, and the noise rules end to end: webhook in, outbox drained to a local
signed robot, one message for a storm and one for a flapping check."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from api.scheduler import outbox_job
from incidents.models import Role
from incidents.settings import Settings
from notifiers import build_client
from tests.api.test_webhooks import am_alert, am_delivery, make_source
from tests.notifiers.receiver import Receiver
from tests.notifiers.robots import dingtalk_robot

DING_SECRET = "SECtestsecret0123456789"
IN_AN_HOUR = (datetime.now(UTC) + timedelta(hours=1)).isoformat()


@pytest.fixture
def robot() -> Iterator[Receiver]:
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with build_client(httpx.Timeout(3.0), trust_env=False) as client:
        yield client


def subscribe(client, auth, robot: Receiver, events: list[str]) -> None:
    body = {
        "kind": "dingtalk",
        "name": "值班群",
        "url": robot.url("/robot/send?access_token=tok"),
        "secret": DING_SECRET,
        "events": events,
    }
    response = client.post("/api/v1/channels", json=body, headers=auth[Role.admin])
    assert response.status_code == 201, response.text


def a_silence(client, auth, **fields) -> dict:
    body = {"matchers": ['service="pay"'], "ends_at": IN_AN_HOUR, "reason": "变更窗口"} | fields
    response = client.post("/api/v1/silences", json=body, headers=auth[Role.oncall])
    assert response.status_code == 201, response.text
    return response.json()


def test_silences_are_made_read_changed_and_expired(client, auth) -> None:
    made = a_silence(
        client, auth, matchers=['service="pay"', {"name": "env", "op": "!=", "value": "test"}]
    )
    assert made["matchers"] == [
        {"name": "service", "op": "=", "value": "pay"},
        {"name": "env", "op": "!=", "value": "test"},
    ]
    assert (made["state"], made["holding_now"], made["created_by"]) == (
        "active",
        True,
        "oncall-user",
    )
    path = f"/api/v1/silences/{made['id']}"
    changed = client.patch(path, json={"reason": "支付网关扩容"}, headers=auth[Role.oncall])
    assert changed.json()["reason"] == "支付网关扩容"
    assert client.get(path, headers=auth[Role.viewer]).json()["reason"] == "支付网关扩容"
    expired = client.delete(path, headers=auth[Role.oncall])
    assert expired.json()["state"] == "expired"
    current = client.get("/api/v1/silences", headers=auth[Role.viewer]).json()
    assert current["total"] == 0
    every = client.get("/api/v1/silences?expired=true", headers=auth[Role.viewer]).json()
    assert [row["id"] for row in every["items"]] == [made["id"]]


def test_a_viewer_may_read_silences_but_not_make_them(client, auth) -> None:
    body = {"matchers": ['service="pay"'], "ends_at": IN_AN_HOUR, "reason": "r"}
    assert client.post("/api/v1/silences", json=body, headers=auth[Role.viewer]).status_code == 403
    assert client.get("/api/v1/silences", headers=auth[Role.viewer]).status_code == 200


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"matchers": ['instance=~"db-("']}, "matchers.0.value"),
        ({"ends_at": "2020-01-01T00:00:00+08:00"}, "ends_at"),
        ({"ends_at": (datetime.now(UTC) + timedelta(days=31)).isoformat()}, "ends_at"),
        ({"matchers": ["service"]}, "matchers"),
        ({"weekdays": [7], "window_start": "02:00"}, "window_end"),
        ({"surprise": True}, "surprise"),
    ],
)
def test_a_bad_silence_is_a_422_naming_the_field(client, auth, fields, field) -> None:
    body = {"matchers": ['service="pay"'], "ends_at": IN_AN_HOUR, "reason": "r"} | fields
    response = client.post("/api/v1/silences", json=body, headers=auth[Role.oncall])
    assert response.status_code == 422, response.text
    assert any(field in error["loc"] for error in response.json()["detail"]), response.text


def test_silence_this_for_two_hours_holds_the_alert_at_hand(client, auth) -> None:
    path = make_source(client, auth, "alertmanager")
    client.post(path, content=am_delivery(am_alert("gw", service="pay")))
    [alert] = client.get("/api/v1/alerts", headers=auth[Role.viewer]).json()["items"]
    made = client.post(f"/api/v1/silences/for-alert/{alert['id']}", headers=auth[Role.oncall])
    assert made.status_code == 201, made.text
    silence = made.json()
    assert {"name": "service", "op": "=", "value": "pay"} in silence["matchers"]
    ends, starts = (datetime.fromisoformat(silence[k]) for k in ("ends_at", "starts_at"))
    assert ends - starts == timedelta(hours=2)
    assert silence["alerts_held"] == 1
    read = client.get(f"/api/v1/alerts/{alert['id']}", headers=auth[Role.viewer]).json()
    assert read["silence_id"] == silence["id"]


def test_a_200_alert_storm_reaches_the_robot_as_one_message(client, auth, engine, robot, http):
    subscribe(client, auth, robot, ["alert_storm", "alert_flapping"])
    robot.script(*[dingtalk_robot("tok", DING_SECRET)] * 5)
    path = make_source(client, auth, "alertmanager")
    for batch in range(4):  # four deliveries of 50 within the minute
        alerts = [am_alert(f"n{batch}-{n}", service="pay", pod=f"p{n}") for n in range(50)]
        assert client.post(path, content=am_delivery(*alerts)).status_code == 200
    outbox_job(engine, http, Settings())
    [message] = robot.requests
    text = message.json()["markdown"]["text"]
    # The second delivery made it a storm (100 > 50 in a minute); the rest joined quietly.
    assert "1分钟内发来100条新报警" in text
    assert "service=pay：100条" in text
    inbox = client.get("/api/v1/alerts?limit=500", headers=auth[Role.viewer]).json()
    assert inbox["total"] == 200
    assert {row["storm_id"] for row in inbox["items"]} == {1}


def test_a_flapping_check_reaches_the_robot_once(client, auth, engine, robot, http) -> None:
    subscribe(client, auth, robot, ["alert_flapping"])
    robot.script(*[dingtalk_robot("tok", DING_SECRET)] * 5)
    path = make_source(client, auth, "alertmanager")
    for n in range(8):
        start = f"2023-09-07T06:{10 + n:02d}:00Z"
        client.post(path, content=am_delivery(am_alert("disk", starts=start)))
        client.post(path, content=am_delivery(am_alert("disk", status="resolved", starts=start)))
    outbox_job(engine, http, Settings())
    [message] = robot.requests
    assert "已标记为抖动" in message.json()["markdown"]["text"]
