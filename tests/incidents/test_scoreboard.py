"""故障积分 of a small hand-built month, its teams from the system mapping, the red-line message
once a month, and the policy's [scoreboard] refused with line numbers."""

from datetime import datetime, timedelta
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session, col, select

from incidents import scoreboard, teams
from incidents.actors import Actor
from incidents.calendar import DEFAULT_CALENDAR
from incidents.errors import Invalid
from incidents.grading import PolicyError, parse_policy
from incidents.jobs import scoreboard_job
from incidents.metrics import Window
from incidents.models import PostmortemWrite, Role
from incidents.outbox import Channel, ChannelKind, Notification
from incidents.postmortems import put_postmortem
from incidents.service import update_incident
from incidents.settings import Settings
from tests.builders import file_in_domain

SHANGHAI = ZoneInfo("Asia/Shanghai")
ONCALL = Actor("oncall-user", Role.oncall)
ADMIN = Actor("admin-user", Role.admin)
CORE, CHANNELS = "支付核心组", "渠道组"
PACKAGED = (resources.files("incidents") / "grading_policy.toml").read_text(encoding="utf-8")
# The packaged policy with one red line: the core team is told at 15 points a month.
POLICY = parse_policy(PACKAGED + f'\n[scoreboard.red_lines]\n"{CORE}" = 15\n')
SEPTEMBER = Window(datetime(2023, 9, 1, tzinfo=SHANGHAI), datetime(2023, 10, 1, tzinfo=SHANGHAI))


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def file(session: Session, **fields: Any) -> Any:
    return file_in_domain(session, actor=ONCALL, policy=POLICY, **{"title": "故障", **fields})


def file_september(session: Session) -> None:
    teams.map_system(session, "渠道网关", CHANNELS, actor=ADMIN)
    # A (a ticked trigger) with its regulatory report: 10 + 5 = 15; 1-5-10 unknown, no miss.
    file(session, system="收单", team=CORE, detected_at="2023-09-05 10:00",
         regulatory_triggers=["fund_safety"])  # fmt: skip
    # C (545 failed) detected 10 min after occurring, a missed 1-5-10: 2 + 1 = 3.
    file(session, system="收单", team=CORE, failed_orders=545,
         occurred_at="2023-09-06 10:00", detected_at="2023-09-06 10:10",
         located_at="2023-09-06 10:12", recovered_at="2023-09-06 10:20")  # fmt: skip
    # D, 1-5-10 met, its team from the mapping of its system: 1.
    file(session, system="渠道网关", business_impact=True, failed_orders=5,
         occurred_at="2023-09-07 10:00:00", detected_at="2023-09-07 10:00:30",
         located_at="2023-09-07 10:03", recovered_at="2023-09-07 10:10")  # fmt: skip
    # Not counted: ungraded (no business impact), and one of October.
    file(session, system="收单", team=CORE, business_impact=False,
         occurred_at="2023-09-08 10:00", detected_at="2023-09-08 10:30")  # fmt: skip
    file(session, system="收单", team=CORE, failed_orders=545, detected_at="2023-10-01 00:00")


def test_points_per_team_and_per_system_of_a_known_month(session: Session) -> None:
    file_september(session)

    board = scoreboard.compute(session, SEPTEMBER, policy=POLICY, calendar=DEFAULT_CALENDAR)

    core, channels = board.teams
    assert (core.name, core.points, core.incidents) == (CORE, 18, 2)
    assert core.by_grade == {"A": 1, "B": 0, "C": 1, "D": 0}
    assert (core.regulatory, core.missed_one_five_ten) == (1, 1)
    assert (core.red_line, core.over_red_line) == (15, True)
    assert (channels.name, channels.points, channels.incidents) == (CHANNELS, 1, 1)
    assert (channels.red_line, channels.over_red_line) == (None, False)
    assert [(s.name, s.points, s.incidents) for s in board.systems] == [
        ("收单", 18, 2),
        ("渠道网关", 1, 1),
    ]
    assert [team.name for team in board.over_red_line] == [CORE]


def test_points_follow_the_policy_and_an_incident_without_a_team_is_shown_apart(
    session: Session,
) -> None:
    file(session, system="无人认领", failed_orders=545, detected_at="2023-09-06 10:00")
    doubled = parse_policy(PACKAGED.replace("C = 2\n", "C = 4\n", 1))

    board = scoreboard.compute(session, SEPTEMBER, policy=doubled, calendar=DEFAULT_CALENDAR)

    assert [(s.name, s.points) for s in board.teams] == [(None, 4)]


def test_an_incident_takes_its_systems_team_and_follows_it_to_a_new_system(
    session: Session,
) -> None:
    teams.map_system(session, "渠道网关", CHANNELS, actor=ADMIN)
    teams.map_system(session, "收单", CORE, actor=ADMIN)
    mapped = file(session, system="渠道网关", detected_at="2023-09-07 10:00")
    chosen = file(session, system="渠道网关", team="风控组", detected_at="2023-09-07 11:00")
    assert (mapped.team, chosen.team) == (CHANNELS, "风控组")

    for incident in (mapped, chosen):
        update_incident(session, incident.id, {"system": "收单"}, actor=ONCALL,
                        policy=POLICY, calendar=DEFAULT_CALENDAR)  # fmt: skip
    session.commit()

    assert (mapped.team, chosen.team) == (CORE, "风控组")  # a team a person chose stays
    # Stored, so a later mapping leaves the incident's team (and its points) where they fell.
    teams.map_system(session, "收单", "新团队", actor=ADMIN)
    assert mapped.team == CORE
    # The 复盘's 责任团队 defaults to the incident's team.
    postmortem = put_postmortem(
        session, mapped.id, PostmortemWrite(), actor=ONCALL, calendar=DEFAULT_CALENDAR
    )
    assert postmortem.responsible_team == CORE


def test_mapping_a_system_gives_its_teamless_incidents_the_team(session: Session) -> None:
    teamless = file(session, system="清结算", detected_at="2023-09-07 10:00")
    assert teamless.team is None

    _, given = teams.map_system(session, "清结算", "清算组", actor=ADMIN)
    session.commit()

    assert (given, teamless.team) == (1, "清算组")
    assert [m.system for m in teams.list_mappings(session)] == ["清结算"]
    teams.unmap_system(session, "清结算")
    assert teams.team_of(session, "清结算") is None


def test_a_red_line_crossed_is_told_once_per_team_and_month(
    session: Session, engine, settings: Settings
) -> None:
    session.add(
        Channel(
            kind=ChannelKind.webhook,
            name="ops",
            url="http://127.0.0.1:9/hook",
            events=["scoreboard"],
        )
    )
    session.commit()
    file_september(session)
    now = local("2023-09-20 12:00")

    scoreboard_job(engine, settings, POLICY, now)
    scoreboard_job(engine, settings, POLICY, now)  # the same hour: another instance
    scoreboard_job(engine, settings, POLICY, now + timedelta(hours=1))  # the next run

    session.expire_all()
    sent = session.exec(select(Notification).order_by(col(Notification.id))).all()
    assert [n.dedup_key for n in sent] == [f"scoreboard:{CORE}:2023-09"]
    assert "18" in sent[0].title
    assert "15" in sent[0].title
    assert sent[0].url == "/scoreboard?from=2023-09-01&to=2023-10-01"


def test_the_window_is_a_range_a_period_or_this_month() -> None:
    calendar = DEFAULT_CALENDAR
    assert scoreboard.window_of(calendar, now=local("2023-09-20 12:00")) == SEPTEMBER
    quarter = scoreboard.window_of(calendar, period="2023-Q3")
    assert (quarter.start, quarter.end) == (local("2023-07-01 00:00"), local("2023-10-01 00:00"))
    with pytest.raises(Invalid) as refused:
        scoreboard.window_of(calendar, start=local("2023-09-01 00:00"))
    assert refused.value.field == "to"
    with pytest.raises(Invalid) as refused:
        scoreboard.window_of(calendar, period="2023-Q3", start=local("2023-09-01 00:00"))
    assert refused.value.field == "period"


def test_the_packaged_policy_has_the_default_points_and_no_red_line() -> None:
    points = parse_policy(PACKAGED).scoreboard
    assert dict(points.grade_points) == {"A": 10, "B": 5, "C": 2, "D": 1}
    assert (points.regulatory, points.missed_one_five_ten, points.red_lines) == (5, 1, ())


SCOREBOARD_AT_LINE_3 = "[A]\n[B]\n[C]\n[D]\n"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        pytest.param(
            "[scoreboard]\nA = 10\nmised_one_five_ten = 2\n",
            "policy.toml line 7: unknown field 'mised_one_five_ten' in [scoreboard];"
            " did you mean 'missed_one_five_ten'?",
            id="unknown key",
        ),
        pytest.param(
            "[scoreboard]\nB = -1\n",
            "policy.toml line 6: scoreboard.B must be 0–1,000,000 points, not -1",
            id="negative points",
        ),
        pytest.param(
            "[scoreboard]\nregulatory = 2.5\n",
            "policy.toml line 6: scoreboard.regulatory must be a whole number of points,"
            " not a decimal number",
            id="fractional points",
        ),
        pytest.param(
            '[scoreboard]\nC = 2\n\n[scoreboard.red_lines]\n"支付核心组" = 0\n',
            "policy.toml line 9: scoreboard.red_lines.支付核心组 must be 1–1,000,000 points, not 0",
            id="red line of 0",
        ),
        pytest.param(
            "[scoreboard]\nred_lines = 30\n",
            "policy.toml line 6: scoreboard.red_lines must be a table [scoreboard.red_lines] of"
            " team = points",
            id="red lines not a table",
        ),
        pytest.param(
            "[scorebord]\n",
            "policy.toml line 5: unknown table [scorebord]; did you mean [scoreboard]? the tables"
            " are A, B, C, D, targets, regulatory, escalate, peak, scoreboard",
            id="misspelt table",
        ),
    ],
)
def test_a_bad_scoreboard_is_refused_naming_line_and_problem(table: str, message: str) -> None:
    with pytest.raises(PolicyError) as refused:
        parse_policy(SCOREBOARD_AT_LINE_3 + table, source_name="policy.toml")

    assert str(refused.value) == message
