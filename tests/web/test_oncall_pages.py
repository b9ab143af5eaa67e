"""/oncall, an alert's own page with its escalation, and the page a signed link opens."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlmodel import Session, select

from incidents import escalation, oncall
from incidents.ack_links import link_path, link_secret
from incidents.actors import Actor
from incidents.alerts.models import Alert
from incidents.calendar import Calendar
from incidents.escalation import PolicyWrite, RoutingWrite
from incidents.models import Role
from incidents.oncall import OverrideWrite, RotaWrite
from incidents.outbox import Channel, ChannelKind, Notification
from tests.web.conftest import am_delivery

CALENDAR = Calendar()


def set_up_rota(session: Session) -> oncall.Rota:
    members: list[dict[str, Any]] = [
        {"name": "张三", "mobile": "13800000001"},
        {"name": "李四", "mobile": "13800000002"},
        {"name": "赵组长", "in_rotation": False},
    ]
    rota = oncall.create_rota(
        session,
        RotaWrite.model_validate(
            {"name": "支付值班", "start_date": "2026-12-01", "members": members}
        ),
    )
    session.add(Channel(kind=ChannelKind.dingtalk, name="钉钉值班群", url="http://x/", events=[]))
    session.flush()
    steps = [
        {"after_minutes": 0, "notify": "current", "channel": "钉钉值班群"},
        {"after_minutes": 5, "notify": "secondary", "channel": "钉钉值班群"},
    ]
    escalation.create_policy(
        session,
        PolicyWrite.model_validate({"name": "支付升级", "rota": "支付值班", "steps": steps}),
    )
    escalation.set_rules(session, RoutingWrite.model_validate({"rules": [{"rota": "支付值班"}]}))
    session.commit()
    return rota


def test_the_oncall_page_says_who_is_on_call_at_a_typed_moment(client, sign_in, session) -> None:
    rota = set_up_rota(session)
    swap = {
        "member": "赵组长",
        "starts_at": datetime(2026, 12, 2, 12, tzinfo=CALENDAR.tz),
        "ends_at": datetime(2026, 12, 2, 14, tzinfo=CALENDAR.tz),
        "reason": "张三看病",
    }
    oncall.add_override(
        session, rota.id, OverrideWrite.model_validate(swap), actor=Actor("组长", Role.oncall)
    )
    session.commit()
    sign_in(Role.viewer)
    page = client.get("/oncall", params={"at": "2026-12-01 10:00"}).text
    assert '<strong class="primary-person">张三</strong>' in page
    assert '<span class="secondary-person">李四</span>' in page
    assert "2026-12-01 09:30</time> – <time>2026-12-02 09:30" in page
    page = client.get("/oncall", params={"at": "2026-12-02 13:00"}).text
    assert '<strong class="primary-person">赵组长</strong>' in page
    assert "调班: 张三看病" in page
    assert "钉钉值班群" in page
    assert "支付升级" in page
    refused = client.get("/oncall", params={"at": "not a time"})
    assert refused.status_code == 422
    assert 'aria-invalid="true"' in refused.text


def test_the_alert_page_shows_each_step_and_the_link_acknowledges_once(
    client, sign_in, session, alert_webhook
) -> None:
    set_up_rota(session)
    response = client.post(alert_webhook, content=am_delivery("fp-1", title="支付失败率升高"))
    assert response.status_code == 200
    alert = session.exec(select(Alert)).one()
    now = datetime.now(UTC)
    escalation.escalate_due(session, now, calendar=CALENDAR, link_ttl=timedelta(hours=1))
    session.commit()
    link = session.exec(select(Notification)).one().url

    # Slack unfurling the link is nobody's tap: nothing changes.
    preview = client.get(link, headers={"User-Agent": "Slackbot-LinkExpanding 1.0"})
    assert preview.status_code == 200
    assert "打开这个链接即可确认" in preview.text
    session.refresh(alert)
    assert alert.acked_at is None

    # No sign-in: the tap acknowledges and offers the verdict.
    page = client.get(link)
    assert page.status_code == 200, page.text
    assert "已确认，计入跟进" in page.text
    assert f'action="{link}/verdict"' in page.text
    assert f'href="/alerts/{alert.id}#promote"' in page.text
    session.refresh(alert)
    assert alert.acked_by.endswith("(link)")
    judged = client.post(f"{link}/verdict", data={"valid": "false"})
    assert judged.status_code == 200
    assert "已记录为无效报警" in judged.text
    assert client.post(f"{link}/verdict", data={"valid": "true"}).status_code == 409
    session.refresh(alert)
    assert alert.valid is False
    assert client.get(link).status_code == 409

    # Promoting needs a person signed in; the alert's page shows who was called when.
    promote = client.get(f"/alerts/{alert.id}", follow_redirects=False)
    assert promote.status_code == 303
    assert promote.headers["location"] == f"/login?next=/alerts/{alert.id}"
    sign_in(Role.oncall)
    page = client.get(f"/alerts/{alert.id}").text
    duty = oncall.on_call(session, oncall.rota_named(session, "支付值班"), now, CALENDAR)
    assert (
        f"<td>1</td><td>{duty.primary.name} <small>支付值班</small></td><td>钉钉值班群</td>" in page
    )
    assert 'id="promote"' in page
    assert client.get("/alerts/export?show=all&format=csv").status_code == 200


@pytest.mark.parametrize(
    ("damage", "status", "words"),
    [
        (lambda fresh, expired: fresh[:-3] + "xyz", 403, "链接无效"),
        (lambda fresh, expired: "/ack/1.1.1", 403, "链接无效"),
        (lambda fresh, expired: expired, 410, "链接已过期"),
    ],
)
def test_forged_and_expired_links_change_nothing_and_say_so(
    client, session, alert_webhook, damage, status, words
) -> None:
    client.post(alert_webhook, content=am_delivery("fp-2"))
    alert = session.exec(select(Alert)).one()
    secret = link_secret(session)
    session.commit()
    fresh = link_path(secret, alert.id, 1, datetime.now(UTC) + timedelta(hours=1))
    expired = link_path(secret, alert.id, 1, datetime.now(UTC) - timedelta(seconds=1))
    response = client.get(damage(fresh, expired))
    assert response.status_code == status
    assert words in response.text
    session.refresh(alert)
    assert alert.acked_at is None
