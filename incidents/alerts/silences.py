"""Silences: maintenance windows and known noise, declared by the team.

A silence matches alerts by source and by label matchers written the way Alertmanager's read
(`service="pay"`, `env!="test"`, `instance=~"db-.*"`, `job!~"batch.*"`; regexes match the whole
value). It is one-off (from `starts_at` to `ends_at`) or weekly (days and hours on the team's
clock, such as 周日 02:00–04:00, between `starts_at` and `ends_at`). An alert that arrives while
a silence holds it is stored and shown as usual, marked with the silence's id: it pages nobody
and is left out of the follow-up rates, which count it apart (docs/silences.md).
"""

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from pydantic import BeforeValidator
from sqlalchemy import Connection, func, or_, update
from sqlmodel import Field, Session, SQLModel, col, select

from incidents.actors import Actor
from incidents.alerts import tally
from incidents.alerts.models import Alert, AlertStatus, Silence, Source
from incidents.calendar import Calendar
from incidents.db import get_or_raise, paged, utcnow
from incidents.errors import Invalid
from incidents.messages import Message
from incidents.models import SHORT, Moment, OneLine, WriteModel

# A silence longer than this is refused unless it says `allow_long`: a forgotten silence hides
# a real outage, so a long one must be meant.
LONGEST_WITHOUT_FLAG = timedelta(days=30)
MATCHERS_MAX = 20
LABEL_VALUE_MAX = 500

MatchOp = Literal["=", "!=", "=~", "!~"]
# Alertmanager's matcher syntax: a label name, an operator, a value quoted or bare.
_MATCHER = re.compile(
    r"^\s*(?P<name>[A-Za-z_][A-Za-z0-9_.:-]*)\s*(?P<op>=~|!~|!=|=)\s*"
    r'(?:"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<bare>[^"]*?))\s*$'
)
# Matchers read the alert's labels; these columns stand in for a label the sender did not set.
_COLUMN_LABELS = ("severity", "system", "title")

_WEEKDAY_NAMES = {
    **{
        name: number
        for number, name in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"), 1)
    },
    **{name: number for number, name in enumerate("一二三四五六日", 1)},
    "天": 7,
}
_CLOCK = re.compile(r"^(?P<hour>\d{1,2}):(?P<minute>\d{2})$")


class SilenceState(StrEnum):
    pending = "pending"  # starts later
    active = "active"  # between start and end (a weekly one holds alerts only inside its hours)
    expired = "expired"


class Matcher(SQLModel):
    name: str = Field(min_length=1, max_length=100, regex=r"^[A-Za-z_][A-Za-z0-9_.:-]*$")
    op: MatchOp = "="
    value: str = Field(default="", max_length=LABEL_VALUE_MAX)

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{self.name}{self.op}"{escaped}"'


def _matcher_from_text(value: object) -> object:
    return parse_matcher(value) if isinstance(value, str) else value


# In a body a matcher is an object or Alertmanager's text (`service=~"pay-.*"`).
MatcherInput = Annotated[Matcher, BeforeValidator(_matcher_from_text)]


def parse_matcher(text: str) -> Matcher:
    """`name op value` as Alertmanager writes it; ValueError says what is wrong."""
    found = _MATCHER.match(text)
    if found is None:
        raise ValueError(Message("bad_matcher", {"value": text}))
    quoted = found["quoted"]
    value = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else found["bare"]
    return Matcher.model_validate({"name": found["name"], "op": found["op"], "value": value})


class SilenceBase(SQLModel):
    source_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    weekdays: list[int] | None = Field(default=None, min_length=1, max_length=7)
    window_start: str | None = Field(default=None, max_length=5)
    window_end: str | None = Field(default=None, max_length=5)


class SilenceCreate(SilenceBase, WriteModel):
    matchers: list[MatcherInput] = Field(default_factory=list, max_length=MATCHERS_MAX)
    starts_at: Moment | None = Field(default=None, description="now when left out")
    ends_at: Moment
    reason: OneLine = Field(min_length=1, max_length=500)
    allow_long: bool = Field(default=False, description="allow a silence of more than 30 days")


class SilenceUpdate(WriteModel):
    matchers: list[MatcherInput] | None = Field(default=None, max_length=MATCHERS_MAX)
    starts_at: Moment | None = None
    ends_at: Moment | None = None
    weekdays: list[int] | None = Field(default=None, min_length=1, max_length=7)
    window_start: str | None = Field(default=None, max_length=5)
    window_end: str | None = Field(default=None, max_length=5)
    reason: OneLine | None = Field(default=None, min_length=1, max_length=500)
    allow_long: bool = False


class SilencePublic(SilenceBase):
    id: int
    matchers: list[Matcher]
    starts_at: Moment
    ends_at: Moment
    reason: str
    created_by: str
    created_at: Moment
    expired_by: str | None
    state: SilenceState
    holding_now: bool
    alerts_held: int


# --- rules ------------------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def _compiled(pattern: str) -> re.Pattern[str]:
    # Anchored like Alertmanager's: `db-.*` matches the whole value, not a part of it.
    return re.compile(f"^(?:{pattern})$")


def _check_matchers(matchers: Sequence[Matcher], source_id: int | None) -> None:
    for index, matcher in enumerate(matchers):
        if matcher.op in ("=~", "!~"):
            try:
                _compiled(matcher.value)
            except re.error as exc:
                problem = {"problem": str(exc)}
                raise Invalid(f"matchers.{index}.value", code="bad_regex", params=problem) from exc
    if source_id is None and all(_matches({}, [matcher]) for matcher in matchers):
        # Alertmanager's rule: a silence must say what it holds, not hold every alert there is.
        raise Invalid("matchers", code="silence_matchers")


def _clock(value: str, field: str, *, end: bool) -> time | None:
    """HH:MM; an end may be 24:00 (the end of the day), returned as None."""
    found = _CLOCK.match(value)
    if found is None:
        raise Invalid(field, code="time_of_day_format")
    hour, minute = int(found["hour"]), int(found["minute"])
    if end and (hour, minute) == (24, 0):
        return None
    if hour > 23 or minute > 59:
        raise Invalid(field, code="not_time_of_day", params={"value": value})
    return time(hour, minute)


def _check_window(weekdays: list[int] | None, start: str | None, end: str | None) -> None:
    given = {"weekdays": weekdays, "window_start": start, "window_end": end}
    missing = [name for name, value in given.items() if value is None]
    if len(missing) == 3:
        return  # one-off
    if missing:
        raise Invalid(missing[0], code="weekly_needs_all")
    assert weekdays is not None
    assert start is not None
    assert end is not None
    for day in weekdays:
        if not 1 <= day <= 7:
            raise Invalid("weekdays", code="not_iso_weekday", params={"day": day})
    if _clock(start, "window_start", end=False) == _clock(end, "window_end", end=True):
        raise Invalid("window_end", code="window_ends_at_start")


def _check_span(starts_at: datetime, ends_at: datetime, allow_long: bool) -> None:
    if ends_at <= starts_at:
        raise Invalid("ends_at", code="silence_ends_before_start")
    if ends_at - starts_at > LONGEST_WITHOUT_FLAG and not allow_long:
        raise Invalid("ends_at", code="silence_too_long")


def _check(silence: Silence, allow_long: bool) -> None:
    _check_matchers([Matcher.model_validate(m) for m in silence.matchers], silence.source_id)
    _check_window(silence.weekdays, silence.window_start, silence.window_end)
    _check_span(silence.starts_at, silence.ends_at, allow_long)


def _matches(labels: Mapping[str, str], matchers: Iterable[Matcher]) -> bool:
    for matcher in matchers:
        value = labels.get(matcher.name, "")
        if matcher.op == "=":
            held = value == matcher.value
        elif matcher.op == "!=":
            held = value != matcher.value
        else:
            held = _compiled(matcher.value).match(value) is not None
            if matcher.op == "!~":
                held = not held
        if not held:
            return False
    return True


def within_weekly_window(silence: Silence, moment: datetime, calendar: Calendar) -> bool:
    """Whether a moment falls in a weekly silence's hours on the team's clock (True for one-off).

    A window whose end is not after its start (22:00–02:00) belongs to the day it starts on.
    """
    if silence.weekdays is None or silence.window_start is None or silence.window_end is None:
        return True
    local = calendar.local(moment)
    clock = local.time().replace(tzinfo=None)
    day = local.isoweekday()
    start = _clock(silence.window_start, "window_start", end=False)
    end = _clock(silence.window_end, "window_end", end=True)
    assert start is not None
    if end is None or end > start:
        return day in silence.weekdays and start <= clock and (end is None or clock < end)
    previous_day = 7 if day == 1 else day - 1
    return (day in silence.weekdays and clock >= start) or (
        previous_day in silence.weekdays and clock < end
    )


def state_of(silence: Silence, now: datetime) -> SilenceState:
    if now < silence.starts_at:
        return SilenceState.pending
    return SilenceState.active if now < silence.ends_at else SilenceState.expired


def holds_now(silence: Silence, now: datetime, calendar: Calendar) -> bool:
    return state_of(silence, now) == SilenceState.active and within_weekly_window(
        silence, now, calendar
    )


def match_labels(alert: Mapping[str, Any]) -> dict[str, str]:
    """What matchers read of an alert: its labels, and its severity, system and title where the
    sender set no label of that name."""
    labels = dict(alert.get("labels") or {})
    for name in _COLUMN_LABELS:
        if name not in labels and alert.get(name) is not None:
            labels[name] = alert[name]
    return labels


# --- at ingest --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Holding:
    """A silence holding alerts now, ready to match (regexes compiled once per process)."""

    id: int
    matchers: tuple[Matcher, ...]

    def holds(self, labels: Mapping[str, str]) -> bool:
        return _matches(labels, self.matchers)


_silences = Silence.__table__  # type: ignore[attr-defined]
# Built once: it runs for every delivery.
_HOLDING = (
    sa.select(_silences)
    .where(
        or_(_silences.c.source_id == sa.bindparam("source_id"), _silences.c.source_id.is_(None)),
        _silences.c.starts_at <= sa.bindparam("now"),
        _silences.c.ends_at > sa.bindparam("now"),
    )
    .order_by(_silences.c.id)
)


def holding(
    connection: Connection, source_id: int, now: datetime, calendar: Calendar
) -> list[Holding]:
    """The silences holding a source's alerts at `now`: one query per delivery."""
    rows = connection.execute(_HOLDING, {"source_id": source_id, "now": now})
    silences = [Silence.model_validate(row._mapping) for row in rows]
    return [
        Holding(silence.id, tuple(Matcher.model_validate(m) for m in silence.matchers))
        for silence in silences
        if silence.id is not None and within_weekly_window(silence, now, calendar)
    ]


def silence_for(silences: Sequence[Holding], alert: Mapping[str, Any]) -> int | None:
    """The first (oldest) silence holding the alert, if any."""
    if not silences:
        return None
    labels = match_labels(alert)
    return next((silence.id for silence in silences if silence.holds(labels)), None)


# --- the service ------------------------------------------------------------------------------


def get_silence(session: Session, silence_id: int) -> Silence:
    return get_or_raise(session, Silence, silence_id)


def list_silences(
    session: Session, *, include_expired: bool, now: datetime | None = None, limit: int, offset: int
) -> tuple[list[Silence], int]:
    statement = select(Silence).order_by(col(Silence.ends_at).desc(), col(Silence.id).desc())
    if not include_expired:
        statement = statement.where(col(Silence.ends_at) > (now or utcnow()))
    return paged(session, statement, limit=limit, offset=offset)


def alerts_held(session: Session, silence_ids: Sequence[int]) -> dict[int, int]:
    """How many alerts each silence holds (or held)."""
    if not silence_ids:
        return {}
    rows = session.exec(
        select(col(Alert.silence_id), func.count())
        .where(col(Alert.silence_id).in_(silence_ids))
        .group_by(col(Alert.silence_id))
    ).all()
    return {silence_id: count for silence_id, count in rows if silence_id is not None}


def public_page(
    session: Session, *, include_expired: bool, calendar: Calendar, limit: int, offset: int
) -> tuple[list[SilencePublic], int]:
    """A page of silences as every reader shows them: each with its state now and the alerts
    it holds, counted for the whole page in one query."""
    now = utcnow()
    found, total = list_silences(
        session, include_expired=include_expired, now=now, limit=limit, offset=offset
    )
    held = alerts_held(session, [silence.id for silence in found if silence.id is not None])
    shown = [
        _public(silence, now=now, calendar=calendar, held=held.get(silence.id or 0, 0))
        for silence in found
    ]
    return shown, total


def public(session: Session, silence: Silence, *, calendar: Calendar) -> SilencePublic:
    """One silence as shown, with its state now and the alerts it holds."""
    assert silence.id is not None
    held = alerts_held(session, [silence.id]).get(silence.id, 0)
    return _public(silence, now=utcnow(), calendar=calendar, held=held)


def _public(silence: Silence, *, now: datetime, calendar: Calendar, held: int) -> SilencePublic:
    return SilencePublic.model_validate(
        silence,
        update={
            "matchers": [Matcher.model_validate(m) for m in silence.matchers],
            "state": state_of(silence, now),
            "holding_now": holds_now(silence, now, calendar),
            "alerts_held": held,
        },
    )


def create_silence(
    session: Session, data: SilenceCreate, *, actor: Actor, calendar: Calendar
) -> Silence:
    """Store a silence; if it holds now, the matching alerts still firing stop paging too."""
    now = utcnow()
    if data.source_id is not None and session.get(Source, data.source_id) is None:
        raise Invalid("source_id", code="source_missing", params={"ident": data.source_id})
    silence = Silence(
        source_id=data.source_id,
        matchers=[matcher.model_dump() for matcher in data.matchers],
        starts_at=data.starts_at or now,
        ends_at=data.ends_at,
        weekdays=sorted(set(data.weekdays)) if data.weekdays else None,
        window_start=data.window_start,
        window_end=data.window_end,
        reason=data.reason,
        created_by=actor.name[:SHORT],
        created_at=now,
    )
    _check(silence, data.allow_long)
    session.add(silence)
    session.flush()
    if holds_now(silence, now, calendar):
        _hold_firing_alerts(session, silence)
    return silence


def update_silence(
    session: Session, silence_id: int, data: SilenceUpdate, *, calendar: Calendar
) -> Silence:
    silence = get_silence(session, silence_id)
    now = utcnow()
    if state_of(silence, now) == SilenceState.expired:
        raise Invalid("ends_at", code="silence_expired")
    changes = data.model_dump(exclude_unset=True, exclude={"allow_long"})
    if "matchers" in changes:
        if data.matchers is None:
            raise Invalid("matchers", code="cannot_clear")
        changes["matchers"] = [matcher.model_dump() for matcher in data.matchers]
    for name in ("starts_at", "ends_at", "reason"):
        if name in changes and changes[name] is None:
            raise Invalid(name, code="cannot_clear")
    for name, value in changes.items():
        setattr(silence, name, value)
    if silence.weekdays:
        silence.weekdays = sorted(set(silence.weekdays))
    _check(silence, data.allow_long)
    if holds_now(silence, now, calendar):
        _hold_firing_alerts(session, silence)
    return silence


def expire_silence(session: Session, silence_id: int, *, actor: Actor) -> Silence:
    """End a silence now (a pending one never starts). Alerts it held keep its mark."""
    silence = get_silence(session, silence_id)
    now = utcnow()
    if silence.ends_at > now:
        silence.ends_at = max(now, silence.starts_at)
        silence.expired_by = actor.name[:SHORT]
    return silence


def _hold_firing_alerts(session: Session, silence: Silence) -> int:
    """Mark the firing, unsilenced alerts the silence matches: the one-click "silence this for
    2 hours" is meant to stop the alert at hand from paging, not only its later occurrences."""
    conditions = [col(Alert.status) == AlertStatus.firing, col(Alert.silence_id).is_(None)]
    if silence.source_id is not None:
        conditions.append(col(Alert.source_id) == silence.source_id)
    rows = session.execute(
        sa.select(
            col(Alert.id),
            col(Alert.labels),
            col(Alert.severity),
            col(Alert.system),
            col(Alert.title),
        ).where(*conditions)
    )
    matchers = [Matcher.model_validate(m) for m in silence.matchers]
    held = [row.id for row in rows if _matches(match_labels(dict(row._mapping)), matchers)]
    # A silenced alert moves out of the follow-up figures: recounted around the change.
    tally.remove(session.connection(), held)
    for start in range(0, len(held), 500):
        session.execute(
            update(Alert)
            .where(col(Alert.id).in_(held[start : start + 500]))
            .values(silence_id=silence.id)
        )
    tally.add(session.connection(), held)
    return len(held)


def silence_for_alert(alert: Alert, *, hours: int = 2) -> SilenceCreate:
    """The one-click silence of an alert: its source and labels, from now for `hours`."""
    now = utcnow()
    labels = alert.labels or {"title": alert.title}
    return SilenceCreate(
        source_id=alert.source_id,
        matchers=[
            Matcher(name=name, value=value[:LABEL_VALUE_MAX])
            for name, value in sorted(labels.items())
        ][:MATCHERS_MAX],
        starts_at=now,
        ends_at=now + timedelta(hours=hours),
        reason=f"silenced from alert {alert.id}: {alert.title}"[:500],
    )


def parse_weekly(text: str) -> tuple[list[int], str, str]:
    """`周日 02:00-04:00`, `sat,sun 22:00-06:00`, `周一至周五 12:00–13:00`: days and hours."""
    parts = text.replace("–", "-").replace("～", "-").replace("~", "-").split()
    if len(parts) != 2 or parts[1].count("-") != 1:
        raise Invalid("weekly", code="weekly_format")
    start, end = parts[1].split("-")
    days: set[int] = set()
    for item in re.split(r"[,，、]", parts[0].lower()):
        bounds = re.split(r"-|至|到", item)
        numbers = [_weekday(bound) for bound in bounds]
        if len(numbers) == 1:
            days.add(numbers[0])
        elif len(numbers) == 2 and numbers[0] <= numbers[1]:
            days.update(range(numbers[0], numbers[1] + 1))
        else:
            raise Invalid("weekly", code="not_a_day_range", params={"value": item})
    return sorted(days), start, end


def _weekday(text: str) -> int:
    name = text.strip().removeprefix("周").removeprefix("星期")
    if name.isdigit() and 1 <= int(name) <= 7:
        return int(name)
    number = _WEEKDAY_NAMES.get(name[:3])
    if number is None:
        raise Invalid("weekly", code="not_a_day", params={"value": text})
    return number
