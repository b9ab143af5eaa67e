"""Issue 11: unknown body fields are refused, and a query's time range may be given in dates."""

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from incidents.calendar import DEFAULT_CALENDAR
from incidents.models import Role
from tests.builders import seed_pos_incident

API = "/api/v1"
# An action item's due date may not be in the past.
DUE = (DEFAULT_CALENDAR.today() + timedelta(days=30)).isoformat()


@pytest.fixture
def incident_id(client, auth) -> int:
    response = client.post(f"{API}/incidents", json=seed_pos_incident(), headers=auth[Role.oncall])
    assert response.status_code == 201, response.text
    return response.json()["id"]


@pytest.fixture
def item_id(client, auth, incident_id) -> int:
    response = client.post(
        f"{API}/incidents/{incident_id}/action-items",
        json={"title": "字段变更监控", "owner": "王五", "verifier": "李四", "due_date": DUE},
        headers=auth[Role.oncall],
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def stored(client: TestClient, auth, incident_id: int) -> dict:
    """Everything a write could have changed, read back through the API."""
    admin = auth[Role.admin]
    url = f"{API}/incidents/{incident_id}"
    postmortem = client.get(f"{url}/postmortem", headers=admin)
    return {
        "incidents": client.get(f"{API}/incidents", headers=admin).json(),
        "timeline": client.get(f"{url}/timeline", headers=admin).json(),
        "postmortem": (postmortem.status_code, postmortem.json()),
        "action_items": client.get(f"{url}/action-items", headers=admin).json(),
        "audit": client.get(f"{url}/audit", headers=admin).json(),
        "sources": client.get(f"{API}/sources", headers=admin).json(),
    }


# (method, path, the body without the unknown field, the unknown field and its value, the
# role that may write, the status of the body without the unknown field)
WRITES = [
    ("post", "/incidents", seed_pos_incident(title="另一笔"), ("grade", "E"), Role.oncall, 201),
    (
        "patch",
        "/incidents/{incident}",
        {"owner": "张三"},
        ("grade", "A"),
        Role.oncall,
        200,
    ),
    (
        "put",
        "/incidents/{incident}/postmortem",
        {"summary": "银行到账通知字段变动"},
        ("root_casue", "未做字段校验"),
        Role.oncall,
        200,
    ),
    (
        "post",
        "/incidents/{incident}/action-items",
        {"title": "加监控", "owner": "李四", "verifier": "王五", "due_date": DUE},
        ("assignee", "李四"),
        Role.oncall,
        201,
    ),
    (
        "patch",
        "/action-items/{item}",
        {"tracker": "PAY-1234"},
        ("closed_at", "2023-09-01 10:00"),
        Role.oncall,
        200,
    ),
    (
        "post",
        "/incidents/{incident}/timeline",
        {"at": "2023-08-31 10:25", "text": "紧急上线"},
        ("author", "someone-else"),
        Role.oncall,
        201,
    ),
    (
        "post",
        "/incidents/{incident}/grade",
        {"grade": "B", "reason": "涉及核心商户"},
        ("overridden_by", "someone-else"),
        Role.oncall,
        200,
    ),
    (
        "post",
        "/sources",
        {"kind": "alertmanager", "name": "prod-am"},
        ("key", "chosen-by-the-client"),
        Role.admin,
        201,
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "unknown", "role", "accepted"),
    WRITES,
    ids=[f"{method} {path}" for method, path, *_ in WRITES],
)
def test_an_unknown_field_is_refused_naming_it_and_nothing_is_stored(
    client, auth, incident_id, item_id, method, path, body, unknown, role, accepted
) -> None:
    url = API + path.format(incident=incident_id, item=item_id)
    field, value = unknown
    before = stored(client, auth, incident_id)

    refused = client.request(method, url, json={**body, field: value}, headers=auth[role])

    assert refused.status_code == 422, refused.text
    assert [(e["loc"], e["type"]) for e in refused.json()["detail"]] == [
        (["body", field], "extra_forbidden")
    ]
    assert stored(client, auth, incident_id) == before
    # The same body without the unknown field is fine: the field alone was the problem.
    assert client.request(method, url, json=body, headers=auth[role]).status_code == accepted


def test_a_refused_filing_adds_nothing_to_the_list(client, auth) -> None:
    viewer = auth[Role.viewer]
    total = client.get(f"{API}/incidents", headers=viewer).json()["total"]
    body = {**seed_pos_incident(), "grade": "E"}

    refused = client.post(f"{API}/incidents", json=body, headers=auth[Role.oncall])

    assert refused.status_code == 422
    assert client.get(f"{API}/incidents", headers=viewer).json()["total"] == total == 0


def test_a_body_time_without_its_clock_is_refused(client, auth) -> None:
    # Query ranges take a bare date; an incident's 发现时间 needs the minute it was seen.
    body = seed_pos_incident(detected_at="2023-08-31")

    response = client.post(f"{API}/incidents", json=body, headers=auth[Role.oncall])

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "detected_at"]
    assert "without its time of day" in error["msg"]


def file_at(client: TestClient, auth, detected_at: str) -> int:
    body = seed_pos_incident(title=f"{detected_at}发现", detected_at=detected_at, report_week=None)
    response = client.post(f"{API}/incidents", json=body, headers=auth[Role.oncall])
    assert response.status_code == 201, response.text
    return response.json()["id"]


@pytest.fixture
def around_the_week(client, auth) -> dict[str, int]:
    """Incidents on both sides of the local day boundaries of 2023-09-04 … 2023-09-11 (UTC+8),
    so reading a date as UTC midnight (eight hours late) moves two of them across."""
    return {
        when: file_at(client, auth, when)
        for when in (
            "2023-09-03 23:59",  # before the range
            "2023-09-04 03:00",  # inside; 2023-09-03 19:00 UTC
            "2023-09-10 23:59",  # inside, the last local day
            "2023-09-11 05:00",  # after the range; 2023-09-10 21:00 UTC
        )
    }


def test_metrics_over_dates_equal_metrics_over_local_midnights(client, auth, around_the_week):
    viewer = auth[Role.viewer]
    by_dates = client.get(f"{API}/metrics?from=2023-09-04&to=2023-09-11", headers=viewer)
    by_times = client.get(
        f"{API}/metrics",
        params={"from": "2023-09-04T00:00:00+08:00", "to": "2023-09-11T00:00:00+08:00"},
        headers=viewer,
    )

    assert by_dates.status_code == 200, by_dates.text
    assert by_times.status_code == 200, by_times.text
    assert by_dates.json() == by_times.json()
    assert by_dates.json()["incidents"] == 2


def test_incidents_between_dates_are_those_detected_on_those_local_days(
    client, auth, around_the_week
) -> None:
    response = client.get(
        f"{API}/incidents?from=2023-09-04&to=2023-09-11", headers=auth[Role.viewer]
    )

    assert response.status_code == 200, response.text
    found = {incident["id"] for incident in response.json()["items"]}
    assert found == {around_the_week["2023-09-04 03:00"], around_the_week["2023-09-10 23:59"]}


@pytest.mark.parametrize("path", ["/incidents", "/alerts", "/metrics"])
def test_every_time_range_takes_dates_and_refuses_an_impossible_one(client, auth, path) -> None:
    viewer = auth[Role.viewer]
    assert client.get(f"{API}{path}?from=2023-09-04&to=2023-09-11", headers=viewer).is_success

    refused = client.get(f"{API}{path}?from=2023-02-30&to=2023-09-11", headers=viewer)

    assert refused.status_code == 422
    [error] = refused.json()["detail"]
    assert error["loc"] == ["query", "from"]
    assert "unreadable time '2023-02-30'" in error["msg"]
