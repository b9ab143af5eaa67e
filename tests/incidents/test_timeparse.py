from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from incidents.timeparse import CLOCK_SLACK, MAX_INPUT_LENGTH, parse_time, read_time, to_local

SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
# A Saturday, the team's report day.
REFERENCE = datetime(2023, 9, 9, 12, 0, tzinfo=SHANGHAI)


def shanghai(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=SHANGHAI)


def parse_in_shanghai(text: str, reference: datetime = REFERENCE) -> datetime:
    return parse_time(text, tz=SHANGHAI, reference=reference)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # ISO 8601
        ("2023-09-07T14:42:00+08:00", shanghai(2023, 9, 7, 14, 42)),
        ("2023-09-07T06:42:00Z", shanghai(2023, 9, 7, 14, 42)),
        ("2023-09-07T02:42:00-04:00", shanghai(2023, 9, 7, 14, 42)),
        ("2023-09-07T14:42:05.250+08:00", shanghai(2023, 9, 7, 14, 42, 5, 250000)),
        ("2023-09-07 14:42", shanghai(2023, 9, 7, 14, 42)),
        ("2023-09-07T14:42:05", shanghai(2023, 9, 7, 14, 42, 5)),
        # dates with their year
        ("2023/09/07 14:42", shanghai(2023, 9, 7, 14, 42)),
        ("2023-9-7 14:42", shanghai(2023, 9, 7, 14, 42)),
        ("2023年9月7日 14:42", shanghai(2023, 9, 7, 14, 42)),
        # month/day shorthand
        ("9/7 14:42", shanghai(2023, 9, 7, 14, 42)),
        ("9/7 14:42:30", shanghai(2023, 9, 7, 14, 42, 30)),
        ("09/07 09:05", shanghai(2023, 9, 7, 9, 5)),
        ("9-7 14:42", shanghai(2023, 9, 7, 14, 42)),
        ("9月7日 14:42", shanghai(2023, 9, 7, 14, 42)),
        ("9月7日14:42", shanghai(2023, 9, 7, 14, 42)),
        ("9月7号 14点42分", shanghai(2023, 9, 7, 14, 42)),
        ("9月7日 14点42分30秒", shanghai(2023, 9, 7, 14, 42, 30)),
        ("9月7日 14点42", shanghai(2023, 9, 7, 14, 42)),
        ("9月7日 14点", shanghai(2023, 9, 7, 14, 0)),
        ("9月7日 14点半", shanghai(2023, 9, 7, 14, 30)),
        # what Chinese input methods and forms hand over
        ("9/7 14：42", shanghai(2023, 9, 7, 14, 42)),
        ("９/７ １４：４２", shanghai(2023, 9, 7, 14, 42)),
        ("9/7\u300014:42", shanghai(2023, 9, 7, 14, 42)),
        ("  9/7   14:42 \n", shanghai(2023, 9, 7, 14, 42)),
        # days relative to the reference, and a bare time on the reference's day
        ("今天 08:00", shanghai(2023, 9, 9, 8, 0)),
        ("昨天 22:10", shanghai(2023, 9, 8, 22, 10)),
        ("前天 23:59", shanghai(2023, 9, 7, 23, 59)),
        ("昨天22:10", shanghai(2023, 9, 8, 22, 10)),
        ("14:42", shanghai(2023, 9, 9, 14, 42)),
        ("14：42", shanghai(2023, 9, 9, 14, 42)),
        ("14点42分", shanghai(2023, 9, 9, 14, 42)),
        # day parts
        ("凌晨00:45", shanghai(2023, 9, 9, 0, 45)),
        ("凌晨5:59", shanghai(2023, 9, 9, 5, 59)),
        ("早上8:30", shanghai(2023, 9, 9, 8, 30)),
        ("上午10:15", shanghai(2023, 9, 9, 10, 15)),
        ("上午12:00", shanghai(2023, 9, 9, 12, 0)),
        ("中午11:50", shanghai(2023, 9, 9, 11, 50)),
        ("中午12:30", shanghai(2023, 9, 9, 12, 30)),
        ("中午13:05", shanghai(2023, 9, 9, 13, 5)),
        ("中午1:15", shanghai(2023, 9, 9, 13, 15)),
        ("下午3:20", shanghai(2023, 9, 9, 15, 20)),
        ("下午12:10", shanghai(2023, 9, 9, 12, 10)),
        ("下午15:20", shanghai(2023, 9, 9, 15, 20)),
        ("晚上10:10", shanghai(2023, 9, 9, 22, 10)),
        ("晚上22:10", shanghai(2023, 9, 9, 22, 10)),
        # combinations
        ("9/8 凌晨00:45", shanghai(2023, 9, 8, 0, 45)),
        ("9月8日凌晨0点45分", shanghai(2023, 9, 8, 0, 45)),
        ("昨天晚上10:10", shanghai(2023, 9, 8, 22, 10)),
        ("昨天 晚上 10:10", shanghai(2023, 9, 8, 22, 10)),
        ("昨天晚上10点半", shanghai(2023, 9, 8, 22, 30)),
        ("9月7号 下午2点42分", shanghai(2023, 9, 7, 14, 42)),
    ],
)
def test_reads_every_accepted_form(text: str, expected: datetime) -> None:
    parsed = parse_in_shanghai(text)

    assert parsed == expected
    assert parsed.tzinfo is UTC


def test_offset_written_in_the_text_wins_over_the_zone() -> None:
    parsed = parse_time("2023-09-07T14:42:00+08:00", tz=NEW_YORK, reference=REFERENCE)

    assert parsed == datetime(2023, 9, 7, 6, 42, tzinfo=UTC)


def test_missing_day_is_the_reference_day_in_the_zone_not_in_utc() -> None:
    # 2023-09-08 20:00 UTC is already 9 September in Shanghai.
    reference = datetime(2023, 9, 8, 20, 0, tzinfo=UTC)

    assert parse_in_shanghai("14:42", reference) == shanghai(2023, 9, 9, 14, 42)
    assert parse_in_shanghai("昨天 22:10", reference) == shanghai(2023, 9, 8, 22, 10)


@pytest.mark.parametrize(
    ("text", "reference", "expected"),
    [
        ("9/8 00:45", REFERENCE, shanghai(2023, 9, 8, 0, 45)),
        ("9/9 23:00", REFERENCE, shanghai(2023, 9, 9, 23, 0)),
        # up to a day after the reference stays in its year …
        ("9/10 23:59", REFERENCE, shanghai(2023, 9, 10, 23, 59)),
        # … anything later was last year
        ("9/11 00:00", REFERENCE, shanghai(2022, 9, 11, 0, 0)),
        ("12/31 23:00", REFERENCE, shanghai(2022, 12, 31, 23, 0)),
        ("12/31 23:00", shanghai(2024, 1, 1, 0, 30), shanghai(2023, 12, 31, 23, 0)),
        ("12月31日 23:00", shanghai(2024, 1, 1, 0, 30), shanghai(2023, 12, 31, 23, 0)),
        ("1/1 00:10", shanghai(2023, 12, 31, 23, 50), shanghai(2024, 1, 1, 0, 10)),
        ("2/29 10:00", shanghai(2024, 3, 1, 9, 0), shanghai(2024, 2, 29, 10, 0)),
        # a written year is taken as written
        ("2021/9/11 08:00", REFERENCE, shanghai(2021, 9, 11, 8, 0)),
        ("2023/12/31 23:00", shanghai(2024, 1, 1, 0, 30), shanghai(2023, 12, 31, 23, 0)),
    ],
)
def test_year_comes_from_the_reference(text: str, reference: datetime, expected: datetime) -> None:
    assert parse_in_shanghai(text, reference) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("9/77 14:42", "there is no 9/77"),
        ("2/30 10:00", "there is no 2/30"),
        ("13/1 10:00", "there is no 13/1"),
        ("2/29 10:00", "there is no 2/29 in 2023"),
        ("2023年2月30日 10:00", "there is no 2/30"),
        ("25:00", "hour 25 is past 23"),
        ("9/7 24:00", "hour 24 is past 23"),
        ("2023-09-07T24:00", "hour 24 is past 23"),
        ("14:60", "minute 60 is past 59"),
        ("14:42:60", "second 60 is past 59"),
        ("14点61分", "minute 61 is past 59"),
        ("", "it is empty"),
        ("   ", "it is empty"),
        ("\u3000", "it is empty"),
        ("1969/12/31 23:00", "year 1969 is outside 1970–2200"),
        ("2201-01-01 00:00", "year 2201 is outside 1970–2200"),
        ("1969-12-31T23:00Z", "year 1969 is outside 1970–2200"),
        ("凌晨6:00", "凌晨 does not fit hour 6"),
        ("上午15:00", "上午 does not fit hour 15"),
        ("中午3:00", "中午 does not fit hour 3"),
        ("晚上12:00", "晚上 does not fit hour 12"),
        ("晚上0:30", "晚上 does not fit hour 0"),
        ("yesterday 10:00", "expected ISO 8601 or on-call shorthand"),
        ("9/7", "expected ISO 8601 or on-call shorthand"),
        ("9月7日", "expected ISO 8601 or on-call shorthand"),
        ("14", "expected ISO 8601 or on-call shorthand"),
        ("9/714:42", "expected ISO 8601 or on-call shorthand"),
        ("明天 10:00", "expected ISO 8601 or on-call shorthand"),
        ("2023-W36-4", "expected ISO 8601 or on-call shorthand"),
        ("14:42 下午", "expected ISO 8601 or on-call shorthand"),
        ("٩/٧ ١٤:٤٢", "expected ISO 8601 or on-call shorthand"),
    ],
)
def test_refuses_with_a_message_naming_the_input(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match="unreadable time") as refusal:
        parse_in_shanghai(text)

    message = str(refusal.value)
    assert repr(text) in message
    assert reason in message


@pytest.mark.parametrize("text", ["2023-02-30T10:00", "2023-13-07T14:42", "2023-09-07T14:42+25:00"])
def test_refuses_impossible_iso_naming_the_input(text: str) -> None:
    with pytest.raises(ValueError, match="unreadable time") as refusal:
        parse_in_shanghai(text)

    assert repr(text) in str(refusal.value)


def test_refuses_absurdly_long_input_quoting_its_start() -> None:
    text = "9/7 14:42 " + "x" * MAX_INPUT_LENGTH

    with pytest.raises(ValueError, match=f"longer than {MAX_INPUT_LENGTH} characters") as refusal:
        parse_in_shanghai(text)

    assert "'9/7 14:42 xxx" in str(refusal.value)


def test_refuses_a_naive_reference() -> None:
    with pytest.raises(ValueError, match="aware"):
        parse_time("14:42", tz=SHANGHAI, reference=datetime(2023, 9, 9, 12, 0))


NEW_YORK_REFERENCE = datetime(2023, 12, 1, 12, 0, tzinfo=NEW_YORK)


@pytest.mark.parametrize("text", ["3/12 02:30", "2023-03-12 02:30", "2023-03-12T02:59:59"])
def test_refuses_a_time_in_the_spring_forward_gap(text: str) -> None:
    with pytest.raises(ValueError, match="does not exist in America/New_York") as refusal:
        parse_time(text, tz=NEW_YORK, reference=NEW_YORK_REFERENCE)

    assert repr(text) in str(refusal.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # 01:30 happened twice on 5 November 2023: first in EDT (UTC-4), then in EST (UTC-5).
        ("11/5 01:30", datetime(2023, 11, 5, 5, 30, tzinfo=UTC)),
        ("2023-11-05 01:30", datetime(2023, 11, 5, 5, 30, tzinfo=UTC)),
        ("2023-11-05T01:30:00-05:00", datetime(2023, 11, 5, 6, 30, tzinfo=UTC)),
        ("3/12 03:00", datetime(2023, 3, 12, 7, 0, tzinfo=UTC)),
        ("3/12 01:59", datetime(2023, 3, 12, 6, 59, tzinfo=UTC)),
    ],
)
def test_reads_around_daylight_saving_changes(text: str, expected: datetime) -> None:
    assert parse_time(text, tz=NEW_YORK, reference=NEW_YORK_REFERENCE) == expected


def test_to_local_takes_naive_as_utc() -> None:
    local = to_local(datetime(2023, 9, 7, 6, 42), SHANGHAI)

    assert local == shanghai(2023, 9, 7, 14, 42)
    assert local.tzinfo is SHANGHAI
    assert (local.hour, local.minute) == (14, 42)


def test_to_local_converts_aware() -> None:
    local = to_local(datetime(2023, 11, 5, 6, 30, tzinfo=UTC), NEW_YORK)

    assert local.tzinfo is NEW_YORK
    assert (local.day, local.hour, local.minute, local.utcoffset()) == (
        5,
        1,
        30,
        timedelta(hours=-5),
    )


# -- properties -------------------------------------------------------------------------------

# The year rule reads a year-less date as at most a day after the reference, so against a
# reference of 9 September 12:00 the dates that keep their own year start on 11 September before.
ROUND_TRIP_EARLIEST = datetime(2022, 9, 11, 0, 0)
ROUND_TRIP_LATEST = datetime(2023, 9, 9, 12, 0)


def minutes_on_the_wall(tz: ZoneInfo) -> st.SearchStrategy[datetime]:
    return st.datetimes(
        min_value=ROUND_TRIP_EARLIEST,
        max_value=ROUND_TRIP_LATEST,
        timezones=st.just(tz),
        allow_imaginary=False,
    ).map(lambda moment: moment.replace(second=0, microsecond=0))


def assert_every_form_round_trips(local: datetime, tz: ZoneInfo) -> None:
    reference = ROUND_TRIP_LATEST.replace(tzinfo=tz)
    # A wall time alone cannot name the second pass through an autumn hour: it reads as the first.
    wall_clock_instant = local.replace(fold=0).astimezone(UTC)
    clock = f"{local:%H:%M}"
    for text in (
        f"{local.month}/{local.day} {clock}",
        f"{local:%Y-%m-%d} {clock}",
        f"{local.month}月{local.day}日 {clock}",
    ):
        assert parse_time(text, tz=tz, reference=reference) == wall_clock_instant, text
    iso = local.isoformat()
    assert parse_time(iso, tz=tz, reference=reference) == local.astimezone(UTC), iso


@given(minutes_on_the_wall(SHANGHAI))
def test_formatted_times_round_trip_in_shanghai(local: datetime) -> None:
    assert_every_form_round_trips(local, SHANGHAI)


@given(minutes_on_the_wall(NEW_YORK))
@example(datetime(2022, 11, 6, 1, 30, fold=0, tzinfo=NEW_YORK))
@example(datetime(2022, 11, 6, 1, 30, fold=1, tzinfo=NEW_YORK))
@example(datetime(2023, 3, 12, 3, 0, tzinfo=NEW_YORK))
def test_formatted_times_round_trip_in_new_york(local: datetime) -> None:
    assert_every_form_round_trips(local, NEW_YORK)


@given(
    reference_day=st.dates(min_value=date(1971, 1, 1), max_value=date(2199, 12, 30)),
    # Drawn from a common year, so 29 February, which only some years have, stays out.
    month_day=st.dates(min_value=date(2023, 1, 1), max_value=date(2023, 12, 31)),
)
def test_a_year_less_date_lands_in_the_year_ending_a_day_after_the_reference(
    reference_day: date, month_day: date
) -> None:
    reference = datetime.combine(reference_day, time(12, 0), tzinfo=SHANGHAI)
    text = f"{month_day.month}/{month_day.day} 10:00"

    parsed_day = to_local(parse_in_shanghai(text, reference), SHANGHAI).date()

    latest = reference_day + timedelta(days=1)
    assert (parsed_day.month, parsed_day.day) == (month_day.month, month_day.day)
    assert parsed_day <= latest
    assert parsed_day.replace(year=parsed_day.year + 1) > latest


SHORTHAND_ALPHABET = "0123456789 /-:：T+Z.年月日号点分秒半今昨前天凌晨早上午中下晚"


@given(st.text(alphabet=SHORTHAND_ALPHABET, max_size=24) | st.text(max_size=80))
def test_any_text_gives_utc_or_a_readable_refusal(text: str) -> None:
    outcome: datetime | str
    try:
        outcome = parse_in_shanghai(text)
    except ValueError as refusal:
        outcome = str(refusal)

    if isinstance(outcome, str):
        assert outcome.startswith("unreadable time ")
    else:
        assert outcome.tzinfo is UTC


SANTIAGO = ZoneInfo("America/Santiago")


@pytest.mark.parametrize(
    ("text", "tz", "expected"),
    [
        ("2023-09-04", SHANGHAI, datetime(2023, 9, 3, 16, 0, tzinfo=UTC)),
        (" ２０２３-０９-０４\n", SHANGHAI, datetime(2023, 9, 3, 16, 0, tzinfo=UTC)),
        ("2023-09-04", NEW_YORK, datetime(2023, 9, 4, 4, 0, tzinfo=UTC)),
        # Santiago's clocks went from 00:00 straight to 01:00 on 3 September 2023.
        ("2023-09-03", SANTIAGO, datetime(2023, 9, 3, 4, 0, tzinfo=UTC)),
        ("2023-09-04 14:42", SHANGHAI, datetime(2023, 9, 4, 6, 42, tzinfo=UTC)),
    ],
)
def test_a_bare_date_means_the_start_of_its_local_day_when_asked(
    text: str, tz: ZoneInfo, expected: datetime
) -> None:
    parsed = parse_time(text, tz=tz, reference=REFERENCE, date_means_midnight=True)

    assert parsed == expected
    assert parsed.tzinfo is UTC


def test_a_bare_date_is_refused_where_a_time_is_needed() -> None:
    with pytest.raises(ValueError, match="unreadable time '2023-09-04': a date without its time"):
        parse_in_shanghai("2023-09-04")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("2023-02-30", "day is out of range"),
        ("1969-12-31", "year 1969 is outside 1970–2200"),
        ("2023-9-4", "expected ISO 8601 or on-call shorthand"),
        ("9/4", "expected ISO 8601 or on-call shorthand"),
    ],
)
def test_a_date_that_is_not_a_whole_iso_date_is_still_refused(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match="unreadable time") as refusal:
        parse_time(text, tz=SHANGHAI, reference=REFERENCE, date_means_midnight=True)

    assert reason in str(refusal.value)


# -- times counted back from now, and a clock that has not come yet today ---------------------

# 13:45:20 on Monday 7 September 2026: the seconds show that counted-back times drop them.
TYPED_AT = datetime(2026, 9, 7, 13, 45, 20, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("现在", shanghai(2026, 9, 7, 13, 45)),
        ("刚才", shanghai(2026, 9, 7, 13, 45)),
        ("刚刚", shanghai(2026, 9, 7, 13, 45)),
        ("10分钟前", shanghai(2026, 9, 7, 13, 35)),
        ("１０分钟前", shanghai(2026, 9, 7, 13, 35)),
        ("10分钟以前", shanghai(2026, 9, 7, 13, 35)),
        ("十分钟前", shanghai(2026, 9, 7, 13, 35)),
        ("四十五分钟前", shanghai(2026, 9, 7, 13, 0)),
        ("半小时前", shanghai(2026, 9, 7, 13, 15)),
        ("2小时前", shanghai(2026, 9, 7, 11, 45)),
        ("两个小时前", shanghai(2026, 9, 7, 11, 45)),
        ("1个半小时前", shanghai(2026, 9, 7, 12, 15)),
        ("now", shanghai(2026, 9, 7, 13, 45)),
        ("Just now", shanghai(2026, 9, 7, 13, 45)),
        ("10 min ago", shanghai(2026, 9, 7, 13, 35)),
        ("10 minutes ago", shanghai(2026, 9, 7, 13, 35)),
        ("2 hours ago", shanghai(2026, 9, 7, 11, 45)),
        ("2h ago", shanghai(2026, 9, 7, 11, 45)),
        ("an hour ago", shanghai(2026, 9, 7, 12, 45)),
        ("half an hour ago", shanghai(2026, 9, 7, 13, 15)),
    ],
)
def test_reads_a_time_counted_back_from_the_reference_to_the_minute(
    text: str, expected: datetime
) -> None:
    read = read_time(text, tz=SHANGHAI, reference=TYPED_AT)

    assert read.at == expected
    assert read.relative
    assert not read.moved_back


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("半分钟前", "half a minute"),
        ("十十分钟前", "cannot read the number 十十"),
        ("200 hours ago", "more than 7 days ago"),
        ("10分钟后", "expected ISO 8601 or on-call shorthand"),
    ],
)
def test_refuses_a_counted_back_time_it_cannot_trust(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match="unreadable time") as refusal:
        parse_time(text, tz=SHANGHAI, reference=TYPED_AT)

    assert reason in str(refusal.value)


@pytest.mark.parametrize(
    ("text", "expected", "moved_back"),
    [
        # typed at 13:45: today's 14:42 has not come yet, so it was yesterday's
        ("14:42", shanghai(2026, 9, 6, 14, 42), True),
        ("晚上10:10", shanghai(2026, 9, 6, 22, 10), True),
        ("13:40", shanghai(2026, 9, 7, 13, 40), False),
        # a watch running a few minutes fast still means today
        ("13:49", shanghai(2026, 9, 7, 13, 49), False),
        # a day written is kept, even when its time is ahead: filing asks about the future
        ("今天 14:42", shanghai(2026, 9, 7, 14, 42), False),
        ("9/7 14:42", shanghai(2026, 9, 7, 14, 42), False),
    ],
)
def test_a_clock_without_its_day_is_the_most_recent_one_in_the_past(
    text: str, expected: datetime, moved_back: bool
) -> None:
    read = read_time(text, tz=SHANGHAI, reference=TYPED_AT, recent_past=True)

    assert (read.at, read.moved_back) == (expected, moved_back)


def test_without_recent_past_a_clock_stays_on_the_reference_day() -> None:
    # A silence "until 18:00" means this evening's, so only incident times ask for the past.
    assert parse_time("14:42", tz=SHANGHAI, reference=TYPED_AT) == shanghai(2026, 9, 7, 14, 42)


@given(
    typed_at=st.datetimes(
        min_value=datetime(2000, 1, 2), max_value=datetime(2100, 1, 1), timezones=st.just(SHANGHAI)
    ),
    clock=st.times().map(lambda moment: moment.replace(microsecond=0)),
)
def test_a_clock_in_the_recent_past_is_never_ahead_and_at_most_a_day_back(
    typed_at: datetime, clock: time
) -> None:
    read = read_time(f"{clock:%H:%M:%S}", tz=SHANGHAI, reference=typed_at, recent_past=True)

    assert read.at <= typed_at + CLOCK_SLACK
    assert typed_at - read.at < timedelta(days=1)
    assert to_local(read.at, SHANGHAI).time() == clock
