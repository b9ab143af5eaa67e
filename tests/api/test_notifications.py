"""Channels, the outbox and the scheduled jobs, against real robots on 127.0.0.1."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlmodel import Session, func, select

from api.scheduler import build_scheduler, outbox_job
from incidents import jobs
from incidents.demo import SEED_REPORT
from incidents.grading import load_policy
from incidents.jobs import JobRun
from incidents.models import Role
from incidents.outbox import Notification, NotificationEvent, NotificationStatus
from incidents.settings import Settings
from notifiers import build_client
from tests.builders import seed_pos_incident
from tests.notifiers.receiver import Receiver, Reply
from tests.notifiers.robots import dingtalk_robot, feishu_bot, wecom_robot

DING_SECRET = "SECtestsecret0123456789"
FEISHU_SECRET = "feishu-secret"


@pytest.fixture
def robots() -> Iterator[dict[str, Receiver]]:
    started = {kind: Receiver().start() for kind in ("dingtalk", "wecom", "feishu")}
    yield started
    for receiver in started.values():
        receiver.stop()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with build_client(httpx.Timeout(3.0), trust_env=False) as client:
        yield client


def add_channel(client, auth, kind: str, url: str, events: list[str], secret=None) -> dict:
    body = {
        "kind": kind,
        "name": f"{kind}-{len(events)}-{url[-6:]}",
        "url": url,
        "secret": secret,
        "events": events,
    }
    response = client.post("/api/v1/channels", json=body, headers=auth[Role.admin])
    assert response.status_code == 201, response.text
    return response.json()


def chat_channels(client, auth, robots, events: list[str]) -> None:
    add_channel(
        client,
        auth,
        "dingtalk",
        robots["dingtalk"].url("/robot/send?access_token=tok"),
        events,
        DING_SECRET,
    )
    add_channel(client, auth, "wecom", robots["wecom"].url("/cgi-bin/webhook/send?key=k1"), events)
    add_channel(
        client,
        auth,
        "feishu",
        robots["feishu"].url("/open-apis/bot/v2/hook/abc"),
        events,
        FEISHU_SECRET,
    )


def drain_until_settled(engine, http, start: datetime, rounds: int = 12) -> datetime:
    """Run the outbox as the scheduler would, the clock jumping to each next retry."""
    now = start
    for _ in range(rounds):
        outbox_job(engine, http, Settings(), now)
        with Session(engine) as session:
            waiting = session.exec(
                select(func.min(Notification.next_attempt_at)).where(
                    Notification.status == NotificationStatus.pending
                )
            ).one()
        if waiting is None:
            return now
        now = max(now, waiting) + timedelta(seconds=1)
    raise AssertionError("the outbox never settled")


def week_queued_for_wecom(client, auth, engine, settings, robots) -> None:
    """A WeCom channel subscribed to the weekly section, with week 37 queued for it."""
    add_channel(
        client,
        auth,
        "wecom",
        robots["wecom"].url("/cgi-bin/webhook/send?key=k1"),
        ["weekly_report"],
    )
    with Session(engine) as session:
        jobs.queue_weekly_report(
            session,
            settings.calendar.week_of(datetime(2023, 9, 9).date()),
            settings,
            load_policy(None),
        )
        session.commit()


def statuses(engine) -> list[str]:
    with Session(engine) as session:
        return [n.status for n in session.exec(select(Notification).order_by(Notification.id))]


def test_weekly_section_reaches_every_robot_once_despite_failures(
    client, auth, engine, settings, robots, http
):
    chat_channels(client, auth, robots, ["weekly_report"])
    client.post(
        "/api/v1/import/weekly", content=SEED_REPORT.read_bytes(), headers=auth[Role.oncall]
    )
    robots["dingtalk"].script(
        Reply(502, "bad gateway"),
        Reply(200, {"errcode": 130101, "errmsg": "send too fast"}),
        dingtalk_robot("tok", DING_SECRET),
    )
    robots["wecom"].script(
        Reply(200, {"errcode": 45009, "errmsg": "api freq out of limit"}), wecom_robot("k1")
    )
    robots["feishu"].script(
        Reply(200, {"code": 11232, "msg": "frequency limited"}), feishu_bot(FEISHU_SECRET)
    )
    now = datetime.now(UTC)
    policy = load_policy(None)
    jobs.weekly_report_job(engine, settings, policy, datetime(2023, 9, 9, 10, tzinfo=UTC))
    again = datetime(2023, 9, 9, 10, 5, tzinfo=UTC)
    jobs.weekly_report_job(engine, settings, policy, again)
    drain_until_settled(engine, http, now)

    assert statuses(engine) == ["sent", "sent", "sent"]
    assert [len(robots[kind].requests) for kind in ("dingtalk", "wecom", "feishu")] == [3, 2, 2]
    delivered = robots["dingtalk"].last
    assert delivered.param("timestamp").isdigit()
    assert delivered.param("sign")
    text = delivered.json()["markdown"]["text"]
    assert "事故数AB级0次，CD级1次" in text
    assert "第37周 2023-09-09" in robots["wecom"].last.json()["markdown"]["content"]
    assert robots["feishu"].last.json()["sign"]
    # Nothing is sent twice: the week is queued once, and a drained outbox sends nothing more.
    outbox_job(engine, http, settings, now + timedelta(hours=1))
    assert [len(robots[kind].requests) for kind in ("dingtalk", "wecom", "feishu")] == [3, 2, 2]


def test_a_b_grade_incident_is_announced_to_incident_subscribers_only(
    client, auth, engine, robots, http
):
    add_channel(
        client,
        auth,
        "dingtalk",
        robots["dingtalk"].url("/robot/send?access_token=tok"),
        ["incident"],
        DING_SECRET,
    )
    add_channel(
        client,
        auth,
        "wecom",
        robots["wecom"].url("/cgi-bin/webhook/send?key=k1"),
        ["weekly_report"],
    )
    robots["dingtalk"].script(*(dingtalk_robot("tok", DING_SECRET) for _ in range(3)))
    oncall = auth[Role.oncall]
    c_grade = client.post("/api/v1/incidents", json=seed_pos_incident(), headers=oncall).json()
    b_grade = client.post(
        "/api/v1/incidents",
        json=seed_pos_incident(title="<b>@all</b> 清结算批量失败", failed_orders=1200),
        headers=oncall,
    ).json()
    assert (c_grade["grade"], b_grade["grade"]) == ("C", "B")
    client.patch(
        f"/api/v1/incidents/{b_grade['id']}", json={"failed_orders": 1300}, headers=oncall
    )  # still B: not announced again
    drain_until_settled(engine, http, datetime.now(UTC))
    assert len(robots["dingtalk"].requests) == 1
    assert robots["wecom"].requests == []
    sent = robots["dingtalk"].last.json()["markdown"]
    assert "B级事故" in sent["title"]
    assert "@all" not in sent["text"]
    assert "<b>" not in sent["text"]
    assert "- 状态：处理中（open）" in sent["text"]
    client.post(
        f"/api/v1/incidents/{b_grade['id']}/grade",
        json={"grade": "A", "reason": "升级"},
        headers=oncall,
    )
    drain_until_settled(engine, http, datetime.now(UTC))
    assert len(robots["dingtalk"].requests) == 2
    assert "A级事故" in robots["dingtalk"].last.json()["markdown"]["title"]


def test_a_message_survives_the_process_dying_before_or_during_delivery(
    client, auth, engine, settings, robots, http
):
    week_queued_for_wecom(client, auth, engine, settings, robots)
    # A sender claimed it and died mid-send: the row is 'sending' with a lease.
    with Session(engine) as session:
        notification = session.exec(select(Notification)).one()
        notification.status = NotificationStatus.sending
        notification.lease_until = datetime.now(UTC) + timedelta(minutes=5)
        session.commit()
    robots["wecom"].script(wecom_robot("k1"))
    outbox_job(engine, http, settings, datetime.now(UTC))
    assert robots["wecom"].requests == []  # the lease still holds
    outbox_job(engine, http, settings, datetime.now(UTC) + timedelta(minutes=6))
    assert len(robots["wecom"].requests) == 1
    assert statuses(engine) == ["sent"]


def test_a_permanent_failure_is_kept_visible_and_can_be_retried(
    client, auth, engine, settings, robots, http
):
    week_queued_for_wecom(client, auth, engine, settings, robots)
    robots["wecom"].script(
        Reply(200, {"errcode": 93000, "errmsg": "invalid webhook url"}), wecom_robot("k1")
    )
    outbox_job(engine, http, settings, datetime.now(UTC))
    failed = client.get(
        "/api/v1/notifications", params={"status": "failed"}, headers=auth[Role.viewer]
    ).json()
    assert failed["total"] == 1
    assert "93000" in failed["items"][0]["last_error"]
    retried = client.post(
        f"/api/v1/notifications/{failed['items'][0]['id']}/retry", headers=auth[Role.oncall]
    )
    assert retried.json()["status"] == "pending"
    outbox_job(engine, http, settings, datetime.now(UTC))
    assert statuses(engine) == ["sent"]


def test_unreachable_robot_is_retried_then_failed_without_raising(
    client, auth, engine, settings, http
):
    add_channel(
        client, auth, "dingtalk", "http://127.0.0.1:9/robot/send?access_token=t", ["weekly_report"]
    )
    with Session(engine) as session:
        jobs.queue_weekly_report(
            session,
            settings.calendar.week_of(datetime(2023, 9, 9).date()),
            settings,
            load_policy(None),
        )
        session.commit()
    now = datetime.now(UTC)
    for _ in range(10):
        outbox_job(engine, http, settings, now)
        now += timedelta(hours=2)
    with Session(engine) as session:
        notification = session.exec(select(Notification)).one()
    assert (notification.status, notification.attempts) == ("failed", 8)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "dingtalk", "name": "x", "url": "ftp://robot", "events": ["incident"]}, "url"),
        ({"kind": "dingtalk", "name": "x", "url": "not a url", "events": ["incident"]}, "url"),
        (
            {
                "kind": "wecom",
                "name": "x",
                "url": "https://qyapi.example/send?key=1",
                "events": ["lunch"],
            },
            "events",
        ),
        ({"kind": "pager", "name": "x", "url": "https://x", "events": ["incident"]}, "kind"),
        (
            {"kind": "wecom", "name": "x", "url": "https://qyapi.example/send?key=1", "events": []},
            "events",
        ),
    ],
)
def test_a_malformed_channel_is_refused_naming_the_field(client, auth, body, field) -> None:
    response = client.post("/api/v1/channels", json=body, headers=auth[Role.admin])
    assert response.status_code == 422, response.text
    assert field in [str(part) for part in response.json()["detail"][0]["loc"]]
    assert client.get("/api/v1/channels", headers=auth[Role.admin]).json() == []


def test_a_channel_may_subscribe_to_every_event(client, auth) -> None:
    everything = [event.value for event in NotificationEvent]
    url = "https://qyapi.example/send?key=1"
    channel = add_channel(client, auth, "wecom", url, everything)
    assert sorted(channel["events"]) == sorted(everything)
    changed = client.patch(
        f"/api/v1/channels/{channel['id']}", json={"events": everything}, headers=auth[Role.admin]
    )
    assert changed.status_code == 200, changed.text


def test_channel_answers_never_show_the_robots_credentials(client, auth) -> None:
    add_channel(
        client,
        auth,
        "dingtalk",
        "https://oapi.dingtalk.example/robot/send?access_token=SECRETTOKEN",
        ["incident"],
        DING_SECRET,
    )
    listed = client.get("/api/v1/channels", headers=auth[Role.admin])
    assert "SECRETTOKEN" not in listed.text
    assert DING_SECRET not in listed.text
    assert listed.json()[0]["url"] == "https://oapi.dingtalk.example/robot/send?access_token=***"
    assert client.get("/api/v1/channels", headers=auth[Role.oncall]).status_code == 403


def test_follow_up_reminders_and_overdue_digest_run_once_per_slot(
    client, auth, engine, settings, robots, http
):
    add_channel(
        client,
        auth,
        "wecom",
        robots["wecom"].url("/cgi-bin/webhook/send?key=k1"),
        ["alert_unfollowed", "action_overdue"],
    )
    source = client.post(
        "/api/v1/sources", json={"kind": "alertmanager", "name": "am"}, headers=auth[Role.admin]
    ).json()
    alert = {
        "status": "firing",
        "labels": {"alertname": "X", "service": "履约"},
        "annotations": {"summary": "<@all> 接口错误"},
        "startsAt": "2023-09-07T06:42:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": "f1",
    }
    client.post(
        source["webhook_path"],
        content=json.dumps({"version": "4", "status": "firing", "alerts": [alert]}),
    )
    arrived = datetime.now(UTC)
    jobs.follow_up_reminder_job(engine, settings, arrived + timedelta(minutes=4))
    assert statuses(engine) == []
    jobs.follow_up_reminder_job(engine, settings, arrived + timedelta(minutes=6))
    jobs.follow_up_reminder_job(engine, settings, arrived + timedelta(minutes=7))
    assert statuses(engine) == ["pending"]

    incident = client.post(
        "/api/v1/incidents", json=seed_pos_incident(), headers=auth[Role.oncall]
    ).json()
    calendar = settings.calendar
    due = calendar.today() + timedelta(days=3)
    client.post(
        f"/api/v1/incidents/{incident['id']}/action-items",
        json={"title": "加监控", "owner": "王五", "verifier": "李四", "due_date": due.isoformat()},
        headers=auth[Role.oncall],
    )
    overdue_on = due + timedelta(days=1)
    while not calendar.is_working_day(overdue_on):
        overdue_on += timedelta(days=1)
    morning = calendar.day_start(overdue_on) + timedelta(hours=9, minutes=30)
    jobs.action_item_reminder_job(engine, settings, morning)
    jobs.action_item_reminder_job(engine, settings, morning + timedelta(hours=1))
    assert statuses(engine) == ["pending", "pending"]
    with Session(engine) as session:
        # Three minutes of follow-up reminders, the day of action item reminders and its week.
        assert session.exec(select(func.count()).select_from(JobRun)).one() == 5

    robots["wecom"].script(wecom_robot("k1"), wecom_robot("k1"))
    outbox_job(engine, http, settings, datetime.now(UTC))
    reminder, digest = (r.json()["markdown"]["content"] for r in robots["wecom"].requests)
    assert "1条报警超过5分钟无人跟进" in reminder
    assert "<@all>" not in reminder
    assert "王五" in digest
    assert "加监控" in digest


def test_the_scheduler_has_its_jobs(engine, settings) -> None:
    scheduler = build_scheduler(engine, settings, load_policy(None))
    triggers = {job.id: str(job.trigger) for job in scheduler.get_jobs()}
    assert set(triggers) == {
        "weekly_report",
        "follow_up_reminder",
        "escalation",
        "clocks",
        "action_reminders",
        "scoreboard",
        "outbox",
    }
    assert triggers["clocks"] == "interval[0:01:00]"
    assert triggers["scoreboard"] == "interval[1:00:00]"
    assert "day_of_week='sat'" in triggers["weekly_report"]
    assert "hour='18'" in triggers["weekly_report"]
    assert triggers["follow_up_reminder"] == "interval[0:01:00]"
