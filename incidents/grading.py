"""Grading A–D: turns an incident's impact into a grade and the rules that fired.

The thresholds are data — a TOML policy, by default `grading_policy.toml` beside this module — so
this module only knows which kinds of rule exist and that grades are tried from A to D.
"""

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from difflib import get_close_matches
from functools import cache
from importlib import resources
from itertools import pairwise
from pathlib import Path

GRADES = ("A", "B", "C", "D")
# The mildest grade has no rules of its own: it is every business impact no other grade claims.
CATCH_ALL_GRADE = GRADES[-1]
DEFAULT_POLICY_FILE = "grading_policy.toml"

Number = int | Decimal


@dataclass(frozen=True)
class ImpactFacts:
    business_impact: bool
    failed_orders: int | None = None
    failed_transactions: int | None = None
    amount_cny: Decimal | None = None
    core_system: bool = False
    regulatory: bool = False
    impact_minutes: int | None = None
    occurred_at: datetime | None = None  # aware
    recovered_at: datetime | None = None  # aware

    @property
    def failed_count(self) -> int:
        return (self.failed_orders or 0) + (self.failed_transactions or 0)

    @property
    def known_impact_minutes(self) -> int | None:
        """impact_minutes as recorded, else recovered − occurred floored to whole minutes."""
        if self.impact_minutes is not None:
            return self.impact_minutes
        if self.occurred_at is None or self.recovered_at is None:
            return None
        return (self.recovered_at - self.occurred_at) // timedelta(minutes=1)


@dataclass(frozen=True)
class GradeResult:
    grade: str | None  # None: no business impact, an ungraded stability event
    reasons: tuple[str, ...]  # the rules that fired, e.g. ("failed 545 ≥ 100 → C",)

    @property
    def reason_text(self) -> str:
        return "; ".join(self.reasons) if self.grade is not None else "no business impact"


class PolicyError(ValueError):
    """A policy file that cannot be used; the message names the file, the line and the problem."""

    def __init__(self, source_name: str, line: int | None, problem: str) -> None:
        where = source_name if line is None else f"{source_name} line {line}"
        super().__init__(f"{where}: {problem}")
        self.source_name = source_name
        self.line = line
        self.problem = problem


def _format_number(number: Number) -> str:
    if isinstance(number, Decimal) and number != number.to_integral_value():
        return f"{number:,f}"
    return f"{int(number):,}"


@dataclass(frozen=True)
class _Threshold:
    """One kind of "measure ≥ limit" rule a grade may set in the policy file."""

    key: str
    template: str  # the reason, with {value} and {limit}
    allows_fraction: bool  # money may have fen; counts and minutes are whole
    measure: Callable[[ImpactFacts], Number | None]  # None: unknown or not applicable

    def describe_if_fired(self, facts: ImpactFacts, limit: Number) -> str | None:
        value = self.measure(facts)
        if value is None or value < limit:
            return None
        return self.template.format(value=_format_number(value), limit=_format_number(limit))


# In the order their reasons are listed when several fire for one grade.
_THRESHOLDS = (
    _Threshold("failed_min", "failed {value} ≥ {limit}", False, lambda f: f.failed_count),
    _Threshold("amount_cny_min", "amount ¥{value} ≥ ¥{limit}", True, lambda f: f.amount_cny),
    _Threshold(
        "core_impact_minutes_min",
        "core impact {value} min ≥ {limit}",
        False,
        lambda f: f.known_impact_minutes if f.core_system else None,
    ),
    _Threshold(
        "noncore_impact_minutes_min",
        "non-core impact {value} min ≥ {limit}",
        False,
        lambda f: None if f.core_system else f.known_impact_minutes,
    ),
)
_REGULATORY_KEY = "regulatory"
_RULE_KEYS = (_REGULATORY_KEY, *(threshold.key for threshold in _THRESHOLDS))


@dataclass(frozen=True)
class _GradeRules:
    grade: str
    regulatory: bool
    limits: tuple[tuple[_Threshold, Number], ...]  # in _THRESHOLDS order

    def reasons_fired(self, facts: ImpactFacts) -> list[str]:
        reasons = ["regulatory"] if self.regulatory and facts.regulatory else []
        for threshold, limit in self.limits:
            if (reason := threshold.describe_if_fired(facts, limit)) is not None:
                reasons.append(reason)
        return [f"{reason} → {self.grade}" for reason in reasons]


@dataclass(frozen=True)
class GradingPolicy:
    """A validated policy; build it with parse_policy or load_policy, never by hand."""

    source_name: str
    ruled_grades: tuple[_GradeRules, ...]  # every grade but the catch-all, worst first

    def evaluate(self, facts: ImpactFacts) -> GradeResult:
        if not facts.business_impact:
            return GradeResult(grade=None, reasons=())
        for rules in self.ruled_grades:
            if reasons := rules.reasons_fired(facts):
                return GradeResult(grade=rules.grade, reasons=tuple(reasons))
        return GradeResult(
            grade=CATCH_ALL_GRADE,
            reasons=(f"business impact, no higher rule → {CATCH_ALL_GRADE}",),
        )


def load_policy(path: Path | None) -> GradingPolicy:
    """The policy in `path`, or the packaged default when `path` is None."""
    if path is None:
        return _packaged_default_policy()
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError(str(path), None, "not UTF-8 text") from exc
    except OSError as exc:
        raise PolicyError(str(path), None, f"cannot read: {exc.strerror or exc}") from exc
    return parse_policy(text, source_name=str(path))


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
_TABLE_HEADER = re.compile(r"^\s*\[(?!\[)(?P<name>[^\]]*)\]")
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
            if name not in GRADES:
                raise self._error(f"unknown table [{name}]; the grades are A, B, C, D", name)
            if not isinstance(table, dict):
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
        return GradingPolicy(source_name=self.source_name, ruled_grades=ruled_grades)

    def _grade_rules(self, grade: str, table: dict[str, object]) -> _GradeRules:
        for key in table:
            if key not in _RULE_KEYS:
                suggestion = get_close_matches(key, _RULE_KEYS, n=1)
                hint = f"; did you mean '{suggestion[0]}'?" if suggestion else ""
                raise self._error(f"unknown field '{key}' in [{grade}]{hint}", grade, key)
        regulatory = table.get(_REGULATORY_KEY, False)
        if not isinstance(regulatory, bool):
            problem = f"must be true or false, not {_toml_type_name(regulatory)}"
            raise self._error(f"{grade}.{_REGULATORY_KEY} {problem}", grade, _REGULATORY_KEY)
        limits = tuple(
            (threshold, self._limit(grade, threshold, table[threshold.key]))
            for threshold in _THRESHOLDS
            if threshold.key in table
        )
        return _GradeRules(grade=grade, regulatory=regulatory, limits=limits)

    def _limit(self, grade: str, threshold: _Threshold, value: object) -> Number:
        name = f"{grade}.{threshold.key}"
        allowed_types = (int, Decimal) if threshold.allows_fraction else (int,)
        # bool is an int in Python but `true` is no threshold.
        if isinstance(value, bool) or not isinstance(value, allowed_types):
            expected = "a number" if threshold.allows_fraction else "a whole number"
            problem = f"{name} must be {expected}, not {_toml_type_name(value)}"
            raise self._error(problem, grade, threshold.key)
        if not (isinstance(value, int) or value.is_finite()) or value <= 0:
            # A limit of 0 would grade every incident; leaving the key out disables the rule.
            raise self._error(f"{name} must be greater than 0, not {value}", grade, threshold.key)
        return value

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
