"""In Chromium: typing when an incident was restored moves its status on the edit form, the 全部
tab's 全选本页 acknowledges every alert shown with one button, and filing the same event again
within the hour names the first one."""

from sqlmodel import select

from incidents.alerts.models import Alert
from incidents.models import Incident, IncidentStatus, Role
from incidents.tokens import create_token
from tests.web.browser import Shots, deliver_alerts, open_page
from tests.web.conftest import am_delivery
from tests.web.test_incident_pages import file_directly


def test_the_status_follows_the_restore_time_and_bulk_ack_takes_one_click(
    browser, live_server, session, database_url, alert_webhook
) -> None:
    shots = Shots(("sqlite" if database_url.startswith("sqlite") else "postgresql") + "-story")
    incident = file_directly(session)
    _, token = create_token(session, "值班-小周", Role.oncall)
    session.commit()
    deliver_alerts(live_server, alert_webhook, am_delivery("fp-1", "fp-2", "fp-3"))
    problems: list[str] = []
    page = open_page(browser, problems)
    page.goto(f"{live_server}/login?next=/incidents/{incident.id}")
    page.fill("input[name=token]", token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/incidents/{incident.id}")

    edit = page.locator(f'form[action="/incidents/{incident.id}/edit"]').last
    page.click("summary:has-text('更新处置与状态')")
    assert edit.locator("select[name=status]").input_value() == "open"
    edit.locator("input[name=recovered_at]").fill("2023-09-07 15:20")
    assert edit.locator("select[name=status]").input_value() == "mitigated"
    assert edit.locator(".status-follows").is_visible()
    shots.take(page, "status-follows")
    edit.locator("button[type=submit]").click()
    page.wait_for_url(f"{live_server}/incidents/{incident.id}*")
    session.refresh(incident)
    assert incident.status == IncidentStatus.mitigated

    page.goto(f"{live_server}/alerts?show=all")
    page.check("input[data-select-all]")
    assert page.locator("input[form=bulk][name=alert_id]:checked").count() == 3
    page.click("#bulk button[value=ack]")
    page.wait_for_url(f"{live_server}/alerts?show=all*")
    shots.take(page, "bulk-acked")
    session.expire_all()
    assert [alert.acked_by for alert in session.exec(select(Alert))] == ["值班-小周"] * 3
    assert session.exec(select(Incident)).one().id == incident.id

    # Filing the same event again within the hour: the form names the first one.
    page.goto(f"{live_server}/incidents/new")
    page.fill("input[name=title]", incident.title)
    page.fill("input[name=system]", incident.system or "")
    hint = page.locator("#similar .duplicate a")
    hint.wait_for()
    assert hint.inner_text().startswith(f"可能重复：#{incident.id}「{incident.title}」")
    assert hint.get_attribute("href") == f"/incidents/{incident.id}"
    page.fill("input[name=system]", "别的系统")
    page.wait_for_selector("#similar .duplicate", state="hidden")
    assert problems == []
