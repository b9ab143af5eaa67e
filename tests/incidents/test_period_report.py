"""The period report over a hand-built 2023-Q3, checked against figures computed by hand."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from incidents import period_report
from incidents.actors import Actor
from incidents.alerts.models import Alert, Source, SourceKind
from incidents.calendar import DEFAULT_CALENDAR
from incidents.errors import Invalid
from incidents.grading import load_policy
from incidents.metrics import ALL_SYSTEMS
from incidents.models import ActionItem, ActionItemStatus, Postmortem, Role
from incidents.periods import Period
from incidents.settings import Settings
from tests.builders import file_in_domain

SHANGHAI = ZoneInfo("Asia/Shanghai")
ONCALL = Actor("oncall-user", Role.oncall)
Q3_MINUTES = 92 * 1440  # July 31 + August 31 + September 30 days
Q2_MINUTES = 91 * 1440


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def file(session: Session, **fields) -> int:
    return file_in_domain(session, actor=ONCALL, **fields).id


def alert(session: Session, source: Source, received: str, title: str, **fields) -> None:
    at = local(received)
    session.add(
        Alert(
            source_id=source.id,
            fingerprint=f"fp-{received}",
            status="firing",
            title=title,
            starts_at=at,
            received_at=at,
            last_seen_at=at,
            **fields,
        )
    )


def item(session: Session, incident_id: int, created: str, due: str, closed: str | None) -> None:
    session.add(
        ActionItem(
            incident_id=incident_id,
            title="t",
            owner="o",
            due_date=date.fromisoformat(due),
            status=ActionItemStatus.verified if closed else ActionItemStatus.open,
            closed_at=local(closed) if closed else None,
            created_at=local(created),
        )
    )


@pytest.fixture
def quarter(session: Session) -> None:
    # Two overlapping incidents on 支付网关: 10:00–11:00 and 10:30–11:30, 90 minutes together.
    first = file(
        session,
        title="支付网关超时",
        system="支付网关",
        occurred_at=local("2023-07-10 10:00"),
        detected_at=local("2023-07-10 10:05"),
        recovered_at=local("2023-07-10 11:00"),
        detection="monitoring",
        failed_orders=20000,  # A
    )
    file(
        session,
        title="支付网关限流",
        system="支付网关",
        occurred_at=local("2023-07-10 10:30"),
        detected_at=local("2023-07-10 10:40"),
        recovered_at=local("2023-07-10 11:30"),
        detection="monitoring",
        failed_orders=1500,  # B
    )
    file(
        session,
        title="清结算延迟",
        system="清结算",
        occurred_at=local("2023-08-15 13:50"),
        detected_at=local("2023-08-15 14:00"),
        recovered_at=local("2023-08-15 14:10"),
        detection="manual",
        failed_orders=150,  # C
    )
    file(
        session,
        title="抖动",
        detected_at=local("2023-09-01 09:00"),
        detection="monitoring",
        business_impact=False,
    )
    # The quarter before: one C of 30 minutes.
    file(
        session,
        title="二季度",
        system="支付网关",
        detected_at=local("2023-06-01 12:00"),
        impact_minutes=30,
        failed_orders=200,
        detection="manual",
    )
    session.add(Postmortem(incident_id=first, root_cause_category="change"))
    source = Source(kind=SourceKind.alertmanager, name="am", key="k")
    session.add(source)
    session.flush()
    alert(
        session,
        source,
        "2023-07-10 10:03",
        "latency host1",
        labels={"alertname": "Lat"},
        valid=True,
    )
    alert(
        session,
        source,
        "2023-07-10 23:30",
        "latency host2",
        labels={"alertname": "Lat"},
        valid=False,
    )
    alert(session, source, "2023-07-15 12:00", "磁盘满")  # a Saturday: after hours
    alert(session, source, "2023-10-01 12:00", "磁盘满")  # the next quarter
    item(session, first, "2023-07-11 10:00", "2023-07-20", "2023-07-19 10:00")
    item(session, first, "2023-07-11 10:00", "2023-08-01", None)  # overdue, 81 days old
    item(session, first, "2023-09-25 10:00", "2023-10-15", None)  # 5 days old
    item(session, first, "2023-06-01 10:00", "2023-06-30", "2023-07-05 10:00")  # closed in Q3
    session.commit()


def build(session: Session, settings: Settings, text: str = "2023-Q3", lang="zh"):
    period = settings.calendar.parse_period(text)
    return period_report.build(session, period, settings, lang, targets=load_policy(None).targets)


def test_quarter_figures_by_hand(session, settings, quarter) -> None:
    report = build(session, settings)
    now, before = report.current, report.previous
    assert now.by_grade == {"A": 1, "B": 1, "C": 1, "D": 0, "ungraded": 1}
    assert now.by_system == {"支付网关": 2, "-": 1, "清结算": 1}
    assert now.by_root_cause == {"-": 3, "change": 1}
    assert now.by_detection == {"monitoring": 3, "manual": 1}
    assert [i.title for i in report.major] == ["支付网关超时", "支付网关限流"]
    availability = {row.system: row for row in now.availability}
    # The overlap 10:30–11:00 counts once: 90 minutes, not 60 + 60.
    assert availability["支付网关"].downtime_minutes == pytest.approx(90)
    assert availability["清结算"].downtime_minutes == pytest.approx(20)
    assert availability[ALL_SYSTEMS].downtime_minutes == pytest.approx(110)
    assert availability["支付网关"].value == pytest.approx(1 - 90 / Q3_MINUTES)
    assert availability["支付网关"].budget_minutes == pytest.approx(Q3_MINUTES * 0.0001)
    assert availability["支付网关"].budget_left_minutes == pytest.approx(13.248 - 90)
    mttr = now.metrics.mttr  # 55, 50 and 10 minutes
    assert (mttr.count, mttr.mean, mttr.median, mttr.p90) == (3, 2300.0, 3000.0, 3300.0)
    assert now.alerts == 3
    assert now.after_hours_alerts == 2
    assert [
        (r.rule, r.alerts, r.validity.numerator, r.validity.denominator) for r in now.noisy_rules
    ] == [
        ("Lat", 2, 1, 2),
        ("磁盘满", 1, 0, 0),
    ]
    items = now.action_items
    assert (items.opened, items.closed, items.overdue, items.open_at_end) == (3, 2, 1, 2)
    assert items.age_buckets == {"0-7": 1, "8-30": 0, "31-90": 1, "90+": 0}
    assert before.period == Period("quarter", date(2023, 4, 1), date(2023, 6, 30))
    assert before.by_grade == {"A": 0, "B": 0, "C": 1, "D": 0, "ungraded": 0}
    previous = {row.system: row for row in before.availability}
    assert previous["支付网关"].downtime_minutes == pytest.approx(30)
    assert previous["支付网关"].period_minutes == Q2_MINUTES
    assert before.alerts == 0
    # the same quarter named as a range reads the same, beside the 92 days before it
    ranged = build(session, settings, "2023-07-01..2023-09-30")
    assert ranged.current.by_grade == now.by_grade
    assert ranged.previous.period == Period("range", date(2023, 3, 31), date(2023, 6, 30))


def test_markdown_zh_and_en(session, settings, quarter) -> None:
    zh = period_report.to_markdown(build(session, settings))
    assert zh.startswith("# 稳定性报告 2023-Q3（2023-07-01 至 2023-09-30）\n")
    assert "- 支付网关：2（上期 1）\n" in zh
    assert "- 变更：1（上期 0）\n" in zh  # the 复盘's root-cause category, in the team's words
    assert "- 监控：3（上期 0）\n" in zh
    assert (
        "- 支付网关：99.932%（目标 99.990%，停机 90分钟，预算剩余 -76.8分钟；上期 99.977%）" in zh
    )
    assert "1. 2023-07-10 10:05 A [支付网关] 支付网关超时\n" in zh
    assert "- 报警5分钟跟进率：" in zh
    assert "1. Lat：2次，有效率 50.0% (1/2)\n" in zh
    assert "非工作时间报警（23:00–8:00 及非工作日）：2（66.7%）" in zh
    en = period_report.to_markdown(build(session, settings, lang="en"))
    assert en.startswith("# Stability report 2023-Q3 (2023-07-01 to 2023-09-30)\n")
    assert "Opened 3, closed 2, overdue 1, open at the end 2" in en


def test_json_shape(session, settings, quarter) -> None:
    shown = period_report.to_json(build(session, settings))
    assert set(shown) == {"lang", "current", "previous", "major_incidents", "markdown"}
    current = shown["current"]
    assert current["period"]["label"] == "2023-Q3"
    assert current["availability"][0]["system"] == ALL_SYSTEMS
    assert current["alerts"]["top_rules"][0]["rule"] == "Lat"
    assert current["action_items"]["age_days"]["31-90"] == 1
    assert current["rates"]["follow_up_rate"]["denominator"] == 3
    assert shown["previous"]["incidents"] == 1


@pytest.mark.parametrize(
    ("text", "first", "last", "previous"),
    [
        ("2023-09", "2023-09-01", "2023-09-30", ("2023-08-01", "2023-08-31")),
        ("2023-01", "2023-01-01", "2023-01-31", ("2022-12-01", "2022-12-31")),
        ("2023-Q3", "2023-07-01", "2023-09-30", ("2023-04-01", "2023-06-30")),
        ("2023-q1", "2023-01-01", "2023-03-31", ("2022-10-01", "2022-12-31")),
        ("2023-H2", "2023-07-01", "2023-12-31", ("2023-01-01", "2023-06-30")),
        ("2023-H1", "2023-01-01", "2023-06-30", ("2022-07-01", "2022-12-31")),
        ("2023", "2023-01-01", "2023-12-31", ("2022-01-01", "2022-12-31")),
        ("2023-09-01..2023-09-10", "2023-09-01", "2023-09-10", ("2023-08-22", "2023-08-31")),
    ],
)
def test_parse_period(text, first, last, previous) -> None:
    period = DEFAULT_CALENDAR.parse_period(text)
    assert (period.first.isoformat(), period.last.isoformat()) == (first, last)
    before = period.previous()
    assert (before.first.isoformat(), before.last.isoformat()) == previous
    assert before.kind == period.kind


@pytest.mark.parametrize(
    "text",
    [
        "2023-13",
        "2023-Q5",
        "last quarter",
        "2023-09-10..2023-09-01",
        "2018-01-01..2023-12-31",
        "2023-02-30..2023-03-01",
        "",
    ],
)
def test_bad_periods(text) -> None:
    with pytest.raises(Invalid) as refused:
        DEFAULT_CALENDAR.parse_period(text)
    assert refused.value.field == "period"


def test_period_window_in_the_teams_zone() -> None:
    start, end = DEFAULT_CALENDAR.period_window(DEFAULT_CALENDAR.parse_period("2023-09"))
    assert start.isoformat() == "2023-08-31T16:00:00+00:00"
    assert end.isoformat() == "2023-09-30T16:00:00+00:00"


def test_html_has_the_charts_with_their_numbers(session, settings, quarter) -> None:
    report = build(session, settings)
    page = period_report.to_html(report)
    for chart in ("grades", "availability", "mttr", "follow-up", "rules"):
        assert f'id="chart-period-{chart}"' in page
    assert page.count("<table") == 5
    # 2023-07-01 is a Saturday: the weeks touching the quarter start on Monday 26 June
    assert report.weeks[0].week.monday == date(2023, 6, 26)
    assert report.weeks[-1].week.monday == date(2023, 9, 25)
    week_29 = next(t for t in report.weeks if t.week.monday == date(2023, 7, 10))
    assert week_29.incidents_by_grade["A"] == 1
    assert week_29.incidents_by_grade["B"] == 1
    assert week_29.mttr_seconds == pytest.approx((55 + 50) / 2 * 60)
    assert "<td>W29" not in page  # rows name the week by its label and Monday
    assert "2023-W29 (2023-07-10)" in page
    assert "<script" not in page


def test_user_text_is_escaped_in_html(session, settings) -> None:
    file(
        session,
        title="<script>alert(1)</script>",
        system="<b>x</b>",
        detected_at=local("2023-07-03 10:00"),
        recovered_at=local("2023-07-03 10:20"),
        failed_orders=20000,
    )
    page = period_report.to_html(build(session, settings))
    assert "<script>" not in page
    assert "<b>x</b>" not in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page


def test_the_demo_quarter_reads_plausibly(session, settings) -> None:
    from incidents.demo import load_demo

    policy = load_policy(None)
    summary = load_demo(session, settings=settings, policy=policy, weeks=12)
    session.commit()
    report = build(session, settings)
    now = report.current
    assert 0 < now.metrics.incidents <= summary.incidents
    assert 0 < now.alerts <= summary.alerts
    assert 0 <= now.after_hours_alerts <= now.alerts
    assert len(now.noisy_rules) <= 10
    assert sum(rule.alerts for rule in now.noisy_rules) <= now.alerts
    overall = now.availability[0]
    assert overall.system == ALL_SYSTEMS
    assert 0.99 < overall.value <= 1
    # the union never exceeds the sum of each system's downtime
    assert overall.downtime_minutes <= sum(r.downtime_minutes for r in now.availability[1:]) + 1e-6
    for name in ("follow_up_rate", "closed_loop_rate"):
        rate = getattr(now.metrics, name)
        assert 0 <= rate.numerator <= rate.denominator
    markdown = period_report.to_markdown(report)
    assert "## A/B级事故" in markdown
    print(markdown)


def test_an_interval_across_the_boundary_counts_in_both_periods(session, settings) -> None:
    file(
        session,
        title="跨季度",
        system="收银台",
        occurred_at=local("2023-06-30 23:30"),
        detected_at=local("2023-06-30 23:40"),
        recovered_at=local("2023-07-01 00:30"),
        failed_orders=200,
    )
    report = build(session, settings)
    now = {row.system: row.downtime_minutes for row in report.current.availability}
    before = {row.system: row.downtime_minutes for row in report.previous.availability}
    assert now["收银台"] == pytest.approx(30)
    assert before["收银台"] == pytest.approx(30)
    assert report.current.metrics.incidents == 0  # counted where it was detected: Q2


def test_incidents_are_counted_by_responsible_team(session, settings) -> None:
    for title, team in (("代付超时", "支付中台"), ("代付限流", "支付中台"), ("对账延迟", None)):
        file(session, title=title, team=team, detected_at=local("2023-08-01 10:00"))
    report = build(session, settings)

    assert report.current.by_team == {"支付中台": 2, "-": 1}
    assert "按责任团队：" in period_report.to_markdown(report)
