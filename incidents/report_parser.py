"""Read a weekly report (周报) and hand back the stability events it lists; no database.

The report is the seed's Markdown: a heading `# 第37周 2023-09-09` that dates it, and somewhere a
生产稳定性事件 section (`1. 生产稳定性事件：` inside 【O3 …】 in the seed, `## 生产稳定性事件` in
Stabilog's own output) listing one item per event:

    - 9/7 14:42 监控发现……，持续
    处置：停止新的 IP 解析，恢复原有的解析，业务恢复

An item whose time cannot be read is returned as unreadable rather than dropped or guessed: the
import is all-or-nothing, and a person fixes the line. Everything read from an item's prose
(system, impact, counts, durations) is a best-effort hint that the importer may leave empty.

A date without a year takes the report's year, except that timeparse puts a date just past New
Year's Eve in the year before, as a report dated 2 January lists 28 December. An item dated after
the report, or (with no year written) so long before it that it must be a later date in the
report's year, is unreadable.
"""

import hashlib
import math
import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from incidents.errors import Invalid
from incidents.models import COUNT_MAX, LONG, SHORT, Detection
from incidents.report import LABELS
from incidents.timeparse import EARLIEST_YEAR, LATEST_YEAR, parse_time

# A real report is a few thousand characters; the cap keeps a pasted log file from being searched.
MAX_REPORT_CHARS = 1_000_000
# A weekly report lists last week's events and the odd one found late (the seed's 8/31 in the 9/9
# report). A year-less date further back than this was read into the previous year by timeparse
# and is far likelier a typo for a date after the report.
_LOOKBACK = timedelta(days=183)


@dataclass(frozen=True)
class ImportedEvent:
    line_number: int
    source_text: str
    detected_at: datetime
    title: str
    description: str
    remediation: str | None
    system: str | None
    detection: Detection | None
    source: str | None
    failed_orders: int | None
    business_impact: bool | None
    impact_minutes: int | None
    fingerprint: str


@dataclass(frozen=True)
class UnreadableLine:
    line_number: int
    text: str
    problem: str


@dataclass(frozen=True)
class ParsedReport:
    report_date: date
    week_number: int | None
    events: list[ImportedEvent]
    unreadable: list[UnreadableLine]


# --- the report's structure -------------------------------------------------------------------

# "# 第37周 2023-09-09", "第37周 2023/09/09", "## 第37周 2023-09-09 稳定性周报",
# "# 2023-09-09 周报".
# A line counts as a heading when it is a Markdown heading or names its week, so that a body line
# such as the seed's "Created: 2023年11月29日 20:55" is not taken for the report date.
_HEADING = re.compile(
    r"\s*(?:\#{1,6}\s*(?:第\s*(?P<hashed_week>\d{1,3})\s*周\s*)?|第\s*(?P<week>\d{1,3})\s*周\s*)"
    r"(?P<year>\d{4})\s*[-/.年]\s*(?P<month>\d{1,2})\s*[-/.月]\s*(?P<day>\d{1,2})(?!\d)",
    re.ASCII,
)
# The seed numbers the section inside 【O3 …】 ("1. 生产稳定性事件："); Stabilog writes a heading.
_EVENTS_TITLE = re.compile(
    r"\s*(?:\#{1,6}\s*|\d{1,2}\s*[.、)）]\s*|[-*+]\s+)?【?生产稳定性事件】?\s*[:：]?\s*"
)
# The next Markdown heading, or a bare block title such as the seed's 【其他】, ends the section.
_SECTION_END = re.compile(r"\s*(?:\#|【[^】]*】\s*$)")
# "- " in the seed, "1. " in Stabilog's output; also the other Markdown bullets and "1、" as
# Chinese input methods type it. ASCII markers need a space after them, as in Markdown, so that a
# wrapped line starting "2.5小时后恢复" is not read as item 2.
_LIST_MARKER = re.compile(r"(?P<indent>\s*)(?:[-*+]\s+|•\s*|\d{1,3}[.)]\s+|\d{1,3}[、）]\s*)")
# The time that opens an item, as people type it: "9/7 14:42", "9/7 17:45监控宝…" (no space
# before the text), "9月7日 14:42", "9/8 凌晨00:45", "2023/9/7 14:42". Only the span is found
# here; timeparse reads it. The trailing lookahead keeps "14:425" from passing as 14:42.
_ITEM_TIME = re.compile(
    r"(?P<time>(?:(?P<year>\d{4})[-/年])?\d{1,2}(?:[-/／]\d{1,2}|月\d{1,2}[日号])\s*"
    r"(?:凌晨|早上|上午|中午|下午|晚上)?\s*"
    r"\d{1,2}(?:[:：]\d{2}(?:[:：]\d{2})?|点(?:\d{1,2}分?|半)?))(?!\d)"
)
# A date at the start of a line: a second item under the first even when indented like a sub-list.
_LEADING_DATE = re.compile(r"\d{1,2}(?:[-/／]\d{1,2}|月\d{1,2}[日号])")
# "处置：…" or "处置: …", on its own line or after the description on the item line.
_REMEDIATION = re.compile(r"处置(?:措施|方案)?\s*[:：]\s*")
# A section that says there was nothing this week.
_NOTHING_TO_REPORT = re.compile(
    r"(?:本周)?(?:无|暂无|没有)(?:生产稳定性事件|稳定性事件|事件)?[。.]?"
)

# --- what the prose says ------------------------------------------------------------------------

# A clause ends at Chinese punctuation. An ASCII comma ends one only before a space: the seed uses
# it without one to list places ("福建福州移动,内蒙古呼和浩特移动").
_CLAUSE_END = re.compile(r"[，。；！？：\n]|[,;.!?](?=\s)")
# Systems are guesses that a person reviews: a bank's or network's line or depository (银商专线
# over whichever carrier, 中信存管), else the first of the team's systems and payment networks.
# A bank's short name alone is not taken: 建设, 平安, 交通 are everyday words too.
_COUNTERPARTY_SYSTEM = re.compile(
    r"(?P<party>银商|银联|网联|中信|招商|招行|工商|工行|建设|建行|农业|农行|中行|交通|交行|浦发|民生|"
    r"兴业|光大|华夏|平安|广发|邮储)(?:银行)?(?:移动|联通|电信)?(?P<kind>专线|存管|通道|渠道)"
)
_SYSTEM_WORDS = re.compile(
    r"履约|收单|代付|备付金|清结算|对账|账单|存管|企业钱包|商户系统|账户系统|银商|银联|网联|POS",
    re.IGNORECASE,
)
# Named monitoring tools: naming one is both the source and proof that monitoring found it.
_SOURCES = {
    "监控宝": "监控宝",
    "alertmanager": "Alertmanager",
    "prometheus": "Prometheus",
    "grafana": "Grafana",
    "zabbix": "Zabbix",
    "夜莺": "夜莺",
}
_SOURCE = re.compile("|".join(_SOURCES), re.IGNORECASE)
_MONITORING = re.compile(r"监控|告警|报警|预警")
# "545笔失败", "共 545笔失败", "1.2万笔交易失败"; not "15笔均没有受影响" (no failure) nor
# "15笔均未失败" (a negation between the count and 失败).
_COUNT = r"(?P<count>[0-9]{1,3}(?:,[0-9]{3})+|[0-9]{1,13}(?:\.[0-9]{1,4})?)\s*(?P<wan>万)?\s*"
_COUNT_THEN_FAILED = re.compile(_COUNT + r"(?:笔|单)[^，。；,;\n未没无不]{0,8}?失败")
# "失败订单545笔", "失败共计545笔".
_FAILED_THEN_COUNT = re.compile(r"失败[^，。；,;\n0-9]{0,6}?" + _COUNT + r"(?:笔|单)")
# Business said to be untouched: 未影响业务, 对业务侧无影响, 15笔均没有受影响.
_NO_IMPACT = re.compile(
    r"未(?:受|造成|对业务造成)?影响|无影响|没有(?:受到?|造成)?(?:任何)?影响|不影响"
)
# Business said to be hit. "业务恢复" alone is not: the seed's 9/7 14:42 failover ends in 业务恢复
# yet its week counts one C/D incident only (the 545 failed orders), so such text stays unclear
# and goes to a person for review.
_IMPACT = re.compile(
    r"业务(?:受损|中断|受到?影响)|影响(?:了)?(?:业务|交易|支付|用户)|交易失败|支付失败|客诉|用户投诉"
)
# "持续2mins后恢复", "持续约5分钟", "持续1.5小时", "持续30秒".
_STATED_DURATION = re.compile(
    r"持续(?:了|约|近|大约)?\s*(?P<amount>[0-9]{1,5}(?:\.[0-9]{1,2})?)\s*"
    r"(?P<unit>分钟|分|minutes?|mins?|小时|hours?|hrs?|h|秒|seconds?|secs?|s)(?![a-z])",
    re.IGNORECASE,
)
# Minutes per unit, keyed by the unit's first character as matched above (分钟 and mins alike).
_MINUTES_PER_UNIT: dict[str, int | Decimal] = {
    "分": 1,
    "m": 1,
    "小": 60,
    "h": 60,
    "秒": Decimal(1) / 60,
    "s": Decimal(1) / 60,
}
# "00:45-01:03" (the seed's 银商 line): an outage window; an end before the start is past midnight.
_CLOCK_RANGE = re.compile(
    r"(?<![0-9])(?P<h1>[0-9]{1,2})[:：](?P<m1>[0-9]{2})\s*[-~～—–至到]\s*"
    r"(?P<h2>[0-9]{1,2})[:：](?P<m2>[0-9]{2})(?![0-9])"
)
_MINUTES_PER_DAY = 24 * 60


def parse_weekly_report(text: str, *, tz: ZoneInfo) -> ParsedReport:
    """The events listed in the report's 生产稳定性事件 section, detected in `tz`.

    Raises Invalid when the report has no heading giving its date, or no events section."""
    if len(text) > MAX_REPORT_CHARS:
        raise Invalid("text", f"longer than {MAX_REPORT_CHARS:,} characters")
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    report_date, week_number = _read_heading(lines)
    items, stray = _items_of(lines, _events_section(lines))
    events, unreadable = _read_items(items, report_date, tz)
    unreadable.extend(stray)
    unreadable.sort(key=lambda line: line.line_number)
    return ParsedReport(report_date, week_number, events, unreadable)


# --- heading and section ----------------------------------------------------------------------


def _read_heading(lines: list[str]) -> tuple[date, int | None]:
    """The report date and week number of the first heading. The seed repeats its heading
    (`2023-09-09`, then `2023/09/09`); a later report pasted below is cut off by the section end."""
    for line_number, line in enumerate(lines, 1):
        if match := _HEADING.match(line):
            return _heading_date(match, line_number)
    raise Invalid("heading", "no heading giving the report date, such as '# 第37周 2023-09-09'")


def _heading_date(match: re.Match[str], line_number: int) -> tuple[date, int | None]:
    year = int(match["year"])
    if not EARLIEST_YEAR <= year <= LATEST_YEAR:
        raise Invalid(
            "heading", f"line {line_number}: year {year} is outside {EARLIEST_YEAR}–{LATEST_YEAR}"
        )
    try:
        report_date = date(year, int(match["month"]), int(match["day"]))
    except ValueError as exc:
        raise Invalid("heading", f"line {line_number}: {exc}") from None
    written_week = match["hashed_week"] or match["week"]
    week_number = int(written_week) if written_week else None
    if week_number is not None and not 1 <= week_number <= 53:
        raise Invalid("heading", f"line {line_number}: there is no week {week_number}")
    return report_date, week_number


def _events_section(lines: list[str]) -> range:
    """Indexes of the lines between the 生产稳定性事件 title and the end of its section."""
    for index, line in enumerate(lines):
        if _EVENTS_TITLE.fullmatch(line):
            end = next(
                (
                    after
                    for after in range(index + 1, len(lines))
                    if _SECTION_END.match(lines[after])
                ),
                len(lines),
            )
            return range(index + 1, end)
    raise Invalid("events", "no 生产稳定性事件 section, such as '## 生产稳定性事件'")


# --- splitting the section into items -----------------------------------------------------------


@dataclass
class _Item:
    line_number: int
    indent: int
    lines: list[str] = field(default_factory=list)


def _items_of(lines: list[str], section: range) -> tuple[list[_Item], list[UnreadableLine]]:
    """The section's items, each with its continuation and 处置 lines, and any 处置 that follows
    no item."""
    items: list[_Item] = []
    stray: list[UnreadableLine] = []
    for index in section:
        line = lines[index]
        current = items[-1] if items else None
        if not line.strip():
            if current:
                current.lines.append(line)
            continue
        marker = _LIST_MARKER.match(line)
        text = line[marker.end() :] if marker else line.strip()
        if current is None and _REMEDIATION.match(text):
            stray.append(UnreadableLine(index + 1, line.strip(), "处置 without an item before it"))
        elif current is None and _NOTHING_TO_REPORT.fullmatch(text.strip()):
            continue
        elif _starts_item(marker, text, current):
            indent = len(marker["indent"].expandtabs(4)) if marker else 0
            items.append(_Item(index + 1, indent, [line]))
        elif current:
            current.lines.append(line)
        # What is left is prose before the first item, an introduction rather than an event.
    return items, stray


def _starts_item(marker: re.Match[str] | None, text: str, current: _Item | None) -> bool:
    if _REMEDIATION.match(text):
        return False
    if current is None:
        return marker is not None or _LEADING_DATE.match(text) is not None
    if marker is None:
        # A wrapped line belongs to its item even when it starts with a date ("9月7日履约…").
        return False
    # A list line indented deeper than its item is a sub-list, unless it opens with a date.
    indent = len(marker["indent"].expandtabs(4))
    return indent <= current.indent or _LEADING_DATE.match(text) is not None


# --- reading one item ---------------------------------------------------------------------------


def _read_items(
    items: list[_Item], report_date: date, tz: ZoneInfo
) -> tuple[list[ImportedEvent], list[UnreadableLine]]:
    events: list[ImportedEvent] = []
    unreadable: list[UnreadableLine] = []
    seen: dict[str, int] = {}
    for item in items:
        read = _read_item(item, report_date, tz)
        if isinstance(read, ImportedEvent) and read.fingerprint in seen:
            problem = f"the same item as line {seen[read.fingerprint]}"
            read = _unreadable(item, problem)
        if isinstance(read, ImportedEvent):
            seen[read.fingerprint] = read.line_number
            events.append(read)
        else:
            unreadable.append(read)
    return events, unreadable


def _unreadable(item: _Item, problem: str) -> UnreadableLine:
    return UnreadableLine(item.line_number, item.lines[0].strip(), problem)


def _read_item(item: _Item, report_date: date, tz: ZoneInfo) -> ImportedEvent | UnreadableLine:
    source_text = "\n".join(item.lines).strip()
    if problem := _unstorable(source_text):
        return _unreadable(item, problem)
    first = item.lines[0]
    marker = _LIST_MARKER.match(first)
    opening = first[marker.end() :] if marker else first.strip()
    time_match = _ITEM_TIME.match(opening)
    if time_match is None:
        return _unreadable(item, "no date and time at the start, expected e.g. '9/7 14:42 …'")
    try:
        detected_at = _detected_at(time_match, report_date, tz)
    except ValueError as exc:
        return _unreadable(item, str(exc))
    description, remediation = _description_and_remediation(
        opening[time_match.end() :], item.lines[1:]
    )
    description, marked_for_review = _without_review_marker(description)
    if not description:
        return _unreadable(item, "nothing after the time to say what happened")
    event = _event(item, source_text, detected_at, description, remediation, report_date)
    return replace(event, business_impact=None) if marked_for_review else event


# Stabilog's own report marks events whose business impact a person has yet to confirm; reading
# that report back keeps them unconfirmed rather than taking the marker for prose.
_REVIEW_MARKERS = tuple(labels["review"] for labels in LABELS.values())


def _without_review_marker(description: str) -> tuple[str, bool]:
    for marker in _REVIEW_MARKERS:
        if description.endswith(marker):
            return description.removesuffix(marker).rstrip(), True
    return description, False


def _unstorable(source_text: str) -> str | None:
    """Why the database could not keep this text, if it could not."""
    if len(source_text) > LONG:
        return f"longer than {LONG:,} characters"
    if "\x00" in source_text:
        return "contains a NUL character"
    try:
        source_text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains an unpaired UTF-16 surrogate"
    return None


def _detected_at(time_match: re.Match[str], report_date: date, tz: ZoneInfo) -> datetime:
    end_of_report_day = datetime.combine(report_date, time.max, tzinfo=tz)
    detected_at = parse_time(time_match["time"], tz=tz, reference=end_of_report_day)
    local_day = detected_at.astimezone(tz).date()
    if local_day > report_date:
        raise ValueError(f"dated after the report ({local_day} is after {report_date})")
    if time_match["year"] is None and local_day < report_date - _LOOKBACK:
        raise ValueError(
            f"dated after the report: {time_match['time']!r} is after {report_date} in "
            f"{report_date.year}, and {local_day} is more than {_LOOKBACK.days} days before it"
        )
    return detected_at


def _description_and_remediation(after_time: str, more_lines: list[str]) -> tuple[str, str | None]:
    """What happened (the item line and its wrapped lines) and the 处置 that follows it."""
    described: list[str] = []
    remedied: list[str] | None = None
    inline = _REMEDIATION.search(after_time)
    if inline:
        described.append(after_time[: inline.start()])
        remedied = [after_time[inline.end() :]]
    else:
        described.append(after_time)
    for line in more_lines:
        marker = _LIST_MARKER.match(line)
        text = line[marker.end() :] if marker else line
        if remedied is None and (starts := _REMEDIATION.match(text.strip())):
            remedied = [text.strip()[starts.end() :]]
        elif remedied is None:
            described.append(line)
        else:
            remedied.append(line)
    description = _joined(described)
    remediation = _joined(remedied) if remedied is not None else ""
    return description, remediation or None


def _joined(lines: list[str]) -> str:
    return "\n".join(stripped for line in lines if (stripped := line.strip()))


def _event(
    item: _Item,
    source_text: str,
    detected_at: datetime,
    description: str,
    remediation: str | None,
    report_date: date,
) -> ImportedEvent:
    whole = f"{description}\n{remediation or ''}"
    failed_orders = _failed_orders(whole)
    source = _source(description)
    monitored = source is not None or _MONITORING.search(description) is not None
    return ImportedEvent(
        line_number=item.line_number,
        source_text=source_text,
        detected_at=detected_at,
        title=_title(description),
        description=description,
        remediation=remediation,
        system=_system(description) or (_system(remediation) if remediation else None),
        detection=Detection.monitoring if monitored else None,
        source=source,
        failed_orders=failed_orders,
        business_impact=_business_impact(whole, failed_orders),
        impact_minutes=_impact_minutes(description, remediation),
        fingerprint=_fingerprint(report_date, source_text),
    )


# --- hints from the prose -----------------------------------------------------------------------


def _title(description: str) -> str:
    """The first clause, on one line and at most SHORT characters."""
    clauses = (" ".join(clause.split()) for clause in _CLAUSE_END.split(description))
    title = next((clause for clause in clauses if clause), " ".join(description.split()))
    if len(title) > SHORT:
        title = title[: SHORT - 1] + "…"
    return title


def _system(text: str) -> str | None:
    """The system named first in `text`."""
    candidates: list[tuple[int, str]] = []
    if counterparty := _COUNTERPARTY_SYSTEM.search(text):
        candidates.append((counterparty.start(), counterparty["party"] + counterparty["kind"]))
    if word := _SYSTEM_WORDS.search(text):
        candidates.append((word.start(), word.group().upper()))
    # At the same place the longer name wins: 银商移动专线 is 银商专线, not 银商.
    return min(candidates, key=lambda found: (found[0], -len(found[1])))[1] if candidates else None


def _source(description: str) -> str | None:
    named = _SOURCE.search(description)
    return _SOURCES[named.group().lower()] if named else None


def _failed_orders(text: str) -> int | None:
    """The largest failure count written, since a total and its breakdown may both appear."""
    counts = [
        _count(match)
        for pattern in (_COUNT_THEN_FAILED, _FAILED_THEN_COUNT)
        for match in pattern.finditer(text)
    ]
    plausible = [count for count in counts if count <= COUNT_MAX]
    return max(plausible) if plausible else None


def _count(match: re.Match[str]) -> int:
    amount = Decimal(match["count"].replace(",", ""))
    return int(amount * 10_000 if match["wan"] else amount)


def _business_impact(text: str, failed_orders: int | None) -> bool | None:
    """True when orders failed or business is said to have been hit, False when it is said not to
    have been; None leaves it to the person reviewing the import."""
    if failed_orders:
        return True
    if _NO_IMPACT.search(text):
        return False
    if _IMPACT.search(text):
        return True
    return None


def _impact_minutes(description: str, remediation: str | None) -> int | None:
    """A stated duration (持续2mins) or a clock window (00:45-01:03), the description first."""
    for text in (description, remediation or ""):
        for reader in (_stated_minutes, _window_minutes):
            minutes = reader(text)
            if minutes is not None:
                return minutes
    return None


def _stated_minutes(text: str) -> int | None:
    stated = _STATED_DURATION.search(text)
    if stated is None:
        return None
    per_unit = _MINUTES_PER_UNIT[stated["unit"][0].lower()]
    # Rounded up: a 30-second outage still cost availability, so it is not zero minutes.
    return math.ceil(Decimal(stated["amount"]) * per_unit)


def _window_minutes(text: str) -> int | None:
    for window in _CLOCK_RANGE.finditer(text):
        start_hour, start_minute, end_hour, end_minute = (
            int(window[name]) for name in ("h1", "m1", "h2", "m2")
        )
        if max(start_hour, end_hour) > 23 or max(start_minute, end_minute) > 59:
            continue
        start, end = start_hour * 60 + start_minute, end_hour * 60 + end_minute
        return (end - start) % _MINUTES_PER_DAY
    return None


def _fingerprint(report_date: date, source_text: str) -> str:
    """Same report date and same item text, same fingerprint: renumbering the list, re-indenting,
    or retyping full-width characters does not make an item new."""
    first, _, rest = source_text.partition("\n")
    marker = _LIST_MARKER.match(first)
    unmarked = first[marker.end() :] if marker else first
    normalised = "".join(unicodedata.normalize("NFKC", f"{unmarked}\n{rest}").split())
    return hashlib.sha256(f"{report_date.isoformat()}\n{normalised}".encode()).hexdigest()
