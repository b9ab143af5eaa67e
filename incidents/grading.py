"""Grading A–D: turns an incident's impact into a grade and the rules that fired.

The thresholds are data — a TOML policy, by default `grading_policy.toml` beside this module — so
this module only knows which kinds of rule exist and that grades are tried from A to D.
"""

import re
import tomllib
from calendar import monthrange
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from datetime import datetime, time, timedelta
from decimal import Decimal
from difflib import get_close_matches
from functools import cache
from importlib import resources
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from incidents.errors import ConfigFileError, read_config_file
from incidents.messages import hit_lines

GRADES = ("A", "B", "C", "D")
# The mildest grade has no rules of its own: it is every business impact no other grade claims.
CATCH_ALL_GRADE = GRADES[-1]
DEFAULT_POLICY_FILE = "grading_policy.toml"

Number = int | Decimal
UTC_ZONE = ZoneInfo("UTC")


def net_loss(loss: Decimal | None, recovered: Decimal | None) -> Decimal | None:
    """资损 less what was recovered (追回), never below 0; None while no loss is recorded."""
    if loss is None:
        return None
    return max(Decimal("0.00"), loss - (recovered or 0))


@dataclass(frozen=True)
class ImpactFacts:
    business_impact: bool
    failed_orders: int | None = None
    failed_transactions: int | None = None
    amount_involved_cny: Decimal | None = None
    loss_cny: Decimal | None = None
    recovered_cny: Decimal | None = None
    core_system: bool = False
    # The regulatory triggers a person ticked; the ones the facts fire are the policy's to find.
    regulatory_triggers: frozenset[str] = frozenset()
    impact_minutes: int | None = None
    occurred_at: datetime | None = None  # aware
    recovered_at: datetime | None = None  # aware

    @property
    def failed_count(self) -> int:
        return (self.failed_orders or 0) + (self.failed_transactions or 0)

    @property
    def net_loss_cny(self) -> Decimal | None:
        return net_loss(self.loss_cny, self.recovered_cny)

    @property
    def known_impact_minutes(self) -> int | None:
        """impact_minutes as recorded, else recovered − occurred floored to whole minutes."""
        if self.impact_minutes is not None:
            return self.impact_minutes
        if self.occurred_at is None or self.recovered_at is None:
            return None
        return (self.recovered_at - self.occurred_at) // timedelta(minutes=1)


@dataclass(frozen=True)
class Circumstances:
    """When and where the facts are judged: `as_of` measures an unrecovered incident's time down
    so far (escalation, the interruption trigger); `tz` puts the occurrence on the team's wall
    clock for peak windows and reasons. Without `as_of` an open incident has no time down yet."""

    as_of: datetime | None = None  # aware
    tz: ZoneInfo = UTC_ZONE

    def minutes_down(self, facts: ImpactFacts) -> int | None:
        """Minutes of interruption: as recorded or recovered − occurred; for an incident not yet
        recovered, occurred → as_of."""
        known = facts.known_impact_minutes
        if known is not None or facts.recovered_at is not None:
            return known
        if facts.occurred_at is None or self.as_of is None:
            return None
        return max(0, (self.as_of - facts.occurred_at) // timedelta(minutes=1))

    def open_minutes(self, facts: ImpactFacts) -> int | None:
        """Minutes since occurrence of an incident not recovered as of `as_of`, else None."""
        if facts.recovered_at is not None or facts.occurred_at is None or self.as_of is None:
            return None
        return max(0, (self.as_of - facts.occurred_at) // timedelta(minutes=1))


# A rule that fired, as stored in incident.grade_hits and worded by incidents.messages, e.g.
# {"rule": "failed_min", "value": 1200, "limit": 1000, "grade": "B"}.
Hit = dict[str, Any]


@dataclass(frozen=True)
class GradeResult:
    grade: str | None  # None: no business impact, an ungraded stability event
    reasons: tuple[str, ...]  # the rules that fired in English, e.g. ("failed 545 ≥ 100 → C",)
    # Names of the regulatory triggers that fired (ticked or computed), in the policy's order.
    triggers: tuple[str, ...] = ()
    # The same rules as data, each worded per language where shown (the reasons are their English).
    hits: tuple[Hit, ...] = field(default=(), compare=False)

    @classmethod
    def of_hits(
        cls, grade: str | None, hits: list[Hit], triggers: tuple[str, ...] = ()
    ) -> "GradeResult":
        reasons = tuple(hit_lines(grade, hits, "en")) if hits else ()
        return cls(grade=grade, reasons=reasons, triggers=triggers, hits=tuple(hits))

    @property
    def reason_text(self) -> str:
        return "; ".join(hit_lines(self.grade, [], "en") if self.grade is None else self.reasons)


@dataclass(frozen=True)
class Targets:
    """The 1-5-10 targets: minutes to detect after occurrence, to locate after detection, to
    recover after location."""

    detect_minutes: int = 1
    locate_minutes: int = 5
    recover_minutes: int = 10


@dataclass(frozen=True)
class RegulatoryClock:
    """How long after occurrence (detection when unknown) a triggered incident must be reported,
    and how many working days the written follow-up report may take."""

    report_within_minutes: int = 120
    written_report_working_days: int = 5


@dataclass(frozen=True)
class Scoreboard:
    """故障积分: the points an incident scores for its team and system, and each team's 红线 —
    the points in a period (a month by default) at which the team is told it crossed it."""

    grade_points: tuple[tuple[str, int], ...] = (("A", 10), ("B", 5), ("C", 2), ("D", 1))
    regulatory: int = 5  # the incident has a report to the regulator
    missed_one_five_ten: int = 1  # its 1-5-10 verdict is missed:*
    red_lines: tuple[tuple[str, int], ...] = ()  # (team, points), in the file's order

    def points_of(self, grade: str) -> int:
        return dict(self.grade_points).get(grade, 0)

    def red_line(self, team: str | None) -> int | None:
        return None if team is None else dict(self.red_lines).get(team)


class PolicyError(ConfigFileError):
    """A grading policy file that cannot be used."""


def _stored(number: Number) -> int | str:
    """A number as a hit keeps it in JSON: whole numbers as numbers, fen exactly, as text."""
    if isinstance(number, Decimal) and number != number.to_integral_value():
        return str(number)
    return int(number)


@dataclass(frozen=True)
class _Threshold:
    """One kind of "measure ≥ limit" rule a grade may set in the policy file."""

    key: str  # also the hit's rule, worded by incidents.messages
    allows_fraction: bool  # money may have fen; counts and minutes are whole
    measure: Callable[[ImpactFacts], Number | None]  # None: unknown or not applicable
    # Minutes of impact: at a business peak they count more (÷ the peak factor).
    in_time: bool = False

    def hit_if_fired(
        self, facts: ImpactFacts, limit: Number, peak_factor: Decimal | None
    ) -> Hit | None:
        value = self.measure(facts)
        if value is None:
            return None
        hit: Hit = {"rule": self.key, "value": _stored(value), "limit": _stored(limit)}
        if self.in_time and peak_factor is not None:
            value = Decimal(value) / peak_factor
            hit.update(peak_factor=str(peak_factor), counted=str(value))
        if value < limit:
            return None
        return hit


# In the order their reasons are listed when several fire for one grade.
_THRESHOLDS = (
    _Threshold("failed_min", False, lambda f: f.failed_count),
    _Threshold("amount_involved_cny_min", True, lambda f: f.amount_involved_cny),
    _Threshold("net_loss_cny_min", True, lambda f: f.net_loss_cny),
    _Threshold(
        "core_impact_minutes_min",
        False,
        lambda f: f.known_impact_minutes if f.core_system else None,
        in_time=True,
    ),
    _Threshold(
        "noncore_impact_minutes_min",
        False,
        lambda f: None if f.core_system else f.known_impact_minutes,
        in_time=True,
    ),
)
# Spellings an older policy file may use, read as today's key.
_LEGACY_KEYS = {"amount_cny_min": "amount_involved_cny_min"}
# `regulatory = true` in [A] said what every trigger now does by itself: force grade A.
_REGULATORY_KEY = "regulatory"
_RULE_KEYS = (_REGULATORY_KEY, *(threshold.key for threshold in _THRESHOLDS), *_LEGACY_KEYS)


@dataclass(frozen=True)
class _GradeRules:
    grade: str
    limits: tuple[tuple[_Threshold, Number], ...]  # in _THRESHOLDS order

    def hits_fired(self, facts: ImpactFacts, peak_factor: Decimal | None) -> list[Hit]:
        hits = []
        for threshold, limit in self.limits:
            hit = threshold.hit_if_fired(facts, limit, peak_factor)
            if hit is not None:
                hits.append({**hit, "grade": self.grade})
        return hits


@dataclass(frozen=True)
class _Condition:
    """What makes a regulatory trigger fire by itself: a measure strictly over a limit."""

    key: str  # also the rule of the hit it makes, worded by incidents.messages
    measure: Callable[[ImpactFacts, Circumstances], Number | None]


_CONDITIONS = {
    condition.key: condition
    for condition in (
        _Condition(
            "core_interruption_minutes_over",
            lambda f, c: c.minutes_down(f) if f.core_system else None,
        ),
        _Condition("interruption_minutes_over", lambda f, c: c.minutes_down(f)),
        _Condition("failed_over", lambda f, c: f.failed_count),
        _Condition("failed_transactions_over", lambda f, c: f.failed_transactions),
        _Condition("net_loss_cny_over", lambda f, c: f.net_loss_cny),
    )
}


@dataclass(frozen=True)
class Trigger:
    """A named event the regulator must be told of; `condition` None: only a person can tick it."""

    name: str
    title: str
    condition: tuple[_Condition, Number] | None = None

    def fired_by_facts(self, facts: ImpactFacts, circumstances: Circumstances) -> Hit | None:
        """The condition's measure over its limit, or None."""
        if self.condition is None:
            return None
        condition, limit = self.condition
        value = condition.measure(facts, circumstances)
        if value is None or value <= limit:
            return None
        return {"rule": condition.key, "value": _stored(value), "limit": _stored(limit)}


@dataclass(frozen=True)
class Escalation:
    """An incident not recovered after `open_minutes` is at least grade `at_least`."""

    at_least: str
    open_minutes: int
    core_system: bool | None  # None: any system

    def hit_if_fired(
        self, facts: ImpactFacts, circumstances: Circumstances, peak_factor: Decimal | None
    ) -> Hit | None:
        if self.core_system is not None and facts.core_system != self.core_system:
            return None
        minutes = circumstances.open_minutes(facts)
        if minutes is None or circumstances.as_of is None:
            return None
        counted: Number = minutes if peak_factor is None else Decimal(minutes) / peak_factor
        if counted < self.open_minutes:
            return None
        at = circumstances.as_of.astimezone(circumstances.tz)
        return {
            "rule": "not_recovered",
            "core_system": self.core_system,
            "value": minutes,
            "limit": self.open_minutes,
            "peak_factor": None if peak_factor is None else str(peak_factor),
            "at": f"{at:%m-%d %H:%M}",
            "grade": self.at_least,
        }


@dataclass(frozen=True)
class PeakWindows:
    """Business peaks, on the team's wall clock, when time thresholds count more."""

    factor: Decimal = Decimal("0.5")
    daily: tuple[tuple[time, time], ...] = ()  # [from, to) each day; to ≤ from runs past midnight
    month_end_days: int = 0  # the last N days of every month
    dates: frozenset[tuple[int, int]] = frozenset()  # (month, day), e.g. 11-11

    def factor_at(self, moment: datetime | None, tz: ZoneInfo) -> Decimal | None:
        """The factor when `moment` falls in a peak, else None."""
        if moment is None:
            return None
        local = moment.astimezone(tz)
        month_length = monthrange(local.year, local.month)[1]
        peak = (
            (local.month, local.day) in self.dates
            or local.day > month_length - self.month_end_days
            or any(_in_daily_window(local.time(), start, end) for start, end in self.daily)
        )
        return self.factor if peak else None


def _in_daily_window(clock: time, start: time, end: time) -> bool:
    return start <= clock < end if start < end else clock >= start or clock < end


@dataclass(frozen=True)
class GradingPolicy:
    """A validated policy; build it with parse_policy or load_policy, never by hand."""

    source_name: str
    ruled_grades: tuple[_GradeRules, ...]  # every grade but the catch-all, worst first
    triggers: tuple[Trigger, ...] = ()
    escalations: tuple[Escalation, ...] = ()
    peaks: PeakWindows = PeakWindows()
    targets: Targets = Targets()
    regulatory: RegulatoryClock = RegulatoryClock()
    scoreboard: Scoreboard = Scoreboard()

    def trigger(self, name: str) -> Trigger | None:
        return next((trigger for trigger in self.triggers if trigger.name == name), None)

    @property
    def trigger_names(self) -> str:
        return ", ".join(trigger.name for trigger in self.triggers)

    @property
    def trigger_titles(self) -> str:
        return "、".join(trigger.title for trigger in self.triggers)

    def unknown_trigger(self, names: Iterable[str]) -> str | None:
        """The first of `names` this policy does not define."""
        return next((name for name in names if self.trigger(name) is None), None)

    def check_triggers(self, names: Iterable[str]) -> None:
        """Raise ValueError naming a trigger this policy does not define."""
        unknown = self.unknown_trigger(names)
        if unknown is not None:
            raise ValueError(f"unknown regulatory trigger {unknown!r}; one of {self.trigger_names}")

    def evaluate(
        self, facts: ImpactFacts, circumstances: Circumstances = Circumstances()
    ) -> GradeResult:
        triggered = self._triggers_fired(facts, circumstances)
        if not (facts.business_impact or triggered):
            return GradeResult.of_hits(None, [])
        peak_factor = self.peaks.factor_at(facts.occurred_at, circumstances.tz)
        by_grade: dict[str, list[Hit]] = {
            GRADES[0]: [{**hit, "grade": GRADES[0]} for _, hit in triggered]
        }
        for rules in self.ruled_grades:
            by_grade.setdefault(rules.grade, []).extend(rules.hits_fired(facts, peak_factor))
        for escalation in self.escalations:
            hit = escalation.hit_if_fired(facts, circumstances, peak_factor)
            if hit is not None:
                by_grade.setdefault(escalation.at_least, []).append(hit)
        names = tuple(name for name, _ in triggered)
        for grade in GRADES[:-1]:
            if by_grade.get(grade):
                return GradeResult.of_hits(grade, by_grade[grade], triggers=names)
        return GradeResult.of_hits(
            CATCH_ALL_GRADE, [{"rule": "business_impact", "grade": CATCH_ALL_GRADE}]
        )

    def _triggers_fired(
        self, facts: ImpactFacts, circumstances: Circumstances
    ) -> list[tuple[str, Hit]]:
        fired: list[tuple[str, Hit]] = []
        for trigger in self.triggers:
            hit: Hit = {"rule": "regulatory", "trigger": trigger.name, "title": trigger.title}
            if trigger.name in facts.regulatory_triggers:
                fired.append((trigger.name, hit))
            elif (why := trigger.fired_by_facts(facts, circumstances)) is not None:
                fired.append((trigger.name, {**hit, "condition": why}))
        return fired


def load_policy(path: Path | None) -> GradingPolicy:
    """The policy in `path`, or the packaged default when `path` is None."""
    if path is None:
        return _packaged_default_policy()
    return parse_policy(read_config_file(path, PolicyError), source_name=str(path))


@cache  # the packaged file never changes while the process runs
def _packaged_default_policy() -> GradingPolicy:
    text = (resources.files("incidents") / DEFAULT_POLICY_FILE).read_text(encoding="utf-8")
    return parse_policy(text, source_name=f"incidents/{DEFAULT_POLICY_FILE}")


def parse_policy(text: str, *, source_name: str = "<policy>") -> GradingPolicy:
    return _PolicyReader(text, source_name).read()


# tomllib (3.11) appends the position to its message and keeps it nowhere else.
_TOML_ERROR_POSITION = re.compile(
    r"^(?P<problem>.*) \(at line (?P<line>\d+), column (?P<column>\d+)\)$"
)
# A table header, or an array-of-tables one ([[escalate]]: its lines count as the first entry's).
_TABLE_HEADER = re.compile(r"^\s*\[\[?(?P<name>[^\[\]]*)\]")
_KEY_ASSIGNMENT = re.compile(r"^\s*(?P<key>[^=#\[\s][^=#]*?)\s*=")


def _split_dotted_key(dotted: str) -> tuple[str, ...]:
    return tuple(part.strip().strip("\"'") for part in dotted.split("."))


_TOML_TYPE_NAMES = {
    bool: "true/false",
    int: "a whole number",
    Decimal: "a decimal number",
    str: "a string",
    list: "an array",
    dict: "a table",
}


_TARGETS = "targets"
_REGULATORY_TABLE = "regulatory"
_PEAK = "peak"
_ESCALATE = "escalate"
_SCOREBOARD = "scoreboard"
_RED_LINES = "red_lines"
_SCOREBOARD_KEYS = (*GRADES, "regulatory", "missed_one_five_ten", _RED_LINES)
_TABLES = (*GRADES, _TARGETS, _REGULATORY_TABLE, _ESCALATE, _PEAK, _SCOREBOARD)
# Points are whole numbers; more than this for one incident or one red line is a typo.
_POINTS_MAX = 1_000_000
_TRIGGER_NAME = re.compile(r"[a-z][a-z0-9_]{0,49}")
_DAILY_WINDOW = re.compile(r"(\d{2}:\d{2})-(\d{2}:\d{2})")


def _toml_type_name(value: object) -> str:
    return _TOML_TYPE_NAMES.get(type(value), "a date or time")


class _PolicyReader:
    """Validates one policy text; tomllib keeps no positions, so lines are found in the text."""

    def __init__(self, text: str, source_name: str) -> None:
        self.text = text
        self.source_name = source_name

    def read(self) -> GradingPolicy:
        try:
            document = tomllib.loads(self.text, parse_float=Decimal)  # keeps ¥ amounts exact
        except tomllib.TOMLDecodeError as exc:
            raise self._syntax_error(exc) from None
        for name, table in document.items():
            if name not in _TABLES:
                suggestion = get_close_matches(name, _TABLES, n=1)
                hint = f"did you mean [{suggestion[0]}]? " if suggestion else ""
                raise self._error(
                    f"unknown table [{name}]; {hint}the tables are {', '.join(_TABLES)}", name
                )
            if name != _ESCALATE and not isinstance(table, dict):
                raise self._error(f"{name} must be a table [{name}], not a value", name)
        for grade in GRADES:
            if grade not in document:
                raise PolicyError(self.source_name, None, f"grade {grade} missing: add a [{grade}]")
        if catch_all_keys := list(document[CATCH_ALL_GRADE]):
            raise self._error(
                f"[{CATCH_ALL_GRADE}] takes no rules (it is every other business impact);"
                f" remove '{catch_all_keys[0]}'",
                CATCH_ALL_GRADE,
                catch_all_keys[0],
            )
        ruled_grades = tuple(self._grade_rules(grade, document[grade]) for grade in GRADES[:-1])
        self._check_worse_grades_are_stricter(ruled_grades)
        triggers, clock = self._regulatory(document.get(_REGULATORY_TABLE, {}))
        return GradingPolicy(
            source_name=self.source_name,
            ruled_grades=ruled_grades,
            triggers=triggers,
            escalations=self._escalations(document.get(_ESCALATE, [])),
            peaks=self._peaks(document.get(_PEAK, {})),
            targets=Targets(**self._whole_numbers(_TARGETS, document.get(_TARGETS, {}), Targets)),
            regulatory=clock,
            scoreboard=self._scoreboard(document.get(_SCOREBOARD, {})),
        )

    def _grade_rules(self, grade: str, table: dict[str, object]) -> _GradeRules:
        self._known_keys(table, _RULE_KEYS, grade)
        if _REGULATORY_KEY in table and (grade != GRADES[0] or table[_REGULATORY_KEY] is not True):
            raise self._error(
                f"{grade}.{_REGULATORY_KEY}: any regulatory trigger gives grade {GRADES[0]} by"
                f" itself; name the triggers under [{_REGULATORY_TABLE}.triggers]",
                grade,
                _REGULATORY_KEY,
            )
        for legacy, current in _LEGACY_KEYS.items():
            if legacy in table and current in table:
                raise self._error(f"{grade}: give {current} only ({legacy} is its old name)", grade)
        given = {_LEGACY_KEYS.get(key, key): key for key in table}
        limits = tuple(
            (
                threshold,
                self._limit(grade, given[threshold.key], table[given[threshold.key]], threshold),
            )
            for threshold in _THRESHOLDS
            if threshold.key in given
        )
        return _GradeRules(grade=grade, limits=limits)

    def _limit(
        self, table: str, key: str, value: object, threshold: _Threshold | None = None
    ) -> Number:
        name = f"{table}.{key}"
        allows_fraction = threshold.allows_fraction if threshold else key.endswith("_cny_over")
        allowed_types = (int, Decimal) if allows_fraction else (int,)
        # bool is an int in Python but `true` is no threshold.
        if isinstance(value, bool) or not isinstance(value, allowed_types):
            expected = "a number" if allows_fraction else "a whole number"
            problem = f"{name} must be {expected}, not {_toml_type_name(value)}"
            raise self._error(problem, *table.split("."), key)
        if not (isinstance(value, int) or value.is_finite()) or value <= 0:
            # A limit of 0 would fire for every incident; leaving the key out disables the rule.
            raise self._error(f"{name} must be greater than 0, not {value}", *table.split("."), key)
        return value

    def _known_keys(self, table: dict[str, object], known: Iterable[str], *path: str) -> None:
        known = tuple(known)
        for key in table:
            if key not in known:
                suggestion = get_close_matches(key, known, n=1)
                hint = f"; did you mean '{suggestion[0]}'?" if suggestion else ""
                where = ".".join(path)
                raise self._error(f"unknown field '{key}' in [{where}]{hint}", *path, key)

    def _whole_numbers(self, name: str, table: dict[str, Any], shape: type) -> dict[str, int]:
        fields_ = [field.name for field in fields(shape)]
        self._known_keys(table, fields_, name)
        return {key: int(self._limit(name, key, value)) for key, value in table.items()}

    def _regulatory(self, table: dict[str, Any]) -> tuple[tuple[Trigger, ...], RegulatoryClock]:
        self._known_keys(
            table, ("triggers", *(f.name for f in fields(RegulatoryClock))), _REGULATORY_TABLE
        )
        clock_values = {key: value for key, value in table.items() if key != "triggers"}
        clock = RegulatoryClock(
            **self._whole_numbers(_REGULATORY_TABLE, clock_values, RegulatoryClock)
        )
        triggers = table.get("triggers", {})
        if not isinstance(triggers, dict):
            raise self._error("regulatory.triggers must be tables", _REGULATORY_TABLE, "triggers")
        return tuple(self._trigger(name, body) for name, body in triggers.items()), clock

    def _trigger(self, name: str, body: object) -> Trigger:
        path = (_REGULATORY_TABLE, "triggers", name)
        if not _TRIGGER_NAME.fullmatch(name):
            raise self._error(
                f"trigger name '{name}' must be lower-case letters, digits and _", *path
            )
        if not isinstance(body, dict):
            raise self._error(f"trigger {name} must be a table", *path)
        self._known_keys(body, ("title", *_CONDITIONS), *path)
        title = body.get("title")
        if not isinstance(title, str) or not title.strip():
            raise self._error(f"trigger {name} needs a title, as the reason shows it", *path)
        conditions = [key for key in body if key in _CONDITIONS]
        if len(conditions) > 1:
            raise self._error(f"trigger {name}: one condition at most, not {conditions}", *path)
        condition = None
        if conditions:
            key = conditions[0]
            condition = (_CONDITIONS[key], self._limit(".".join(path), key, body[key]))
        return Trigger(name=name, title=title.strip(), condition=condition)

    def _escalations(self, entries: object) -> tuple[Escalation, ...]:
        if not isinstance(entries, list):
            raise self._error("escalate must be an array of tables [[escalate]]", _ESCALATE)
        escalations = []
        for entry in entries:
            if not isinstance(entry, dict):
                raise self._error("escalate must be an array of tables [[escalate]]", _ESCALATE)
            self._known_keys(entry, ("at_least", "open_minutes", "core_system"), _ESCALATE)
            grade = entry.get("at_least")
            if grade not in GRADES[:-1]:
                raise self._error(
                    f"escalate.at_least must be one of {', '.join(GRADES[:-1])}, not {grade!r}",
                    _ESCALATE,
                    "at_least",
                )
            core = entry.get("core_system")
            if core is not None and not isinstance(core, bool):
                raise self._error("escalate.core_system must be true or false", _ESCALATE)
            minutes = self._limit(_ESCALATE, "open_minutes", entry.get("open_minutes"))
            escalations.append(Escalation(str(grade), int(minutes), core))
        return tuple(escalations)

    def _scoreboard(self, table: dict[str, Any]) -> Scoreboard:
        self._known_keys(table, _SCOREBOARD_KEYS, _SCOREBOARD)
        default = Scoreboard()
        grade_points = tuple(
            (grade, self._points(table, grade, default.points_of(grade), _SCOREBOARD))
            for grade in GRADES
        )
        red_lines = table.get(_RED_LINES, {})
        if not isinstance(red_lines, dict):
            raise self._error(
                "scoreboard.red_lines must be a table [scoreboard.red_lines] of team = points",
                _SCOREBOARD,
                _RED_LINES,
            )
        lines = []
        for team in red_lines:
            if not team.strip() or len(team) > 100:
                problem = f"scoreboard.red_lines: team name {team!r} must be 1–100 characters"
                raise self._error(problem, _SCOREBOARD, _RED_LINES, team)
            # A red line of 0 would be crossed by every team every month: leave the team out.
            points = self._points(red_lines, team, 0, _SCOREBOARD, _RED_LINES, minimum=1)
            lines.append((team, points))
        return Scoreboard(
            grade_points=grade_points,
            regulatory=self._points(table, "regulatory", default.regulatory, _SCOREBOARD),
            missed_one_five_ten=self._points(
                table, "missed_one_five_ten", default.missed_one_five_ten, _SCOREBOARD
            ),
            red_lines=tuple(lines),
        )

    def _points(
        self, table: dict[str, Any], key: str, default: int, *path: str, minimum: int = 0
    ) -> int:
        value = table.get(key, default)
        name = ".".join((*path, key))
        if isinstance(value, bool) or not isinstance(value, int):
            problem = f"{name} must be a whole number of points, not {_toml_type_name(value)}"
            raise self._error(problem, *path, key)
        if not minimum <= value <= _POINTS_MAX:
            problem = f"{name} must be {minimum}–{_POINTS_MAX:,} points, not {value}"
            raise self._error(problem, *path, key)
        return value

    def _peaks(self, table: dict[str, Any]) -> PeakWindows:
        self._known_keys(table, ("factor", "daily", "month_end_days", "dates"), _PEAK)
        factor = table.get("factor", PeakWindows.factor)
        if isinstance(factor, bool) or not isinstance(factor, int | Decimal) or not 0 < factor < 1:
            raise self._error("peak.factor must be a number between 0 and 1, e.g. 0.5", _PEAK)
        daily = []
        for window in self._strings(table, "daily"):
            match = _DAILY_WINDOW.fullmatch(window)
            if match is None:
                raise self._error(f"peak.daily: '{window}' is not HH:MM-HH:MM", _PEAK, "daily")
            try:
                daily.append((time.fromisoformat(match[1]), time.fromisoformat(match[2])))
            except ValueError:
                problem = f"peak.daily: '{window}' has no such time"
                raise self._error(problem, _PEAK, "daily") from None
        dates = set()
        for day in self._strings(table, "dates"):
            try:
                parsed = datetime.strptime(f"2000-{day}", "%Y-%m-%d")  # a leap year takes 02-29
            except ValueError:
                raise self._error(f"peak.dates: '{day}' is not MM-DD", _PEAK, "dates") from None
            dates.add((parsed.month, parsed.day))
        month_end = table.get("month_end_days", 0)
        if (
            isinstance(month_end, bool)
            or not isinstance(month_end, int)
            or not 0 <= month_end <= 10
        ):
            raise self._error("peak.month_end_days must be a whole number 0–10", _PEAK)
        return PeakWindows(Decimal(factor), tuple(daily), month_end, frozenset(dates))

    def _strings(self, table: dict[str, Any], key: str) -> list[str]:
        values = table.get(key, [])
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise self._error(f"peak.{key} must be an array of strings", _PEAK, key)
        return values

    def _check_worse_grades_are_stricter(self, ruled_grades: tuple[_GradeRules, ...]) -> None:
        # A worse grade with the lower limit would claim every incident the milder rule could.
        for threshold in _THRESHOLDS:
            defined = [
                (rules.grade, limit)
                for rules in ruled_grades
                for rule_threshold, limit in rules.limits
                if rule_threshold is threshold
            ]
            for (worse, worse_limit), (milder, milder_limit) in pairwise(defined):
                if worse_limit < milder_limit:
                    raise self._error(
                        f"{worse}.{threshold.key} = {worse_limit} is below"
                        f" {milder}.{threshold.key} = {milder_limit}; grade {worse} is worse than"
                        f" {milder}, so its threshold must be ≥ {milder}'s",
                        worse,
                        threshold.key,
                    )

    def _error(self, problem: str, *path: str) -> PolicyError:
        return PolicyError(self.source_name, self._line_of(path), problem)

    def _syntax_error(self, exc: tomllib.TOMLDecodeError) -> PolicyError:
        position = _TOML_ERROR_POSITION.match(str(exc))
        if position is None:  # "(at end of document)" or a future message format
            return PolicyError(self.source_name, None, f"invalid TOML: {exc}")
        problem = f"invalid TOML: {position['problem']} (column {position['column']})"
        return PolicyError(self.source_name, int(position["line"]), problem)

    def _line_of(self, path: tuple[str, ...]) -> int | None:
        """1-based line defining `path`; failing that, the line of the table or inline table
        that holds it."""
        table: tuple[str, ...] = ()
        enclosing_line = None
        for number, line in enumerate(self.text.splitlines(), start=1):
            if header := _TABLE_HEADER.match(line):
                table = _split_dotted_key(header["name"])
                defined = table
            elif assignment := _KEY_ASSIGNMENT.match(line):
                defined = table + _split_dotted_key(assignment["key"])
            else:
                continue
            if defined == path:
                return number
            shared = min(len(defined), len(path))
            if enclosing_line is None and defined[:shared] == path[:shared]:
                enclosing_line = number
        return enclosing_line
