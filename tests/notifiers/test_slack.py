import json
from datetime import UTC, datetime

import pytest

from notifiers import escape_for, send
from notifiers.slack import Slack, to_mrkdwn
from tests.notifiers.builders import INCIDENT_URL, a_message, config, weekly_markdown
from tests.notifiers.receiver import Reply
from tests.notifiers.robots import slack_webhook


def hook_url(receiver) -> str:
    return receiver.url("/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX")


def test_header_sections_and_button(receiver, client) -> None:
    receiver.script(slack_webhook)
    outcome = send(a_message(), config("slack", hook_url(receiver)), client=client)
    assert outcome.ok, outcome.detail
    body = receiver.last.json()
    assert body["text"] == f"【C级事故】履约POS付款单失败545笔 – {INCIDENT_URL}"
    header, section, actions = body["blocks"]
    assert header == {
        "type": "header",
        "text": {"type": "plain_text", "text": "【C级事故】履约POS付款单失败545笔"},
    }
    assert section["text"] == {
        "type": "mrkdwn",
        "text": "*系统*：中信存管\n\n- 影响：履约pos付款单共545笔失败\n- 处置：紧急上线后问题解决",
    }
    assert actions["elements"][0]["url"] == INCIDENT_URL


def test_long_report_is_split_into_sections_of_at_most_3000_chars(receiver, client) -> None:
    receiver.script(slack_webhook)
    report = weekly_markdown(30_000)
    outcome = send(a_message(markdown=report), config("slack", hook_url(receiver)), client=client)
    assert outcome.ok, outcome.detail
    sections = [b["text"]["text"] for b in receiver.last.json()["blocks"] if b["type"] == "section"]
    assert len(sections) > 1
    assert all(len(s) <= 3000 for s in sections)
    assert "".join(sections) == to_mrkdwn(report)


def test_more_than_fifty_blocks_is_truncated_with_a_note() -> None:
    msg = a_message(markdown=weekly_markdown(600_000))
    cfg = config("slack", "https://hooks.slack.com/services/T/B/x")
    (request,) = Slack().requests(msg, cfg, datetime.now(UTC))
    blocks = json.loads(request.content)["blocks"]
    assert len(blocks) == 50
    assert blocks[-2]["text"]["text"].endswith("……（内容过长，已截断）")
    assert len(blocks[-2]["text"]["text"]) <= 3000


def test_markdown_becomes_mrkdwn() -> None:
    converted = to_mrkdwn("## 标题\n**粗体** a < b & c\n[事件](https://x.example/i/1?a=1&b=2)")
    assert converted == "*标题*\n*粗体* a &lt; b &amp; c\n<https://x.example/i/1?a=1&amp;b=2|事件>"


def test_user_text_cannot_mention_or_link(receiver, client) -> None:
    receiver.script(slack_webhook)
    title = "<!channel> <https://evil.example|点我> [x](http://evil)"
    msg = a_message(title=title, markdown="告警：" + escape_for("slack", title))
    send(msg, config("slack", hook_url(receiver)), client=client)
    sent = receiver.last.body.decode()
    assert "<!channel>" not in sent
    assert "<https://evil.example" not in sent
    assert "<http://evil" not in sent


@pytest.mark.parametrize(
    ("reply", "retryable", "retry_after"),
    [
        (Reply(429, "rate_limited", {"Retry-After": "7"}), True, 7.0),
        (Reply(500, "rollup_error"), True, None),
        (Reply(503, "service unavailable"), True, None),
        (Reply(400, "invalid_payload"), False, None),
        (Reply(403, "invalid_token"), False, None),
        (Reply(404, "channel_not_found"), False, None),
        (Reply(410, "channel_is_archived"), False, None),
        (Reply(200, "<html>captive portal</html>"), True, None),
    ],
)
def test_failures(receiver, client, reply, retryable, retry_after) -> None:
    receiver.script(reply)
    outcome = send(a_message(), config("slack", hook_url(receiver)), client=client)
    assert (outcome.ok, outcome.retryable, outcome.retry_after) == (False, retryable, retry_after)
