"""Regulatory triggers, the regulator's 2-hour clock and grades that rise on their own, through
the API, the minute job (with a frozen clock) and the outbox, on SQLite and PostgreSQL."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, col, select

from incidents.audit import AuditEntry
from incidents.grading import load_policy
from incidents.jobs import clock_job
from incidents.models import Incident, Role
from incidents.outbox import Notification

POLICY = load_policy(None)


@pytest.fixture
def subscribed(client, auth) -> None:
    """A chat channel that hears about incidents and regulatory reports (nothing is sent: the
    tests read the outbox the domain wrote)."""
    body = {
        "kind": "wecom",
        "name": "监管群",
        "url": "https://qyapi.example/cgi-bin/webhook/send?key=k",
        "events": ["incident", "regulatory"],
    }
    assert client.post("/api/v1/channels", json=body, headers=auth[Role.admin]).status_code == 201


def queued(engine, prefix: str) -> list[str]:
    with Session(engine) as session:
        keys = session.exec(
            select(Notification.dedup_key).where(col(Notification.dedup_key).startswith(prefix))
        ).all()
    return sorted(keys)


def test_a_two_hour_interruption_grades_a_and_runs_the_regulators_clock(
    client, auth, engine, settings, subscribed
) -> None:
    body = {
        "title": "核心支付网关中断",
        "system": "支付网关",
        "core_system": True,
        "occurred_at": "2023-09-07 10:00",
        "detected_at": "2023-09-07 10:02",
        "recovered_at": "2023-09-07 12:05",  # 125 minutes down: more than 2 hours
        "failed_orders": 50,
    }
    filed = client.post("/api/v1/incidents", json=body, headers=auth[Role.oncall])
    assert filed.status_code == 201, filed.text
    incident = filed.json()
    assert incident["grade"] == "A"
    assert incident["regulatory"] is True
    assert incident["grade_reason"] == (
        "regulatory: interruption_over_2h (支付业务中断超过2小时):"
        " core interruption 125 min > 120 → A; core impact 125 min ≥ 60 → A"
    )
    register = client.get("/api/v1/regulatory-reports", headers=auth[Role.viewer]).json()
    assert register["total"] == 1
    report = register["items"][0]
    assert report["incident_id"] == incident["id"]
    assert report["triggers"] == ["interruption_over_2h"]
    assert report["due_at"] == "2023-09-07T12:00:00+08:00"  # occurrence + 2 hours
    assert report["written_report_due"].startswith("2023-09-14T23:59:59")  # 5 working days
    due = datetime(2023, 9, 7, 4, 0, tzinfo=UTC)
    report_key = f"regulatory:{report['id']}:"
    assert queued(engine, report_key) == [f"{report_key}opened"]

    # The clock, frozen minute by minute: the warning half an hour before, once; the overdue
    # notice at the deadline, once, however often the job runs after it.
    for minutes in (-31, -30, -29, -1, 0, 1, 2, 60):
        clock_job(engine, settings, POLICY, due + timedelta(minutes=minutes))
    assert queued(engine, report_key) == [
        f"{report_key}due_soon",
        f"{report_key}opened",
        f"{report_key}overdue",
    ]
    assert (
        client.get(f"/api/v1/regulatory-reports/{report['id']}", headers=auth[Role.viewer]).json()[
            "state"
        ]
        == "overdue"
    )

    recorded = client.patch(
        f"/api/v1/regulatory-reports/{report['id']}",
        json={"reported_at": "2023-09-07 12:40", "channel": "phone", "reference": "PBOC-0907-1"},
        headers=auth[Role.oncall],
    )
    assert recorded.status_code == 200, recorded.text
    assert recorded.json()["state"] == "reported_late"
    assert recorded.json()["minutes"] == 40
    assert recorded.json()["reported_by"] == "oncall-user"
    clock_job(engine, settings, POLICY, due + timedelta(minutes=90))
    assert len(queued(engine, report_key)) == 3  # a report made is never nagged about again
    trail = client.get(f"/api/v1/incidents/{incident['id']}/audit", headers=auth[Role.viewer])
    assert {"channel", "reference", "reported_at"} <= {
        entry["field"] for entry in trail.json() if entry["action"] == "regulatory_report"
    }


def test_an_open_core_incident_rises_from_c_to_b_at_minute_30(
    client, auth, engine, settings, subscribed
) -> None:
    occurred = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=5)
    body = {
        "title": "核心链路超时",
        "core_system": True,
        "occurred_at": occurred.isoformat(),
        "detected_at": occurred.isoformat(),
        "failed_orders": 150,
    }
    filed = client.post("/api/v1/incidents", json=body, headers=auth[Role.oncall]).json()
    assert filed["grade"] == "C"
    overridden = client.post("/api/v1/incidents", json=body, headers=auth[Role.oncall]).json()
    kept = {"grade": "C", "reason": "专线抖动，业务方确认影响有限"}
    client.post(f"/api/v1/incidents/{overridden['id']}/grade", json=kept, headers=auth[Role.oncall])

    clock_job(engine, settings, POLICY, occurred + timedelta(minutes=29))
    with Session(engine) as session:
        assert session.get_one(Incident, filed["id"]).grade == "C"

    clock_job(engine, settings, POLICY, occurred + timedelta(minutes=30))
    with Session(engine) as session:
        risen = session.get_one(Incident, filed["id"])
        assert risen.grade == "B"
        assert risen.grade_reason is not None
        assert risen.grade_reason.startswith("core not recovered after 30 min (open 30 min at ")
        assert risen.grade_reason.endswith(") → at least B")
        audited = session.exec(
            select(AuditEntry).where(
                AuditEntry.incident_id == filed["id"], AuditEntry.action == "grade"
            )
        ).all()
        assert [(entry.actor, entry.old_value, entry.new_value) for entry in audited] == [
            ("oncall-user", None, "C"),
            ("escalation", "C", "B"),
        ]
        assert session.get_one(Incident, overridden["id"]).grade == "C"  # a person's call stands
    assert queued(engine, f"incident:{filed['id']}:") == [f"incident:{filed['id']}:grade:B"]

    # Recovered after 40 minutes: the grade stands on the recorded facts (core 40 min ≥ 30).
    recovered = (occurred + timedelta(minutes=40)).isoformat()
    edited = client.patch(
        f"/api/v1/incidents/{filed['id']}",
        json={"recovered_at": recovered},
        headers=auth[Role.oncall],
    )
    assert edited.json()["grade"] == "B"
    assert edited.json()["grade_reason"] == "core impact 40 min ≥ 30 → B"


def test_a_ticked_trigger_grades_a_and_an_unknown_one_is_refused(client, auth) -> None:
    base = {"title": "客户信息外泄", "detected_at": "2023-09-07 10:00"}
    refused = client.post(
        "/api/v1/incidents",
        json=base | {"regulatory_triggers": ["data_leak"]},
        headers=auth[Role.oncall],
    )
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "regulatory_triggers"]
    assert "unknown regulatory trigger 'data_leak'" in refused.json()["detail"][0]["msg"]
    assert client.get("/api/v1/incidents", headers=auth[Role.viewer]).json()["total"] == 0

    ticked = client.post(
        "/api/v1/incidents",
        json=base | {"regulatory_triggers": ["personal_data_leak"], "business_impact": False},
        headers=auth[Role.oncall],
    )
    assert ticked.status_code == 201
    assert ticked.json()["grade"] == "A"  # the regulator decides, not the flag
    assert ticked.json()["regulatory_triggers"] == ["personal_data_leak"]


def test_the_deprecated_regulatory_flag_ticks_the_catch_all_trigger(client, auth) -> None:
    body = {"title": "重大事项", "detected_at": "2023-09-07 10:00", "regulatory": True}
    filed = client.post("/api/v1/incidents", json=body, headers=auth[Role.oncall])
    assert filed.status_code == 201, filed.text
    assert filed.json()["regulatory_triggers"] == ["other_major_event"]
    assert filed.json()["regulatory"] is True
    assert filed.json()["grade"] == "A"


def test_recording_a_report_checks_its_times(client, auth) -> None:
    body = {
        "title": "重复结算",
        "detected_at": "2023-09-07 10:00",
        "regulatory_triggers": ["fund_safety"],
    }
    incident = client.post("/api/v1/incidents", json=body, headers=auth[Role.oncall]).json()
    report = client.get("/api/v1/regulatory-reports", headers=auth[Role.viewer]).json()["items"][0]
    assert report["incident_id"] == incident["id"]
    path = f"/api/v1/regulatory-reports/{report['id']}"
    early = client.patch(path, json={"reported_at": "2023-09-07 09:00"}, headers=auth[Role.oncall])
    assert early.status_code == 422
    assert early.json()["detail"][0]["loc"] == ["body", "reported_at"]
    unknown = client.patch(path, json={"channel": "pigeon"}, headers=auth[Role.oncall])
    assert unknown.status_code == 422
    made = client.patch(
        path,
        json={"reported_at": "2023-09-07 11:00", "channel": "system"},
        headers=auth[Role.oncall],
    )
    assert made.json()["state"] == "reported_on_time"
    written = client.patch(
        path, json={"written_report_at": "2023-09-07 10:59"}, headers=auth[Role.oncall]
    )
    assert written.status_code == 422
    assert written.json()["detail"][0]["loc"] == ["body", "written_report_at"]
    assert client.patch(path, json={}, headers=auth[Role.viewer]).status_code == 403
