"""Report weeks: Monday to Sunday on the team's calendar, numbered `jan1` or `iso`.

The team's own numbering (`jan1`) counts the week that holds 1 January as week 1, so a week
belongs to the year of its Sunday: 2022-12-26..2023-01-01 is 2023's week 1, and 2023-09-09 is
第37周 where ISO 8601 says week 36.
"""

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from incidents.errors import Invalid
from incidents.timeparse import EARLIEST_YEAR, LATEST_YEAR

# An incident is reported in its own week or a later one as it comes to light; a week further
# away is a typo (the year) that would move it into another month's, quarter's or year's report.
# Filing refuses it (service.py), and an imported report's item dated further back is unreadable.
REPORT_WEEK_REACH = timedelta(weeks=8)

Numbering = Literal["jan1", "iso"]
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_WEEK_LABEL = re.compile(r"^(\d{4})-W(\d{1,2})$")


@dataclass(frozen=True)
class Week:
    year: int
    number: int
    monday: date
    report_date: date
    numbering: Numbering

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    def shifted(self, weeks: int) -> "Week":
        return week_of(self.monday + timedelta(weeks=weeks), self.numbering, _report_day(self))


def _report_day(week: Week) -> str:
    return WEEKDAYS[(week.report_date - week.monday).days]


def _jan1_week_one_monday(year: int) -> date:
    new_year = date(year, 1, 1)
    return new_year - timedelta(days=new_year.weekday())


def week_of(day: date, numbering: Numbering = "jan1", report_day: str = "saturday") -> Week:
    monday = day - timedelta(days=day.weekday())
    report_date = monday + timedelta(days=WEEKDAYS.index(report_day))
    if numbering == "iso":
        iso_year, iso_week, _ = day.isocalendar()
        return Week(iso_year, iso_week, monday, report_date, numbering)
    year = (monday + timedelta(days=6)).year
    number = (monday - _jan1_week_one_monday(year)).days // 7 + 1
    return Week(year, number, monday, report_date, numbering)


def week_by_number(
    year: int, number: int, numbering: Numbering = "jan1", report_day: str = "saturday"
) -> Week:
    if numbering == "iso":
        try:
            monday = date.fromisocalendar(year, number, 1)
        except ValueError as exc:
            raise Invalid(
                "week", code="no_iso_week", params={"year": year, "number": number}
            ) from exc
    else:
        monday = _jan1_week_one_monday(year) + timedelta(weeks=number - 1)
    week = week_of(monday, numbering, report_day)
    if (week.year, week.number) != (year, number) or number < 1:
        which = {"year": year, "number": number, "numbering": numbering}
        raise Invalid("week", code="no_week", params=which)
    return week


def parse_week(text: str, numbering: Numbering = "jan1", report_day: str = "saturday") -> Week:
    """A week named by any date inside it (2023-09-09) or by its label (2023-W37)."""
    text = text.strip()
    label = _WEEK_LABEL.match(text)
    if label:
        _check_year(int(label[1]))
        return week_by_number(int(label[1]), int(label[2]), numbering, report_day)
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise Invalid("week", code="unreadable_week", params={"text": text[:40]}) from exc
    _check_year(day.year)
    return week_of(day, numbering, report_day)


def _check_year(year: int) -> None:
    # The years a time may be given in; at the ends of the calendar (0001, 9999) a week's
    # neighbours and the report's history would not even be representable dates.
    if not EARLIEST_YEAR <= year <= LATEST_YEAR:
        years = {"year": year, "first": EARLIEST_YEAR, "last": LATEST_YEAR}
        raise Invalid("week", code="year_outside", params=years)
