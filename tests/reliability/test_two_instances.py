"""Two API instances on one PostgreSQL database, as production runs them.

Deliveries alternate between the instances (each delivery's duplicate goes to the other one);
the scheduled jobs are run for the same slot by two processes at the same instant; and a token
revoked or a source disabled through one instance is refused by the other at once.
"""

import json
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta

import httpx
import pytest
from sqlmodel import Session, select

from incidents.db import engine_for, utcnow
from incidents.jobs import JobRun
from incidents.models import Role
from incidents.outbox import ChannelCreate, Notification
from incidents.schema import upgrade_to_head
from incidents.tokens import create_token
from notifiers.subscriptions import add_channel
from tests.notifiers.receiver import Receiver
from tests.notifiers.robots import dingtalk_robot, feishu_bot, wecom_robot
from tests.reliability.conftest import PROJECT_ROOT
from tests.reliability.storm import (
    am_alert,
    am_body,
    make_alertmanager_source,
    send_storm,
    stored_occurrences,
    storm_plan,
    tally,
)

DISTINCT_DELIVERIES = 600  # 1,200 requests, half to each instance
WORKERS = 16
SYNCHRONISED_START_SECONDS = 3.0

# Run by two processes at once: both wait for the same instant, then run the job functions the
# scheduler runs, for the same slot, and drain the outbox.
JOBS_SCRIPT = """
import json, sys, time
from datetime import datetime

import httpx

from api.scheduler import outbox_job
from incidents import jobs
from incidents.db import engine_for
from incidents.grading import load_policy
from incidents.settings import Settings
from notifiers import build_client

url, start_at, now = sys.argv[1], float(sys.argv[2]), datetime.fromisoformat(sys.argv[3])
settings = Settings(database_url=url)
engine = engine_for(url)
with engine.connect():
    pass  # connect before the starting gun, so both processes race only in the jobs
time.sleep(max(0.0, start_at - time.time()))
jobs.weekly_report_job(engine, settings, load_policy(None), now)
jobs.follow_up_reminder_job(engine, settings, now)
with build_client(httpx.Timeout(5.0), trust_env=False) as client:
    sent = outbox_job(engine, client, settings, now).sent
print(json.dumps({"sent": sent}))
"""


@pytest.fixture
def shared_postgres(fresh_database_url) -> str:
    url = fresh_database_url("postgresql")
    upgrade_to_head(url)
    return url


@pytest.fixture
def robots():
    started = {kind: Receiver().start() for kind in ("dingtalk", "wecom", "feishu")}
    yield started
    for receiver in started.values():
        receiver.stop()


def test_deliveries_split_across_two_instances_are_stored_once(
    shared_postgres, servers, figures
) -> None:
    engine = engine_for(shared_postgres)
    path = make_alertmanager_source(engine)
    unlimited = {"STABILOG_WEBHOOK_RATE_PER_MINUTE": "10000000"}
    first = servers(shared_postgres, env=unlimited).start()
    second = servers(shared_postgres, env=unlimited).start()
    plan = storm_plan(path, DISTINCT_DELIVERIES)

    started = time.monotonic()
    outcomes = send_storm(plan, [first.url, second.url], workers=WORKERS)
    duration = time.monotonic() - started

    result = tally(outcomes, stored_occurrences(engine))
    per_instance = Counter(outcome.base for outcome in outcomes if outcome.accepted)
    figures(
        deliveries_sent=len(plan),
        answered_2xx_by_instance=sorted(per_instance.values()),
        alerts_sent=result.alerts_accepted,
        stored=result.stored,
        lost=result.lost,
        stored_twice=result.stored_twice,
        wrong_repeat_counts=result.wrong_repeat_counts,
        server_errors=result.server_errors,
        seconds=round(duration, 1),
    )
    assert result.accepted == len(plan)
    assert sorted(per_instance.values()) == [len(plan) // 2, len(plan) // 2]
    assert result.server_errors == 0
    assert result.lost == 0
    assert result.stored_twice == 0
    assert result.stored == result.alerts_accepted
    assert result.wrong_repeat_counts == 0


def test_a_revoked_token_and_a_disabled_source_are_refused_by_the_other_instance_at_once(
    shared_postgres, servers
) -> None:
    engine = engine_for(shared_postgres)
    with Session(engine, expire_on_commit=False) as session:
        _, admin = create_token(session, "admin", Role.admin)
        victim, victim_plain = create_token(session, "leaver", Role.oncall)
        session.commit()
    path = make_alertmanager_source(engine)
    first, second = servers(shared_postgres).start(), servers(shared_postgres).start()
    admin_headers = {"Authorization": f"Bearer {admin}"}
    victim_headers = {"Authorization": f"Bearer {victim_plain}"}
    body = am_body([am_alert("two-instances")])
    with httpx.Client(timeout=10.0, trust_env=False) as http:
        assert http.get(f"{second.url}/api/v1/alerts", headers=victim_headers).status_code == 200
        revoked = http.delete(f"{first.url}/api/v1/tokens/{victim.id}", headers=admin_headers)
        assert revoked.status_code == 200
        assert http.get(f"{second.url}/api/v1/alerts", headers=victim_headers).status_code == 401

        assert http.post(second.url + path, content=body).status_code == 200
        [source] = http.get(f"{first.url}/api/v1/sources", headers=admin_headers).json()
        disabled = http.patch(
            f"{first.url}/api/v1/sources/{source['id']}",
            json={"enabled": False},
            headers=admin_headers,
        )
        assert disabled.status_code == 200
        assert http.post(second.url + path, content=body).status_code == 404


def test_scheduled_jobs_run_once_when_two_processes_run_them_for_the_same_slot(
    shared_postgres, servers, robots, figures
) -> None:
    engine = engine_for(shared_postgres)
    robots["dingtalk"].script(*(dingtalk_robot("tok") for _ in range(10)))
    robots["wecom"].script(*(wecom_robot("k1") for _ in range(10)))
    robots["feishu"].script(*(feishu_bot() for _ in range(10)))
    urls = {
        "dingtalk": robots["dingtalk"].url("/robot/send?access_token=tok"),
        "wecom": robots["wecom"].url("/cgi-bin/webhook/send?key=k1"),
        "feishu": robots["feishu"].url("/open-apis/bot/v2/hook/abc"),
    }
    with Session(engine) as session:
        for kind, url in urls.items():
            add_channel(
                session,
                ChannelCreate(
                    kind=kind,
                    name=f"{kind}-group",
                    url=url,
                    events=["weekly_report", "alert_unfollowed"],
                ),
            )
            session.commit()
    # Alerts arrive through one instance; nobody follows them up.
    path = make_alertmanager_source(engine)
    server = servers(shared_postgres).start()
    body = am_body([am_alert(f"unfollowed-{n}") for n in range(3)])
    assert httpx.post(server.url + path, content=body, timeout=10.0).status_code == 200

    # Ten minutes later (the follow-up window is five) both processes run the same slot.
    now = utcnow() + timedelta(minutes=10)
    start_at = time.time() + SYNCHRONISED_START_SECONDS
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", JOBS_SCRIPT, shared_postgres, str(start_at), now.isoformat()],
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    answers = [process.communicate(timeout=60) for process in processes]
    for process, (_, err) in zip(processes, answers, strict=True):
        assert process.returncode == 0, err
    sent_by_process = [json.loads(out.strip().splitlines()[-1])["sent"] for out, _ in answers]

    with Session(engine) as session:
        runs = Counter((run.job, run.slot) for run in session.exec(select(JobRun)).all())
        notifications = Counter(
            (n.channel_id, n.event) for n in session.exec(select(Notification)).all()
        )
    received = {kind: len(robots[kind].requests) for kind in robots}
    figures(
        processes=2,
        job_runs=sum(runs.values()),
        notifications=sum(notifications.values()),
        sent_by_process=sent_by_process,
        robot_messages=received,
    )
    assert sorted(job for job, _ in runs) == ["follow_up_reminder", "weekly_report"]
    assert set(runs.values()) == {1}
    # One weekly section and one reminder per channel, each sent once, by one process or the other.
    assert sorted(notifications.values()) == [1] * 6
    assert sum(sent_by_process) == 6
    assert received == {"dingtalk": 2, "wecom": 2, "feishu": 2}
