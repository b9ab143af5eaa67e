"""The team's calendar: its time zone, how it numbers report weeks, its report day and its
working days. One frozen value, built from the settings at the edge (app, CLI, scheduler) and
handed to the domain explicitly.

The one ambient use is reading and showing times in request and command bodies: pydantic
validates `Moment` fields before any domain function runs, so the zone they are read in comes
from `active_calendar()`, which the app sets per request and the CLI per command
(`Calendar.activated`). Outside both it is the default calendar.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from incidents.weeks import Numbering, Week, parse_week, week_by_number, week_of

Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WORKING_WEEKDAYS = frozenset(range(5))  # Monday to Friday


@dataclass(frozen=True)
class Calendar:
    timezone: str = "Asia/Shanghai"
    # The team counts weeks Monday-first with the week holding 1 January as week 1 (第37周 for
    # 2023-09-09, where ISO says 36); `iso` is there for teams that follow ISO 8601.
    week_numbering: Numbering = "jan1"
    report_day: Weekday = "saturday"

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
