"""The alert inbox: newest first, one click to ack, judge or promote, the follow-up clock shown."""

import re
from datetime import timedelta

import pytest
from sqlmodel import select

from incidents.alerts.models import Alert
from incidents.models import Incident, Role
from incidents.settings import Settings
from tests.web.conftest import am_delivery


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Fifty-odd alerts in a minute would be a storm, one row of the inbox: these tests page
    through them one by one (tests/web/test_silences_browser.py shows storms)."""
    return settings.model_copy(update={"storm_alerts_per_minute": 1000})


def deliver(client, path: str, *fingerprints: str, title: str = "履约 接口错误率高于1%") -> None:
    response = client.post(path, content=am_delivery(*fingerprints, title=title))
    assert response.status_code == 200, response.text


def test_the_inbox_lists_firing_alerts_newest_first_with_the_clock_running(
    client, sign_in, session, alert_webhook
) -> None:
    sign_in(Role.viewer)
    deliver(client, alert_webhook, "old", title="旧报警")
    deliver(client, alert_webhook, "new", title="<b>新报警</b>")
    old = session.exec(select(Alert).where(Alert.fingerprint == "old")).one()
    old.received_at -= timedelta(minutes=7)
    session.add(old)
    session.commit()
    page = client.get("/alerts").text
    titles = re.findall(r'<strong class="alert-title">([^<]*)</strong>', page)
    assert titles == ["&lt;b&gt;新报警&lt;/b&gt;", "旧报警"]
    assert "距 5 分钟跟进时限还剩" in page
    assert "已超出 5 分钟跟进时限" in page  # the old one is 7 minutes past arrival
    assert page.count("data-deadline=") == 2
    assert 'action="/alerts/' not in page  # a viewer gets no buttons


def test_ack_verdict_and_promote_are_one_click_each(
    client, sign_in, session, alert_webhook
) -> None:
    csrf = sign_in(Role.oncall)
    deliver(client, alert_webhook, "fp-1")
    alert = session.exec(select(Alert)).one()
    response = client.post(
        f"/alerts/{alert.id}/ack",
        data={"csrf": csrf, "back": "/alerts?show=all&page=1"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/alerts?show=all&page=1#alert-{alert.id}"
    response = client.post(
        f"/alerts/{alert.id}/verdict",
        data={"csrf": csrf, "valid": "true", "note": "真实故障", "back": "https://evil.example"},
        follow_redirects=False,
    )
    assert response.headers["location"] == f"/alerts#alert-{alert.id}"
    session.refresh(alert)
    assert alert.acked_by == "web-oncall"
    assert (alert.valid, alert.verdict_note) == (True, "真实故障")
    page = client.get("/alerts").text
    assert "已确认 · web-oncall" in page
    assert "有效: 真实故障" in page
    assert "已跟进，用时 0:" in page
    assert "在时限内" in page
    response = client.post(
        f"/alerts/{alert.id}/promote", data={"csrf": csrf}, follow_redirects=False
    )
    incident = session.exec(select(Incident)).one()
    assert response.headers["location"] == f"/incidents/{incident.id}"
    assert incident.title == "履约 接口错误率高于1%"
    assert incident.system == "履约"
    page = client.get("/alerts").text
    assert f'href="/incidents/{incident.id}">已关联事件 #{incident.id}' in page
    assert f'action="/alerts/{alert.id}/promote"' not in page


def test_refusals_are_shown_beside_the_alert(client, sign_in, session, alert_webhook) -> None:
    csrf = sign_in(Role.oncall)
    deliver(client, alert_webhook, "fp-2")
    alert = session.exec(select(Alert)).one()
    client.post(f"/alerts/{alert.id}/promote", data={"csrf": csrf})
    again = client.post(f"/alerts/{alert.id}/promote", data={"csrf": csrf, "show": "all"})
    assert again.status_code == 422
    assert re.search(
        rf'id="alert-{alert.id}".*?<p class="error" role="alert">报警 {alert.id} 已关联事件',
        again.text,
        re.DOTALL,
    )
    too_long = client.post(
        f"/alerts/{alert.id}/verdict", data={"csrf": csrf, "valid": "false", "note": "x" * 2001}
    )
    assert too_long.status_code == 422
    assert "结论备注最多 2000 个字符" in too_long.text
    no_choice = client.post(f"/alerts/{alert.id}/verdict", data={"csrf": csrf, "valid": ""})
    assert no_choice.status_code == 422
    session.refresh(alert)
    assert alert.valid is None


def test_the_inbox_tabs_and_pages(client, sign_in, session, alert_webhook) -> None:
    csrf = sign_in(Role.oncall)
    deliver(client, alert_webhook, *(f"fp-{n}" for n in range(52)))
    first = session.exec(select(Alert).order_by(Alert.id)).first()
    client.post(f"/alerts/{first.id}/ack", data={"csrf": csrf})
    firing = client.get("/alerts").text
    assert firing.count('class="card alert') == 50
    assert "共 52 条，第 1–50 条" in firing
    assert 'href="/alerts?show=firing&amp;page=2" rel="next"' in firing
    unfollowed = client.get("/alerts?show=unfollowed&page=2").text
    assert "共 51 条，第 51–51 条" in unfollowed
    assert client.get("/alerts?show=nonsense").status_code == 422
