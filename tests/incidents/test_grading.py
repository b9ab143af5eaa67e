from dataclasses import FrozenInstanceError
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from incidents.grading import (
    GRADES,
    Circumstances,
    GradeResult,
    ImpactFacts,
    PolicyError,
    load_policy,
    parse_policy,
)

OCCURRED_AT = datetime(2023, 9, 7, 9, 0, tzinfo=UTC)


def impact(**facts: object) -> ImpactFacts:
    """An incident with business impact and nothing else unless given."""
    return ImpactFacts(business_impact=True, **facts)


def grade_of(facts: ImpactFacts) -> GradeResult:
    return load_policy(None).evaluate(facts)


# (facts, grade, reasons) on both sides of every rule of DESIGN.md's default table.
DEFAULT_TABLE_BOUNDARIES = [
    pytest.param(impact(failed_orders=99), "D", None, id="failed 99"),
    pytest.param(impact(failed_orders=100), "C", ("failed 100 ≥ 100 → C",), id="failed 100"),
    pytest.param(impact(failed_orders=999), "C", ("failed 999 ≥ 100 → C",), id="failed 999"),
    pytest.param(impact(failed_orders=1_000), "B", ("failed 1,000 ≥ 1,000 → B",), id="failed 1000"),
    pytest.param(impact(failed_transactions=9_999), "B", None, id="failed 9999"),
    pytest.param(
        impact(failed_transactions=10_000), "A", ("failed 10,000 ≥ 10,000 → A",), id="failed 10000"
    ),
    pytest.param(
        impact(failed_orders=60, failed_transactions=40),
        "C",
        ("failed 100 ≥ 100 → C",),
        id="orders and transactions add up",
    ),
    pytest.param(
        impact(failed_orders=None, failed_transactions=99), "D", None, id="missing orders count 0"
    ),
    pytest.param(impact(amount_involved_cny=Decimal("49999.99")), "D", None, id="amount 49,999.99"),
    pytest.param(
        impact(amount_involved_cny=Decimal("50000")),
        "C",
        ("amount ¥50,000 ≥ ¥50,000 → C",),
        id="amount 50,000",
    ),
    pytest.param(impact(amount_involved_cny=Decimal("499999")), "C", None, id="amount 499,999"),
    pytest.param(
        impact(amount_involved_cny=Decimal("500000")),
        "B",
        ("amount ¥500,000 ≥ ¥500,000 → B",),
        id="amount 500,000",
    ),
    pytest.param(
        impact(amount_involved_cny=Decimal("600000")),
        "B",
        ("amount ¥600,000 ≥ ¥500,000 → B",),
        id="amount 600,000",
    ),
    pytest.param(impact(amount_involved_cny=Decimal("4999999")), "B", None, id="amount 4,999,999"),
    pytest.param(
        impact(amount_involved_cny=Decimal("5000000.00")),
        "A",
        ("amount ¥5,000,000 ≥ ¥5,000,000 → A",),
        id="amount 5,000,000",
    ),
    pytest.param(impact(core_system=True, impact_minutes=9), "D", None, id="core 9 min"),
    pytest.param(
        impact(core_system=True, impact_minutes=10),
        "C",
        ("core impact 10 min ≥ 10 → C",),
        id="core 10 min",
    ),
    pytest.param(impact(core_system=True, impact_minutes=29), "C", None, id="core 29 min"),
    pytest.param(
        impact(core_system=True, impact_minutes=30),
        "B",
        ("core impact 30 min ≥ 30 → B",),
        id="core 30 min",
    ),
    pytest.param(impact(core_system=True, impact_minutes=59), "B", None, id="core 59 min"),
    pytest.param(
        impact(core_system=True, impact_minutes=60),
        "A",
        ("core impact 60 min ≥ 60 → A",),
        id="core 60 min",
    ),
    pytest.param(impact(core_system=False, impact_minutes=29), "D", None, id="non-core 29 min"),
    pytest.param(
        impact(core_system=False, impact_minutes=30),
        "C",
        ("non-core impact 30 min ≥ 30 → C",),
        id="non-core 30 min",
    ),
    pytest.param(impact(core_system=False, impact_minutes=119), "C", None, id="non-core 119 min"),
    pytest.param(
        impact(core_system=False, impact_minutes=120),
        "B",
        ("non-core impact 120 min ≥ 120 → B",),
        id="non-core 120 min",
    ),
    pytest.param(
        impact(core_system=False, impact_minutes=10_000),
        "B",
        ("non-core impact 10,000 min ≥ 120 → B",),
        id="non-core never reaches A by time",
    ),
    pytest.param(
        impact(regulatory_triggers=frozenset({"fund_safety"})),
        "A",
        ("regulatory: fund_safety (重复结算或其他资金安全事件) → A",),
        id="a ticked regulatory trigger",
    ),
    pytest.param(
        impact(),
        "D",
        ("business impact, no higher rule → D",),
        id="business impact and nothing else",
    ),
    pytest.param(
        impact(failed_orders=545),
        "C",
        ("failed 545 ≥ 100 → C",),
        id="the seed's 545 failed POS orders",
    ),
]


@pytest.mark.parametrize(("facts", "grade", "reasons"), DEFAULT_TABLE_BOUNDARIES)
def test_default_policy_grades_each_boundary(
    facts: ImpactFacts, grade: str, reasons: tuple[str, ...] | None
) -> None:
    result = grade_of(facts)

    assert result.grade == grade
    if reasons is not None:
        assert result.reasons == reasons


@pytest.mark.parametrize(
    ("recovered_after", "core", "grade"),
    [
        pytest.param(timedelta(minutes=59, seconds=59), True, "B", id="core 59:59 floors to 59"),
        pytest.param(timedelta(minutes=60), True, "A", id="core 60:00"),
        pytest.param(timedelta(minutes=29, seconds=59), False, "D", id="non-core 29:59"),
        pytest.param(timedelta(minutes=30), False, "C", id="non-core 30:00"),
    ],
)
def test_impact_minutes_come_from_recovery_when_not_recorded(
    recovered_after: timedelta, core: bool, grade: str
) -> None:
    facts = impact(
        core_system=core, occurred_at=OCCURRED_AT, recovered_at=OCCURRED_AT + recovered_after
    )

    assert grade_of(facts).grade == grade


def test_derived_impact_minutes_are_whole_minutes_rounded_down() -> None:
    facts = impact(occurred_at=OCCURRED_AT, recovered_at=OCCURRED_AT + timedelta(seconds=119))

    assert facts.known_impact_minutes == 1
    assert isinstance(facts.known_impact_minutes, int)


def test_recorded_impact_minutes_win_over_recovery_time() -> None:
    facts = impact(
        core_system=True,
        impact_minutes=5,
        occurred_at=OCCURRED_AT,
        recovered_at=OCCURRED_AT + timedelta(hours=3),
    )

    assert grade_of(facts).grade == "D"


def test_time_rules_do_not_fire_while_not_recovered() -> None:
    facts = impact(core_system=True, occurred_at=OCCURRED_AT)

    assert grade_of(facts) == GradeResult("D", ("business impact, no higher rule → D",))


def test_every_rule_of_the_winning_grade_is_listed_and_no_milder_one() -> None:
    facts = impact(
        regulatory_triggers=frozenset({"fund_safety"}),
        failed_orders=12_000,
        amount_involved_cny=Decimal("6000000"),
        core_system=True,
        impact_minutes=45,  # a B rule: must not appear
    )

    result = grade_of(facts)

    assert result.grade == "A"
    assert result.reasons == (
        "regulatory: fund_safety (重复结算或其他资金安全事件) → A",
        "failed 12,000 ≥ 10,000 → A",
        "amount ¥6,000,000 ≥ ¥5,000,000 → A",
    )
    assert result.reason_text == (
        "regulatory: fund_safety (重复结算或其他资金安全事件) → A; failed 12,000 ≥ 10,000 → A;"
        " amount ¥6,000,000 ≥ ¥5,000,000 → A"
    )


def test_no_business_impact_is_ungraded_whatever_the_numbers() -> None:
    facts = ImpactFacts(business_impact=False, failed_orders=50_000, core_system=True)

    result = grade_of(facts)

    assert result == GradeResult(grade=None, reasons=())
    assert result.reason_text == "no business impact"


def test_policy_is_immutable() -> None:
    policy = load_policy(None)

    with pytest.raises(FrozenInstanceError):
        policy.source_name = "elsewhere"  # type: ignore[misc]


def policy_text(**grade_tables: str) -> str:
    """A valid policy with some grade tables' bodies replaced.

    With one-line bodies the layout is fixed: the bodies of A, B, C, D are on lines 2, 5, 8, 11.
    """
    bodies = {
        "A": "failed_min = 10_000",
        "B": "failed_min = 1_000",
        "C": "failed_min = 100",
        "D": "",
    } | grade_tables
    return "\n".join(f"[{grade}]\n{body}\n" for grade, body in bodies.items())


def test_a_custom_policy_moves_the_thresholds(tmp_path: Path) -> None:
    stricter = policy_text(C="failed_min = 10\namount_cny_min = 49_999.99")
    policy_file = tmp_path / "team.toml"
    policy_file.write_text(stricter, encoding="utf-8")

    policy = load_policy(policy_file)

    assert policy.evaluate(impact(failed_orders=10)).reasons == ("failed 10 ≥ 10 → C",)
    assert policy.evaluate(impact(amount_involved_cny=Decimal("49999.99"))).reasons == (
        "amount ¥49,999.99 ≥ ¥49,999.99 → C",
    )
    assert policy.source_name == str(policy_file)


def test_a_regulatory_trigger_grades_a_even_without_business_impact() -> None:
    facts = ImpactFacts(business_impact=False, regulatory_triggers=frozenset({"public_opinion"}))

    result = grade_of(facts)

    assert result.grade == "A"
    assert result.triggers == ("public_opinion",)


def test_the_old_name_of_the_amount_threshold_still_reads() -> None:
    policy = parse_policy(policy_text(C="failed_min = 100\namount_cny_min = 50_000"))

    assert policy.evaluate(impact(amount_involved_cny=Decimal(50_000))).grade == "C"


INVALID_POLICIES = [
    pytest.param(
        "[A]\nfailed_min = 10_000\n\n[B]\n# a typo below\nfailed_min = 1_000\nfaild_min = 5\n"
        "[C]\n[D]\n",
        "policy.toml line 7: unknown field 'faild_min' in [B]; did you mean 'failed_min'?",
        id="unknown key",
    ),
    pytest.param(
        policy_text() + "[E]\nfailed_min = 1\n",
        "policy.toml line 12: unknown table [E]; the tables are A, B, C, D, targets, regulatory,"
        " escalate, peak, scoreboard",
        id="unknown table",
    ),
    pytest.param(
        policy_text(B="amount_involved_cny_min = 20_000", C="amount_involved_cny_min = 50_000"),
        "policy.toml line 5: B.amount_involved_cny_min = 20000 is below"
        " C.amount_involved_cny_min = 50000;"
        " grade B is worse than C, so its threshold must be ≥ C's",
        id="out-of-order thresholds",
    ),
    pytest.param(
        policy_text(A="failed_min = 500", B="", C="failed_min = 600"),
        "policy.toml line 2: A.failed_min = 500 is below C.failed_min = 600;"
        " grade A is worse than C, so its threshold must be ≥ C's",
        id="out of order across a grade that leaves the rule out",
    ),
    pytest.param(
        "[A]\nfailed_min = = 3\n",
        "policy.toml line 2: invalid TOML: Invalid value (column 14)",
        id="syntax error",
    ),
    pytest.param(
        "[A]\nfailed_min = 10_000\n[B]\n[D]\n",
        "policy.toml: grade C missing: add a [C]",
        id="missing grade",
    ),
    pytest.param(
        policy_text(B='failed_min = "1000"'),
        "policy.toml line 5: B.failed_min must be a whole number, not a string",
        id="string threshold",
    ),
    pytest.param(
        policy_text(C="core_impact_minutes_min = 10.5"),
        "policy.toml line 8: C.core_impact_minutes_min must be a whole number,"
        " not a decimal number",
        id="fractional minutes",
    ),
    pytest.param(
        policy_text(C="failed_min = -100"),
        "policy.toml line 8: C.failed_min must be greater than 0, not -100",
        id="negative threshold",
    ),
    pytest.param(
        policy_text(C="amount_cny_min = nan"),
        "policy.toml line 8: C.amount_cny_min must be greater than 0, not NaN",
        id="not-a-number amount",
    ),
    pytest.param(
        policy_text(B="regulatory = true"),
        "policy.toml line 5: B.regulatory: any regulatory trigger gives grade A by itself;"
        " name the triggers under [regulatory.triggers]",
        id="regulatory below A",
    ),
    pytest.param(
        policy_text(D="failed_min = 1"),
        "policy.toml line 11: [D] takes no rules (it is every other business impact);"
        " remove 'failed_min'",
        id="rules under the catch-all grade",
    ),
    pytest.param(
        "A = 5\n[B]\n[C]\n[D]\n",
        "policy.toml line 1: A must be a table [A], not a value",
        id="grade not a table",
    ),
    pytest.param(
        "A = { failed_min = 1, failled = 2 }\n[B]\n[C]\n[D]\n",
        "policy.toml line 1: unknown field 'failled' in [A]; did you mean 'failed_min'?",
        id="inline table points at its line",
    ),
]


@pytest.mark.parametrize(("text", "message"), INVALID_POLICIES)
def test_invalid_policy_is_refused_naming_line_and_problem(text: str, message: str) -> None:
    with pytest.raises(PolicyError) as refused:
        parse_policy(text, source_name="policy.toml")

    assert str(refused.value) == message


def test_policy_error_keeps_line_and_problem_apart() -> None:
    with pytest.raises(PolicyError) as refused:
        parse_policy(policy_text(C="failed_min = -1"), source_name="policy.toml")

    assert (refused.value.line, refused.value.problem) == (
        8,
        "C.failed_min must be greater than 0, not -1",
    )


def test_unreadable_policy_file_is_a_policy_error(tmp_path: Path) -> None:
    missing = tmp_path / "absent.toml"

    with pytest.raises(PolicyError, match=r"absent\.toml: cannot read"):
        load_policy(missing)


def test_default_policy_covers_every_grade() -> None:
    policy = load_policy(None)

    assert tuple(rules.grade for rules in policy.ruled_grades) == GRADES[:-1]
    assert policy.source_name == "incidents/grading_policy.toml"


SHANGHAI = ZoneInfo("Asia/Shanghai")
PEAK_POLICY = (
    policy_text(A="core_impact_minutes_min = 60", B="core_impact_minutes_min = 30")
    + '[peak]\nfactor = 0.5\ndaily = ["11:00-13:00", "23:00-01:00"]\nmonth_end_days = 1\n'
    + 'dates = ["11-11"]\n'
)


def core_down_for(minutes: int, at: datetime) -> ImpactFacts:
    return impact(core_system=True, impact_minutes=minutes, occurred_at=at)


@pytest.mark.parametrize(
    ("local_start", "grade"),
    [
        (datetime(2023, 9, 7, 11, 30), "A"),  # the lunch peak: 30 minutes count as 60
        (datetime(2023, 9, 7, 14, 0), "B"),
        (datetime(2023, 9, 7, 0, 30), "A"),  # a window running past midnight
        (datetime(2023, 9, 30, 16, 0), "A"),  # the last day of the month
        (datetime(2023, 11, 11, 16, 0), "A"),  # 双十一
        (datetime(2023, 11, 12, 16, 0), "B"),
    ],
)
def test_time_thresholds_count_double_at_a_business_peak(local_start, grade) -> None:
    policy = parse_policy(PEAK_POLICY)
    facts = core_down_for(30, local_start.replace(tzinfo=SHANGHAI))

    result = policy.evaluate(facts, Circumstances(tz=SHANGHAI))

    assert result.grade == grade
    if grade == "A":
        assert result.reasons == ("core impact 30 at peak (÷0.5 = 60) min ≥ 60 → A",)


def test_an_open_incident_escalates_and_its_time_down_fires_the_trigger() -> None:
    policy = load_policy(None)
    occurred = datetime(2023, 9, 7, 2, 0, tzinfo=UTC)
    facts = impact(core_system=True, failed_orders=150, occurred_at=occurred)

    def as_of(minutes: int) -> GradeResult:
        return policy.evaluate(
            facts, Circumstances(occurred + timedelta(minutes=minutes), SHANGHAI)
        )

    assert as_of(29).grade == "C"
    assert as_of(30).reasons == (
        "core not recovered after 30 min (open 30 min at 09-07 10:30) → at least B",
    )
    assert as_of(120).triggers == ()
    assert as_of(121).grade == "A"
    assert as_of(121).triggers == ("interruption_over_2h",)
    assert grade_of(facts).grade == "C"  # judged without a clock, an open incident is not down


def test_net_loss_grades_and_is_never_below_zero() -> None:
    assert grade_of(impact(loss_cny=Decimal(150_000))).grade == "B"
    assert grade_of(impact(loss_cny=Decimal(150_000), recovered_cny=Decimal(60_000))).reasons == (
        "net loss ¥90,000 ≥ ¥10,000 → C",
    )
    assert impact(loss_cny=Decimal(5), recovered_cny=Decimal(9)).net_loss_cny == 0


def test_the_default_policy_names_the_pboc_triggers_and_the_targets() -> None:
    policy = load_policy(None)

    assert [trigger.name for trigger in policy.triggers] == [
        "interruption_over_2h",
        "transactions_over_100k",
        "personal_data_leak",
        "fund_safety",
        "public_opinion",
        "other_major_event",
    ]
    assert (policy.targets.detect_minutes, policy.targets.locate_minutes) == (1, 5)
    assert policy.targets.recover_minutes == 10
    assert policy.regulatory.report_within_minutes == 120
    assert policy.regulatory.written_report_working_days == 5


NEW_TABLE_ERRORS = [
    pytest.param(
        '[regulatory.triggers.leak]\ntitle = "泄露"\nleaked_over = 5000\n',
        "policy.toml line 14: unknown field 'leaked_over' in [regulatory.triggers.leak]; did you"
        " mean 'failed_over'?",
        id="unknown trigger condition",
    ),
    pytest.param(
        "[regulatory.triggers.leak]\nfailed_over = 5000\n",
        "policy.toml line 12: trigger leak needs a title, as the reason shows it",
        id="trigger without title",
    ),
    pytest.param(
        '[regulatory.triggers.Leak]\ntitle = "x"\n',
        "policy.toml line 12: trigger name 'Leak' must be lower-case letters, digits and _",
        id="trigger name",
    ),
    pytest.param(
        '[[escalate]]\nopen_minutes = 30\nat_least = "D"\n',
        "policy.toml line 14: escalate.at_least must be one of A, B, C, not 'D'",
        id="escalate to the catch-all",
    ),
    pytest.param(
        "[peak]\nfactor = 1.5\n",
        "policy.toml line 12: peak.factor must be a number between 0 and 1, e.g. 0.5",
        id="peak factor",
    ),
    pytest.param(
        '[peak]\ndaily = ["25:00-26:00"]\n',
        "policy.toml line 13: peak.daily: '25:00-26:00' has no such time",
        id="peak window",
    ),
    pytest.param(
        "[targets]\ndetect_minutes = 0\n",
        "policy.toml line 13: targets.detect_minutes must be greater than 0, not 0",
        id="target zero",
    ),
    pytest.param(
        "[regulatory]\nreport_within = 120\n",
        "policy.toml line 13: unknown field 'report_within' in [regulatory]; did you mean"
        " 'report_within_minutes'?",
        id="regulatory typo",
    ),
]


@pytest.mark.parametrize(("table", "message"), NEW_TABLE_ERRORS)
def test_the_new_tables_are_checked_naming_the_line(table: str, message: str) -> None:
    with pytest.raises(PolicyError) as refused:
        parse_policy(policy_text() + table, source_name="policy.toml")

    assert str(refused.value) == message
