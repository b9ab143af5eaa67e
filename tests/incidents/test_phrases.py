"""The phrase table: every named pattern reads its phrases, and one free sentence reads whole."""

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from incidents.models import COUNT_MAX, Detection
from incidents.phrases import (
    PHRASE_NAMES,
    PHRASES,
    Span,
    number,
    read_facts,
    read_sentence,
    sentence_title,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")

# Per phrase: (text, fact, value, the text it is read from). One entry at least for each phrase.
EXAMPLES: dict[str, list[tuple[str, str, object, str]]] = {
    "count_then_failed": [
        ("付款单共 545笔失败", "failed_orders", 545, "545笔失败"),
        ("1,200单未按时出款", "failed_orders", 1200, "1,200单未按时出款"),
        ("代付出款交易千余笔延迟", "failed_transactions", 1000, "千余笔延迟"),
        ("约2,300笔出款延迟到账", "failed_orders", 2300, "2,300笔出款延迟"),
        ("核实23单重复扣款", "failed_orders", 23, "23单重复扣款"),
        ("1.2万笔交易支付失败", "failed_transactions", 12000, "1.2万笔交易支付失败"),
        ("15笔均未失败", "failed_orders", None, None),
        ("统一单据失败", "failed_orders", None, None),
        ("约两百笔支付失败", "failed_orders", 200, "两百笔支付失败"),
    ],
    "failed_then_count": [
        ("失败订单1,200笔", "failed_orders", 1200, "失败订单1,200笔"),
        ("重复扣款23笔", "failed_orders", 23, "重复扣款23笔"),
        ("报错，期间15笔均没有受影响", "failed_orders", None, None),
    ],
    "english_failed_count": [
        ("230 failed orders", "failed_orders", 230, "230 failed orders"),
        ("1.5k delayed payouts", "failed_orders", 1500, "1.5k delayed payouts"),
    ],
    "affected_then_people": [
        ("影响用户约300人", "affected_users", 300, "影响用户约300人"),
        ("涉及12家商户", "affected_users", 12, "涉及12家商户"),
    ],
    "people_then_affected": [
        ("120名用户重复扣款", "affected_users", 120, "120名用户重复扣款"),
        ("300户受影响", "affected_users", 300, "300户受影响"),
    ],
    "hours_and_minutes": [
        ("持续1小时20分", "impact_minutes", 80, "1小时20分"),
        ("2h 5min", "impact_minutes", 125, "2h 5min"),
    ],
    "stated_duration": [
        ("持续2mins后恢复", "impact_minutes", 2, "持续2mins"),
        ("影响约40分钟", "impact_minutes", 40, "影响约40分钟"),
        ("持续1.5小时", "impact_minutes", 90, "持续1.5小时"),
        ("持续30秒", "impact_minutes", 1, "持续30秒"),
        ("down ~40 mins", "impact_minutes", 40, "~40 mins"),
        ("持续", "impact_minutes", None, None),
    ],
    "bare_duration": [
        ("宕机40分钟", "impact_minutes", 40, "40分钟"),
        ("约 3 min 后恢复", "impact_minutes", 3, "3 min"),
        ("要求30分钟内修复", "impact_minutes", None, None),
    ],
    "clock_window": [
        ("凌晨00:45-01:03分专线中断", "impact_minutes", 18, "00:45-01:03"),
        ("从 10:05 至 10:45 通道超时", "impact_minutes", 40, "从 10:05 至 10:45"),
        ("23:50~00:10 中断", "impact_minutes", 20, "23:50~00:10"),
        ("25:00-26:00 中断", "impact_minutes", None, None),
    ],
    "loss_amount": [
        ("资损3.2万元", "loss_cny", Decimal("32000"), "资损3.2万元"),
        ("资金损失 1,250 元", "loss_cny", Decimal("1250"), "资金损失 1,250 元"),
        ("资损 0.125 元", "loss_cny", Decimal("0.13"), "资损 0.125 元"),
        ("资损 1,000,000,000,000,000,000 元", "loss_cny", None, None),
    ],
    "amount_involved": [
        ("涉及金额约52万元", "amount_involved_cny", Decimal("520000"), "涉及金额约52万元"),
        ("涉及资金：1.5亿元", "amount_involved_cny", Decimal("150000000"), "涉及资金：1.5亿元"),
    ],
    "no_loss": [("未影响业务，无资损", "loss_cny", Decimal(0), "无资损")],
    "no_impact": [
        ("未影响业务", "business_impact", False, "未影响业务"),
        ("网络自然恢复对业务侧无影响", "business_impact", False, "无影响"),
        ("商户无感知", "business_impact", False, "商户无感知"),
        ("no business impact", "business_impact", False, "no business impact"),
    ],
    "impact_said": [
        ("App 宕机", "business_impact", True, "宕机"),
        ("用户无法登录", "business_impact", True, "无法登录"),
        ("影响交易", "business_impact", True, "影响交易"),
        ("App down ~40 mins", "business_impact", True, "down ~"),
        ("the site was down", "business_impact", True, "was down"),
        ("latency went down after the fix", "business_impact", None, None),
        ("业务恢复", "business_impact", None, None),
    ],
    "monitoring_tool": [
        ("监控宝收到告警", "source", "监控宝", "监控宝"),
        ("grafana alert", "source", "Grafana", "grafana"),
    ],
    "detected_by_monitoring": [("监控发现专线中断", "detection", Detection.monitoring, "监控")],
    "detected_by_users": [
        ("用户反馈无法支付", "detection", Detection.user_report, "用户反馈"),
        ("客诉3起", "detection", Detection.user_report, "客诉"),
    ],
    "detected_by_people": [
        ("巡检发现对账文件缺失", "detection", Detection.manual, "巡检"),
        ("自查发现展示错误", "detection", Detection.manual, "自查"),
    ],
    "detected_by_others": [("银行通知通道维护", "detection", Detection.external, "银行通知")],
    "counterparty_system": [
        ("银商移动专线中断", "system", "银商专线", "银商移动专线"),
        ("招商银行通道超时", "system", "招商通道", "招商银行通道"),
        ("中信存管入金", "system", "中信存管", "中信存管"),
        # the product between the party and its channel, as on-call names it, is kept
        ("银联代付通道超时", "system", "银联代付通道", "银联代付通道"),
    ],
    "system_word": [
        ("网联交易超时", "system", "网联", "网联"),
        ("pos收单延迟", "system", "POS", "pos"),
        ("App 首页打不开", "system", "APP", "App"),
        ("建设中的平安小区", "system", None, None),
    ],
    "remediation_done": [("超时，已回滚", "remediation", "已回滚", "已回滚")],
}


def test_every_phrase_has_examples() -> None:
    assert sorted(EXAMPLES) == sorted(PHRASE_NAMES)
    assert len(set(PHRASE_NAMES)) == len(PHRASES)


@pytest.mark.parametrize(
    ("text", "fact", "value", "written"),
    [
        pytest.param(*example, id=f"{name}: {example[0]}")
        for name, examples in EXAMPLES.items()
        for example in examples
    ],
)
def test_a_phrase_reads_its_fact_and_where_it_was_written(text, fact, value, written) -> None:
    facts = read_facts(text)

    assert facts.values().get(fact) == value
    if written is not None:
        span = facts.spans()[fact]
        assert (span.text, text[span.start : span.end]) == (written, written)


def test_an_end_time_after_the_start_gives_the_duration() -> None:
    facts = read_facts("代付出款延迟，10:20 全部到账", opened_at=(10, 2))

    assert facts.values()["impact_minutes"] == 18
    assert facts.spans()["impact_minutes"].text == "10:20 全部到账"
    assert "impact_minutes" not in read_facts("代付出款延迟，10:20 全部到账").values()


def test_a_stated_duration_wins_over_a_computed_one() -> None:
    facts = read_facts("00:45-01:03 中断，持续约20分钟，01:10恢复", opened_at=(0, 45))

    assert facts.values()["impact_minutes"] == 20


def test_full_width_numbers_read_and_spans_point_into_the_text_as_written() -> None:
    text = "失败订单１，５００笔，持续２５分钟"

    facts = read_facts(text)

    assert (facts.values()["failed_orders"], facts.values()["impact_minutes"]) == (1500, 25)
    assert facts.spans()["failed_orders"] == Span(0, 10, "失败订单１，５００笔")


def test_counted_failures_are_business_impact_whatever_else_is_said() -> None:
    assert read_facts("545笔失败，用户无影响").values()["business_impact"] is True
    assert read_facts("38个监测点不可用，未影响业务").values()["business_impact"] is False


@pytest.mark.parametrize(
    ("written", "scale", "value"),
    [
        ("1,200", None, Decimal(1200)),
        ("1.2", "万", Decimal(12000)),
        ("3", "亿", Decimal(300_000_000)),
        ("千", None, Decimal(1000)),
        ("一千", None, Decimal(1000)),
        ("两百五十", None, Decimal(250)),
        ("十二", None, Decimal(12)),
    ],
)
def test_numbers_as_people_write_them(written, scale, value) -> None:
    assert number(written, scale) == value


def test_one_free_sentence_reads_into_facts_with_their_spans() -> None:
    sentence = "9/7 14:42 支付网关超时，失败订单 1,200 笔，持续 25 分钟，已回滚"

    facts = read_sentence(
        sentence, tz=SHANGHAI, reference=datetime(2023, 9, 9, 12, tzinfo=SHANGHAI)
    )

    assert facts.values() == {
        "detected_at": datetime(2023, 9, 7, 6, 42, tzinfo=UTC),
        "system": "支付网关",
        "failed_orders": 1200,
        "impact_minutes": 25,
        "business_impact": True,
        "remediation": "已回滚",
    }
    spans = facts.spans()
    assert {name: sentence[span.start : span.end] for name, span in spans.items()} == {
        "detected_at": "9/7 14:42",
        "system": "支付网关",
        "failed_orders": "失败订单 1,200 笔",
        "impact_minutes": "持续 25 分钟",
        "business_impact": "失败订单 1,200 笔",
        "remediation": "已回滚",
    }


def test_a_sentence_without_a_time_has_no_detection_time() -> None:
    facts = read_sentence(
        "用户反馈无法支付，约 3 min 后恢复", tz=SHANGHAI, reference=datetime.now(SHANGHAI)
    )

    assert facts.detected_at is None
    assert facts.values()["detection"] is Detection.user_report
    assert facts.spans()["impact_minutes"] == Span(11, 16, "3 min")


def test_a_sentence_with_an_unreadable_time_keeps_its_facts() -> None:
    facts = read_sentence("9/31 14:42 网联超时", tz=SHANGHAI, reference=datetime.now(SHANGHAI))

    assert facts.detected_at is None
    assert facts.values()["system"] == "网联"


@given(st.text())
def test_any_text_reads_without_error_and_spans_point_into_it(text) -> None:
    facts = read_facts(text)

    for span in facts.spans().values():
        assert text[span.start : span.end] == span.text


@given(st.text(alphabet="0123456789,.万亿千笔单元资损失败延迟持续分钟小时:：-至１２ 年月日/"))
def test_text_made_of_phrase_pieces_reads_without_error(text) -> None:
    facts = read_facts(text, opened_at=(10, 0))
    read_sentence(text, tz=SHANGHAI, reference=datetime.now(SHANGHAI))

    for name in ("failed_orders", "failed_transactions", "affected_users", "impact_minutes"):
        value = facts.values().get(name)
        assert value is None or 0 <= value <= COUNT_MAX


# 13:45 on Monday 7 September 2026, when the sentences below are typed.
TYPED_AT = datetime(2026, 9, 7, 13, 45, 20, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("sentence", "detected_at", "written", "minutes"),
    [
        # counted back from now, and not misread as a 10-minute duration
        (
            "10分钟前 收银台报错，约 40 笔失败",
            datetime(2026, 9, 7, 5, 35, tzinfo=UTC),
            "10分钟前",
            None,
        ),
        ("半小时前支付网关超时", datetime(2026, 9, 7, 5, 15, tzinfo=UTC), "半小时前", None),
        ("现在 网联超时", datetime(2026, 9, 7, 5, 45, tzinfo=UTC), "现在", None),
        (
            "2 hours ago 230 failed orders",
            datetime(2026, 9, 7, 3, 45, tzinfo=UTC),
            "2 hours ago",
            None,
        ),
        # a clock still ahead today was yesterday's: what is told has happened
        ("14:42 代付出款延迟", datetime(2026, 9, 6, 6, 42, tzinfo=UTC), "14:42", None),
        # a named day, and a clock said in Chinese
        (
            "昨天 22:10 收银台白屏 20分钟",
            datetime(2026, 9, 6, 14, 10, tzinfo=UTC),
            "昨天 22:10",
            20,
        ),
        ("今天02:10 银联通道超时", datetime(2026, 9, 6, 18, 10, tzinfo=UTC), "今天02:10", None),
        ("凌晨3点 账户系统主从切换", datetime(2026, 9, 6, 19, 0, tzinfo=UTC), "凌晨3点", None),
        (
            "9月7日 下午1点半 网联超时",
            datetime(2026, 9, 7, 5, 30, tzinfo=UTC),
            "9月7日 下午1点半",
            None,
        ),
    ],
)
def test_a_sentence_opening_with_a_time_on_call_says_reads_it(
    sentence: str, detected_at: datetime, written: str, minutes: int | None
) -> None:
    facts = read_sentence(sentence, tz=SHANGHAI, reference=TYPED_AT)

    assert facts.detected_at is not None
    assert facts.detected_at.value == detected_at
    assert facts.detected_at.span.text == written
    assert facts.values().get("impact_minutes") == minutes


@pytest.mark.parametrize(
    ("sentence", "title"),
    [
        ("9/7 14:42 支付网关超时，失败订单 1,200 笔，持续 25 分钟，已回滚", "支付网关超时"),
        ("10分钟前：收银台报错。用户投诉无法支付", "收银台报错"),
        ("网联  通道\n超时", "网联 通道"),
        ("14:42 ，失败 3 笔", None),
    ],
)
def test_the_title_is_the_first_clause_after_the_opening_time(
    sentence: str, title: str | None
) -> None:
    assert sentence_title(sentence) == title
