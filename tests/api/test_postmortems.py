"""Timeline and postmortem of an incident, through the API (action items: test_action_items.py)."""

from incidents.models import Role
from tests.builders import seed_pos_incident

API = "/api/v1/incidents"


def filed(client, auth, **overrides) -> int:
    response = client.post(API, json=seed_pos_incident(**overrides), headers=auth[Role.oncall])
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_timeline_is_kept_in_time_order_with_key_events(client, auth) -> None:
    incident_id = filed(client, auth)
    url = f"{API}/{incident_id}/timeline"
    for at, text, key in [
        ("2023-09-07 15:10", "紧急上线修复", True),
        ("2023-08-31 10:19", "监控发现到账通知处理失败", True),
        ("2023-09-07 14:00", "履约反馈POS付款单失败", False),
    ]:
        response = client.post(
            url, json={"at": at, "text": text, "key_event": key}, headers=auth[Role.oncall]
        )
        assert response.status_code == 201, response.text
    entries = client.get(url, headers=auth[Role.viewer]).json()
    assert [entry["at"][:16] for entry in entries] == [
        "2023-08-31T10:19",
        "2023-09-07T14:00",
        "2023-09-07T15:10",
    ]
    assert [entry["key_event"] for entry in entries] == [True, False, True]
    assert entries[0]["author"] == "oncall-user"
    bad = client.post(url, json={"at": "soon", "text": "x"}, headers=auth[Role.oncall])
    assert bad.status_code == 422
    assert (
        client.post(
            f"{API}/999/timeline", json={"at": "9/7 14:00", "text": "x"}, headers=auth[Role.oncall]
        ).status_code
        == 404
    )


def test_postmortem_due_date_defaults_to_five_working_days_after_recovery(client, auth) -> None:
    # Recovered Thursday 2023-09-07 → due the Thursday after (the weekend does not count).
    incident_id = filed(client, auth, recovered_at="2023-09-07 15:10")
    url = f"{API}/{incident_id}/postmortem"
    assert client.get(url, headers=auth[Role.viewer]).status_code == 404
    body = {
        "summary": "到账通知字段变动导致入金误判",
        "root_cause": "银行通知报文变更未同步",
        "five_whys": ["为何失败", "为何误判", "为何未发现变更"],
        "root_cause_category": "dependency",
        "reviewers": ["李四"],
    }
    written = client.put(url, json=body, headers=auth[Role.oncall])
    assert written.status_code == 200, written.text
    postmortem = written.json()
    assert postmortem["due_date"] == "2023-09-14"
    assert postmortem["status"] == "draft"
    assert postmortem["published_at"] is None
    # Publishing is an action of its own (tests/incidents/test_postmortem_review.py).
    published = client.put(url, json={**body, "status": "published"}, headers=auth[Role.oncall])
    assert published.status_code == 422
    assert published.json()["detail"][0]["loc"] == ["body", "status"]
    assert client.get(url, headers=auth[Role.viewer]).json()["five_whys"] == body["five_whys"]
    bad = client.put(
        url, json={**body, "root_cause_category": "bad luck"}, headers=auth[Role.oncall]
    )
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"][-1] == "root_cause_category"
    trail = client.get(f"{API}/{incident_id}/audit", headers=auth[Role.viewer]).json()
    assert ("postmortem", "reviewers", None, "['李四']") in [
        (e["action"], e["field"], e["old_value"], e["new_value"]) for e in trail
    ]
