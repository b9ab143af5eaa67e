"""Fake vendors for the receiver: each checks a request the way the real service does, written
from the vendors' documented algorithms (docs/reference webhook-formats Part B), not from our
code, so a signing bug in `notifiers` makes them answer with the vendor's error."""

import base64
import hashlib
import hmac
import time

from tests.notifiers.receiver import Recorded, Reply

DINGTALK_OK = Reply(200, {"errcode": 0, "errmsg": "ok"})
FEISHU_OK = Reply(200, {"StatusCode": 0, "StatusMessage": "success", "code": 0, "msg": "success"})
HOUR = 3600
FEISHU_SIGN_FAIL = "sign match fail or timestamp is not within one hour from current time"


def _b64_hmac(key: bytes, message: bytes) -> str:
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


def _dingtalk_error(code: int, message: str) -> Reply:
    return Reply(200, {"errcode": code, "errmsg": message})


def dingtalk_robot(token: str, secret: str | None = None, keyword: str | None = None):
    def answer(request: Recorded) -> Reply:
        if request.query.get("access_token") != [token]:
            return _dingtalk_error(300005, "token is not exist")
        if not request.headers.get("content-type", "").startswith("application/json"):
            return _dingtalk_error(43004, "无效的HTTP HEADER Content-Type")
        if secret is not None:
            timestamp = request.query.get("timestamp", [""])[0]
            signed = request.query.get("sign", [""])[0]  # parse_qs has URL-decoded it
            if not timestamp.isdigit() or abs(time.time() * 1000 - int(timestamp)) > HOUR * 1000:
                return _dingtalk_error(310000, "invalid timestamp")
            expected = _b64_hmac(secret.encode(), f"{timestamp}\n{secret}".encode())
            if not hmac.compare_digest(signed, expected):
                return _dingtalk_error(310000, "sign not match")
        body = request.json()
        if body.get("msgtype") != "markdown" or not body["markdown"].get("title"):
            return _dingtalk_error(400105, "不支持的消息类型")
        if keyword is not None and keyword not in body["markdown"]["text"]:
            return _dingtalk_error(310000, "keywords not in content")
        return DINGTALK_OK

    return answer


def wecom_robot(key: str):
    def answer(request: Recorded) -> Reply:
        if request.query.get("key") != [key]:
            return _dingtalk_error(93000, "invalid webhook url")
        content = request.json()["markdown"]["content"]
        if len(content.encode()) > 4096:
            return _dingtalk_error(40058, "markdown.content exceed max length 4096")
        return DINGTALK_OK

    return answer


def feishu_bot(secret: str | None = None):
    def answer(request: Recorded) -> Reply:
        if len(request.body) > 20 * 1024:
            return Reply(200, {"code": 9499, "msg": "Bad Request", "data": {}})
        body = request.json()
        if secret is not None:
            timestamp = str(body.get("timestamp", ""))
            key = f"{timestamp}\n{secret}".encode()
            fresh = timestamp.isdigit() and abs(time.time() - int(timestamp)) <= HOUR
            if not fresh or not hmac.compare_digest(str(body.get("sign")), _b64_hmac(key, b"")):
                return Reply(200, {"code": 19021, "msg": FEISHU_SIGN_FAIL, "data": {}})
        return FEISHU_OK

    return answer


def slack_webhook(request: Recorded) -> Reply:
    body = request.json()
    if not body.get("text") and not body.get("blocks"):
        return Reply(400, "no_text")
    for block in body.get("blocks", []):
        if block["type"] == "section" and not 0 < len(block["text"]["text"]) <= 3000:
            return Reply(400, "invalid_blocks")
    return Reply(200, "ok")


def standard_webhooks_receiver(secret: str, tolerance: int = 300):
    """Verifies like the standardwebhooks libraries: whsec_ key, id.ts.body, any v1 matches."""
    key = (
        base64.b64decode(secret.removeprefix("whsec_"))
        if secret.startswith("whsec_")
        else (secret.encode())
    )

    def answer(request: Recorded) -> Reply:
        message_id = request.headers.get("webhook-id", "")
        timestamp = request.headers.get("webhook-timestamp", "")
        if not message_id or not timestamp.isdigit():
            return Reply(400, "missing headers")
        if abs(time.time() - int(timestamp)) > tolerance:
            return Reply(400, "timestamp outside tolerance")
        expected = _b64_hmac(key, f"{message_id}.{timestamp}.".encode() + request.body)
        for entry in request.headers.get("webhook-signature", "").split(" "):
            version, _, sig = entry.partition(",")
            if version == "v1" and hmac.compare_digest(sig, expected):
                return Reply(204)
        return Reply(401, "no matching signature")

    return answer
