"""Action items through the API and the CLI: filed with a verifier, moved by steps that only the
owner or the verifier (or an admin) may take, listed across incidents."""

from datetime import timedelta

import pytest
from typer.testing import CliRunner

from api.cli import app
from incidents.calendar import DEFAULT_CALENDAR
from incidents.models import Role
from incidents.tokens import create_token
from tests.builders import file_incident

API = "/api/v1"
runner = CliRunner()


def due_in(days: int) -> str:
    return (DEFAULT_CALENDAR.today() + timedelta(days=days)).isoformat()


@pytest.fixture
def people(session) -> dict[str, dict[str, str]]:
    """Headers of the owner, the verifier and a bystander, all on call."""
    headers = {}
    for name in ("王五", "李四", "张三"):
        _, plain = create_token(session, name, Role.oncall)
        headers[name] = {"Authorization": f"Bearer {plain}"}
    session.commit()
    return headers


def add_item(client, headers, incident_id: int, **fields):
    body = {"title": "到账通知字段变更监控", "owner": "王五", "due_date": due_in(7)} | fields
    return client.post(f"{API}/incidents/{incident_id}/action-items", json=body, headers=headers)


def test_the_owner_marks_done_and_the_verifier_verifies_nobody_else(client, auth, people) -> None:
    incident = file_incident(client, auth[Role.oncall], owner="李四")
    created = add_item(
        client,
        auth[Role.oncall],
        incident["id"],
        acceptance_criteria="夜间时段也告警",
        tracker="PAY-1234",
    )
    assert created.status_code == 201, created.text
    item = created.json()
    assert (item["status"], item["verifier"], item["tracker"]) == ("open", "李四", "PAY-1234")
    url = f"{API}/action-items/{item['id']}"

    refused = client.post(f"{url}/done", headers=people["张三"])
    assert refused.status_code == 403
    assert "王五" in refused.json()["detail"]
    assert client.post(f"{url}/done", headers=people["王五"]).json()["status"] == "done"
    assert client.post(f"{url}/verify", headers=people["王五"]).status_code == 403
    assert client.post(f"{url}/verify", headers=auth[Role.viewer]).status_code == 403
    rejected = client.post(f"{url}/reject", headers=people["李四"])
    assert rejected.status_code == 422
    assert rejected.json()["detail"][0]["loc"] == ["body", "comment"]
    sent_back = client.post(f"{url}/reject", json={"comment": "缺夜间告警"}, headers=people["李四"])
    assert sent_back.json()["status"] == "in_progress"
    client.post(f"{url}/done", headers=people["王五"])
    verified = client.post(f"{url}/verify", headers=people["李四"]).json()
    assert (verified["status"], verified["verified_by"]) == ("verified", "李四")
    assert verified["closed_at"] == verified["verified_at"] is not None
    again = client.post(f"{url}/verify", headers=people["李四"])
    assert again.status_code == 422
    assert again.json()["detail"][0]["loc"] == ["body", "status"]

    trail = client.get(f"{API}/incidents/{incident['id']}/audit", headers=auth[Role.viewer])
    steps = [
        (e["actor"], e["new_value"], e["reason"]) for e in trail.json() if e["field"] == "status"
    ]
    assert ("李四", "in_progress", "缺夜间告警") in steps
    assert client.post(f"{API}/action-items/999/done", headers=people["王五"]).status_code == 404


def test_filing_needs_a_verifier_and_a_due_date_not_in_the_past(client, auth) -> None:
    incident_id = file_incident(client, auth[Role.oncall])["id"]
    nobody = add_item(client, auth[Role.oncall], incident_id)
    assert nobody.status_code == 422
    assert nobody.json()["detail"][0]["loc"] == ["body", "verifier"]
    past = add_item(client, auth[Role.oncall], incident_id, verifier="李四", due_date=due_in(-1))
    assert past.status_code == 422
    assert past.json()["detail"][0]["loc"] == ["body", "due_date"]
    today = add_item(client, auth[Role.oncall], incident_id, verifier="李四", due_date=due_in(0))
    assert today.status_code == 201, today.text
    bad_link = add_item(client, auth[Role.oncall], incident_id, verifier="李四", tracker="ftp://x")
    assert bad_link.status_code == 422
    assert bad_link.json()["detail"][0]["loc"] == ["body", "tracker"]
    as_done = add_item(client, auth[Role.oncall], incident_id, verifier="李四", status="done")
    assert as_done.status_code == 422


def test_patch_edits_fields_and_points_status_changes_at_the_steps(client, auth, people) -> None:
    incident_id = file_incident(client, auth[Role.oncall])["id"]
    item = add_item(client, auth[Role.oncall], incident_id, verifier="李四").json()
    url = f"{API}/action-items/{item['id']}"
    status = client.patch(url, json={"status": "done"}, headers=auth[Role.admin])
    assert status.status_code == 422
    assert status.json()["detail"][0]["loc"] == ["body", "status"]
    assert "/done" in status.json()["detail"][0]["msg"]
    tracked = client.patch(url, json={"tracker": "https://tapd.cn/1/s/9"}, headers=people["王五"])
    assert tracked.status_code == 200, tracked.text
    later = {"due_date": due_in(14)}
    assert client.patch(url, json=later, headers=people["王五"]).status_code == 403
    assert client.patch(url, json=later, headers=people["李四"]).json()["due_date"] == due_in(14)
    past = client.patch(url, json={"due_date": due_in(-1)}, headers=people["李四"])
    assert past.status_code == 422
    assert client.patch(url, json={"verifier": None}, headers=auth[Role.admin]).status_code == 422


def test_not_doing_needs_a_reason_and_the_verifiers_approval(client, auth, people) -> None:
    incident_id = file_incident(client, auth[Role.oncall])["id"]
    item = add_item(client, auth[Role.oncall], incident_id, verifier="李四").json()
    url = f"{API}/action-items/{item['id']}"
    assert client.post(f"{url}/not-doing", headers=people["王五"]).status_code == 422
    asked = client.post(
        f"{url}/not-doing", json={"comment": "银行侧改造覆盖"}, headers=people["王五"]
    )
    assert (asked.json()["status"], asked.json()["not_doing_reason"]) == (
        "not_doing_requested",
        "银行侧改造覆盖",
    )
    assert client.post(f"{url}/approve-not-doing", headers=people["王五"]).status_code == 403
    granted = client.post(f"{url}/approve-not-doing", headers=people["李四"]).json()
    assert (granted["status"], granted["verified_by"]) == ("not_doing", "李四")
    assert granted["closed_at"] is not None


def test_items_are_listed_by_owner_and_overdue(client, auth, session) -> None:
    incident_id = file_incident(client, auth[Role.oncall], owner="李四")["id"]
    for owner in ("王五", "张三"):
        assert add_item(client, auth[Role.oncall], incident_id, owner=owner).status_code == 201
    listed = client.get(f"{API}/action-items", params={"owner": "王五"}, headers=auth[Role.viewer])
    assert [item["owner"] for item in listed.json()["items"]] == ["王五"]
    assert listed.json()["total"] == 1
    overdue = client.get(f"{API}/action-items", params={"overdue": True}, headers=auth[Role.viewer])
    assert overdue.json()["total"] == 0


def test_the_cli_lists_and_moves_items(client, auth, cli_database) -> None:
    incident_id = file_incident(client, auth[Role.oncall], owner="李四")["id"]
    item_id = str(add_item(client, auth[Role.oncall], incident_id, tracker="PAY-9").json()["id"])

    listed = runner.invoke(app, ["action-item", "list", "--owner", "王五"])
    assert listed.exit_code == 0, listed.output
    assert listed.stdout.startswith(f"{item_id}\t{due_in(7)}\topen\t王五\t李四\tPAY-9\t#")
    assert runner.invoke(app, ["action-item", "list", "--overdue"]).stdout == ""

    done = runner.invoke(app, ["action-item", "done", item_id])
    assert done.exit_code == 0, done.output
    assert done.stdout.strip() == f"action item {item_id}: done"
    refused = runner.invoke(app, ["action-item", "reject", item_id])
    assert refused.exit_code == 2
    assert "--comment: required" in refused.output
    rejected = runner.invoke(app, ["action-item", "reject", item_id, "--comment", "缺夜间告警"])
    assert rejected.stdout.strip() == f"action item {item_id}: in_progress"
    runner.invoke(app, ["action-item", "done", item_id])
    verified = runner.invoke(app, ["action-item", "verify", item_id])
    assert verified.stdout.strip() == f"action item {item_id}: verified"
    assert runner.invoke(app, ["action-item", "verify", "999"]).exit_code == 1
