"""Silences and storms in Debian's chromium against a real server, at phone width: a storm is
one row of the inbox that expands, an alert is silenced for two hours in one click, and the
silences page makes, refuses and expires silences."""

import pytest

from incidents.alerts.models import SourceCreate, SourceKind
from incidents.alerts.sources import create_source, webhook_path
from incidents.models import Role
from incidents.tokens import create_token
from tests.web.browser import BIG_SCREEN, PHONE, Shots, deliver_alerts, open_page
from tests.web.conftest import am_delivery


def deliver(live_server: str, source_name: str, session, *fingerprints: str, title: str) -> None:
    source = create_source(session, SourceCreate(kind=SourceKind.alertmanager, name=source_name))
    session.commit()
    deliver_alerts(live_server, webhook_path(source), am_delivery(*fingerprints, title=title))


@pytest.mark.parametrize("viewport", [PHONE, BIG_SCREEN], ids=["phone", "desktop"])
def test_a_storm_is_one_row_and_an_alert_is_silenced_in_one_click(
    browser, live_server, session, database_url, viewport
) -> None:
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    shots = Shots(f"{backend}-silences-{viewport['width']}")
    _, token = create_token(session, "值班-小李", Role.oncall)
    session.commit()
    deliver(live_server, "prod-am", session, "pay-errors", title="支付网关错误率高")
    storm = [f"node-{n}" for n in range(60)]
    deliver(live_server, "infra-am", session, *storm, title="节点失联")

    problems: list[str] = []
    page = open_page(browser, problems, viewport=viewport, is_mobile=viewport is PHONE)
    page.goto(f"{live_server}/alerts")
    page.fill("input[name=token]", token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/alerts")

    # Sixty alerts in a minute: one storm row, not sixty cards.
    assert page.locator(".alert").count() == 1
    row = page.locator(".storm")
    assert "60" in row.locator("summary").inner_text()
    assert not row.locator(".storm-alerts").is_visible()
    row.locator("summary").click()
    assert row.locator(".storm-alerts li").count() == 20
    assert "infra-am" in row.inner_text()
    shots.take(page, "storm-expanded")

    # One click silences the alert at hand; it stays in the inbox, marked.
    page.locator(".alert button[name=silence]").click()
    page.wait_for_selector(".alert .tag.silenced")
    assert page.locator(".alert .tag.silenced").inner_text() == "已静默 #1"
    assert page.locator(".alert button[name=silence]").count() == 0
    shots.take(page, "alert-silenced")

    # The silences page: the one-click silence with its matchers, then a weekly window.
    page.goto(f"{live_server}/silences")
    first = page.locator("#silence-1")
    assert 'service="履约"' in first.inner_text()
    assert "生效中 · 正在拦截" in first.inner_text()
    assert "已拦截1条" in first.inner_text()
    page.fill("textarea[name=matchers]", 'instance=~"db-("')
    page.fill("input[name=reason]", "数据库变更")
    page.click("button[name=create]")
    error = page.locator("#matchers-error")
    assert "正则表达式无法编译" in error.inner_text()
    shots.take(page, "silence-refused")
    page.fill("textarea[name=matchers]", 'service="batch"\nenv!="test"')
    page.fill("input[name=weekly]", "周日 02:00-04:00")
    page.fill("input[name=ends_at]", "2099-01-01 00:00")
    page.check("input[name=allow_long]")
    page.click("button[name=create]")
    page.wait_for_url(f"{live_server}/silences#silence-2")
    second = page.locator("#silence-2")
    assert 'env!="test"' in second.inner_text()
    assert "周日 02:00–04:00" in second.inner_text()
    shots.take(page, "silences")

    # Expiring ends it; the alert it held keeps the mark.
    first.locator("button[name=expire]").click()
    page.wait_for_url(f"{live_server}/silences?show=all#silence-1")
    assert "已结束" in page.locator("#silence-1").inner_text()
    assert page.locator("#silence-1 button[name=expire]").count() == 0
    widest = page.evaluate("document.documentElement.scrollWidth")
    assert widest <= viewport["width"], f"the page scrolls sideways: {widest}px"
    page.goto(f"{live_server}/alerts")
    assert page.locator(".alert .tag.silenced").inner_text() == "已静默 #1"
    # The one console line is the refused form's 422, which the browser logs as a failed load.
    assert [problem for problem in problems if "status of 422" not in problem] == []
    page.context.close()
