"""The phrases people write about an incident, read into facts with the text each came from.

One table of small named patterns (`PHRASES`) reads counts, durations, money, systems, detection,
impact and its negations. Two callers share it, so there is one parser and not two:

- the weekly-report importer (incidents/report_parser.py) reads each listed item with
  `read_facts`, knowing the item's opening clock time;
- a box where on-call types one free sentence ("9/7 14:42 支付网关超时，失败订单 1,200 笔，持续
  25 分钟，已回滚") reads it with `read_sentence`, which also finds the time at its start.

Every fact carries its `Span` (offsets into the text given, and the text itself), so a preview can
show where each value came from. Full-width digits and punctuation read as their ASCII forms;
the spans still point into the text as written.
"""

import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from incidents.models import COUNT_MAX, Detection
from incidents.timeparse import parse_time


@dataclass(frozen=True)
class Span:
    """Where a value was read: `text[start:end]` of the text handed in."""

    start: int
    end: int
    text: str


T = TypeVar("T", covariant=True)


@dataclass(frozen=True)
class Found(Generic[T]):
    value: T
    span: Span


@dataclass(frozen=True)
class Facts:
    """What a piece of prose says; a fact it does not state is None."""

    detected_at: Found[datetime] | None = None
    system: Found[str] | None = None
    failed_orders: Found[int] | None = None
    failed_transactions: Found[int] | None = None
    affected_users: Found[int] | None = None
    impact_minutes: Found[int] | None = None
    amount_involved_cny: Found[Decimal] | None = None
    loss_cny: Found[Decimal] | None = None
    detection: Found[Detection] | None = None
    source: Found[str] | None = None
    business_impact: Found[bool] | None = None
    remediation: Found[str] | None = None

    def values(self) -> dict[str, Any]:
        """The facts stated, by name, without their spans."""
        return {name: found.value for name, found in self._stated().items()}

    def spans(self) -> dict[str, Span]:
        return {name: found.span for name, found in self._stated().items()}

    def _stated(self) -> dict[str, Found[Any]]:
        return {
            item.name: found
            for item in fields(self)
            if (found := getattr(self, item.name)) is not None
        }


# --- numbers ------------------------------------------------------------------------------------

# 1,200 / 1.2 / 1200, then 万 or 亿 (千 and k as some write them); a Chinese numeral such as 一千
# or 两百 (a bare 千 in 千余笔 is one thousand). A Chinese numeral needs 十, 百 or 千: a lone 一
# is too often part of a word ("统一单据失败" is not one failed order).
_ARABIC = r"[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?|[0-9]{1,13}(?:\.[0-9]{1,4})?"
_CHINESE = r"[一二两三四五六七八九]?[十百千][一二两三四五六七八九十百千]*"
NUMBER = (
    rf"(?P<number>{_ARABIC}|{_CHINESE})\s*(?P<scale>万|亿|千|[kK](?![a-zA-Z]))?\s*(?:余|多|来)?"
)
_SCALES = {None: 1, "": 1, "千": 1_000, "k": 1_000, "K": 1_000, "万": 10_000, "亿": 100_000_000}
_DIGITS = dict(zip("一二两三四五六七八九", (1, 2, 2, 3, 4, 5, 6, 7, 8, 9), strict=True))
_UNITS = {"十": 10, "百": 100, "千": 1000}


def number(written: str, scale: str | None = None) -> Decimal:
    """The value of a number as written: "1,200", "1.2" with scale 万, "一千", "两百五十"."""
    if written[0].isdigit():
        value = Decimal(written.replace(",", ""))
    else:
        value = Decimal(_chinese_number(written))
    return value * _SCALES[scale]


def _chinese_number(written: str) -> int:
    total, digit = 0, None
    for character in written:
        if character in _DIGITS:
            digit = _DIGITS[character]
        else:
            total += (1 if digit is None else digit) * _UNITS[character]
            digit = None
    return total + (digit or 0)


def _amount(match: re.Match[str]) -> Decimal:
    return number(match["number"], match["scale"])


# --- the phrase table ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Phrase:
    """A named pattern and the fact it states, read from its match by `read`."""

    name: str
    fact: str
    pattern: re.Pattern[str]
    read: Callable[[re.Match[str]], Any]


def _phrase(name: str, fact: str, pattern: str, read: Callable[[re.Match[str]], Any]) -> Phrase:
    return Phrase(name, fact, re.compile(pattern, re.IGNORECASE), read)


def _constant(value: Any) -> Callable[[re.Match[str]], Any]:
    return lambda _match: value


# Units of a count and what the count is of.
_ORDER_UNITS = r"笔|单"
_PEOPLE_UNITS = r"户|人|位用户|名用户|个用户|家商户|个商户|家机构"
# Verbs saying something went wrong for the counted orders or transactions. A delay counts as a
# failure: an order not paid out on time is business hit, as the grading policy's failed_min
# means it (a thousand payouts delayed is a B by the default policy, as teams grade it).
_FAILED = (
    r"失败|延迟|延时|未到账|未按时出款|未出款|未入账|超时|报错|重复扣款|重复出款|无法支付|"
    r"支付不成功|卡单|积压|掉单|异常"
)
# What may stand between a count and its verb ("545笔付款单支付失败"): no clause end, no negation.
_GAP = r"[^，。；,;\n未没无不否0-9]{0,10}?"
# A count followed by its negation ("报错，期间15笔均未受影响") is not a count of failures.
_NOT_NEGATED = r"(?![^，。；,;\n]{0,3}?(?:未|没有|无|不))"


def _count(match: re.Match[str]) -> int | None:
    value = _amount(match)
    return int(value) if value <= COUNT_MAX else None


def _is_transactions(view: str, match: re.Match[str]) -> bool:
    """Whether a count is of 交易 (transactions), said in it or just before it."""
    around = view[max(0, match.start() - 6) : match.end()].lower()
    return "交易" in around or "transaction" in around or "txn" in around


# Minutes per unit, keyed by the unit's first character (分钟 and mins alike).
_MINUTES_PER_UNIT: dict[str, int | Decimal] = {
    "分": 1,
    "m": 1,
    "小": 60,
    "个": 60,
    "h": 60,
    "秒": Decimal(1) / 60,
    "s": Decimal(1) / 60,
}
_MINUTES_PER_DAY = 24 * 60
_FEN = Decimal("0.01")
_MONEY_LIMIT = Decimal(10) ** 14  # Numeric(16, 2)


def _minutes(amount: str, unit: str) -> int:
    # Rounded up: a 30-second outage still cost availability, so it is not zero minutes.
    return math.ceil(Decimal(amount) * _MINUTES_PER_UNIT[unit[0].lower()])


def _window(h1: str, m1: str, h2: str, m2: str) -> int | None:
    """Minutes from one clock time to the other; an end before the start is past midnight."""
    if max(int(h1), int(h2)) > 23 or max(int(m1), int(m2)) > 59:
        return None
    return (int(h2) * 60 + int(m2) - int(h1) * 60 - int(m1)) % _MINUTES_PER_DAY


def _yuan(match: re.Match[str]) -> Decimal | None:
    """Yuan to the fen, as the money columns keep it; None beyond what they can hold."""
    value = _amount(match)
    if match["money_unit"] in ("万元", "w"):
        value *= 10_000
    return value.quantize(_FEN, rounding=ROUND_HALF_UP) if value < _MONEY_LIMIT else None


_TOOLS = {
    "监控宝": "监控宝",
    "alertmanager": "Alertmanager",
    "prometheus": "Prometheus",
    "grafana": "Grafana",
    "zabbix": "Zabbix",
    "夜莺": "夜莺",
}

# The table. Facts are Facts' field names, except "failed": a count of failed or delayed orders
# or transactions, told apart by whether 交易 is said (_failed_counts).
PHRASES: tuple[Phrase, ...] = (
    # --- counts ---
    _phrase(
        "count_then_failed",
        "failed",
        rf"{NUMBER}(?P<unit>{_ORDER_UNITS}){_GAP}(?:{_FAILED})",
        _count,
    ),
    _phrase(
        "failed_then_count",
        "failed",
        rf"(?:{_FAILED})[^，。；,;\n0-9一二两三四五六七八九十百千]{{0,8}}?(?:共|约|计|共计)?\s*"
        rf"{NUMBER}(?P<unit>{_ORDER_UNITS}){_NOT_NEGATED}",
        _count,
    ),
    _phrase(
        "english_failed_count",
        "failed",
        rf"{NUMBER}\s*(?:failed|delayed|stuck)\s*(?:orders?|payments?|payouts?|transactions?|txns?)",
        _count,
    ),
    _phrase(
        "affected_then_people",
        "affected_users",
        rf"(?:影响|涉及|波及)[^，。；,;\n0-9]{{0,6}}?{NUMBER}(?:{_PEOPLE_UNITS})",
        _count,
    ),
    _phrase(
        "people_then_affected",
        "affected_users",
        rf"{NUMBER}(?:{_PEOPLE_UNITS}){_GAP}(?:受影响|受到影响|{_FAILED}|投诉|反馈)",
        _count,
    ),
    # --- durations ---
    _phrase(
        "hours_and_minutes",
        "impact_minutes",
        r"(?P<hours>[0-9]{1,3})\s*(?:个)?(?:小时|h)\s*(?P<minutes>[0-9]{1,2})\s*(?:分钟|分|min)",
        lambda match: int(match["hours"]) * 60 + int(match["minutes"]),
    ),
    _phrase(
        "stated_duration",
        "impact_minutes",
        r"(?:持续|历时|耗时|长达|影响|共|for|~)\s*(?:了|约|近|大约|时长|时间)?\s*(?:约|近|大约)?\s*"
        r"(?P<amount>[0-9]{1,5}(?:\.[0-9]{1,2})?)\s*"
        r"(?P<unit>分钟|分|minutes?|mins?|小时|hours?|hrs?|h|秒|seconds?|secs?|s)(?![a-z])",
        lambda match: _minutes(match["amount"], match["unit"]),
    ),
    _phrase(
        "bare_duration",
        "impact_minutes",
        r"(?<![0-9:：.])(?P<amount>[0-9]{1,5}(?:\.[0-9]{1,2})?)\s*"
        r"(?P<unit>分钟|minutes?|mins?|个小时|小时)(?![a-z内])",
        lambda match: _minutes(match["amount"], match["unit"]),
    ),
    _phrase(
        "clock_window",
        "impact_minutes",
        r"(?<![0-9])(?:从\s*)?(?P<h1>[0-9]{1,2})[:：](?P<m1>[0-9]{2})\s*(?:分)?\s*"
        r"(?:[-~～—–]|至|到|until|to)\s*(?P<h2>[0-9]{1,2})[:：](?P<m2>[0-9]{2})(?![0-9])",
        lambda match: _window(match["h1"], match["m1"], match["h2"], match["m2"]),
    ),
    # --- money ---
    _phrase(
        "loss_amount",
        "loss_cny",
        rf"(?:资损|损失|资金损失)(?:金额)?\s*(?:约|共|为|[:：])?\s*{NUMBER}\s*(?P<money_unit>万元|元|w)",
        _yuan,
    ),
    _phrase(
        "amount_involved",
        "amount_involved_cny",
        rf"(?:涉及金额|涉及资金|交易金额|金额)\s*(?:约|共|为|[:：])?\s*{NUMBER}\s*"
        r"(?P<money_unit>万元|元|w)",
        _yuan,
    ),
    _phrase("no_loss", "loss_cny", r"无资损|没有资损|未造成资损|无资金损失", _constant(Decimal(0))),
    # --- impact and its negations ---
    _phrase(
        "no_impact",
        "business_impact",
        r"未(?:受|造成|对业务造成)?影响(?:业务)?|无影响|没有(?:受到?|造成)?(?:任何)?影响|不影响|"
        r"对业务无影响|(?:用户|商户|客户)?无感知|no (?:business )?impact",
        _constant(False),
    ),
    _phrase(
        "impact_said",
        "business_impact",
        r"业务(?:受损|中断|受到?影响)|影响(?:了)?(?:业务|交易|支付|用户|出款|入金)|交易失败|支付失败|"
        r"客诉|用户投诉|宕机|无法(?:支付|访问|打开|登录|使用|下单)|服务不可用|全部不可用|"
        r"\bdown\s*(?:for\b|~|[0-9])|\b(?:is|was|were) down\b|outage",
        _constant(True),
    ),
    # --- detection ---
    _phrase(
        "monitoring_tool",
        "source",
        r"监控宝|alertmanager|prometheus|grafana|zabbix|夜莺",
        lambda match: _TOOLS[match.group().lower()],
    ),
    _phrase(
        "detected_by_monitoring",
        "detection",
        r"监控|告警|报警|预警|alert",
        _constant(Detection.monitoring),
    ),
    _phrase(
        "detected_by_users",
        "detection",
        r"用户反馈|客户反馈|商户反馈|客诉|客服反馈|用户投诉|投诉",
        _constant(Detection.user_report),
    ),
    _phrase(
        "detected_by_people",
        "detection",
        r"巡检|自查|人工发现|排查发现",
        _constant(Detection.manual),
    ),
    _phrase(
        "detected_by_others",
        "detection",
        r"银行通知|合作方通知|渠道通知|监管通知",
        _constant(Detection.external),
    ),
    # --- systems ---
    _phrase(
        "counterparty_system",
        "system",
        r"(?P<party>银商|银联|网联|中信|招商|招行|工商|工行|建设|建行|农业|农行|中行|交通|交行|浦发|民生|"
        r"兴业|光大|华夏|平安|广发|邮储)(?:银行)?(?:移动|联通|电信)?"
        r"(?P<product>代付|代收|快捷|无卡|网关)?(?P<kind>专线|存管|通道|渠道)",
        lambda match: match["party"] + (match["product"] or "") + match["kind"],
    ),
    _phrase(
        "system_word",
        "system",
        r"履约|收单|代付|备付金|清结算|对账|账单|存管|企业钱包|商户系统|账户系统|银商|银联|网联|"
        r"POS|支付网关|收银台|出款|入金|app(?![a-z])",
        lambda match: match.group().upper(),
    ),
    # --- remediation in a sentence ---
    _phrase(
        "remediation_done",
        "remediation",
        r"已(?:回滚|重启|扩容|切换|修复|恢复|降级|下线|止损)[^，。；,;\n]*",
        lambda match: match.group(),
    ),
)
PHRASE_NAMES = tuple(phrase.name for phrase in PHRASES)

# "10:20 全部到账" or "10:20恢复" after an item that opened at 10:02: 18 minutes.
_UNTIL_CLOCK = re.compile(
    r"(?<![0-9:：~\-至到])(?P<hour>[0-9]{1,2})[:：](?P<minute>[0-9]{2})\s*(?:分)?\s*"
    r"(?:已)?(?:全部|全量|陆续)?(?:到账|恢复|恢复正常|处理完成|出款完成|入账)"
)
# Which duration wins when several are written: what the text states over what is computed.
_DURATION_ORDER = ("hours_and_minutes", "stated_duration", "bare_duration", "clock_window")


# --- reading ------------------------------------------------------------------------------------


def ascii_view(text: str) -> str:
    """`text` with full-width digits, letters and punctuation as ASCII, one character for one,
    so that offsets into it are offsets into `text`."""
    return "".join(
        folded if len(folded := unicodedata.normalize("NFKC", character)) == 1 else character
        for character in text
    )


@dataclass
class _Reading:
    text: str
    offset: int
    # By fact: each (phrase, match, value) read.
    found: dict[str, list["_Hit"]] = field(default_factory=dict)

    def span(self, match: re.Match[str]) -> Span:
        start, end = match.start() + self.offset, match.end() + self.offset
        return Span(start, end, self.text[match.start() : match.end()])


def read_facts(text: str, *, opened_at: tuple[int, int] | None = None, offset: int = 0) -> Facts:
    """The facts `text` states. `opened_at` (hour, minute) is when the event began, so "10:20
    全部到账" can say how long it lasted; spans are offsets into `text`, plus `offset`."""
    view = ascii_view(text)
    reading = _Reading(text, offset)
    for phrase in PHRASES:
        for match in phrase.pattern.finditer(view):
            value = phrase.read(match)
            if value is not None:
                reading.found.setdefault(phrase.fact, []).append((phrase, match, value))
    orders, transactions = _failed_counts(reading, view)
    return Facts(
        system=_first(reading, "system"),
        detection=_first(reading, "detection"),
        source=_first(reading, "source"),
        remediation=_first(reading, "remediation"),
        amount_involved_cny=_first(reading, "amount_involved_cny"),
        loss_cny=_largest(reading, "loss_cny"),
        affected_users=_largest(reading, "affected_users"),
        impact_minutes=_duration(reading, view, opened_at),
        failed_orders=orders,
        failed_transactions=transactions,
        business_impact=_business_impact(reading),
    )


def _first(reading: _Reading, fact: str) -> Found[Any] | None:
    """The fact as first written; at the same place the longer match (银商移动专线 over 银商)."""
    found = reading.found.get(fact)
    if not found:
        return None
    _phrase, match, value = min(found, key=lambda hit: (hit[1].start(), -len(hit[1].group())))
    return Found(value, reading.span(match))


_Hit = tuple[Phrase, re.Match[str], Any]


def _largest(reading: _Reading, fact: str, hits: list[_Hit] | None = None) -> Found[Any] | None:
    """The largest value of `fact` written (of `hits`, when given), since a total and its
    breakdown may both appear ("共30笔失败，其中12笔…")."""
    found = reading.found.get(fact, []) if hits is None else hits
    if not found:
        return None
    _phrase, match, value = max(found, key=lambda hit: (hit[2], -hit[1].start()))
    return Found(value, reading.span(match))


def _failed_counts(reading: _Reading, view: str) -> tuple[Found[int] | None, Found[int] | None]:
    """Failed (or delayed) orders, and transactions when the text counts 交易; each the largest."""
    found = reading.found.get("failed", [])
    orders = [hit for hit in found if not _is_transactions(view, hit[1])]
    transactions = [hit for hit in found if _is_transactions(view, hit[1])]
    return _largest(reading, "failed", orders), _largest(reading, "failed", transactions)


def _duration(reading: _Reading, view: str, opened_at: tuple[int, int] | None) -> Found[int] | None:
    found = reading.found.get("impact_minutes", [])
    for name in _DURATION_ORDER:
        hits = [hit for hit in found if hit[0].name == name]
        if hits:
            _phrase, match, value = min(hits, key=lambda hit: hit[1].start())
            return Found(value, reading.span(match))
    if opened_at is not None and (until := _UNTIL_CLOCK.search(view)):
        hour, minute = int(until["hour"]), int(until["minute"])
        if hour <= 23 and minute <= 59:
            minutes = (hour * 60 + minute - opened_at[0] * 60 - opened_at[1]) % _MINUTES_PER_DAY
            return Found(minutes, reading.span(until))
    return None


def _business_impact(reading: _Reading) -> Found[bool] | None:
    """Failures, people hit or money involved or lost, counted, say business was hit whatever
    else is said ("545笔失败，用户无影响"); else a negation wins over an impact word (the seed's
    "不可用…未影响业务")."""
    failed = [
        hit
        for fact in ("failed", "affected_users", "loss_cny", "amount_involved_cny")
        for hit in reading.found.get(fact, [])
        if hit[2] > 0
    ]
    if failed:
        _phrase, match, _value = failed[0]
        return Found(True, reading.span(match))
    said = reading.found.get("business_impact", [])
    for wanted in (False, True):
        for _phrase, match, value in said:
            if value is wanted:
                return Found(value, reading.span(match))
    return None


# --- one free sentence --------------------------------------------------------------------------

# The time a sentence opens with: "9/7 14:42", "9月7日 14:42", "2023-09-07 14:42", "昨天 22:10",
# "14:42", "凌晨3点", "14点半", or counted back from now, "现在", "10分钟前", "半小时前", "2 hours
# ago" (timeparse reads them all).
_OPENING_TIME = re.compile(
    r"\s*(?P<time>"
    r"(?:(?:[0-9]{4}[-/年])?[0-9]{1,2}(?:[-/]|月)[0-9]{1,2}[日号]?|今天|昨天|前天)?\s*"
    r"(?:凌晨|早上|上午|中午|下午|晚上)?\s*"
    r"(?:[0-9]{1,2}[:：][0-9]{2}|[0-9]{1,2}点(?:半|[0-9]{1,2}分?)?)(?![0-9])"
    r"|现在|刚才|刚刚|(?:[0-9]{1,4}|[一二两三四五六七八九十]{1,3})?\s*(?:个)?半?\s*(?:分钟|小时)(?:以)?前"
    r"|(?i:just now|now(?![a-z])|(?:[0-9]{1,4}|an?|half an)\s*(?:mins?|minutes?|hours?|h)\s+ago))"
)


def read_sentence(text: str, *, tz: ZoneInfo, reference: datetime) -> Facts:
    """The facts of one sentence as on-call types it, its opening time included ("9/7 14:42
    支付网关超时，失败订单 1,200 笔，持续 25 分钟，已回滚"); `reference` (now) dates a time
    written without its day, as the most recent such moment (what is told has happened), and
    counts back "10分钟前". A time that cannot be read leaves `detected_at` None."""
    view = ascii_view(text)
    opening = _OPENING_TIME.match(view)
    detected_at: Found[datetime] | None = None
    if opening is not None:
        try:
            moment = parse_time(opening["time"], tz=tz, reference=reference, recent_past=True)
        except ValueError:
            opening = None
        else:
            start, end = opening.span("time")
            detected_at = Found(moment, Span(start, end, text[start:end]))
    rest = opening.end() if opening is not None else 0
    local = detected_at.value.astimezone(tz) if detected_at else None
    opened_at = (local.hour, local.minute) if local else None
    facts = read_facts(text[rest:], opened_at=opened_at, offset=rest)
    return replace(facts, detected_at=detected_at)


# Where a sentence's first clause ends: what comes before names the incident.
_CLAUSE_END = re.compile(r"[，。；,;!！?？\n]")
TITLE_MAX = 200  # IncidentBase.title's max_length


def sentence_title(text: str) -> str | None:
    """A title for the incident one sentence tells: its first clause after the opening time
    ("支付网关超时" of "9/7 14:42 支付网关超时，失败订单 1,200 笔…"); None when nothing is left."""
    view = ascii_view(text)
    opening = _OPENING_TIME.match(view)
    rest = text[opening.end() :] if opening is not None else text
    clause = _CLAUSE_END.split(rest, maxsplit=1)[0]
    title = " ".join(clause.split()).strip(" :：-—")
    return title[:TITLE_MAX] or None
