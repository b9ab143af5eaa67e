"""Read the times people type into Stabilog and hand them back as aware UTC datetimes.

Accepted, in `STABILOG_TIMEZONE` unless an offset is written:

- ISO 8601: `2023-09-07T14:42:00+08:00`, `…Z`, or without offset `2023-09-07 14:42:05`;
- a date with its year: `2023/09/07 14:42`, `2023-9-7 14:42`, `2023年9月7日 14:42`;
- the on-call shorthand: `9/7 14:42`, `9/7 14:42:30`, `9月7日 14:42`, `9月7号 14点42分`,
  `14点半`, `昨天 22:10`, `今天 08:00`, `前天 23:59`, a bare `14:42` (its day: below), and
  full-width digits and colons as Chinese input methods type them;
- a day part before the clock: `凌晨` (00–05), `早上`/`上午` (as written), `中午` (11–13, 1 → 13),
  `下午`/`晚上` (+12 before noon), as in `9/8 凌晨00:45` or `昨天晚上10:10`;
- with `date_means_midnight`, a bare ISO date `2023-09-04`: the start of that day (for the ends
  of a range, where a day is the natural unit; an incident's time needs its clock);
- a moment counted back from the reference, as on-call says it at 3 a.m.: `现在`, `刚才`, `刚刚`,
  `10分钟前`, `十分钟前`, `半小时前`, `2小时前`, `两个小时前`, `1个半小时前`, and in English `now`,
  `just now`, `10 min ago`, `2 hours ago`, `an hour ago`, `half an hour ago`; to the minute, as the
  form shows it (the seconds of "now" are noise, and a filed minute must match the one shown).

A clock without its day (`14:42`, `晚上10:10`) is the reference's day; with `recent_past` (the
times of an incident, which has happened) it is the most recent such moment instead: `14:42` typed
at 13:45 is yesterday's, and `read_time` says so (`moved_back`). A clock up to `CLOCK_SLACK` ahead
of the reference stays today, since a watch a minute fast should not move an incident a day.

A date without a year takes the latest year that puts it no more than a day after the reference,
so `12/31 23:00` typed on 1 January is last year's. It is never thrown a whole year back just to
stay out of the future: `9/7 23:00` typed on 7 September at 13:45 is that evening, which filing
refuses as a future time unless confirmed, rather than an incident a year old.

Daylight saving: a wall time inside the spring-forward gap never showed on any clock, so it is a
typo and guessing would move the incident by an hour unnoticed; it is refused. A wall time inside
the autumn overlap happened twice and the text cannot say which; refusing would leave an hour a
year that nobody can log, so it takes the first occurrence (fold=0), which is also what zoneinfo
and a person watching the clock would pick first.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.parser import isoparse

MAX_INPUT_LENGTH = 64
# Nothing in a payment team's log predates Unix time; a wider range only lets typos through.
EARLIEST_YEAR = 1970
LATEST_YEAR = 2200
_A_LEAP_YEAR = 2000
# How far ahead of the reference a typed clock may be and still be today (and a filed time still
# not be "in the future"): a watch running a little fast, the minute turning while typing.
CLOCK_SLACK = timedelta(minutes=5)
# The furthest back a counted-back time reaches ("9999分钟前" is a typo, not a week ago).
_LONGEST_AGO = timedelta(days=7)

_FORMAT_HINT = (
    "expected ISO 8601 or on-call shorthand such as '9/7 14:42', '9月7日 14:42', '昨天 22:10',"
    " '现在', '10分钟前'"
)

# Chinese input methods type full-width digits, colons, slashes and spaces.
_FULL_WIDTH_TO_ASCII = str.maketrans("０１２３４５６７８９：／　", "0123456789:/ ")

_ISO_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ](?P<hour>\d{2}):\d{2}(?::\d{2}(?:[.,]\d{1,6})?)?"
    r"(?:Z|[+-]\d{2}(?::?\d{2})?)?",
    re.ASCII,
)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_DAYS_BACK = {"今天": 0, "昨天": 1, "前天": 2}
_CHINESE_DATE = re.compile(
    r"(?:(?P<year>\d{4})年)?(?P<month>\d{1,2})月(?P<day>\d{1,2})[日号]", re.ASCII
)
# The lookahead stops '9/714:42' from reading as the 71st: the day must end before the clock.
_NUMERIC_DATE = re.compile(
    r"(?:(?P<year>\d{4})[-/])?(?P<month>\d{1,2})[-/](?P<day>\d{1,2})(?!\d)", re.ASCII
)
_DAY_PART = re.compile(r"凌晨|早上|上午|中午|下午|晚上")
_COLON_CLOCK = re.compile(r"(?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second>\d{2}))?", re.ASCII)
_NOW = re.compile(r"现在|刚才|刚刚|now|just now|right now", re.IGNORECASE)
# 10分钟前, 十分钟前, 半小时前, 2小时前, 两个小时前, 1个半小时前 (an hour and a half).
_CHINESE_AGO = re.compile(
    r"(?P<number>\d{1,4}|[一二两三四五六七八九十]{1,3})?\s*(?:个)?(?P<half>半)?\s*"
    r"(?P<unit>分钟|分|小时|钟头)\s*(?:以)?前"
)
_ENGLISH_AGO = re.compile(
    r"(?P<number>\d{1,4}|an?|half an)\s*(?P<unit>m|mins?|minutes?|h|hrs?|hours?)\s+ago",
    re.IGNORECASE | re.ASCII,
)
_CHINESE_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7}
_CHINESE_DIGITS |= {"八": 8, "九": 9}
_CHINESE_CLOCK = re.compile(
    r"(?P<hour>\d{1,2})点(?:(?P<minute>\d{1,2})(?:分(?:(?P<second>\d{1,2})秒)?)?|(?P<half>半))?",
    re.ASCII,
)


@dataclass(frozen=True)
class TimeRead:
    """The instant read (UTC) and how its day was found, for a form to say it."""

    at: datetime
    # Counted back from the reference: 现在, 10分钟前, 2 hours ago.
    relative: bool = False
    # A clock without its day, taken as yesterday's because today's was still ahead.
    moved_back: bool = False


def parse_time(
    text: str,
    *,
    tz: ZoneInfo,
    reference: datetime,
    date_means_midnight: bool = False,
    recent_past: bool = False,
) -> datetime:
    """The instant `text` names, in UTC; `reference` ("now", or a report's date) fills in the
    missing date or year. A bare ISO date is the start of its day in `tz` when
    `date_means_midnight`, else refused; a clock without its day is the most recent such moment
    when `recent_past`, else the reference's day. Raises ValueError naming the input when
    unreadable."""
    return read_time(
        text,
        tz=tz,
        reference=reference,
        date_means_midnight=date_means_midnight,
        recent_past=recent_past,
    ).at


def read_time(
    text: str,
    *,
    tz: ZoneInfo,
    reference: datetime,
    date_means_midnight: bool = False,
    recent_past: bool = False,
) -> TimeRead:
    """`parse_time`, saying also how the day was found (see TimeRead)."""
    if reference.tzinfo is None:
        raise ValueError("reference must be an aware datetime")
    try:
        cleaned = _cleaned(text)
        if iso_match := _ISO_DATETIME.fullmatch(cleaned):
            return TimeRead(_from_iso(cleaned, iso_match, tz))
        if _ISO_DATE.fullmatch(cleaned):
            if not date_means_midnight:
                raise ValueError("a date without its time of day; expected e.g. '2023-09-07 14:42'")
            return TimeRead(_start_of_day(date.fromisoformat(cleaned), tz))
        if (ago := _time_ago(cleaned)) is not None:
            return TimeRead(_minute_of(reference - ago, tz), relative=True)
        return _from_shorthand(cleaned, tz, reference, recent_past=recent_past)
    except ValueError as exc:
        raise ValueError(f"unreadable time {_shown(text)}: {exc}") from exc


def to_local(moment: datetime, tz: ZoneInfo) -> datetime:
    """`moment` on the wall clock of `tz`; a naive `moment` is UTC, as SQLite hands it back."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(tz)


def _shown(text: str) -> str:
    if len(text) > MAX_INPUT_LENGTH:
        return repr(text[:MAX_INPUT_LENGTH] + "…")
    return repr(text)


def _cleaned(text: str) -> str:
    cleaned = text.translate(_FULL_WIDTH_TO_ASCII).strip()
    if not cleaned:
        raise ValueError("it is empty")
    # Checked before any regex runs, so a pasted log file is refused without being searched.
    if len(cleaned) > MAX_INPUT_LENGTH:
        raise ValueError(f"longer than {MAX_INPUT_LENGTH} characters")
    return cleaned


def _from_iso(cleaned: str, iso_match: re.Match[str], tz: ZoneInfo) -> datetime:
    # isoparse reads 24:00 as the next midnight; the shorthand refuses hour 24, so ISO does too.
    if iso_match["hour"] == "24":
        raise ValueError("hour 24 is past 23")
    parsed = isoparse(cleaned)
    _check_year(parsed.year)
    if parsed.tzinfo is None:
        return _wall_clock_to_utc(parsed, tz)
    return parsed.astimezone(UTC)


def _time_ago(cleaned: str) -> timedelta | None:
    """How far back a counted-back time (现在, 10分钟前, 2 hours ago) is; None if it is not one."""
    if _NOW.fullmatch(cleaned):
        return timedelta(0)
    if ago_match := _CHINESE_AGO.fullmatch(cleaned) or _ENGLISH_AGO.fullmatch(cleaned):
        ago = _ago(ago_match)
        if ago > _LONGEST_AGO:
            raise ValueError(f"more than {_LONGEST_AGO.days} days ago; write the date")
        return ago
    return None


def _ago(ago_match: re.Match[str]) -> timedelta:
    written = (ago_match["number"] or "").lower()
    minutes_per_unit = 1 if ago_match["unit"][0].lower() in "m分" else 60
    half = ago_match.groupdict().get("half") is not None or written == "half an"
    if half and minutes_per_unit == 1:
        raise ValueError("half a minute is not a time to log; write 现在")
    if written.isdigit():
        count = int(written)
    elif written in ("", "half an"):
        count = 0 if half else 1  # 半小时前 is half of one; 小时前 alone, one
    elif written in ("a", "an"):
        count = 1
    else:
        count = _small_chinese_number(written)
    return timedelta(minutes=count * minutes_per_unit + (30 if half else 0))


def _small_chinese_number(written: str) -> int:
    """一 to 九十九 as written in 十分钟前, 二十分钟前, 四十五分钟前."""
    tens, _ten, ones = written.partition("十")
    if not _ten:
        if len(written) != 1:
            raise ValueError(f"cannot read the number {written}")
        return _CHINESE_DIGITS[written]
    if len(tens) > 1 or len(ones) > 1 or "十" in ones:
        raise ValueError(f"cannot read the number {written}")
    return _CHINESE_DIGITS.get(tens, 1) * 10 + _CHINESE_DIGITS.get(ones, 0)


def _minute_of(moment: datetime, tz: ZoneInfo) -> datetime:
    # Cut on the wall clock, not in UTC: a zone's offset may have seconds (LMT before 1900).
    return moment.astimezone(tz).replace(second=0, microsecond=0).astimezone(UTC)


def _from_shorthand(
    cleaned: str, tz: ZoneInfo, reference: datetime, *, recent_past: bool
) -> TimeRead:
    reference_day = reference.astimezone(tz).date()
    day, rest = _read_day(cleaned, reference_day)
    rest = rest.lstrip()
    day_part = None
    if day_part_match := _DAY_PART.match(rest):
        day_part = day_part_match.group()
        rest = rest[day_part_match.end() :].lstrip()
    hour, minute, second = _read_clock(rest)
    hour = _hour_in_day_part(hour, day_part)
    clock = time(hour, minute, second)
    moment = _wall_clock_to_utc(datetime.combine(day or reference_day, clock), tz)
    if day is None and recent_past and moment > reference + CLOCK_SLACK:
        # Today's is still ahead, so the clock meant yesterday's.
        yesterday = reference_day - timedelta(days=1)
        return TimeRead(_wall_clock_to_utc(datetime.combine(yesterday, clock), tz), moved_back=True)
    return TimeRead(moment)


def _read_day(cleaned: str, reference_day: date) -> tuple[date | None, str]:
    """The day at the start of `cleaned` and what follows it; None if it names no day."""
    for word, days_back in _DAYS_BACK.items():
        if cleaned.startswith(word):
            return reference_day - timedelta(days=days_back), cleaned[len(word) :]
    for pattern in (_CHINESE_DATE, _NUMERIC_DATE):
        if date_match := pattern.match(cleaned):
            return _calendar_day(date_match, reference_day), cleaned[date_match.end() :]
    return None, cleaned


def _calendar_day(date_match: re.Match[str], reference_day: date) -> date:
    month, day = int(date_match["month"]), int(date_match["day"])
    try:
        date(_A_LEAP_YEAR, month, day)
    except ValueError:
        # Said before any year is inferred, so that 9/77 is not blamed on the year.
        raise ValueError(f"there is no {month}/{day}") from None
    year = int(date_match["year"]) if date_match["year"] else _year_for(month, day, reference_day)
    _check_year(year)
    try:
        return date(year, month, day)
    except ValueError:
        raise ValueError(f"there is no {month}/{day} in {year}") from None


def _year_for(month: int, day: int, reference_day: date) -> int:
    # A day typed without its year is nearly always in the past. The day of slack keeps a time
    # just past the reference (a clock running ahead, an importer's report dated the evening
    # before) in this year instead of throwing it back a whole year.
    latest = reference_day + timedelta(days=1)
    if (month, day) <= (latest.month, latest.day):
        return latest.year
    return latest.year - 1


def _read_clock(rest: str) -> tuple[int, int, int]:
    if clock_match := _COLON_CLOCK.fullmatch(rest):
        minute = int(clock_match["minute"])
    elif clock_match := _CHINESE_CLOCK.fullmatch(rest):
        minute = 30 if clock_match["half"] else int(clock_match["minute"] or 0)
    else:
        raise ValueError(_FORMAT_HINT)
    hour, second = int(clock_match["hour"]), int(clock_match["second"] or 0)
    _check_clock(hour, minute, second)
    return hour, minute, second


def _check_clock(hour: int, minute: int, second: int) -> None:
    if hour > 23:
        raise ValueError(f"hour {hour} is past 23")
    if minute > 59:
        raise ValueError(f"minute {minute} is past 59")
    if second > 59:
        raise ValueError(f"second {second} is past 59")


def _check_year(year: int) -> None:
    if not EARLIEST_YEAR <= year <= LATEST_YEAR:
        raise ValueError(f"year {year} is outside {EARLIEST_YEAR}–{LATEST_YEAR}")


def _hour_in_day_part(hour: int, day_part: str | None) -> int:
    """The 24-hour hour for `hour` said with `day_part`; a contradiction such as 凌晨 9 is refused
    rather than guessed, since a wrong incident time is worse than a question."""
    match day_part:
        case None:
            return hour
        case "凌晨" if hour <= 5:
            return hour
        case "早上" | "上午" if hour <= 12:
            return hour
        case "中午" if hour == 1:
            return 13
        case "中午" if 11 <= hour <= 13:
            return hour
        case "下午":
            return hour + 12 if hour < 12 else hour
        # 晚上12点 is midnight to some and noon by the +12 rule, and 晚上0点 the same riddle.
        case "晚上" if hour not in (0, 12):
            return hour + 12 if hour < 12 else hour
    raise ValueError(f"{day_part} does not fit hour {hour}")


def _start_of_day(day: date, tz: ZoneInfo) -> datetime:
    _check_year(day.year)
    # Not _wall_clock_to_utc: where the clocks skip midnight (America/Santiago's spring), the
    # day starts at 01:00, and fold=0 reads the missing 00:00 with the old offset, which is
    # exactly that instant, instead of refusing a day that plainly exists.
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)


def _wall_clock_to_utc(wall: datetime, tz: ZoneInfo) -> datetime:
    local = wall.replace(tzinfo=tz, fold=0)
    # A time in the spring-forward gap does not survive the trip through UTC and back.
    if local.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != wall:
        raise ValueError(f"{wall:%Y-%m-%d %H:%M} does not exist in {tz}: the clocks skip it")
    return local.astimezone(UTC)
