from dataclasses import asdict
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from incidents.demo import SEED_REPORT
from incidents.errors import Invalid
from incidents.models import SHORT
from incidents.report_parser import (
    ImportedEvent,
    ParsedReport,
    parse_weekly_report,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
REPORTS = Path(__file__).parent / "reports"
# The real weekly report of DESIGN.md, byte for byte.
SEED = SEED_REPORT.read_text(encoding="utf-8")
# The same week as Stabilog's own zh Markdown writes it.
STABILOG_ZH = (REPORTS / "week37_stabilog_zh.md").read_text(encoding="utf-8")
HEADING = "# 第37周 2023-09-09"


def shanghai(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=SHANGHAI).astimezone(UTC)


def parse(text: str, tz: ZoneInfo = SHANGHAI) -> ParsedReport:
    return parse_weekly_report(text, tz=tz)


def report(*section: str, heading: str = HEADING, title: str = "## 生产稳定性事件") -> str:
    """A report whose events section holds the given lines."""
    return "\n".join([heading, "", title, "", *section, "", "## 【其他】", "", "1. 人行现场检查"])


def only_event(*section: str) -> ImportedEvent:
    parsed = parse(report(*section))
    assert parsed.unreadable == []
    (event,) = parsed.events
    return event


def problems(text: str) -> list[tuple[int, str]]:
    return [(line.line_number, line.problem) for line in parse(text).unreadable]


# --- the seed -----------------------------------------------------------------------------------


def test_the_seed_is_dated_by_its_heading():
    parsed = parse(SEED)

    assert parsed.report_date == date(2023, 9, 9)
    assert parsed.week_number == 37
    assert parsed.unreadable == []
    assert len(parsed.events) == 4


SEED_EVENTS = [
    pytest.param(
        0,
        {
            "line_number": 77,
            "detected_at": shanghai(2023, 9, 7, 14, 42),
            "title": "监控发现负载均衡切换流量到统一平台过程中",
            "description": (
                "监控发现负载均衡切换流量到统一平台过程中，履约出现合作机构接口调用失败告警，持续"
            ),
            "remediation": "停止 新的 IP 解析，恢复原有的解析，业务恢复",
            "system": "履约",
            "detection": "monitoring",
            "source": None,
            "failed_orders": None,
            # 业务恢复 says business is back, not that it was hit: left to a person.
            "business_impact": None,
            "impact_minutes": None,
        },
        id="履约 9/7 14:42",
    ),
    pytest.param(
        1,
        {
            "line_number": 79,
            "detected_at": shanghai(2023, 9, 7, 17, 45),
            "title": "监控宝收到告警",
            "description": (
                "监控宝收到告警，提示：福建福州移动,内蒙古呼和浩特移动等38个监测点 不可用，"
                "持续2mins后恢复，未影响业务"
            ),
            "remediation": "疑似存在运营商问题造成网络抖动，网络自然恢复对业务侧无影响。",
            "system": None,
            "detection": "monitoring",
            "source": "监控宝",
            "failed_orders": None,
            "business_impact": False,
            "impact_minutes": 2,
        },
        id="监控宝 9/7 17:45",
    ),
    pytest.param(
        2,
        {
            "line_number": 81,
            "detected_at": shanghai(2023, 9, 8, 0, 45),
            "title": "监控发现凌晨00:45-01:03分银商移动专线中断",
            "description": "监控发现凌晨00:45-01:03分银商移动专线中断",
            "remediation": (
                "由于银商专线具备自动探活和切换，自动切换到博兴机房的联通专线上，"
                "期间银商交易15笔均没有受影响。"
            ),
            "system": "银商专线",
            "detection": "monitoring",
            "source": None,
            "failed_orders": None,
            "business_impact": False,
            "impact_minutes": 18,
        },
        id="银商专线 9/8 00:45",
    ),
    pytest.param(
        3,
        {
            "line_number": 83,
            "detected_at": shanghai(2023, 8, 31, 10, 19),
            "title": "监控发现中信存管pos入金银行到账通知中付款方账户名和账号变动",
            "description": (
                "监控发现中信存管pos入金银行到账通知中付款方账户名和账号变动，"
                "系统判断为网银到账，并处理失败。引起9月7日履约pos付款单共 545笔失败"
            ),
            "remediation": "紧急上线后问题解决",
            "system": "中信存管",
            "detection": "monitoring",
            "source": None,
            "failed_orders": 545,
            "business_impact": True,
            "impact_minutes": None,
        },
        id="中信存管 8/31 10:19",
    ),
]


@pytest.mark.parametrize(("index", "expected"), SEED_EVENTS)
def test_the_seed_gives_its_four_events(index, expected):
    event = parse(SEED).events[index]

    assert {name: asdict(event)[name] for name in expected} == expected


def test_an_events_source_text_is_its_item_and_its_remediation():
    first, *_, last = parse(SEED).events

    assert first.source_text == (
        "- 9/7 14:42 监控发现负载均衡切换流量到统一平台过程中，"
        "履约出现合作机构接口调用失败告警，持续\n"
        "处置：停止 新的 IP 解析，恢复原有的解析，业务恢复"
    )
    assert last.source_text.startswith("- 8/31 10:19 监控发现中信存管")
    assert last.source_text.endswith("545笔失败\n    \n    处置：紧急上线后问题解决")


def test_the_seed_reads_the_same_twice():
    assert parse(SEED) == parse(SEED)
    assert len({event.fingerprint for event in parse(SEED).events}) == 4


def test_detection_times_are_read_in_the_given_zone():
    (first, *_) = parse(SEED, tz=NEW_YORK).events

    assert first.detected_at == datetime(2023, 9, 7, 18, 42, tzinfo=UTC)
    assert first.detected_at.tzinfo is UTC


# --- Stabilog's own output ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "heading", ["# 第37周 2023-09-09", "## 第37周 2023-09-09 稳定性周报"], ids=["h1", "h2 titled"]
)
def test_stabilogs_own_zh_report_reads_back(heading):
    parsed = parse(STABILOG_ZH.replace("# 第37周 2023-09-09", heading, 1))

    assert (parsed.report_date, parsed.week_number, parsed.unreadable) == (
        date(2023, 9, 9),
        37,
        [],
    )
    failover, probes = parsed.events
    assert (failover.line_number, probes.line_number) == (12, 14)
    assert failover.detected_at == shanghai(2023, 9, 7, 14, 42)
    assert failover.description == (
        "监控发现负载均衡切换流量到统一平台过程中，履约出现合作机构接口调用失败告警"
    )
    assert failover.remediation == "停止新的 IP 解析，恢复原有的解析，业务恢复"
    assert (failover.system, failover.business_impact) == ("履约", None)
    assert probes.detected_at == shanghai(2023, 9, 7, 17, 45)
    assert probes.remediation == "网络自然恢复对业务侧无影响。"
    assert (probes.source, probes.impact_minutes, probes.business_impact) == ("监控宝", 2, False)
    assert probes.source_text == (
        "2. 9/7 17:45 监控宝收到告警，提示：38个监测点不可用，持续2mins后恢复，未影响业务\n"
        "   处置：网络自然恢复对业务侧无影响。"
    )


# --- heading and section ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("heading", "report_date", "week_number"),
    [
        ("# 第37周 2023-09-09", date(2023, 9, 9), 37),
        ("# 第37周 2023/09/09", date(2023, 9, 9), 37),
        ("第37周 2023/09/09", date(2023, 9, 9), 37),
        ("## 第37周 2023-09-09 稳定性周报", date(2023, 9, 9), 37),
        ("# 第1周 2022-12-31", date(2022, 12, 31), 1),
        ("# 2023-09-09 稳定性周报", date(2023, 9, 9), None),
        ("#第37周 2023年9月9日", date(2023, 9, 9), 37),
    ],
)
def test_the_heading_gives_the_report_date(heading, report_date, week_number):
    parsed = parse(report(heading=heading))

    assert (parsed.report_date, parsed.week_number) == (report_date, week_number)


def test_the_first_heading_dates_the_report():
    text = report(heading="Created: 2023年11月29日 20:55\n# 第37周 2023-09-09\n# 第37周 2023/09/09")

    assert parse(text).report_date == date(2023, 9, 9)


@pytest.mark.parametrize(
    "heading",
    [
        "",
        "周报",
        "Created: 2023年11月29日 20:55",
        "# 第37周",
        "# 第37周 2023-02-30",
        "# 第37周 1969-09-09",
        "# 第54周 2023-09-09",
        "# 第0周 2023-09-09",
    ],
)
def test_a_report_without_a_readable_heading_is_invalid(heading):
    with pytest.raises(Invalid) as raised:
        parse(report("- 9/7 14:42 监控发现告警", heading=heading))

    assert raised.value.field == "heading"


@pytest.mark.parametrize(
    "title",
    [
        "1. 生产稳定性事件：",
        "## 生产稳定性事件",
        "## 【生产稳定性事件】",
        "生产稳定性事件:",
        "- 生产稳定性事件",
    ],
)
def test_the_events_section_is_found_by_its_title(title):
    parsed = parse(report("- 9/7 14:42 监控发现告警", title=title))

    assert [event.title for event in parsed.events] == ["监控发现告警"]


def test_a_report_without_an_events_section_is_invalid():
    text = SEED.replace("生产稳定性事件", "生产事件")

    with pytest.raises(Invalid) as raised:
        parse(text)

    assert raised.value.field == "events"


@pytest.mark.parametrize("end", ["## 【其他】", "# 下周工作及目标", "【其他】"])
def test_the_section_ends_at_the_next_heading_or_block(end):
    text = "\n".join(
        [HEADING, "## 生产稳定性事件", "- 9/7 14:42 监控发现告警", end, "- 9/8 10:00 不是事件"]
    )

    assert [event.line_number for event in parse(text).events] == [3]


def test_a_week_with_nothing_to_report_has_no_events():
    parsed = parse(report("无"))

    assert (parsed.events, parsed.unreadable) == ([], [])


def test_prose_before_the_first_item_is_not_an_event():
    parsed = parse(report("本周共1起：", "- 9/7 14:42 监控发现告警"))

    assert [event.line_number for event in parsed.events] == [6]
    assert parsed.unreadable == []


# --- items --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "- 9/7 14:42 监控发现告警",
        "* 9/7 14:42 监控发现告警",
        "1. 9/7 14:42 监控发现告警",
        "1、9/7 14:42 监控发现告警",
        "    - 9/7 14:42 监控发现告警",
        "- 9/7 14:42监控发现告警",
        "- 9月7日 14:42 监控发现告警",
        "- 9月7日 14点42分 监控发现告警",
        "- 2023/9/7 14:42 监控发现告警",
        "- 9/7 下午2:42 监控发现告警",
        "- ９/７ １４：４２ 监控发现告警",
        "9/7 14:42 监控发现告警",
    ],
)
def test_an_item_opens_with_its_time(line):
    event = only_event(line)

    assert event.detected_at == shanghai(2023, 9, 7, 14, 42)
    assert event.description == "监控发现告警"


def test_a_small_hours_item_keeps_its_day():
    event = only_event("- 9/8 凌晨00:45 监控发现银商移动专线中断")

    assert event.detected_at == shanghai(2023, 9, 8, 0, 45)


def test_remediation_may_follow_after_blank_lines_and_span_lines():
    event = only_event(
        "- 9/7 14:42 监控发现履约接口调用失败告警，",
        "持续10分钟",
        "",
        "    处置: 回滚负载均衡配置，",
        "    业务恢复",
        "",
    )

    assert event.description == "监控发现履约接口调用失败告警，\n持续10分钟"
    assert event.remediation == "回滚负载均衡配置，\n业务恢复"
    assert event.impact_minutes == 10


def test_remediation_on_the_item_line_is_split_off():
    event = only_event("- 9/7 14:42 监控发现告警，未影响业务；处置：重启服务")

    assert event.description == "监控发现告警，未影响业务；"
    assert event.remediation == "重启服务"


def test_an_item_without_remediation_has_none():
    parsed = parse(report("- 9/7 14:42 监控发现告警", "- 9/7 15:00 告警恢复"))

    assert [event.remediation for event in parsed.events] == [None, None]


def test_a_deeper_list_under_an_item_belongs_to_it():
    parsed = parse(
        report(
            "- 9/7 14:42 监控发现履约告警",
            "    1. 影响合作机构接口",
            "    2. 9/7 15:00 告警恢复",
            "- 9/8 09:00 监控发现账单延迟",
        )
    )

    assert [event.line_number for event in parsed.events] == [5, 7, 8]
    assert parsed.events[0].description == "监控发现履约告警\n1. 影响合作机构接口"


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("- 昨晚 监控发现告警", "no date and time at the start"),
        ("- 9/7 监控发现告警", "no date and time at the start"),
        ("- 无", "no date and time at the start"),
        ("- 9/31 14:42 监控发现告警", "there is no 9/31"),
        ("- 9/7 25:42 监控发现告警", "hour 25 is past 23"),
        ("- 9/7 14:42", "nothing after the time"),
        ("- 9/10 08:00 监控发现告警", "dated after the report"),
        ("- 9/11 08:00 监控发现告警", "dated after the report"),
        ("- 2023/9/10 08:00 监控发现告警", "dated after the report"),
        # Filing refuses a report week further than 8 weeks away: so does reading a report.
        ("- 7/1 08:00 监控发现告警", "more than 8 weeks before it"),
        ("- 9/7 14:42 监控发现\x00告警", "NUL"),
    ],
)
def test_an_item_whose_time_cannot_be_read_is_unreadable(line, problem):
    parsed = parse(report("- 9/7 09:00 监控发现告警", line, "- 9/8 09:00 监控发现告警"))

    assert [event.line_number for event in parsed.events] == [5, 7]
    (unreadable,) = parsed.unreadable
    assert (unreadable.line_number, unreadable.text) == (6, line)
    assert problem in unreadable.problem


def test_remediation_without_an_item_is_unreadable():
    assert problems(report("处置：重启服务", "- 9/7 14:42 监控发现告警")) == [
        (5, "处置 without an item before it")
    ]


def test_an_item_written_twice_is_unreadable_the_second_time():
    text = report("- 9/7 14:42 监控发现告警", "1. 9/7 14:42 监控发现告警")

    assert problems(text) == [(6, "the same item as line 5")]


def test_a_date_across_new_year_is_last_years():
    text = report("- 12/28 10:00 监控发现告警", heading="# 第1周 2021-01-02")

    assert parse(text).events[0].detected_at == shanghai(2020, 12, 28, 10, 0)


def test_an_old_date_with_its_year_is_kept():
    assert only_event("- 2022/9/11 08:00 监控发现告警").detected_at == shanghai(2022, 9, 11, 8, 0)


def test_an_item_too_long_to_store_is_unreadable():
    text = report("- 9/7 14:42 监控发现告警" + "很长" * 10_000)

    assert problems(text) == [(5, "longer than 20,000 characters")]


def test_a_huge_report_is_refused_unread():
    with pytest.raises(Invalid) as raised:
        parse(report("- 9/7 14:42 监控发现告警", "x" * 1_000_001))

    assert raised.value.field == "text"


# --- fingerprints -------------------------------------------------------------------------------


def test_renumbering_or_reindenting_keeps_the_fingerprint():
    once = only_event("1. 9/7 14:42 监控发现告警", "   处置：重启服务")
    again = only_event("- 9/7 14:42 监控发现告警", "处置： 重启服务", "")
    retyped = only_event("3. 9/7 14:42 监控发现告警", "    处置:重启服务")

    assert once.fingerprint == again.fingerprint == retyped.fingerprint
    assert len(once.fingerprint) == 64


def test_another_report_date_or_text_is_another_fingerprint():
    item = "- 9/7 14:42 监控发现告警"
    first = parse(report(item)).events[0].fingerprint

    assert parse(report(item, heading="# 第38周 2023-09-16")).events[0].fingerprint != first
    assert parse(report(item + "，已恢复")).events[0].fingerprint != first


# --- what the prose says ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("description", "title"),
    [
        ("监控宝收到告警，提示：38个监测点不可用", "监控宝收到告警"),
        (
            "福建福州移动,内蒙古呼和浩特移动等38个监测点不可用",
            "福建福州移动,内蒙古呼和浩特移动等38个监测点不可用",
        ),
        ("Payment gateway timeouts, 3 merchants hit", "Payment gateway timeouts"),
        ("，，监控发现告警", "监控发现告警"),
        ("  监控   发现告警。", "监控 发现告警"),
    ],
)
def test_the_title_is_the_first_clause(description, title):
    assert only_event(f"- 9/7 14:42 {description}").title == title


def test_a_long_title_is_cut_to_fit():
    title = only_event("- 9/7 14:42 " + "监" * 300).title

    assert len(title) == SHORT
    assert title.endswith("…")


@pytest.mark.parametrize(
    ("text", "failed_orders", "failed_transactions"),
    [
        ("引起9月7日履约pos付款单共 545笔失败", 545, None),
        ("545笔失败", 545, None),
        ("付款单545笔支付失败", 545, None),
        ("失败订单1,200笔", 1200, None),
        ("失败共计88单", 88, None),
        ("1.2万笔交易失败", None, 12000),
        ("代付出款交易千余笔延迟到账", None, 1000),
        ("期间银商交易15笔均没有受影响", None, None),
        ("15笔均未失败", None, None),
        ("共30笔失败，其中12笔失败后重试成功", 30, None),
        ("接口调用失败告警", None, None),
    ],
)
def test_failures_are_counted_only_when_failures_are_said(text, failed_orders, failed_transactions):
    event = only_event(f"- 9/7 14:42 {text}")

    assert (event.failed_orders, event.failed_transactions) == (failed_orders, failed_transactions)


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("持续2mins后恢复", 2),
        ("持续约5分钟", 5),
        ("持续 3 min", 3),
        ("持续1.5小时", 90),
        ("持续30秒", 1),
        ("凌晨00:45-01:03分银商移动专线中断", 18),
        ("23:50~00:10 专线中断", 20),
        ("14:42至15:12 接口超时", 30),
        ("持续", None),
        ("25:00-26:00 中断", None),
        ("监控发现告警", None),
    ],
)
def test_impact_minutes_come_from_a_stated_duration_or_window(text, minutes):
    assert only_event(f"- 9/7 14:42 {text}").impact_minutes == minutes


@pytest.mark.parametrize(
    ("item", "business_impact"),
    [
        ("- 9/7 14:42 告警，持续2mins后恢复，未影响业务", False),
        ("- 9/7 14:42 告警\n处置：网络自然恢复对业务侧无影响。", False),
        ("- 9/7 14:42 专线中断\n处置：期间银商交易15笔均没有受影响。", False),
        ("- 9/7 14:42 专线中断，无影响", False),
        ("- 9/7 14:42 履约接口调用失败告警\n处置：恢复原有的解析，业务恢复", None),
        ("- 9/7 14:42 履约支付失败，影响交易", True),
        ("- 9/7 14:42 付款单共 545笔失败，用户无影响", True),
        ("- 9/7 14:42 监控发现告警", None),
        ("- 9/7 14:42 监控发现告警\n处置：重启服务", None),
    ],
)
def test_business_impact_is_read_when_the_text_says(item, business_impact):
    assert only_event(*item.split("\n")).business_impact is business_impact


@pytest.mark.parametrize(
    ("description", "system"),
    [
        ("监控发现负载均衡切换流量到统一平台过程中，履约出现合作机构接口调用失败告警", "履约"),
        ("监控发现凌晨00:45-01:03分银商移动专线中断", "银商专线"),
        ("监控发现中信存管pos入金银行到账通知变动", "中信存管"),
        ("招商银行通道超时", "招商通道"),
        ("网联交易超时", "网联"),
        ("pos收单延迟", "POS"),
        ("38个监测点不可用，建设中的平安小区无影响", None),
    ],
)
def test_the_system_is_the_first_one_named(description, system):
    assert only_event(f"- 9/7 14:42 {description}").system == system


@pytest.mark.parametrize(
    ("description", "detection", "source"),
    [
        ("监控宝收到告警", "monitoring", "监控宝"),
        ("Alertmanager 告警：HighLatency", "monitoring", "Alertmanager"),
        ("grafana alert: p99 latency", "monitoring", "Grafana"),
        ("监控发现专线中断", "monitoring", None),
        ("收到报警", "monitoring", None),
        ("客服反馈用户无法支付", "user_report", None),
        ("巡检发现对账文件缺失", "manual", None),
        ("用户反馈无法支付", "user_report", None),
    ],
)
def test_detection_is_read_from_the_description(description, detection, source):
    event = only_event(f"- 9/7 14:42 {description}")

    assert (event.detection, event.source) == (detection, source)


# --- any text at all ----------------------------------------------------------------------------


def _parses_or_is_invalid(text: str) -> None:
    try:
        parsed = parse(text)
    except Invalid:
        return
    assert isinstance(parsed, ParsedReport)
    for event in parsed.events:
        assert event.detected_at.tzinfo is UTC
        assert event.detected_at.astimezone(SHANGHAI).date() <= parsed.report_date
        assert event.title
        assert "\n" not in event.title
        assert "\r" not in event.title
        assert len(event.title) <= SHORT


@given(st.text())
def test_any_text_parses_or_is_invalid(text):
    _parses_or_is_invalid(text)


@given(st.text(alphabet="#-1. 9/7:14:42\n处置：生产稳定性事件第37周2023-09-09【其他】凌晨"))
def test_text_made_of_report_pieces_parses_or_is_invalid(text):
    _parses_or_is_invalid(text)


@st.composite
def mutated_seeds(draw: st.DrawFn) -> str:
    """The seed with a few characters replaced, inserted or deleted, or lines dropped."""
    text = SEED
    for _ in range(draw(st.integers(1, 8))):
        position = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["replace", "insert", "delete", "drop line"]))
        piece = draw(st.text(min_size=1, max_size=4))
        if action == "replace":
            text = text[:position] + piece + text[position + len(piece) :]
        elif action == "insert":
            text = text[:position] + piece + text[position:]
        elif action == "delete":
            text = text[:position] + text[position + len(piece) :]
        else:
            start = text.rfind("\n", 0, position) + 1
            end = text.find("\n", position)
            text = text[:start] + (text[end + 1 :] if end != -1 else "")
    return text


@given(mutated_seeds())
def test_a_mutated_seed_parses_or_is_invalid(text):
    _parses_or_is_invalid(text)


@given(
    st.integers(1, 12),
    st.integers(1, 31),
    st.integers(0, 30),
    st.integers(0, 70),
    st.sampled_from(["/", "-", "月"]),
)
def test_any_item_time_is_an_event_or_unreadable(month, day, hour, minute, separator):
    written = f"{month}{separator}{day}{'日' if separator == '月' else ''} {hour}:{minute:02d}"
    parsed = parse(report(f"- {written} 监控发现告警"))

    assert len(parsed.events) + len(parsed.unreadable) == 1
    for event in parsed.events:
        assert event.detected_at.astimezone(SHANGHAI).date() <= date(2023, 9, 9)


# --- what the report states about its week ------------------------------------------------------


def test_the_seed_states_its_counts_and_figures():
    parsed = parse(SEED)

    assert {
        name: (stated.value, stated.line_number) for name, stated in parsed.stated_counts.items()
    } == {
        "AB": (0, 40),
        "CD": (1, 40),
    }
    assert {name: stated.value for name, stated in parsed.stated_figures.items()} == {
        "deposit_success_rate": Decimal("99.998"),
        "payout_success_rate": Decimal("99.962"),
        "first_pay_success_rate": Decimal("99.09"),
        "year_availability": Decimal("99.998"),
        # The first statement wins: 656 in 重点工作, before O3's 635.2.
        "health_score": Decimal("656"),
        "health_rank": Decimal("5"),
    }


@pytest.mark.parametrize(
    ("line", "counts"),
    [
        ("- 事故数AB级1次，CD级0次", {"AB": 1, "CD": 0}),
        ("事故数：A/B级0起，C/D级2起", {"AB": 0, "CD": 2}),
        ("- 事故数ＡＢ级１次，ＣＤ级０次", {"AB": 1, "CD": 0}),
        ("AB类：1 起；CD类：3 起", {"AB": 1, "CD": 3}),
        ("- 事故数AB级1次", {}),
    ],
)
def test_the_reports_own_counts_are_read(line, counts):
    parsed = parse(report("- 9/7 14:42 监控发现告警", heading=f"{HEADING}\n{line}"))

    assert {name: int(stated.value) for name, stated in parsed.stated_counts.items()} == counts


def test_a_full_width_heading_and_a_chinese_numbered_section_are_read():
    parsed = parse(
        report(
            "１． ９/７ １４：４２ 监控发现告警",
            heading="# 第３７周 ２０２３－０９－０９",
            title="二、生产稳定性事件：",
        )
    )

    assert (parsed.report_date, parsed.week_number) == (date(2023, 9, 9), 37)
    assert [event.title for event in parsed.events] == ["监控发现告警"]


def test_each_value_keeps_the_text_it_was_read_from():
    event = only_event("- 9/5 10:02 监控发现代付出款交易千余笔延迟，10:20 全部到账", "处置：补发")

    assert (event.failed_transactions, event.impact_minutes, event.business_impact) == (
        1000,
        18,
        True,
    )
    assert event.evidence == {
        "detected_at": "9/5 10:02",
        "system": "代付",
        "detection": "监控",
        "failed_transactions": "千余笔延迟",
        "business_impact": "千余笔延迟",
        "impact_minutes": "10:20 全部到账",
    }
