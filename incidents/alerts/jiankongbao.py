"""监控宝 (Jiankongbao, Cloudwise) "URL回调" deliveries: GET query, POST form, or JSON.

One callback is one message about one monitoring task, so it yields exactly one event. The
task is the alert series: its fingerprint is the task's, and a recovery for the task closes
whatever alarm of that task is open.
"""

import hashlib
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import parse_qsl, unquote_plus

from incidents.alerts.event import (
    FINGERPRINT_MAX,
    AlertEvent,
    Delivery,
    ParsedDelivery,
    PayloadError,
    SignatureError,
    Status,
    check_text,
    decode_json,
    from_unix_seconds,
    json_type,
    one_line_title,
    require_secret,
    same_secret,
)

KIND = "jiankongbao"
# 监控宝 records our reply and refuses one longer than this many characters.
JIANKONGBAO_REPLY_MAX = 100
_FINGERPRINT_PREFIX = "jkb:"

# Read into labels (what the alert is about) and annotations (what it says); anything else
# 监控宝 adds stays in `raw` only.
_LABEL_FIELDS = ("task_id", "task_type", "task_name", "task_user_id", "server_id", "message_type")
_TEXT_FIELDS = ("msg_id", "fault_time", "message_status", "task_status", "task_summary")
_KNOWN_FIELDS = frozenset((*_LABEL_FIELDS, *_TEXT_FIELDS, "content", "token"))
# POST's message_status (1 告警 alarm, 2 恢复 recovery) and GET's task_status (1 down, 0 up).
_MESSAGE_STATUS: Mapping[str, Status] = {"1": "firing", "2": "resolved"}
_TASK_STATUS: Mapping[str, Status] = {"1": "firing", "0": "resolved"}
# message_type 1 故障 (fault) / 2 提醒 (reminder), read the way Flashduty maps 监控宝's levels.
_SEVERITY = {"1": "warning", "2": "info"}


def parse(delivery: Delivery, *, now: datetime | None = None) -> ParsedDelivery:
    """The one event of a 监控宝 callback. `now` is unused: the token carries no time."""
    secret = require_secret(delivery.secret, KIND)
    fields, decoded = _fields(delivery)
    check_token(fields, secret)

    task_id = fields["task_id"]
    if len(_FINGERPRINT_PREFIX + task_id) > FINGERPRINT_MAX:
        limit = FINGERPRINT_MAX - len(_FINGERPRINT_PREFIX)
        raise PayloadError("task_id", f"longer than {limit} characters")
    try:
        fault_time = from_unix_seconds(fields["fault_time"])
    except ValueError as exc:
        raise PayloadError("fault_time", str(exc)) from None
    status = _status(fields)
    # 监控宝 URL-encodes `content` itself before the form (or JSON) encoding, so it is decoded
    # exactly once more here. A stray invalid byte becomes U+FFFD rather than losing the alarm.
    content = unquote_plus(fields.get("content", ""), encoding="utf-8", errors="replace")
    check_text(content, "content")
    summary = fields.get("task_summary", "")

    labels = {name: fields[name] for name in _LABEL_FIELDS if fields.get(name)}
    annotations = {"msg_id": fields["msg_id"]}
    if content:
        annotations["content"] = content
    if summary:
        annotations["task_summary"] = summary
    # The token is dropped from `raw`: it is md5 over public fields and the secret, so a
    # stored copy would let anyone with database access brute-force a weak callback token.
    raw = {name: value for name, value in decoded.items() if name != "token"}
    event = AlertEvent(
        fingerprint=_FINGERPRINT_PREFIX + task_id,
        status=status,
        title=one_line_title(content, fields.get("task_name"), summary) or f"监控宝 task {task_id}",
        severity=_SEVERITY.get(fields.get("message_type", "")),
        labels=labels,
        annotations=annotations,
        # A recovery message's fault_time is taken as the moment of recovery: 监控宝 sends
        # no separate start, and the alarm it closes keeps its own starts_at.
        starts_at=fault_time,
        ends_at=fault_time if status == "resolved" else None,
        url=summary if summary.startswith(("http://", "https://")) else None,
        raw=raw,
    )
    return ParsedDelivery(events=[event], delivery_id=fields["msg_id"])


def check_token(fields: Mapping[str, str], secret: str) -> None:
    """token = md5(msg_id + task_id + fault_time + callback token), lowercase hex.

    It covers neither content nor status: it proves who sent the callback, not what it says.
    """
    given = fields.get("token")
    if not given:
        raise SignatureError("missing token field")
    signed = fields["msg_id"] + fields["task_id"] + fields["fault_time"] + secret
    expected = hashlib.md5(signed.encode("utf-8")).hexdigest()
    if not same_secret(given.strip().lower(), expected):
        raise SignatureError("token does not match the source's callback token")


def reply_text(message: str) -> str:
    """`message` cut to one line of at most JIANKONGBAO_REPLY_MAX characters, for the reply
    body the HTTP layer sends back (监控宝 stores it and refuses longer ones)."""
    line = " ".join(message.split())
    if len(line) > JIANKONGBAO_REPLY_MAX:
        line = line[: JIANKONGBAO_REPLY_MAX - 1] + "…"
    return line


def _fields(delivery: Delivery) -> tuple[dict[str, str], Mapping[str, object]]:
    """The callback's fields as strings, and as decoded (for `raw`), from the query (GET, or a
    POST with an empty body), the form body, or the JSON body of 监控宝6's "数据格式 = JSON"."""
    if delivery.method.upper() == "GET" or not delivery.body.strip():
        fields = {name: str(value) for name, value in delivery.query.items()}
        check_text(fields, "")
        decoded: Mapping[str, object] = fields
    elif _is_json(delivery):
        data = decode_json(delivery.body)
        if not isinstance(data, dict):
            raise PayloadError("body", f"must be a JSON object, not {json_type(data)}")
        fields, decoded = _json_fields(data), data
    else:
        fields = decoded = _form_fields(delivery.body)
    for name in ("msg_id", "task_id", "fault_time"):
        if not fields.get(name, "").strip():
            raise PayloadError(name, "required")
    return fields, decoded


def _is_json(delivery: Delivery) -> bool:
    # Sniffed when the content type says neither: a form body never starts with "{".
    media_type = delivery.content_type.split(";")[0].strip().lower()
    if media_type == "application/x-www-form-urlencoded":
        return False
    return media_type.endswith("json") or delivery.body.lstrip().startswith(b"{")


def _form_fields(body: bytes) -> dict[str, str]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError("body", f"not UTF-8 (byte {exc.start})") from None
    fields: dict[str, str] = {}
    for name, value in parse_qsl(text, keep_blank_values=True, errors="replace"):
        # A repeated field is ambiguous (PHP keeps the last, others the first); refuse it
        # rather than authenticate one copy and read the other.
        if name in fields:
            raise PayloadError(name, "given more than once")
        fields[name] = value
    check_text(fields, "")
    return fields


def _json_fields(data: Mapping[str, object]) -> dict[str, str]:
    # Field names are undocumented for JSON; 监控宝 is assumed to use the form's names. Numbers
    # are accepted for ids and times, as a JSON encoder may not quote them; fields we do not
    # read keep whatever type they have, in `raw` only.
    fields: dict[str, str] = {}
    for name, value in data.items():
        if isinstance(value, str):
            fields[name] = value
        elif isinstance(value, int) and not isinstance(value, bool):
            fields[name] = str(value)
        elif name in _KNOWN_FIELDS and value is not None:
            raise PayloadError(name, f"must be a string or an integer, not {json_type(value)}")
    return fields


def _status(fields: Mapping[str, str]) -> Status:
    if "message_status" in fields:
        status = _MESSAGE_STATUS.get(fields["message_status"].strip())
        if status is None:
            raise PayloadError("message_status", "must be 1 (告警 alarm) or 2 (恢复 recovery)")
        return status
    if "task_status" in fields:
        status = _TASK_STATUS.get(fields["task_status"].strip())
        if status is None:
            raise PayloadError("task_status", "must be 1 (down) or 0 (recovered)")
        return status
    raise PayloadError("message_status", "required (or task_status for GET callbacks)")
