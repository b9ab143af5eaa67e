"""资损 in the figures: the window's sums in SQL (both backends) and the weekly section's lines."""

from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import Session

from incidents import metrics, report
from incidents.actors import Actor
from incidents.grading import load_policy
from incidents.models import Role
from incidents.settings import Settings
from tests.builders import file_in_domain, seed_pos_incident

SHANGHAI = ZoneInfo("Asia/Shanghai")
ONCALL = Actor("oncall-user", Role.oncall)
SEED_WEEK = "2023-09-09"
POLICY = load_policy(None)


def file(session: Session, settings: Settings, **overrides: Any) -> None:
    fields = seed_pos_incident(report_week=None, **overrides)
    file_in_domain(session, actor=ONCALL, policy=POLICY, calendar=settings.calendar, **fields)


def week_metrics(session: Session, settings: Settings) -> dict[str, Any]:
    window = metrics.Window.of_week(settings.calendar.parse_week(SEED_WEEK), settings.calendar)
    current = metrics.compute(session, window, settings, targets=POLICY.targets)
    previous = metrics.compute(
        session, window.previous(settings.calendar), settings, targets=POLICY.targets
    )
    return metrics.as_dict(current, previous)


def section(session: Session, settings: Settings, lang: report.Lang = "zh") -> str:
    week = settings.calendar.parse_week(SEED_WEEK)
    return report.to_markdown(report.build(session, week, settings, lang, targets=POLICY.targets))


@pytest.fixture
def lossy_week(session: Session, settings: Settings) -> None:
    file(
        session,
        settings,
        title="渠道重复扣款",
        description="渠道重复扣款",
        detected_at="2023-09-05 10:00",
        amount_involved_cny="600,000.50",
        loss_cny="12,345",
        recovered_cny="345",
    )
    # Lost and recovered in full: no net loss, and one recovery never offsets another's loss.
    file(session, settings, detected_at="2023-09-06 10:00", loss_cny=100, recovered_cny=100)
    file(session, settings, detected_at="2023-09-07 10:00", amount_involved_cny=1000)
    file(session, settings, detected_at="2023-09-01 10:00", loss_cny="999.99")  # week before


def test_the_window_sums_involved_lost_recovered_and_net_loss(
    session, settings, lossy_week
) -> None:
    money = week_metrics(session, settings)["money"]
    assert money == {
        "involved_cny": "601000.50",
        "loss_cny": "12445.00",
        "recovered_cny": "445.00",
        "net_loss_cny": "12000.00",
        "previous": {
            "involved_cny": "0.00",
            "loss_cny": "999.99",
            "recovered_cny": "0.00",
            "net_loss_cny": "999.99",
        },
    }


def test_a_window_without_money_sums_to_zero(session, settings) -> None:
    file(session, settings, detected_at="2023-09-05 10:00")
    money = week_metrics(session, settings)["money"]
    assert {key: value for key, value in money.items() if key != "previous"} == {
        "involved_cny": "0.00",
        "loss_cny": "0.00",
        "recovered_cny": "0.00",
        "net_loss_cny": "0.00",
    }


def test_the_metrics_api_answers_the_money_beside_the_last_window(client, auth, lossy_week) -> None:
    response = client.get(
        "/api/v1/metrics",
        params={"from": "2023-09-04 00:00", "to": "2023-09-11 00:00"},
        headers=auth[Role.viewer],
    )
    assert response.status_code == 200
    money = response.json()["money"]
    assert (money["loss_cny"], money["net_loss_cny"]) == ("12445.00", "12000.00")
    assert money["previous"]["loss_cny"] == "999.99"


def test_the_weekly_section_lists_the_loss_and_each_lossy_event(
    session, settings, lossy_week
) -> None:
    zh = section(session, settings)
    assert "- 资损：¥12,445.00（涉及金额 ¥601,000.50，追回 ¥445.00，净资损 ¥12,000.00）\n" in zh
    assert "1. 9/5 10:00 渠道重复扣款（资损 ¥12,345.00）\n" in zh
    assert "2. 9/6 10:00 中信存管pos入金" in zh
    assert zh.count("（资损 ") == 2  # the 9/7 event lost nothing
    en = section(session, settings, "en")
    assert (
        "- Money lost: ¥12,445.00 (involved ¥601,000.50, recovered ¥445.00, net loss ¥12,000.00)"
        in en
    )
    assert "1. 9/5 10:00 渠道重复扣款 (money lost ¥12,345.00)\n" in en


def test_a_loss_with_nothing_recovered_reads_as_the_team_writes_it(session, settings) -> None:
    file(
        session,
        settings,
        detected_at="2023-09-05 10:00",
        amount_involved_cny=600_000,
        loss_cny="12345",
    )
    zh = section(session, settings)
    assert "- 资损：¥12,345.00（涉及金额 ¥600,000.00，追回 ¥0.00）\n" in zh
    en = section(session, settings, "en")
    assert "- Money lost: ¥12,345.00 (involved ¥600,000.00, recovered ¥0.00)\n" in en


def test_a_week_without_a_loss_has_no_money_line(session, settings) -> None:
    file(session, settings, detected_at="2023-09-05 10:00", amount_involved_cny=600_000)
    file(session, settings, detected_at="2023-09-06 10:00", loss_cny=0, recovered_cny=0)
    zh = section(session, settings)
    assert "资损" not in zh
    assert "Money lost" not in section(session, settings, "en")


def test_the_json_section_carries_each_events_money(session, settings, lossy_week) -> None:
    week = settings.calendar.parse_week(SEED_WEEK)
    data = report.to_json(report.build(session, week, settings, "zh", targets=POLICY.targets))
    first = data["events"][0]
    assert {name: first[name] for name in ("amount_involved_cny", "loss_cny", "net_loss_cny")} == {
        "amount_involved_cny": "600000.50",
        "loss_cny": "12345.00",
        "net_loss_cny": "12000.00",
    }
    assert data["metrics"]["money"]["net_loss_cny"] == "12000.00"
    assert Decimal(data["events"][2]["amount_involved_cny"]) == 1000
