"""The on-call pages in Chromium at phone width: the tap on an escalation message's link, the
verdict on the page it opens, the alert's page with who was called, and /oncall."""

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from incidents import escalation
from incidents.alerts.models import Alert, SourceCreate, SourceKind
from incidents.alerts.sources import create_source, webhook_path
from incidents.calendar import Calendar
from incidents.models import Role
from incidents.outbox import Notification
from incidents.tokens import create_token
from tests.web.browser import PHONE, Shots, deliver_alerts, open_page
from tests.web.conftest import am_delivery
from tests.web.test_oncall_pages import set_up_rota


def fits_the_screen(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_phone_acknowledges_from_the_link_and_the_lead_sees_who_was_called(
    browser, live_server, session, database_url
) -> None:
    shots = Shots(("sqlite" if database_url.startswith("sqlite") else "postgresql") + "-oncall")
    set_up_rota(session)
    source = create_source(session, SourceCreate(kind=SourceKind.alertmanager, name="prod-am"))
    _, token = create_token(session, "组长", Role.oncall)
    session.commit()
    deliver_alerts(
        live_server, webhook_path(source), am_delivery("pay-errors", title="支付 成功率低于99%")
    )
    escalation.escalate_due(
        session, datetime.now(UTC), calendar=Calendar(), link_ttl=timedelta(hours=1)
    )
    session.commit()
    link = session.exec(select(Notification)).one().url
    alert = session.exec(select(Alert)).one()

    problems: list[str] = []
    page = open_page(browser, problems, viewport=PHONE, is_mobile=True, has_touch=True)

    # The tap in the chat: acknowledged at once, no sign-in.
    page.goto(live_server + link)
    assert "已确认，计入跟进" in page.locator(".outcome").inner_text()
    assert "支付 成功率低于99%" in page.locator(".alert-title").inner_text()
    assert fits_the_screen(page)
    shots.take(page, "ack-link")
    page.get_by_role("button", name="有效").tap()
    page.wait_for_selector("text=已记录为有效报警")
    shots.take(page, "ack-verdict")
    # The same link again changes nothing and says so.
    response = page.goto(live_server + link)
    assert response is not None
    assert response.status == 409
    assert "这个链接已经用过了" in page.locator(".outcome").inner_text()

    # 升级为事故 asks for sign-in, then lands on the alert's page with its escalation.
    page.goto(f"{live_server}/alerts/{alert.id}#promote")
    assert "/login?next=" in page.url
    page.fill("input[name=token]", token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/alerts/{alert.id}")
    rows = page.locator("table.escalation tbody tr")
    assert rows.count() == 1
    assert "钉钉值班群" in rows.first.inner_text()
    assert "组长" not in page.locator(".state").inner_text()  # acked through the link
    assert "(link)" in page.locator(".state").inner_text()
    assert fits_the_screen(page)
    shots.take(page, "alert-page")

    # Who is on call, from the navigation.
    page.goto(f"{live_server}/oncall")
    assert page.locator(".primary-person").inner_text() in ("张三", "李四")
    assert page.locator("nav a[aria-current=page]").inner_text() == "值班"
    assert fits_the_screen(page)
    shots.take(page, "oncall")
    page.fill("input[name=at]", "2026-12-01 10:00")
    page.get_by_role("button", name="筛选").click()
    page.wait_for_url("**/oncall?at=*")
    assert page.locator(".primary-person").inner_text() == "张三"
    page.context.close()
    # The browser logs the reused link's 409 as a failed load; nothing else may fail.
    assert [p for p in problems if "409 (Conflict)" not in p] == []
