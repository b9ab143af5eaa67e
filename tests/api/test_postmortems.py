"""Timeline, postmortem and action items of an incident, through the API."""

from sqlmodel import func, select

from incidents.models import ActionItem, Role
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
    published = client.put(url, json={**body, "status": "published"}, headers=auth[Role.oncall])
    assert published.json()["published_at"] is not None
    assert client.get(url, headers=auth[Role.viewer]).json()["five_whys"] == body["five_whys"]
    bad = client.put(
        url, json={**body, "root_cause_category": "bad luck"}, headers=auth[Role.oncall]
    )
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"][-1] == "root_cause_category"
    trail = client.get(f"{API}/{incident_id}/audit", headers=auth[Role.viewer]).json()
    assert ("postmortem", "status", "draft", "published") in [
        (e["action"], e["field"], e["old_value"], e["new_value"]) for e in trail
    ]


def test_action_items_close_with_a_date_and_not_doing_needs_a_reason(client, auth, session) -> None:
    incident_id = filed(client, auth)
    item = client.post(
        f"{API}/{incident_id}/action-items",
        json={
            "title": "到账通知字段变更监控",
            "type": "detect",
            "owner": "王五",
            "due_date": "2023-09-20",
        },
        headers=auth[Role.oncall],
    ).json()
    assert (item["status"], item["closed_at"]) == ("open", None)
    url = f"/api/v1/action-items/{item['id']}"
    done = client.patch(url, json={"status": "done"}, headers=auth[Role.oncall]).json()
    assert done["closed_at"] is not None
    reopened = client.patch(url, json={"status": "in_progress"}, headers=auth[Role.oncall])
    assert reopened.json()["closed_at"] is None
    refused = client.patch(url, json={"status": "not_doing"}, headers=auth[Role.oncall])
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "not_doing_reason"]
    assert (
        client.get(f"{API}/{incident_id}/action-items", headers=auth[Role.viewer]).json()[0][
            "status"
        ]
        == "in_progress"
    )
    dropped = client.patch(
        url,
        json={"status": "not_doing", "not_doing_reason": "由银行侧改造覆盖"},
        headers=auth[Role.oncall],
    ).json()
    assert dropped["closed_at"] is not None
    assert (
        client.patch(
            "/api/v1/action-items/999", json={"status": "done"}, headers=auth[Role.oncall]
        ).status_code
        == 404
    )
    missing_owner = client.post(
        f"{API}/{incident_id}/action-items",
        json={"title": "x", "due_date": "2023-09-20"},
        headers=auth[Role.oncall],
    )
    assert missing_owner.status_code == 422
    assert session.exec(select(func.count()).select_from(ActionItem)).one() == 1
    assert client.patch(url, json={"owner": "x"}, headers=auth[Role.viewer]).status_code == 403
