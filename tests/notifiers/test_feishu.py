import json
from datetime import UTC, datetime, timedelta

import pytest

from notifiers import send
from notifiers.feishu import Feishu, sign
from tests.notifiers.builders import INCIDENT_URL, a_message, config, weekly_markdown
from tests.notifiers.receiver import Reply
from tests.notifiers.robots import feishu_bot

SECRET = "testsecret"


def hook_url(receiver) -> str:
    return receiver.url("/open-apis/bot/v2/hook/2a9e5c7d-0000-4f3b-9c1d-8e7f6a5b4c3d")


def test_sign_matches_the_reference_vector() -> None:
    assert sign("testsecret", "1700000000") == "AOc8oJ7//5OlQlfWC3nRL0R+IkuzcD1FKcAyibRK9Q8="


def test_signed_card_is_accepted(receiver, client) -> None:
    receiver.script(feishu_bot(SECRET))
    outcome = send(a_message(), config("feishu", hook_url(receiver), SECRET), client=client)
    assert outcome.ok, outcome.detail
    body = receiver.last.json()
    assert body["msg_type"] == "interactive"
    assert body["timestamp"].isdigit()
    card = body["card"]
    assert card["header"]["title"] == {
        "tag": "plain_text",
        "content": "【C级事故】履约POS付款单失败545笔",
    }
    assert card["header"]["template"] == "red"
    assert card["elements"][0] == {"tag": "markdown", "content": a_message().markdown}
    assert card["elements"][1]["actions"][0]["url"] == INCIDENT_URL


def test_signature_is_in_the_body_not_the_query(receiver, client) -> None:
    receiver.script(feishu_bot(SECRET))
    send(a_message(), config("feishu", hook_url(receiver), SECRET), client=client)
    assert receiver.last.query == {}
    assert set(receiver.last.json()) == {"timestamp", "sign", "msg_type", "card"}


def test_unsigned_bot_sends_no_signature(receiver, client) -> None:
    receiver.script(feishu_bot())
    outcome = send(a_message(), config("feishu", hook_url(receiver)), client=client)
    assert outcome.ok
    assert "sign" not in receiver.last.json()


@pytest.mark.parametrize(
    ("secret", "now"),
    [
        ("not-the-secret", None),
        (SECRET, datetime.now(UTC) - timedelta(hours=2)),
    ],
)
def test_bad_signature_or_stale_timestamp_is_permanent(receiver, client, secret, now) -> None:
    receiver.script(feishu_bot(SECRET))
    outcome = send(
        a_message(), config("feishu", hook_url(receiver), secret), client=client, now=now
    )
    assert (outcome.ok, outcome.retryable) == (False, False)
    assert "19021" in outcome.detail


@pytest.mark.parametrize(
    ("answer", "retryable"),
    [
        ({"code": 11232, "msg": "frequency limited psm[lark.oapi.app_platform_runtime]"}, True),
        ({"code": 9499, "msg": "Bad Request"}, True),
        ({"code": 19021, "msg": "sign match fail"}, False),
        ({"code": 19022, "msg": "Ip Not Allowed"}, False),
        ({"code": 19024, "msg": "Key Words Not Found"}, False),
        ({"code": 19007, "msg": "Bot Not Enabled"}, False),
        ({"StatusCode": 19024, "StatusMessage": "Key Words Not Found"}, False),
    ],
)
def test_code_with_http_200_is_a_failure(receiver, client, answer, retryable) -> None:
    receiver.script(Reply(200, answer))
    outcome = send(a_message(), config("feishu", hook_url(receiver)), client=client)
    assert (outcome.ok, outcome.retryable) == (False, retryable)
    assert "Feishu code" in outcome.detail


def test_legacy_success_answer_is_delivered(receiver, client) -> None:
    receiver.script(Reply(200, {"StatusCode": 0, "StatusMessage": "success"}))
    outcome = send(a_message(), config("feishu", hook_url(receiver)), client=client)
    assert outcome.ok


def test_oversized_report_is_truncated_under_20_kb_with_a_note(receiver, client) -> None:
    receiver.script(feishu_bot(SECRET))
    msg = a_message(markdown=weekly_markdown(40_000), event="weekly_report")
    outcome = send(msg, config("feishu", hook_url(receiver), SECRET), client=client)
    assert outcome.ok, outcome.detail
    assert len(receiver.last.body) <= 20_000
    content = receiver.last.json()["card"]["elements"][0]["content"]
    assert content.endswith("……（内容过长，已截断）")
    assert content.startswith("**【系统运行数据】**")


def test_body_is_compact_utf8_not_ascii_escapes() -> None:
    cfg = config("feishu", "https://open.feishu.cn/open-apis/bot/v2/hook/x", SECRET)
    (request,) = Feishu().requests(a_message(), cfg, datetime.now(UTC))
    assert "履约".encode() in request.content
    assert json.loads(request.content)["sign"]
