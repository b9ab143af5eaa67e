from datetime import UTC, datetime, timedelta

import httpx
import pytest

from notifiers import send
from notifiers.dingtalk import DingTalk, sign
from tests.notifiers.builders import INCIDENT_URL, a_message, config, weekly_markdown
from tests.notifiers.receiver import Reply
from tests.notifiers.robots import DINGTALK_OK, dingtalk_robot

TOKEN = "0f5d3ad1c6b1a3e2d4c5b6a7980a1b2c3d4e5f60718293a4b5c6d7e8f9012345"
SECRET = "SECtestsecret0123456789"


def robot_url(receiver) -> str:
    return receiver.url(f"/robot/send?access_token={TOKEN}")


def test_sign_matches_the_reference_vector() -> None:
    signed = sign("SECtestsecret0123456789", "1700000000000")
    assert signed == "zrLWzK97t62y5CpqN8Ok9UIdPvX+jL1PNoW8nKT5a9k="


def test_signed_query_is_url_encoded_as_dingtalk_documents() -> None:
    now = datetime.fromtimestamp(1_700_000_000, UTC)
    cfg = config("dingtalk", f"https://oapi.dingtalk.com/robot/send?access_token={TOKEN}", SECRET)
    (request,) = DingTalk().requests(a_message(), cfg, now)
    query = request.url.query.decode()
    assert "timestamp=1700000000000" in query
    assert "sign=zrLWzK97t62y5CpqN8Ok9UIdPvX%2BjL1PNoW8nKT5a9k%3D" in query
    assert f"access_token={TOKEN}" in query


def test_signed_markdown_message_is_accepted(receiver, client) -> None:
    receiver.script(dingtalk_robot(TOKEN, SECRET, keyword="事故"))
    outcome = send(a_message(), config("dingtalk", robot_url(receiver), SECRET), client=client)
    assert outcome.ok, outcome.detail
    body = receiver.last.json()
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["title"] == "【C级事故】履约POS付款单失败545笔"
    assert body["markdown"]["text"].startswith("### 【C级事故】履约POS付款单失败545笔\n\n**系统**")
    assert body["markdown"]["text"].endswith(f"[查看详情]({INCIDENT_URL})")
    assert receiver.last.headers["user-agent"] == "Stabilog/0.1"


def test_wrong_secret_is_refused_by_the_robot_and_not_retried(receiver, client) -> None:
    receiver.script(dingtalk_robot(TOKEN, SECRET))
    cfg = config("dingtalk", robot_url(receiver), "SECsomeoneelsessecret")
    outcome = send(a_message(), cfg, client=client)
    assert (outcome.ok, outcome.retryable) == (False, False)
    assert "310000" in outcome.detail
    assert "sign not match" in outcome.detail


def test_timestamp_is_taken_at_send_time(receiver, client) -> None:
    receiver.script(dingtalk_robot(TOKEN, SECRET))
    stale = datetime.now(UTC) - timedelta(hours=2)
    cfg = config("dingtalk", robot_url(receiver), SECRET)
    outcome = send(a_message(), cfg, client=client, now=stale)
    assert not outcome.ok
    assert "invalid timestamp" in outcome.detail


def test_unsigned_robot_guarded_by_keyword(receiver, client) -> None:
    receiver.script(dingtalk_robot(TOKEN, keyword="稳定性"))
    cfg = config("dingtalk", robot_url(receiver))
    outcome = send(a_message(), cfg, client=client)
    assert (outcome.ok, outcome.retryable) == (False, False)
    assert "keywords not in content" in outcome.detail
    assert "sign" not in receiver.last.query
    assert "timestamp" not in receiver.last.query


def test_rate_limited_then_delivered(receiver, client) -> None:
    receiver.script(
        Reply(200, {"errcode": 130101, "errmsg": "send too fast, exceed 20 times per minute"}),
        dingtalk_robot(TOKEN, SECRET),
    )
    cfg = config("dingtalk", robot_url(receiver), SECRET)
    first = send(a_message(), cfg, client=client)
    assert (first.ok, first.retryable, first.retry_after) == (False, True, 60.0)
    second = send(a_message(), cfg, client=client)
    assert second.ok
    assert len(receiver.requests) == 2


@pytest.mark.parametrize(
    ("errcode", "retryable"),
    [
        (410100, True),
        (-1, True),
        (310000, False),
        (300001, False),
        (300005, False),
        (400101, False),
        (400102, False),
        (400013, False),
        (43004, False),
    ],
)
def test_errcode_with_http_200_is_a_failure(receiver, client, errcode, retryable) -> None:
    receiver.script(Reply(200, {"errcode": errcode, "errmsg": "something"}))
    outcome = send(a_message(), config("dingtalk", robot_url(receiver)), client=client)
    assert (outcome.ok, outcome.retryable) == (False, retryable)
    assert str(errcode) in outcome.detail


def test_weekly_report_fits_one_message(receiver, client) -> None:
    receiver.script(dingtalk_robot(TOKEN))
    report = weekly_markdown(10_000)
    msg = a_message(markdown=report, event="weekly_report")
    outcome = send(msg, config("dingtalk", robot_url(receiver)), client=client)
    assert outcome.ok
    assert report in receiver.last.json()["markdown"]["text"]


def test_oversized_text_is_truncated_with_the_link_kept() -> None:
    msg = a_message(markdown=weekly_markdown(60_000))
    cfg = config("dingtalk", f"https://oapi.dingtalk.com/robot/send?access_token={TOKEN}")
    (request,) = DingTalk().requests(msg, cfg, datetime.now(UTC))
    text = httpx.Response(200, content=request.content).json()["markdown"]["text"]
    assert len(text.encode()) <= 20_000
    assert "内容过长，已截断" in text
    assert text.endswith(f"[查看详情]({INCIDENT_URL})")


def test_ok_reply_parses_as_delivered() -> None:
    outcome = DingTalk().parse(httpx.Response(200, json=DINGTALK_OK.body))
    assert outcome.ok
