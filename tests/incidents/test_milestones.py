"""1-5-10: the minutes of each stage, the verdict against the policy's targets, its 达标率 and
per-stage durations in SQL, and the weekly section's line."""

from datetime import datetime, timedelta
from importlib import resources
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from incidents import metrics, postmortems, report
from incidents.actors import AUTO_PROMOTER, Actor
from incidents.calendar import DEFAULT_CALENDAR
from incidents.errors import Invalid
from incidents.grading import Targets, load_policy, parse_policy
from incidents.milestones import (
    MILESTONE_FIELDS,
    OneFiveTen,
    check_order,
    one_five_ten,
    stage_minutes,
)
from incidents.models import Role, TimelineEntryCreate
from incidents.service import get_incident
from incidents.settings import Settings
from incidents.weeks import parse_week
from tests.builders import file_in_domain, seed_pos_incident

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2023, 9, 7, 14, 0, tzinfo=SHANGHAI)
ONCALL = Actor("oncall-user", Role.oncall)
ONE_THREE_FIVE = Targets(detect_minutes=1, locate_minutes=3, recover_minutes=5)


def times(**minutes: float) -> SimpleNamespace:
    """An incident's milestones, each given in minutes after T0; the others unknown."""
    values: dict[str, datetime | None] = dict.fromkeys(MILESTONE_FIELDS)
    for name, offset in minutes.items():
        values[f"{name}_at"] = T0 + timedelta(minutes=offset)
    return SimpleNamespace(**values)


@pytest.mark.parametrize(
    ("incident", "verdict"),
    [
        # Exactly on each target still meets it: detected 1, located 5, recovered 10 min later.
        (times(occurred=0, detected=1, located=6, recovered=16), OneFiveTen.met),
        (times(occurred=0, detected=1.5, located=2, recovered=3), OneFiveTen.missed_detect),
        (times(occurred=0, detected=1, located=6.5, recovered=7), OneFiveTen.missed_locate),
        (times(occurred=0, detected=1, located=6, recovered=16.5), OneFiveTen.missed_recover),
        # Several steps missed: the first one is named.
        (times(occurred=0, detected=2, located=20, recovered=60), OneFiveTen.missed_detect),
        # Location unknown: 1-5-10 cannot be judged …
        (times(occurred=0, detected=1, recovered=5), OneFiveTen.unknown),
        (times(detected=0, located=1, recovered=2), OneFiveTen.unknown),
        # … unless a known step already missed, which no later time can undo.
        (times(occurred=0, detected=3, recovered=5), OneFiveTen.missed_detect),
        (times(detected=0, located=9, recovered=10), OneFiveTen.missed_locate),
    ],
)
def test_the_verdict_names_the_first_missed_step(incident, verdict) -> None:
    assert one_five_ten(incident, Targets()) == verdict


def test_a_team_may_set_its_own_targets() -> None:
    # Met under the default 1-5-10; under 1-3-5, locating in 4 min or recovering in 5.5 misses.
    slow_locate = times(occurred=0, detected=1, located=5, recovered=9)
    slow_recover = times(occurred=0, detected=1, located=4, recovered=9.5)
    assert one_five_ten(slow_locate, Targets()) == OneFiveTen.met
    assert one_five_ten(slow_locate, ONE_THREE_FIVE) == OneFiveTen.missed_locate
    assert one_five_ten(slow_recover, ONE_THREE_FIVE) == OneFiveTen.missed_recover
    assert one_five_ten(times(occurred=0, detected=1, located=4, recovered=9), ONE_THREE_FIVE) == (
        OneFiveTen.met
    )


def test_the_targets_are_read_from_the_policy_file() -> None:
    default = (resources.files("incidents") / "grading_policy.toml").read_text(encoding="utf-8")
    assert load_policy(None).targets == Targets(1, 5, 10)
    text = default.replace("locate_minutes = 5", "locate_minutes = 3").replace(
        "recover_minutes = 10", "recover_minutes = 5"
    )
    assert parse_policy(text).targets == ONE_THREE_FIVE


def test_stage_minutes_count_from_occurrence_then_from_detection() -> None:
    incident = times(occurred=0, detected=2, acknowledged=3, located=7.5, mitigated=9, recovered=12)
    assert stage_minutes(incident) == {
        "detect": 2.0,
        "acknowledge": 1.0,
        "locate": 5.5,
        "mitigate": 7.0,
        "recover": 10.0,
    }
    assert stage_minutes(times(detected=0)) == dict.fromkeys(
        ("detect", "acknowledge", "locate", "mitigate", "recover")
    )


def test_the_order_is_checked_on_what_a_write_sets() -> None:
    # Before 0.2 nothing kept resolution after recovery: such a record still takes other edits.
    legacy = vars(times(detected=0, recovered=30, resolved=20))
    check_order(legacy, written={"owner"})
    with pytest.raises(Invalid) as later:
        check_order(legacy, written={"resolved_at"})
    assert (later.value.field, later.value.message) == (
        "resolved_at",
        "must not be before recovered_at",
    )
    with pytest.raises(Invalid) as earlier:
        check_order(legacy, written={"recovered_at"})
    assert (earlier.value.field, earlier.value.message) == (
        "recovered_at",
        "must not be after resolved_at",
    )


# --- 达标率 and stage durations in SQL, and the weekly section --------------------------------


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def file(session: Session, **fields) -> int:
    return file_in_domain(session, actor=ONCALL, **fields).id


WEEK_37 = parse_week("2023-09-09")


@pytest.fixture
def milestone_week(session: Session) -> Session:
    """Week 37 with four incidents whose milestones are known to different degrees."""
    file(  # 1, 4 and 7 min: met
        session,
        title="met",
        occurred_at=local("2023-09-05 10:00"),
        detected_at=local("2023-09-05 10:01"),
        acknowledged_at=local("2023-09-05 10:03"),
        located_at=local("2023-09-05 10:05"),
        mitigation_started_at=local("2023-09-05 10:06"),
        mitigated_at=local("2023-09-05 10:08"),
        recovered_at=local("2023-09-05 10:12"),
    )
    file(  # detected 2 min after occurring: missed:detect
        session,
        title="slow to detect",
        occurred_at=local("2023-09-06 11:00"),
        detected_at=local("2023-09-06 11:02"),
        acknowledged_at=local("2023-09-06 11:04"),
        located_at=local("2023-09-06 11:05"),
        recovered_at=local("2023-09-06 11:10"),
    )
    file(  # located 10 min after detection: missed:locate
        session,
        title="slow to locate",
        occurred_at=local("2023-09-07 12:00"),
        detected_at=local("2023-09-07 12:00"),
        acknowledged_at=local("2023-09-07 12:01"),
        located_at=local("2023-09-07 12:10"),
        recovered_at=local("2023-09-07 12:15"),
    )
    file(  # never located: not counted in 达标率
        session,
        title="not located",
        detected_at=local("2023-09-08 13:00"),
        recovered_at=local("2023-09-08 13:30"),
    )
    return session


def compute(session: Session, week, targets: Targets = Targets()) -> metrics.Metrics:
    window = metrics.Window.of_week(week, DEFAULT_CALENDAR)
    return metrics.compute(session, window, Settings(database_url="sqlite://"), targets=targets)


def test_the_rate_counts_incidents_with_every_time_known(milestone_week) -> None:
    current = compute(milestone_week, WEEK_37)
    rate = current.one_five_ten_rate
    assert (rate.numerator, rate.denominator) == (1, 3)
    stricter = compute(milestone_week, WEEK_37, ONE_THREE_FIVE).one_five_ten_rate
    assert (stricter.numerator, stricter.denominator) == (0, 3)  # "met" located in 4 min
    before = compute(milestone_week, WEEK_37.shifted(-1)).one_five_ten_rate
    assert (before.numerator, before.denominator) == (0, 0)


def test_stage_durations_are_mean_median_and_p90(milestone_week) -> None:
    stages = compute(milestone_week, WEEK_37).stage_durations

    def summary(name: str) -> tuple:
        durations = stages[name]
        return durations.count, durations.mean, durations.median, durations.p90

    # Seconds, by hand. Nearest rank: median is value ceil(0.5 n), P90 value ceil(0.9 n).
    assert summary("detect") == (4, 45, 0, 120)  # 60, 120, 0, 0 (occurred = detected)
    assert summary("acknowledge") == (3, 100, 120, 120)  # 120, 120, 60
    assert summary("locate") == (3, 340, 240, 600)  # 240, 180, 600
    assert summary("mitigate") == (1, 420, 420, 420)
    assert summary("recover") == (4, 960, 660, 1800)  # 660, 480, 900, 1800


def test_the_metrics_answer_carries_the_rate_and_the_stages(milestone_week) -> None:
    current, previous = (
        compute(milestone_week, WEEK_37),
        compute(milestone_week, WEEK_37.shifted(-1)),
    )
    shown = metrics.as_dict(current, previous)
    assert shown["rates"]["one_five_ten_rate"] == {
        "numerator": 1,
        "denominator": 3,
        "value": pytest.approx(1 / 3),
        "previous": {"numerator": 0, "denominator": 0, "value": None},
    }
    assert shown["stage_durations"]["locate"] == {
        "count": 3,
        "mean_seconds": 340,
        "median_seconds": 240,
        "p90_seconds": 600,
    }


def section(session: Session, week, lang: report.Lang = "zh") -> str:
    settings = Settings(database_url="sqlite://")
    built = report.build(session, week, settings, lang, targets=Targets())
    return report.to_markdown(built)


def test_the_weekly_section_gives_the_rate_when_there_is_one(milestone_week) -> None:
    zh = section(milestone_week, WEEK_37)
    assert "- 1-5-10达标率：33.3%（1/3，上周 —）\n" in zh
    # In the 稳定性跟进 list, after the other rates.
    follow_up = zh.split("稳定性跟进：\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert (
        follow_up.index("- 1-5-10达标率：33.3%（1/3，上周 —）")
        == follow_up.index(next(line for line in follow_up if line.startswith("- 复盘完成率"))) + 1
    )
    en = section(milestone_week, WEEK_37, "en")
    assert "- 1-5-10 targets met: 33.3% (1/3, last week —)\n" in en
    # The week after has none of its own, but compares with this one.
    assert "- 1-5-10达标率：—（0/0，上周 33.3%）\n" in section(milestone_week, WEEK_37.shifted(1))


def test_a_week_without_milestones_reads_as_before(session) -> None:
    file(session, **seed_pos_incident())
    zh = section(session, WEEK_37)
    assert "- 监控跟进闭环率：" in zh
    assert "1-5-10" not in zh
    assert "1-5-10" not in section(session, WEEK_37, "en")


# --- acknowledgement by the first entry of a person -------------------------------------------


def test_a_rules_timeline_entry_acknowledges_nothing(session) -> None:
    incident_id = file(session, title="t", detected_at=local("2023-09-07 14:42"))
    robot = Actor(AUTO_PROMOTER, Role.oncall)
    entry = TimelineEntryCreate(at=local("2023-09-07 14:45"), text="opened by the rule")
    policy = load_policy(None)
    postmortems.add_timeline_entry(
        session, incident_id, entry, actor=robot, policy=policy, calendar=DEFAULT_CALENDAR
    )
    incident = get_incident(session, incident_id)
    assert incident.acknowledged_at is None
    postmortems.add_timeline_entry(
        session, incident_id, entry, actor=ONCALL, policy=policy, calendar=DEFAULT_CALENDAR
    )
    assert incident.acknowledged_at == local("2023-09-07 14:45")
