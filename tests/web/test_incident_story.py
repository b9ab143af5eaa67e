"""The incident page tells the whole story: its alerts, its change history, a status that follows
its own times; the 全部 alert tab acts on many alerts at once; the filing form warns of a likely
duplicate; an action item due in the past is refused."""

import re
from datetime import timedelta
from urllib.parse import urlencode

from sqlmodel import func, select

from incidents.alerts.models import Alert
from incidents.calendar import DEFAULT_CALENDAR
from incidents.models import ActionItem, Incident, IncidentStatus, Role
from tests.web.test_alert_pages import deliver
from tests.web.test_incident_pages import file_directly


def post_form(client, path: str, pairs: list[tuple[str, str]]):
    """A form with a name given several times (the ticked rows), as a browser sends it."""
    return client.post(
        path,
        content=urlencode(pairs),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )


def test_the_page_shows_linked_alerts_and_every_change_newest_first(
    client, sign_in, session, alert_webhook
) -> None:
    csrf = sign_in(Role.oncall)
    deliver(client, alert_webhook, "fp-1")
    alert = session.exec(select(Alert)).one()
    client.post(f"/alerts/{alert.id}/promote", data={"csrf": csrf}, follow_redirects=False)
    incident = session.exec(select(Incident)).one()
    client.post(
        f"/incidents/{incident.id}/edit",
        data={"csrf": csrf, "owner": "王五"},
        follow_redirects=False,
    )
    page = client.get(f"/incidents/{incident.id}").text
    linked = page.split('id="linked-alerts"')[1].split("</section>")[0]
    assert f'href="/alerts/{alert.id}"' in linked
    assert "履约 接口错误率高于1%" in linked
    history = page.split('id="history"')[1].split("</details>")[0]
    assert history.index('data-field="owner"') < history.index('data-action="create"')
    assert "<td>修改</td>" in history
    assert "<td>负责人</td>" in history
    assert "<td>web-oncall</td>" in history
    english = client.get(f"/incidents/{incident.id}?lang=en").text
    assert "Change history" in english
    assert "<td>changed</td>" in english


def test_an_incident_restored_but_still_open_offers_to_move_its_status_on(
    client, sign_in, session
) -> None:
    csrf = sign_in(Role.oncall)
    incident = file_directly(session)
    assert 'id="status-lags"' not in client.get(f"/incidents/{incident.id}").text
    client.post(
        f"/incidents/{incident.id}/edit",
        data={"csrf": csrf, "recovered_at": "2023-09-07 15:20"},
        follow_redirects=False,
    )
    page = client.get(f"/incidents/{incident.id}").text
    offer = page.split('id="status-lags"')[1].split("</div>")[0]
    assert "状态仍是“处理中”" in offer
    assert 'value="mitigated"' in offer
    assert 'value="resolved"' in offer
    response = client.post(
        f"/incidents/{incident.id}/edit",
        data={"csrf": csrf, "status": "mitigated"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    session.refresh(incident)
    assert incident.status == IncidentStatus.mitigated
    assert incident.recovered_at is not None  # only the status moved
    assert 'id="status-lags"' not in client.get(f"/incidents/{incident.id}").text


def test_an_action_item_due_in_the_past_is_refused_with_the_form_kept(
    client, sign_in, session
) -> None:
    csrf = sign_in(Role.oncall)
    incident = file_directly(session)
    yesterday = DEFAULT_CALENDAR.today() - timedelta(days=1)
    response = client.post(
        f"/incidents/{incident.id}/action-items",
        data={
            "csrf": csrf,
            "title": "补监控",
            "type": "detect",
            "owner": "王五",
            "verifier": "李四",
            "due_date": yesterday.isoformat(),
        },
    )
    assert response.status_code == 422
    assert 'value="补监控"' in response.text
    assert 'id="due_date-error"' in response.text
    assert re.search(r'id="type-error"', response.text) is None  # the date is the one problem
    assert session.exec(select(func.count()).select_from(ActionItem)).one() == 0


def test_the_all_tab_acknowledges_and_judges_the_ticked_alerts_at_once(
    client, sign_in, session, alert_webhook
) -> None:
    csrf = sign_in(Role.oncall)
    deliver(client, alert_webhook, "fp-1", "fp-2", "fp-3")
    first, second, third = session.exec(select(Alert).order_by(Alert.id)).all()
    page = client.get("/alerts?show=all").text
    assert 'id="alert-table"' in page
    assert 'action="/alerts/bulk"' in page
    assert page.count('form="bulk" name="alert_id"') == 3
    picked = [("alert_id", str(first.id)), ("alert_id", str(second.id))]
    back = "/alerts?show=all&page=1"
    response = post_form(
        client, "/alerts/bulk", [("csrf", csrf), ("back", back), ("action", "ack"), *picked]
    )
    assert (response.status_code, response.headers["location"]) == (303, back)
    post_form(
        client,
        "/alerts/bulk",
        [("csrf", csrf), ("back", back), ("action", "invalid"), ("note", "演练"), *picked],
    )
    for alert in (first, second, third):
        session.refresh(alert)
    assert [a.acked_by for a in (first, second, third)] == ["web-oncall", "web-oncall", None]
    assert [a.valid for a in (first, second, third)] == [False, False, None]
    assert first.verdict_note == "演练"
    refused = client.post("/alerts/bulk", data={"csrf": csrf, "action": "ack", "back": back})
    assert refused.status_code == 422
    assert "请先勾选报警。" in refused.text


def test_the_filing_form_calls_a_like_incident_of_the_last_hour_a_possible_duplicate(
    client, sign_in, session
) -> None:
    sign_in(Role.oncall)
    recent = file_directly(session, title="支付网关超时", system="支付网关")
    older = file_directly(session, title="支付网关超时", system="支付网关")
    older.created_at -= timedelta(hours=2)
    session.commit()
    found = client.get(
        "/incidents/similar", params={"title": "支付网关超时", "system": "支付网关"}
    ).json()
    by_url = {item["url"]: item for item in found}
    assert by_url[f"/incidents/{recent.id}"]["possible_duplicate"] is True
    assert by_url[f"/incidents/{recent.id}"]["id"] == recent.id
    assert by_url[f"/incidents/{recent.id}"]["filed_minutes_ago"] == 0
    assert "possible_duplicate" not in by_url[f"/incidents/{older.id}"]
    elsewhere = client.get(
        "/incidents/similar", params={"title": "支付网关超时", "system": "银商专线"}
    ).json()
    assert elsewhere
    assert not any("possible_duplicate" in item for item in elsewhere)
