"""The pages around silences and storms, without a browser: a storm's own list, who may
silence, and the silences form's refusals beside their fields."""

from sqlmodel import select

from incidents.alerts.models import Alert, Silence
from incidents.models import Role
from tests.web.conftest import am_delivery


def test_a_storm_lists_all_its_alerts_on_its_own_page(client, sign_in, alert_webhook) -> None:
    sign_in(Role.viewer)
    client.post(alert_webhook, content=am_delivery(*(f"node-{n}" for n in range(60))))
    inbox = client.get("/alerts").text
    assert inbox.count('class="card alert') == 0
    assert 'href="/alerts?storm=1"' in inbox  # more than the row shows
    storm = client.get("/alerts?storm=1").text
    assert "风暴 #1：prod-am 共60条报警" in storm
    assert "通知时60条" in storm
    assert storm.count('class="card alert') == 50
    assert 'href="/alerts?storm=1&amp;page=2" rel="next"' in storm
    assert client.get("/alerts?storm=2").status_code == 404


def test_a_viewer_is_offered_no_silence_and_may_not_post_one(
    client, sign_in, session, alert_webhook
) -> None:
    csrf = sign_in(Role.viewer)
    client.post(alert_webhook, content=am_delivery("gw"))
    alert = session.exec(select(Alert)).one()
    assert 'name="silence"' not in client.get("/alerts").text
    assert 'action="/silences"' not in client.get("/silences").text
    refused = client.post(f"/alerts/{alert.id}/silence", data={"csrf": csrf})
    assert refused.status_code == 403
    assert session.exec(select(Silence)).all() == []


def test_the_silences_form_shows_each_refusal_beside_its_field(client, sign_in, session) -> None:
    csrf = sign_in(Role.oncall)
    form = {"csrf": csrf, "matchers": 'env!="test"', "duration": "2h", "reason": "变更"}
    page = client.post("/silences", data=form)
    assert page.status_code == 422
    assert 'id="matchers-error"' in page.text
    assert "env!=&#34;test&#34;" in page.text  # what was typed is kept
    late = form | {"matchers": 'service="pay"', "starts_at": "9/7 14:00", "ends_at": "9/7 13:00"}
    assert 'id="ends_at-error"' in client.post("/silences", data=late).text
    weekly = form | {"matchers": 'service="pay"', "weekly": "周日 2点-4点"}
    assert 'id="weekly-error"' in client.post("/silences", data=weekly).text
    assert session.exec(select(Silence)).all() == []
