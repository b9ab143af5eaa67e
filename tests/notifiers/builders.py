"""Messages and configs as the outbox will hand them over."""

from typing import Any

from notifiers import ChannelConfig, Message

INCIDENT_URL = "https://stabilog.example.com/incidents/42"


def a_message(**overrides: Any) -> Message:
    fields: dict[str, Any] = {
        "title": "【C级事故】履约POS付款单失败545笔",
        "markdown": (
            "**系统**：中信存管\n\n- 影响：履约pos付款单共545笔失败\n- 处置：紧急上线后问题解决"
        ),
        "url": INCIDENT_URL,
        "event": "incident",
        "idempotency_key": "outbox-17",
    }
    fields.update(overrides)
    return Message(**fields)


def weekly_markdown(min_bytes: int = 10_000) -> str:
    """The weekly stability section (周报), long enough to pass `min_bytes` of UTF-8."""
    lines = [
        "## 【系统运行数据】",
        "",
        "系统可用性：",
        "",
        "- 支付系统年度可用性：99.998%",
        "- 事故数AB级0次，CD级1次",
        "",
        "## 生产稳定性事件",
        "",
    ]
    number = 0
    while len("\n".join(lines).encode()) < min_bytes:
        number += 1
        lines += [
            f"{number}. 9/7 14:42 监控宝收到告警，38个监测点不可用，持续2mins后恢复，未影响业务。",
            "   处置：停止新的 IP 解析，恢复原有的解析，业务恢复；复盘已完成，改进项按期闭环。",
        ]
    return "\n".join(lines) + "\n"


def config(kind: str, url: str, secret: str | None = None) -> ChannelConfig:
    return ChannelConfig(kind=kind, url=url, secret=secret)
