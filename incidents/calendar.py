"""The team's calendar: its time zone, how it numbers report weeks, its report day and its
working days. One frozen value, built from the settings at the edge (app, CLI, scheduler) and
handed to the domain explicitly.

The one ambient use is reading and showing times in request and command bodies: pydantic
validates `Moment` fields before any domain function runs, so the zone they are read in comes
from `active_calendar()`, which the app sets per request and the CLI per command
(`Calendar.activated`). Outside both it is the default calendar.

Working days are those of mainland China's statutory calendar (holidays and the 调休 weekend days
worked in their place, from the `chinesecalendar` package), overridden by the team's own file
(`STABILOG_CALENDAR_FILE`, docs/calendar.md): company holidays, 封网 freeze days, extra working
days.
"""

import logging
import re
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import chinese_calendar

from incidents.errors import ConfigFileError, read_config_file
from incidents.periods import Period, parse_period
from incidents.weeks import Numbering, Week, parse_week, week_by_number, week_of

Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WORKING_WEEKDAYS = frozenset(range(5))  # Monday to Friday

logger = logging.getLogger("stabilog.calendar")


@dataclass(frozen=True)
class Calendar:
    timezone: str = "Asia/Shanghai"
    # The team counts weeks Monday-first with the week holding 1 January as week 1 (第37周 for
    # 2023-09-09, where ISO says 36); `iso` is there for teams that follow ISO 8601.
    week_numbering: Numbering = "jan1"
    report_day: Weekday = "saturday"
    # The team file's days (`load_team_days`); they win over the statutory calendar.
    team_holidays: frozenset[date] = frozenset()
    team_working_days: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {self.timezone!r}") from exc

    @cached_property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    # --- weeks --------------------------------------------------------------------------------

    def week_of(self, day: date) -> Week:
        return week_of(day, self.week_numbering, self.report_day)

    def week_at(self, moment: datetime) -> Week:
        """The week a moment falls in, on the team's wall clock."""
        return self.week_of(self.local_date(moment))

    def week_by_number(self, year: int, number: int) -> Week:
        return week_by_number(year, number, self.week_numbering, self.report_day)

    def parse_week(self, text: str) -> Week:
        """A week named by any date inside it (2023-09-09) or by its label (2023-W37)."""
        return parse_week(text, self.week_numbering, self.report_day)

    def report_week_of(self, detected_at: datetime, report_week: date | None) -> Week:
        """The week whose report an incident belongs to: the week it names, else the week of its
        detection. `Incident.in_week` is the same rule as a query."""
        if report_week is not None:
            return self.week_of(report_week)
        return self.week_at(detected_at)

    def window(self, week: Week) -> tuple[datetime, datetime]:
        """[start, end) of the week in UTC, for comparison with stored times."""
        return self.day_start(week.monday), self.day_start(week.monday + timedelta(days=7))

    # --- report periods (incidents/periods.py) ------------------------------------------------

    def parse_period(self, text: str) -> Period:
        """2023-09, 2023-Q3, 2023-H2, 2023 or 2023-07-01..2023-09-30 (dates inclusive)."""
        return parse_period(text)

    def period_window(self, period: Period) -> tuple[datetime, datetime]:
        """[start, end) of the period's days on the team's wall clock, in UTC."""
        return self.day_start(period.first), self.day_start(period.last + timedelta(days=1))

    # --- days and times -----------------------------------------------------------------------

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tz)

    def local_date(self, moment: datetime) -> date:
        return self.local(moment).date()

    def today(self, now: datetime | None = None) -> date:
        return self.local_date(now or datetime.now(UTC))

    def day_start(self, day: date) -> datetime:
        """Midnight of `day` on the team's wall clock, in UTC."""
        return datetime.combine(day, time(), tzinfo=self.tz).astimezone(UTC)

    def is_working_day(self, day: date) -> bool:
        """The team file first, then the statutory calendar; for a year the package does not know
        yet, Monday to Friday (with a warning, once per year and process)."""
        if day in self.team_holidays:
            return False
        if day in self.team_working_days:
            return True
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:  # how the package says it has no data for the year
            _warn_unknown_year(day.year)
            return day.weekday() in WORKING_WEEKDAYS

    def working_days_after(self, start: date, working_days: int) -> date:
        """The date `working_days` working days after `start`."""
        due = start
        remaining = working_days
        while remaining:
            due += timedelta(days=1)
            if self.is_working_day(due):
                remaining -= 1
        return due

    # --- the zone of typed times --------------------------------------------------------------

    @contextmanager
    def activated(self) -> Iterator["Calendar"]:
        """Read and show the times of request and command bodies in this calendar's zone."""
        token = _active.set(self)
        try:
            yield self
        finally:
            _active.reset(token)


DEFAULT_CALENDAR = Calendar()
_active: ContextVar[Calendar] = ContextVar("stabilog_calendar", default=DEFAULT_CALENDAR)


def active_calendar() -> Calendar:
    return _active.get()


# --- the statutory calendar -------------------------------------------------------------------

_years_warned: set[int] = set()


def _warn_unknown_year(year: int) -> None:
    if year not in _years_warned:
        _years_warned.add(year)
        logger.warning(
            "the statutory calendar (chinesecalendar %s) has no data for %d: working days in %d"
            " count Monday to Friday; upgrade chinesecalendar once the State Council publishes"
            " the year's holidays",
            chinese_calendar.__version__,
            year,
            year,
        )


def statutory_years() -> range:
    """The years the installed `chinesecalendar` knows: the range it checks dates against."""
    known = chinese_calendar.holidays.keys()
    return range(min(known).year, max(known).year + 1)


# --- the team's file ----------------------------------------------------------------------------

TEAM_TABLES = ("holidays", "working_days")
_TOML_ERROR_POSITION = re.compile(r"^(?P<problem>.*) \(at line (?P<line>\d+), column \d+\)$")
_TABLE_HEADER = re.compile(r"^\s*\[\s*(?P<name>[^\]]*?)\s*\]")
_KEY = re.compile(r"""^\s*["']?(?P<key>[^"'=\s]+)["']?\s*=""")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class CalendarFileError(ConfigFileError):
    """A team calendar file that cannot be used."""


@dataclass(frozen=True)
class TeamDays:
    """The team's own days, with the note written beside each."""

    holidays: dict[date, str]
    working_days: dict[date, str]


def load_team_days(path: Path | None) -> TeamDays:
    """The days in the team's file, or none when no file is configured."""
    if path is None:
        return TeamDays({}, {})
    text = read_config_file(path, CalendarFileError)
    return parse_team_days(text, source_name=str(path))


def parse_team_days(text: str, *, source_name: str) -> TeamDays:
    """The days of a team file's text; `CalendarFileError` names the line of the first problem."""

    def refuse(line: int | None, problem: str) -> CalendarFileError:
        return CalendarFileError(source_name, line, problem)

    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        position = _TOML_ERROR_POSITION.match(str(exc))
        if position is None:  # "(at end of document)" or a future message format
            raise refuse(None, f"invalid TOML: {exc}") from exc
        raise refuse(int(position["line"]), f"invalid TOML: {position['problem']}") from exc
    lines = _lines_of_keys(text)
    found: dict[str, dict[date, str]] = {table: {} for table in TEAM_TABLES}
    for table, entries in document.items():
        if table not in TEAM_TABLES:
            raise refuse(
                lines.get((table, None)), f"unknown {table!r}: expected [holidays], [working_days]"
            )
        if not isinstance(entries, dict):
            raise refuse(
                lines.get((table, None)), f'[{table}] is a table: one 2024-10-08 = "note" a line'
            )
        for key, note in entries.items():
            line = lines.get((table, key))
            if not _ISO_DATE.fullmatch(key):
                raise refuse(line, f"[{table}] {key!r} is not a date like 2024-10-08")
            try:
                day = date.fromisoformat(key)
            except ValueError as exc:
                raise refuse(line, f"[{table}] {key}: {exc}") from exc
            if not isinstance(note, str):
                raise refuse(line, f'[{table}] {key}: the value is a note in quotes, "" for none')
            found[table][day] = note
    holidays, working_days = found["holidays"], found["working_days"]
    if both := sorted(holidays.keys() & working_days.keys()):
        key = both[0].isoformat()
        raise refuse(
            lines.get(("working_days", key)),
            f"{key} is in [working_days] and in [holidays] (line {lines.get(('holidays', key))})",
        )
    return TeamDays(holidays, working_days)


def _lines_of_keys(text: str) -> dict[tuple[str, str | None], int]:
    """1-based line of each table header (table, None) and each key (table, key)."""
    lines: dict[tuple[str, str | None], int] = {}
    table = ""
    for number, line in enumerate(text.splitlines(), start=1):
        if header := _TABLE_HEADER.match(line):
            table = header["name"].strip("[\"' ")
            lines.setdefault((table, None), number)
        elif key := _KEY.match(line):
            lines.setdefault((table, key["key"]), number)
            if not table:  # a key above every table
                lines.setdefault((key["key"], None), number)
    return lines
