"""Read a weekly report (周报) and hand back the stability events it lists; no database.

The report is the seed's Markdown: a heading `# 第37周 2023-09-09` that dates it, and somewhere a
生产稳定性事件 section (`1. 生产稳定性事件：` inside 【O3 …】 in the seed, `## 生产稳定性事件` in
Stabilog's own output) listing one item per event:

    - 9/7 14:42 监控发现……，持续
    处置：停止新的 IP 解析，恢复原有的解析，业务恢复

What an item's prose says (counts, durations, money, systems, detection, impact) is read by the
phrase table of incidents/phrases.py, with the text each value came from. The report's own
statements about its week are read too: its 事故数 line (stated grade counts, which the importer
reconciles with the grades it computes) and its figures (支付成功率, 年度可用性, 健康分, 排名).

An item whose time cannot be read is returned as unreadable rather than dropped or guessed: the
import is all-or-nothing, and a person fixes the line. Everything read from an item's prose
(system, impact, counts, durations) is a best-effort hint that the importer may leave empty.

A date without a year takes the report's year, except that timeparse puts a date just past New
Year's Eve in the year before, as a report dated 2 January lists 28 December. An item dated after
the report, or (with no year written) so long before it that it must be a later date in the
report's year, is unreadable.
"""

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from incidents import phrases
from incidents.errors import Invalid
from incidents.models import LONG, SHORT, Detection
from incidents.report import LABELS
from incidents.timeparse import EARLIEST_YEAR, LATEST_YEAR, parse_time
from incidents.weeks import REPORT_WEEK_REACH

# A real report is a few thousand characters; the cap keeps a pasted log file from being searched.
MAX_REPORT_CHARS = 1_000_000
# A weekly report lists last week's events and the odd one found late (the seed's 8/31 in the 9/9
# report); filing refuses a report week further than REPORT_WEEK_REACH from the detection, so an
# item dated further back is a typo (the month, or a year-less date read into the last year).
_LOOKBACK = REPORT_WEEK_REACH


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
    failed_transactions: int | None = None
    affected_users: int | None = None
    amount_involved_cny: Decimal | None = None
    loss_cny: Decimal | None = None
    # Each value read, by field name, with the text it was read from ("detected_at": "9/7 14:42").
    evidence: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class UnreadableLine:
    line_number: int
    text: str
    problem: str


@dataclass(frozen=True)
class Stated:
    """A value the report states about its own week, with its line."""

    value: Decimal
    line_number: int
    text: str


@dataclass(frozen=True)
class ParsedReport:
    report_date: date
    week_number: int | None
    events: list[ImportedEvent]
    unreadable: list[UnreadableLine]
    # "事故数AB级0次，CD级1次": {"AB": 0, "CD": 1}; empty when the report does not say.
    stated_counts: dict[str, Stated] = field(default_factory=dict)
    # The figures of incidents/figures.py it states, plus "year_availability" (年度可用性).
    stated_figures: dict[str, Stated] = field(default_factory=dict)


# --- the report's structure -------------------------------------------------------------------

# "# 第37周 2023-09-09", "第37周 2023/09/09", "## 第37周 2023-09-09 稳定性周报",
# "# 2023-09-09 周报", in full-width digits too.
# A line counts as a heading when it is a Markdown heading or names its week, so that a body line
# such as the seed's "Created: 2023年11月29日 20:55" is not taken for the report date.
_HEADING = re.compile(
    r"\s*(?:\#{1,6}\s*(?:第\s*(?P<hashed_week>\d{1,3})\s*周\s*)?|第\s*(?P<week>\d{1,3})\s*周\s*)"
    r"(?P<year>\d{4})\s*[-/.年]\s*(?P<month>\d{1,2})\s*[-/.月]\s*(?P<day>\d{1,2})(?!\d)",
    re.ASCII,
)
# The seed numbers the section inside 【O3 …】 ("1. 生产稳定性事件："); Stabilog writes a heading.
_EVENTS_TITLE = re.compile(
    r"\s*(?:\#{1,6}\s*|(?:\d{1,2}|[一二三四五六七八九十]{1,3})\s*[.、)）]\s*|[-*+]\s+)?"
    r"【?生产稳定性事件】?\s*[:：]?\s*"
)
# The next Markdown heading, or a bare block title such as the seed's 【其他】, ends the section.
_SECTION_END = re.compile(r"\s*(?:\#|【[^】]*】\s*$)")
# "- " in the seed, "1. " in Stabilog's output; also the other Markdown bullets and "1、" as
# Chinese input methods type it ("１．" in full width). ASCII markers need a space after them,
# as in Markdown, so that a wrapped line starting "2.5小时后恢复" is not read as item 2.
_LIST_MARKER = re.compile(r"(?P<indent>\s*)(?:[-*+]\s+|•\s*|\d{1,3}[.)．]\s+|\d{1,3}[、）]\s*)")
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
# 事故数AB级0次，CD级1次 / A/B级事故1起，C/D级事故0起 / AB类：1 起；CD类：2 起.
_STATED_COUNTS = re.compile(
    r"A\s*[/、]?\s*B\s*(?:级|类)?\s*(?:事故|故障)?\s*(?:数)?\s*[:：]?\s*(?P<AB>[0-9]{1,3})\s*(?:次|起|个|件)"
    r"[^0-9\n]{0,12}?"
    r"C\s*[/、]?\s*D\s*(?:级|类)?\s*(?:事故|故障)?\s*(?:数)?\s*[:：]?\s*(?P<CD>[0-9]{1,3})\s*(?:次|起|个|件)"
)
_PERCENT = r"\s*(?:为|[:：])?\s*(?P<value>[0-9]{1,3}(?:\.[0-9]{1,6})?)\s*%"
# The report's figures for its week; the first line stating each wins (the seed states 健康分 in
# its 重点工作 before restating a later one in O3).
_STATED_FIGURES = {
    "deposit_success_rate": re.compile(r"入金(?:有效)?成功率" + _PERCENT),
    "payout_success_rate": re.compile(r"出金(?:有效)?成功率" + _PERCENT),
    "first_pay_success_rate": re.compile(r"一次(?:性)?支付成功率" + _PERCENT),
    "year_availability": re.compile(r"年度可用性" + _PERCENT),
    "health_score": re.compile(
        r"健康分\s*(?:为|[:：])?\s*(?P<value>[0-9]{1,4}(?:\.[0-9]{1,2})?)(?![0-9%])"
    ),
    "health_rank": re.compile(r"排名\s*(?:为|[:：])?\s*第?\s*(?P<value>[0-9]{1,3})(?![0-9])"),
}


def parse_weekly_report(text: str, *, tz: ZoneInfo) -> ParsedReport:
    """The events listed in the report's 生产稳定性事件 section, detected in `tz`.

    Raises Invalid when the report has no heading giving its date, or no events section."""
    if len(text) > MAX_REPORT_CHARS:
        raise Invalid("text", code="text_too_long", params={"limit": f"{MAX_REPORT_CHARS:,}"})
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    report_date, week_number = _read_heading(lines)
    items, stray = _items_of(lines, _events_section(lines))
    events, unreadable = _read_items(items, report_date, tz)
    unreadable.extend(stray)
    unreadable.sort(key=lambda line: line.line_number)
    counts, figures = _statements(lines)
    return ParsedReport(report_date, week_number, events, unreadable, counts, figures)


def _statements(lines: list[str]) -> tuple[dict[str, Stated], dict[str, Stated]]:
    """The grade counts and figures the report states about its week, each from its first line."""
    counts: dict[str, Stated] = {}
    figures: dict[str, Stated] = {}
    for line_number, line in enumerate(lines, 1):
        view = phrases.ascii_view(line)
        if not counts and (stated := _STATED_COUNTS.search(view)):
            counts = {
                bucket: Stated(Decimal(stated[bucket]), line_number, line.strip())
                for bucket in ("AB", "CD")
            }
        for name, pattern in _STATED_FIGURES.items():
            if name not in figures and (figure := pattern.search(view)):
                figures[name] = Stated(Decimal(figure["value"]), line_number, line.strip())
    return counts, figures


# --- heading and section ----------------------------------------------------------------------


def _read_heading(lines: list[str]) -> tuple[date, int | None]:
    """The report date and week number of the first heading. The seed repeats its heading
    (`2023-09-09`, then `2023/09/09`); a later report pasted below is cut off by the section end."""
    for line_number, line in enumerate(lines, 1):
        if match := _HEADING.match(phrases.ascii_view(line)):
            return _heading_date(match, line_number)
    raise Invalid("heading", code="no_heading")


def _heading_date(match: re.Match[str], line_number: int) -> tuple[date, int | None]:
    year = int(match["year"])
    if not EARLIEST_YEAR <= year <= LATEST_YEAR:
        where = {"line": line_number, "year": year, "first": EARLIEST_YEAR, "last": LATEST_YEAR}
        raise Invalid("heading", code="heading_year", params=where)
    try:
        report_date = date(year, int(match["month"]), int(match["day"]))
    except ValueError as exc:
        problem = {"line": line_number, "problem": str(exc)}
        raise Invalid("heading", code="heading_date", params=problem) from None
    written_week = match["hashed_week"] or match["week"]
    week_number = int(written_week) if written_week else None
    if week_number is not None and not 1 <= week_number <= 53:
        where = {"line": line_number, "week": week_number}
        raise Invalid("heading", code="heading_week", params=where)
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
    raise Invalid("events", code="no_events_section")


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
    event = _event(
        item,
        source_text,
        (detected_at, time_match["time"]),
        description,
        remediation,
        report_date,
        tz,
    )
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
            f"dated after the report, or more than {_LOOKBACK.days // 7} weeks before it: "
            f"{time_match['time']!r} reads as {local_day} for a report of {report_date}"
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
    opened: tuple[datetime, str],
    description: str,
    remediation: str | None,
    report_date: date,
    tz: ZoneInfo,
) -> ImportedEvent:
    """The event of an item opened at `opened` (the instant and the text it was read from)."""
    detected_at, time_text = opened
    local = detected_at.astimezone(tz)
    opened_at = (local.hour, local.minute)
    said = phrases.read_facts(description, opened_at=opened_at)
    done = phrases.read_facts(remediation or "", opened_at=opened_at)
    # Counts, money and impact may be written in either part ("处置：…期间15笔均没有受影响").
    whole = phrases.read_facts(f"{description}\n{remediation or ''}", opened_at=opened_at)
    found: dict[str, phrases.Found[object] | None] = {
        "system": said.system or done.system,
        "detection": said.detection,
        "source": said.source,
        "failed_orders": whole.failed_orders,
        "failed_transactions": whole.failed_transactions,
        "affected_users": whole.affected_users,
        "amount_involved_cny": whole.amount_involved_cny,
        "loss_cny": whole.loss_cny,
        "business_impact": whole.business_impact,
        "impact_minutes": said.impact_minutes or done.impact_minutes,
    }
    if found["detection"] is None and found["source"] is not None:
        # Naming a monitoring tool is both the source and proof that monitoring found it.
        found["detection"] = phrases.Found(Detection.monitoring, found["source"].span)
    values = {name: hit.value if hit else None for name, hit in found.items()}
    evidence = {"detected_at": time_text} | {
        name: hit.span.text for name, hit in found.items() if hit is not None
    }
    return ImportedEvent(
        line_number=item.line_number,
        source_text=source_text,
        detected_at=detected_at,
        title=_title(description),
        description=description,
        remediation=remediation,
        fingerprint=_fingerprint(report_date, source_text),
        evidence=evidence,
        **values,  # type: ignore[arg-type]
    )


# --- hints from the prose -----------------------------------------------------------------------


def _title(description: str) -> str:
    """The first clause, on one line and at most SHORT characters."""
    clauses = (" ".join(clause.split()) for clause in _CLAUSE_END.split(description))
    title = next((clause for clause in clauses if clause), " ".join(description.split()))
    if len(title) > SHORT:
        title = title[: SHORT - 1] + "…"
    return title


def _fingerprint(report_date: date, source_text: str) -> str:
    """Same report date and same item text, same fingerprint: renumbering the list, re-indenting,
    or retyping full-width characters does not make an item new."""
    first, _, rest = source_text.partition("\n")
    marker = _LIST_MARKER.match(first)
    unmarked = first[marker.end() :] if marker else first
    normalised = "".join(unicodedata.normalize("NFKC", f"{unmarked}\n{rest}").split())
    return hashlib.sha256(f"{report_date.isoformat()}\n{normalised}".encode()).hexdigest()
