"""监控宝 URL callbacks: POST form with double-encoded content, GET query, JSON, recovery."""

import json
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote_plus, urlencode

import pytest

from incidents.alerts import (
    JIANKONGBAO_REPLY_MAX,
    PayloadError,
    SignatureError,
    jiankongbao_reply,
    parse_delivery,
)
from incidents.alerts import parse_delivery_full as parse_full

from .builders import JKB_SECRET, delivery, fixture, form_delivery, get_delivery, jkb_token

FAULT_TEXT = "监控项目 [官网首页] 2023/11/15 06:13:20 北京电信、上海联通等12个监测点 无法访问"
# The reference's vector: md5("123456789" + "98765" + "1700000000" + "mycallbacktoken").
VECTOR_TOKEN = "9d4ed900e0581ed7cee5572d18ea2950"


def parse(item):
    return parse_delivery("jiankongbao", item)


def fields(**changes: str | None) -> dict[str, str]:
    """The fixture's POST fields after form decoding, changed; None drops a field."""
    base = dict(parse_qsl(fixture("jiankongbao_post_fault.form").decode(), keep_blank_values=True))
    base.update(changes)
    return {name: value for name, value in base.items() if value is not None}


def form(**changes: str | None) -> bytes:
    return urlencode(fields(**changes)).encode()


def test_reference_token_vector():
    assert jkb_token("123456789", "98765", "1700000000") == VECTOR_TOKEN
    assert fields()["token"] == VECTOR_TOKEN


def test_post_fault_with_double_encoded_content():
    body = fixture("jiankongbao_post_fault.form")
    assert b"content=%25E7%259B%2591" in body  # urlencoded by 监控宝, then form-encoded
    parsed = parse_full("jiankongbao", form_delivery(body))
    [event] = parsed.events
    assert event.fingerprint == "jkb:98765"
    assert event.status == "firing"
    assert event.title == FAULT_TEXT
    assert event.annotations["content"] == FAULT_TEXT
    assert event.severity == "warning"  # message_type 1 故障
    assert event.labels == {"task_id": "98765", "task_type": "http", "message_type": "1"}
    assert event.starts_at == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert event.ends_at is None
    assert event.url == "https://www.example.cn/"
    assert parsed.delivery_id == "123456789"
    # raw is the form as decoded by the framework (content still 监控宝-encoded), minus the token.
    assert event.raw["content"].startswith("%E7%9B%91")
    assert "token" not in event.raw


def test_content_is_decoded_exactly_once_more():
    # A literal "%41" in the alert text is sent as %2541 by 监控宝, %252541 on the wire.
    text = "CPU 100%41 峰值"
    item = form_delivery(form(content=quote_plus(text)))
    [event] = parse(item)
    assert event.annotations["content"] == text


def test_recovery_closes_the_same_task():
    [fault] = parse(form_delivery(fixture("jiankongbao_post_fault.form")))
    [recovery] = parse(form_delivery(fixture("jiankongbao_post_recovery.form")))
    assert recovery.status == "resolved"
    assert recovery.fingerprint == fault.fingerprint
    assert recovery.title.endswith("恢复正常")
    assert recovery.ends_at == recovery.starts_at == datetime.fromtimestamp(1700001065, UTC)


def test_get_variant_uses_task_status():
    [event] = parse(get_delivery(fixture("jiankongbao_get.query")))
    assert event.status == "firing"
    assert event.title == FAULT_TEXT
    assert event.labels["task_name"] == "官网首页"
    assert event.labels["task_user_id"] == "31337"
    assert event.severity is None  # GET carries no message_type


def test_get_variant_recovery():
    query = dict(parse_qsl(fixture("jiankongbao_get.query").decode()))
    query["task_status"] = "0"
    [event] = parse(delivery(method="GET", content_type="", query=query, secret=JKB_SECRET))
    assert event.status == "resolved"


def test_json_variant_with_numbers():
    body = fixture("jiankongbao_json.json")
    assert json.loads(body)["msg_id"] == 123456789
    [event] = parse(delivery(body, content_type="application/json", secret=JKB_SECRET))
    assert event.fingerprint == "jkb:98765"
    assert event.title == FAULT_TEXT
    assert event.raw["task_id"] == 98765  # raw keeps the JSON as decoded


@pytest.mark.parametrize("content_type", ["", "text/plain", "application/json; charset=utf-8"])
def test_json_variant_is_sniffed(content_type):
    body = fixture("jiankongbao_json.json")
    assert parse(delivery(body, content_type=content_type, secret=JKB_SECRET))


def test_form_without_content_type():
    body = fixture("jiankongbao_post_fault.form")
    assert parse(delivery(body, content_type="", secret=JKB_SECRET))


def test_post_with_fields_in_the_query():
    query = fields()
    [event] = parse(delivery(b"", method="POST", query=query, secret=JKB_SECRET))
    assert event.title == FAULT_TEXT


def test_title_falls_back_to_task_name_then_summary():
    [event] = parse(form_delivery(form(content="", task_name="官网首页")))
    assert event.title == "官网首页"
    [event] = parse(form_delivery(form(content=None)))
    assert event.title == "https://www.example.cn/"
    assert "content" not in event.annotations
    [event] = parse(form_delivery(form(content=None, task_summary=None)))
    assert event.title == "监控宝 task 98765"
    assert event.url is None


def test_reminder_is_info():
    [event] = parse(form_delivery(form(message_type="2")))
    assert event.severity == "info"


def test_invalid_utf8_in_content_does_not_lose_the_alarm():
    [event] = parse(form_delivery(form(content="%E7%9B%FF")))
    assert "\ufffd" in event.title


# --- token ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "secret"),
    [
        ({"token": None}, JKB_SECRET),
        ({"token": ""}, JKB_SECRET),
        ({"token": "0" * 32}, JKB_SECRET),
        ({"token": "ä" * 32}, JKB_SECRET),
        ({}, "other-token"),
        ({}, None),
        ({}, ""),
        # The token covers msg_id, task_id and fault_time: changing any one breaks it.
        ({"msg_id": "123456780"}, JKB_SECRET),
        ({"task_id": "98766"}, JKB_SECRET),
        ({"fault_time": "1700000001"}, JKB_SECRET),
    ],
)
def test_wrong_or_missing_token_is_refused(changes, secret):
    with pytest.raises(SignatureError) as caught:
        parse(form_delivery(form(**changes), secret=secret))
    assert JKB_SECRET not in str(caught.value)


def test_token_is_case_insensitive_hex():
    assert parse(form_delivery(form(token=VECTOR_TOKEN.upper())))


def test_token_does_not_cover_content_or_status():
    # Documented weakness of 监控宝's scheme: it authenticates the sender, not the body.
    [event] = parse(form_delivery(form(message_status="2", content="x")))
    assert event.status == "resolved"


# --- malformed -----------------------------------------------------------------------------


def _signed(**changes: str | None) -> bytes:
    values = fields(**changes)
    token = jkb_token(values.get("msg_id", ""), values.get("task_id", ""), values["fault_time"])
    return form(**changes, token=token)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (form(msg_id=None), "msg_id"),
        (form(task_id=""), "task_id"),
        (form(fault_time=None), "fault_time"),
        (_signed(fault_time="2023-11-15 06:13:20"), "fault_time"),
        (_signed(fault_time="9" * 30), "fault_time"),
        (_signed(fault_time="١٧٠٠٠٠٠٠٠٠"), "fault_time"),  # Arabic-Indic digits
        (form(message_status="3"), "message_status"),
        (form(message_status=None), "message_status"),
        (_signed(task_id="9" * 300), "task_id"),
        (form() + b"&msg_id=1", "msg_id"),
        (form(content="%00"), "content"),
        (b"\xff\xfe", "body"),
    ],
)
def test_malformed_callback_names_the_field(body, field):
    with pytest.raises(PayloadError) as caught:
        parse(form_delivery(body))
    assert caught.value.field == field


def test_get_with_bad_task_status():
    query = dict(parse_qsl(fixture("jiankongbao_get.query").decode()))
    query["task_status"] = "down"
    with pytest.raises(PayloadError) as caught:
        parse(delivery(method="GET", content_type="", query=query, secret=JKB_SECRET))
    assert caught.value.field == "task_status"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"[1]", "body"),
        (b'{"msg_id": 1.5, "task_id": 1, "fault_time": 1}', "msg_id"),
        (b'{"msg_id": "1", "task_id": ["1"], "fault_time": 1}', "task_id"),
        (b'{"msg_id": true, "task_id": "1", "fault_time": 1}', "msg_id"),
    ],
)
def test_malformed_json_variant(body, field):
    with pytest.raises(PayloadError) as caught:
        parse(delivery(body, secret=JKB_SECRET))
    assert caught.value.field == field


# --- reply ---------------------------------------------------------------------------------


def test_reply_fits_jiankongbao_limit():
    assert JIANKONGBAO_REPLY_MAX == 100
    assert jiankongbao_reply("ok") == "ok"
    long = jiankongbao_reply("已接收\n" + "告警" * 100)
    assert len(long) == JIANKONGBAO_REPLY_MAX
    assert "\n" not in long
