"""Report periods: a month (2023-09), a quarter (2023-Q3), a half (2023-H2), a year (2023) or a
range of dates, both inclusive (2023-07-01..2023-09-30). Pure date arithmetic, like weeks.py;
the calendar (`Calendar.parse_period`, `Calendar.period_window`) places them in the team's zone.

The previous period is the one of the same kind before it (2023-Q2 before 2023-Q3); a range's is
the range of the same number of days ending the day before it starts.
"""

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from incidents.errors import Invalid
from incidents.timeparse import EARLIEST_YEAR, LATEST_YEAR

PeriodKind = Literal["month", "quarter", "half", "year", "range"]
# A report over more than this is a different tool's job (and a scan of every row since).
MAX_PERIOD_DAYS = 5 * 366

_MONTH = re.compile(r"(\d{4})-(\d{1,2})")
_QUARTER = re.compile(r"(\d{4})-[Qq]([1-4])")
_HALF = re.compile(r"(\d{4})-[Hh]([12])")
_YEAR = re.compile(r"(\d{4})")
_RANGE = re.compile(r"(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})")
MONTHS_OF = {"month": 1, "quarter": 3, "half": 6, "year": 12}


@dataclass(frozen=True)
class Period:
    kind: PeriodKind
    first: date  # inclusive
    last: date  # inclusive

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def label(self) -> str:
        if self.kind == "month":
            return f"{self.first:%Y-%m}"
        if self.kind == "quarter":
            return f"{self.first.year}-Q{(self.first.month - 1) // 3 + 1}"
        if self.kind == "half":
            return f"{self.first.year}-H{(self.first.month - 1) // 6 + 1}"
        if self.kind == "year":
            return str(self.first.year)
        return f"{self.first.isoformat()}..{self.last.isoformat()}"

    def previous(self) -> "Period":
        if self.kind == "range":
            last = self.first - timedelta(days=1)
            return Period("range", last - timedelta(days=self.days - 1), last)
        return _months(self.kind, *_shift(self.first.year, self.first.month, -MONTHS_OF[self.kind]))


def _shift(year: int, month: int, months: int) -> tuple[int, int]:
    index = year * 12 + month - 1 + months
    return index // 12, index % 12 + 1


def _months(kind: PeriodKind, year: int, month: int) -> Period:
    _check_year(year)
    end_year, end_month = _shift(year, month, MONTHS_OF[kind])
    return Period(kind, date(year, month, 1), date(end_year, end_month, 1) - timedelta(days=1))


def _check_year(year: int) -> None:
    if not EARLIEST_YEAR <= year <= LATEST_YEAR:
        years = {"year": year, "first": EARLIEST_YEAR, "last": LATEST_YEAR}
        raise Invalid("period", code="year_outside", params=years)


def parse_period(text: str) -> Period:
    """2023-09, 2023-Q3, 2023-H2, 2023 or 2023-07-01..2023-09-30; `Invalid("period", …)`."""
    text = text.strip()
    if match := _QUARTER.fullmatch(text):
        return _months("quarter", int(match[1]), (int(match[2]) - 1) * 3 + 1)
    if match := _HALF.fullmatch(text):
        return _months("half", int(match[1]), (int(match[2]) - 1) * 6 + 1)
    if match := _YEAR.fullmatch(text):
        return _months("year", int(match[1]), 1)
    if match := _MONTH.fullmatch(text):
        if not 1 <= int(match[2]) <= 12:
            raise Invalid("period", code="no_month", params={"text": text, "month": int(match[2])})
        return _months("month", int(match[1]), int(match[2]))
    if match := _RANGE.fullmatch(text):
        try:
            first, last = date.fromisoformat(match[1]), date.fromisoformat(match[2])
        except ValueError as exc:
            unreadable = {"text": text[:40], "problem": str(exc)}
            raise Invalid("period", code="unreadable_period_date", params=unreadable) from exc
        _check_year(first.year)
        _check_year(last.year)
        if last < first:
            ends = {"first": first.isoformat(), "last": last.isoformat()}
            raise Invalid("period", code="range_reversed", params=ends)
        period = Period("range", first, last)
        if period.days > MAX_PERIOD_DAYS:
            raise Invalid("period", code="range_too_long")
        return period
    raise Invalid("period", code="unreadable_period", params={"text": text[:40]})
