"""Text from alerts and incidents cannot inject markup into chat messages or pages.

Hostile text arrives the ways it really does: an alert's summary and labels through a webhook,
an incident's title, system, impact and remediation through the API, an action item's title,
owner, verifier and acceptance criteria. The scheduled jobs then send the follow-up reminder,
the incident announcement, the weekly section, the action item filed and the overdue digest to
real local DingTalk, WeCom and Feishu robots (which check signatures as the vendors do), and the
pages show the same text. No recorded message and no page may contain the markup raw.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from api.scheduler import outbox_job
from incidents import jobs
from incidents.grading import load_policy
from incidents.models import Role
from notifiers import build_client
from tests.notifiers.receiver import Receiver
from tests.notifiers.robots import dingtalk_robot, feishu_bot, wecom_robot
from tests.reliability.storm import am_body

HOSTILE = (
    '[x](http://evil) <font color=red>已恢复</font> @all <at user_id="all">所有人</at> '
    "<!channel> <script>alert(1)</script> ![i](http://evil/i.png)"
)
# What must not reach a robot: links, images, HTML/font tags, mentions of everyone.
FORBIDDEN_IN_MESSAGES = [
    "[x](http://evil",
    "](http://evil",
    "![i]",
    "<font",
    "@all",
    "<at ",
    "</at>",
    "<!channel>",
    "<script>",
]
# What must not reach a page unescaped.
FORBIDDEN_IN_PAGES = ["<font color=red>", '<at user_id="all">', "<script>alert(1)", "<!channel>"]
DING_SECRET = "SECinjection0123456789"
FEISHU_SECRET = "feishu-injection"
EVENTS = ["weekly_report", "incident", "alert_unfollowed", "action_overdue", "action_item"]


def rendered(node: object, kind: str, key: str = "") -> Iterator[str]:
    """The strings of a robot request that the robot renders as markup. Two fields are shown as
    typed and never rendered: DingTalk's `markdown.title` (the conversation list's preview) and
    Feishu's `plain_text` elements (the card header); Stabilog puts the raw title there on
    purpose, so they are skipped, and only there."""
    if isinstance(node, dict):
        if kind == "feishu" and node.get("tag") == "plain_text":
            return
        for name, value in node.items():
            if kind == "dingtalk" and key == "markdown" and name == "title":
                continue
            if name not in ("sign", "timestamp"):
                yield from rendered(value, kind, name)
    elif isinstance(node, list):
        for value in node:
            yield from rendered(value, kind, key)
    elif isinstance(node, str):
        yield node


@pytest.fixture
def robots() -> Iterator[dict[str, Receiver]]:
    started = {kind: Receiver().start() for kind in ("dingtalk", "wecom", "feishu")}
    started["dingtalk"].script(*(dingtalk_robot("tok", DING_SECRET) for _ in range(10)))
    started["wecom"].script(*(wecom_robot("k1") for _ in range(10)))
    started["feishu"].script(*(feishu_bot(FEISHU_SECRET) for _ in range(10)))
    yield started
    for receiver in started.values():
        receiver.stop()


def test_hostile_text_reaches_robots_and_pages_inert(
    client, auth, engine, settings, robots, figures
) -> None:
    admin, oncall = auth[Role.admin], auth[Role.oncall]
    for kind, url, secret in [
        ("dingtalk", robots["dingtalk"].url("/robot/send?access_token=tok"), DING_SECRET),
        ("wecom", robots["wecom"].url("/cgi-bin/webhook/send?key=k1"), None),
        ("feishu", robots["feishu"].url("/open-apis/bot/v2/hook/abc"), FEISHU_SECRET),
    ]:
        body = {"kind": kind, "name": kind, "url": url, "secret": secret, "events": EVENTS}
        assert client.post("/api/v1/channels", json=body, headers=admin).status_code == 201

    # An alert whose summary and labels are hostile, through the webhook.
    source = client.post(
        "/api/v1/sources", json={"kind": "alertmanager", "name": "am"}, headers=admin
    ).json()
    alert = {
        "status": "firing",
        "labels": {"alertname": HOSTILE, "service": HOSTILE, "severity": "warning"},
        "annotations": {"summary": HOSTILE, "description": HOSTILE},
        "startsAt": "2023-09-07T06:42:00Z",
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": "hostile",
    }
    assert client.post(source["webhook_path"], content=am_body([alert])).status_code == 200

    # A B-grade incident in the 2023-09-09 report, every text field hostile.
    incident = client.post(
        "/api/v1/incidents",
        json={
            "title": HOSTILE,
            "system": HOSTILE[:100],
            "detected_at": "2023-09-07 14:42",
            "failed_orders": 1200,
            "impact": HOSTILE,
            "description": HOSTILE,
            "remediation": HOSTILE,
            "root_cause": HOSTILE,
            "report_week": "2023-09-09",
        },
        headers=oncall,
    )
    assert incident.status_code == 201, incident.text
    incident_id = incident.json()["id"]
    calendar = settings.calendar
    due = calendar.today() + timedelta(days=1)
    item = client.post(
        f"/api/v1/incidents/{incident_id}/action-items",
        json={
            "title": HOSTILE[:200],
            "owner": HOSTILE[:100],
            "verifier": HOSTILE[-100:],
            "acceptance_criteria": HOSTILE,
            "due_date": due.isoformat(),
        },
        headers=oncall,
    )
    assert item.status_code == 201, item.text
    overdue_on = due + timedelta(days=1)
    while not calendar.is_working_day(overdue_on):
        overdue_on += timedelta(days=1)

    now = datetime.now(UTC)
    jobs.follow_up_reminder_job(engine, settings, now + timedelta(minutes=6))
    jobs.weekly_report_job(
        engine, settings, load_policy(None), datetime(2023, 9, 9, 10, tzinfo=UTC)
    )
    jobs.action_item_reminder_job(engine, settings, calendar.day_start(overdue_on))
    with build_client(httpx.Timeout(5.0), trust_env=False) as http:
        result = outbox_job(engine, http, settings, datetime.now(UTC) + timedelta(seconds=1))
    assert (result.sent, result.retrying, result.failed) == (15, 0, 0), result.details

    leaks = []
    messages = 0
    for kind, receiver in robots.items():
        assert len(receiver.requests) == 5
        for request in receiver.requests:
            messages += 1
            # What the robot renders as Markdown or rich text: every string of the decoded JSON
            # but the plain-text fields.
            body = request.json()
            text = "\n".join(rendered(body, kind))
            assert body.get("at", {}).get("isAtAll") is not True
            leaks += [
                f"{kind}: {fragment}" for fragment in FORBIDDEN_IN_MESSAGES if fragment in text
            ]

    pages = {
        "report html": client.get(
            "/api/v1/reports/weekly/2023-09-09", params={"format": "html"}, headers=oncall
        ),
    }
    client.cookies.set("stabilog_token", oncall["Authorization"].removeprefix("Bearer "))
    pages |= {
        "week page": client.get("/weeks/2023-09-09"),
        "incident page": client.get(f"/incidents/{incident_id}"),
        "alert inbox": client.get("/alerts"),
        "incident list": client.get("/incidents", params={"week": "2023-09-09"}),
    }
    client.cookies.clear()
    for name, page in pages.items():
        assert page.status_code == 200, (name, page.status_code)
        assert "text/html" in page.headers["content-type"]
        leaks += [f"{name}: {fragment}" for fragment in FORBIDDEN_IN_PAGES if fragment in page.text]
        # The text is still there, escaped: not silently dropped.
        assert "&lt;script&gt;" in page.text or "&lt;script>" in page.text, name

    figures(
        backend=engine.dialect.name,
        robot_messages=messages,
        pages=len(pages),
        markup_fragments_checked=len(FORBIDDEN_IN_MESSAGES) + len(FORBIDDEN_IN_PAGES),
        leaks=len(leaks),
    )
    assert leaks == [], leaks
