import json
from datetime import UTC, datetime

import pytest

from notifiers import send
from notifiers.wecom import WeCom
from tests.notifiers.builders import INCIDENT_URL, a_message, config, weekly_markdown
from tests.notifiers.receiver import Reply
from tests.notifiers.robots import wecom_robot

KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
LIMIT = 4096


def robot_url(receiver) -> str:
    return receiver.url(f"/cgi-bin/webhook/send?key={KEY}")


def test_short_message_is_one_markdown_request(receiver, client) -> None:
    receiver.script(wecom_robot(KEY))
    outcome = send(a_message(), config("wecom", robot_url(receiver)), client=client)
    assert outcome.ok, outcome.detail
    body = receiver.last.json()
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["content"] == (
        "### 【C级事故】履约POS付款单失败545笔\n"
        + a_message().markdown
        + f"\n\n[查看详情]({INCIDENT_URL})"
    )


def test_weekly_report_is_split_into_numbered_parts_that_rejoin(receiver, client) -> None:
    report = weekly_markdown(10_000)
    # One line longer than a whole part, to force a cut inside a line (between characters).
    report += "超长的一行：" + "支付" * 950 + "\n" + "结尾一行"
    msg = a_message(markdown=report, url=None, event="weekly_report")
    receiver.script(*[wecom_robot(KEY)] * 10)
    outcome = send(msg, config("wecom", robot_url(receiver)), client=client)
    assert outcome.ok, outcome.detail

    contents = [r.json()["markdown"]["content"] for r in receiver.requests]
    count = len(contents)
    assert count >= 4
    assert outcome.detail.endswith(f"in {count} parts")
    bodies = []
    for number, content in enumerate(contents, 1):
        assert len(content.encode("utf-8")) <= LIMIT
        heading, body = content.split("\n", 1)
        assert heading == f"### 【C级事故】履约POS付款单失败545笔 ({number}/{count})"
        bodies.append(body)
    assert "".join(bodies) == report
    # Line boundaries are kept wherever a line fits: only the over-long line is cut.
    cut_inside_line = [b for b in bodies[:-1] if not b.endswith("\n")]
    assert len(cut_inside_line) == 1


def test_split_parts_never_exceed_the_limit_with_a_long_title() -> None:
    msg = a_message(title="告警" * 500, markdown=weekly_markdown(20_000))
    cfg = config("wecom", f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={KEY}")
    requests = WeCom().requests(msg, cfg, datetime.now(UTC))
    assert len(requests) > 1
    for request in requests:
        content = json.loads(request.content)["markdown"]["content"]
        assert len(content.encode()) <= LIMIT


def test_failure_in_a_later_part_is_reported_with_its_number(receiver, client) -> None:
    msg = a_message(markdown=weekly_markdown(10_000))
    receiver.script(
        wecom_robot(KEY), Reply(200, {"errcode": 45009, "errmsg": "api freq out of limit"})
    )
    outcome = send(msg, config("wecom", robot_url(receiver)), client=client)
    assert (outcome.ok, outcome.retryable, outcome.retry_after) == (False, True, 60.0)
    assert outcome.detail.startswith("part 2/")
    assert len(receiver.requests) == 2


@pytest.mark.parametrize(
    ("errcode", "errmsg", "retryable"),
    [
        (45009, "api freq out of limit", True),
        (93000, "invalid webhook url", False),
        (40058, "markdown.content exceed max length 4096", False),
    ],
)
def test_errcode_with_http_200_is_a_failure(receiver, client, errcode, errmsg, retryable) -> None:
    receiver.script(Reply(200, {"errcode": errcode, "errmsg": errmsg}))
    outcome = send(a_message(), config("wecom", robot_url(receiver)), client=client)
    assert (outcome.ok, outcome.retryable) == (False, retryable)
    assert errmsg in outcome.detail


def test_wrong_key_is_refused(receiver, client) -> None:
    receiver.script(wecom_robot("another-key"))
    outcome = send(a_message(), config("wecom", robot_url(receiver)), client=client)
    assert (outcome.ok, outcome.retryable) == (False, False)
    assert "93000" in outcome.detail
    assert KEY not in outcome.detail
