"""快速登记 and the filing form's times in Debian's chromium against a real server: one pasted
sentence fills the form with its grade, "现在" and "10分钟前" file at the server's minute, and a
clock still ahead today reads as yesterday's while a future date asks for the tick."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from incidents.calendar import DEFAULT_CALENDAR
from incidents.models import Incident, Role
from incidents.tokens import create_token
from tests.web.browser import BIG_SCREEN, PHONE, Shots, open_page
from tests.web.test_quick_file_pages import SENTENCE, year_of_9_7

CALENDAR = DEFAULT_CALENDAR
FILED = re.compile(r"/incidents/\d+$")


def signed_in_page(browser, live_server, session, viewport, problems: list[str]):
    _, token = create_token(session, "值班-小王", Role.oncall)
    session.commit()
    page = open_page(browser, problems, viewport=viewport, is_mobile=viewport is PHONE)
    page.goto(f"{live_server}/incidents")
    page.fill("input[name=token]", token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/incidents")
    return page


def no_horizontal_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def parsed_line(page, field: str):
    return page.locator(f".parsed[data-field={field}]")


def shots_for(database_url: str, topic: str, viewport: dict) -> Shots:
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    return Shots(f"{backend}-{topic}-{viewport['width']}")


@pytest.mark.parametrize("viewport", [PHONE, BIG_SCREEN], ids=["phone", "desktop"])
def test_a_pasted_sentence_fills_the_form_with_its_grade_and_files(
    browser, live_server, session, database_url, viewport
) -> None:
    shots = shots_for(database_url, "quick-file", viewport)
    problems: list[str] = []
    page = signed_in_page(browser, live_server, session, viewport, problems)
    assert no_horizontal_scroll(page)

    page.fill("#quick-file textarea[name=text]", SENTENCE)
    shots.take(page, "quick-file-box")
    page.click("#quick-file button[type=submit]")
    page.wait_for_url("**/incidents/new?text=*")

    year = year_of_9_7()
    filled = {
        "title": "监控告警 支付网关超时",
        "detected_at": f"{year}-09-07 14:42",
        "system": "支付网关",
        "failed_orders": "1200",
        "affected_users": "300",
        "impact_minutes": "25",
        "amount_involved_cny": "520000.00",
        "loss_cny": "32000.00",
        "detection": "monitoring",
        "business_impact": "yes",
        "remediation": "已回滚",
    }
    assert {name: page.locator(f"#filing [name={name}]").input_value() for name in filled} == filled
    assert page.locator("#grade-preview").get_attribute("data-grade") == "B"
    assert "已从这句话读出" in page.locator("#sentence-read").inner_text()
    week = CALENDAR.report_week_of(datetime.fromisoformat(f"{year}-09-07T14:42+08:00"), None)
    weekday = "一二三四五六日"[datetime(year, 9, 7).weekday()]
    expected_line = f"→ {year}-09-07 周{weekday} 14:42 (第{week.number}周)"
    expect(parsed_line(page, "detected_at")).to_have_text(expected_line)
    assert no_horizontal_scroll(page)
    shots.take(page, "filled-from-the-sentence")

    page.click("#filing button[type=submit]")
    page.wait_for_url(FILED)
    incident = session.exec(select(Incident)).one()
    assert (incident.grade, incident.failed_orders, incident.remediation) == ("B", 1200, "已回滚")
    assert f"{CALENDAR.local(incident.detected_at):%Y-%m-%d %H:%M}" == f"{year}-09-07 14:42"
    assert problems == []


@pytest.mark.parametrize("viewport", [PHONE], ids=["phone"])
def test_now_and_ten_minutes_ago_file_at_the_servers_minute(
    browser, live_server, session, database_url, viewport
) -> None:
    shots = shots_for(database_url, "typed-times", viewport)
    problems: list[str] = []
    page = signed_in_page(browser, live_server, session, viewport, problems)
    page.goto(f"{live_server}/incidents/new")
    before = datetime.now(UTC).replace(second=0, microsecond=0)

    page.fill("#filing [name=title]", "收银台报错")
    page.fill("#filing [name=detected_at]", "10分钟前")
    expect(parsed_line(page, "detected_at")).to_have_text(re.compile("^→ "))
    page.locator("details.more-fields > summary").click()  # the phone folds the later milestones
    acknowledged = page.locator("#filing [name=acknowledged_at]")
    acknowledged.locator("xpath=following-sibling::button[contains(@class, 'now')]").click()
    expect(acknowledged).to_have_value(re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d$"))
    expect(parsed_line(page, "acknowledged_at")).to_have_text(re.compile("^→ "))
    assert no_horizontal_scroll(page)
    shots.take(page, "now-and-ten-minutes-ago")
    page.click("#filing button[type=submit]")
    page.wait_for_url(FILED)
    after = datetime.now(UTC).replace(second=0, microsecond=0)

    incident = session.exec(select(Incident)).one()
    detected = incident.detected_at.replace(tzinfo=UTC)
    acknowledged_at = incident.acknowledged_at.replace(tzinfo=UTC)
    assert before - timedelta(minutes=10) <= detected <= after - timedelta(minutes=10)
    assert before <= acknowledged_at <= after
    assert problems == []


@pytest.mark.parametrize("viewport", [PHONE], ids=["phone"])
def test_a_clock_still_ahead_is_yesterdays_and_a_future_date_asks_for_the_tick(
    browser, live_server, session, database_url, viewport
) -> None:
    shots = shots_for(database_url, "future-times", viewport)
    problems: list[str] = []
    page = signed_in_page(browser, live_server, session, viewport, problems)
    page.goto(f"{live_server}/incidents/new")
    now = datetime.now(CALENDAR.tz)
    ahead = now + timedelta(hours=2)
    assert page.locator("#confirm-future").is_hidden()

    if ahead.date() == now.date():  # past 22:00 two hours ahead is tomorrow's, already past
        page.fill("#filing [name=detected_at]", f"{ahead:%H:%M}")
        expect(parsed_line(page, "detected_at")).to_contain_text("按昨天算")
        yesterday = ahead - timedelta(days=1)
        assert f"{yesterday:%Y-%m-%d}" in parsed_line(page, "detected_at").inner_text()
        assert page.locator("#confirm-future").is_hidden()

    page.fill("#filing [name=detected_at]", f"{ahead + timedelta(days=1):%Y-%m-%d %H:%M}")
    expect(parsed_line(page, "detected_at")).to_contain_text("晚于现在")
    assert page.locator("#confirm-future").is_visible()
    shots.take(page, "future-time-asks-for-the-tick")
    assert problems == []
