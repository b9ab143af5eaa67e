"""Mentions that make a phone ring: DingTalk `at` with the @ in the text, WeCom `<@userid>` in
markdown and `mentioned_mobile_list` in a text message, Feishu `<at id=…>` in the card — each
sent to a local robot that checks it as the vendor does."""

import re

from notifiers import send
from notifiers.message import Mention
from tests.notifiers.builders import a_message, config
from tests.notifiers.receiver import Recorded, Reply
from tests.notifiers.robots import DINGTALK_OK, dingtalk_robot, feishu_bot

TOKEN = "t0ken-for-mentions"
SECRET = "SECmention-secret-0123456789"
ZHANG = Mention(name="张三", mobile="13800000001", wecom="zhangsan", feishu="ou_zhang")
LI = Mention(name="李四", mobile="13800000002", email="lisi@example.com")


def wecom_robot_with_mentions(request: Recorded) -> Reply:
    """WeCom's rules: markdown ≤ 4096 bytes mentions by <@userid>; only `text` takes mobiles."""
    body = request.json()
    if body["msgtype"] == "markdown":
        ok = len(body["markdown"]["content"].encode()) <= 4096
    else:
        text = body["text"]
        ok = body["msgtype"] == "text" and len(text["content"].encode()) <= 2048
        ok = ok and all(re.fullmatch(r"\d+", m) for m in text["mentioned_mobile_list"])
    return DINGTALK_OK if ok else Reply(200, {"errcode": 40058, "errmsg": "invalid"})


def test_dingtalk_mentions_by_mobile_in_at_and_in_the_text(receiver, client) -> None:
    receiver.script(dingtalk_robot(TOKEN, SECRET))
    url = f"{receiver.base}/robot/send?access_token={TOKEN}"
    by_user_id = Mention(name="王五", dingtalk="wangwu01")
    message = a_message(mentions=(ZHANG, by_user_id))
    assert send(message, config("dingtalk", url, SECRET), client=client).ok
    body = receiver.last.json()
    assert body["at"] == {
        "atMobiles": ["13800000001"],
        "atUserIds": ["wangwu01"],
        "isAtAll": False,
    }
    assert body["markdown"]["text"].endswith("\n\n@13800000001 @wangwu01")


def test_dingtalk_without_mentions_sends_no_at(receiver, client) -> None:
    receiver.script(dingtalk_robot(TOKEN))
    url = f"{receiver.base}/robot/send?access_token={TOKEN}"
    assert send(a_message(), config("dingtalk", url), client=client).ok
    assert "at" not in receiver.last.json()


def test_wecom_mentions_userids_in_markdown_and_mobiles_in_a_text_message(receiver, client) -> None:
    receiver.script(wecom_robot_with_mentions, wecom_robot_with_mentions)
    url = f"{receiver.base}/cgi-bin/webhook/send?key={TOKEN}"
    outcome = send(a_message(mentions=(ZHANG, LI)), config("wecom", url), client=client)
    assert outcome.ok, outcome.detail
    markdown, text = (request.json() for request in receiver.requests)
    assert markdown["markdown"]["content"].endswith("\n<@zhangsan>")
    assert "13800000001" not in str(markdown)  # 张三 rings by userid already
    assert text == {
        "msgtype": "text",
        "text": {
            "content": "【C级事故】履约POS付款单失败545笔：请跟进",
            "mentioned_mobile_list": ["13800000002"],
        },
    }


def test_feishu_mentions_by_open_id_or_email_inside_the_signed_card(receiver, client) -> None:
    receiver.script(feishu_bot(SECRET))
    url = f"{receiver.base}/open-apis/bot/v2/hook/{TOKEN}"
    outcome = send(a_message(mentions=(ZHANG, LI)), config("feishu", url, SECRET), client=client)
    assert outcome.ok, outcome.detail
    content = receiver.last.json()["card"]["elements"][0]["content"]
    assert content.endswith("\n<at id=ou_zhang></at> <at email=lisi@example.com></at>")


def test_mentions_survive_truncation_of_a_long_message(receiver, client) -> None:
    receiver.script(dingtalk_robot(TOKEN))
    url = f"{receiver.base}/robot/send?access_token={TOKEN}"
    long = a_message(markdown="很长的内容\n" * 5000, mentions=(ZHANG,))
    assert send(long, config("dingtalk", url), client=client).ok
    text = receiver.last.json()["markdown"]["text"]
    assert len(text.encode()) <= 20_000
    assert text.endswith("@13800000001")
