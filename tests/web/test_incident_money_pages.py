"""资损 on the pages: filed as typed text, shown with the net loss, edited on the incident page."""

from decimal import Decimal

from sqlmodel import select

from incidents.models import Incident, Role
from tests.builders import seed_pos_incident
from tests.web.test_incident_pages import error_beside, file_directly

MONEY = ("amount_involved_cny", "loss_cny", "recovered_cny")


def test_the_money_fields_are_typed_text_in_both_languages(client, sign_in) -> None:
    sign_in(Role.oncall)
    zh = client.get("/incidents/new").text
    for name in MONEY:
        assert f'<input type="text" name="{name}"' in zh, name
    for label in ("涉及金额（元）", "资损（元）", "追回（元）"):
        assert label in zh
    en = client.get("/incidents/new?lang=en").text
    for label in ("Amount involved (CNY)", "Money lost (CNY)", "Recovered (CNY)"):
        assert label in en


def test_filing_from_the_form_keeps_the_money_as_typed(client, sign_in, session) -> None:
    csrf = sign_in(Role.oncall)
    typed = {"amount_involved_cny": "600,000.50", "loss_cny": "１２,３４５", "recovered_cny": "345"}
    response = client.post(
        "/incidents/new",
        data=seed_pos_incident(report_week="") | typed | {"csrf": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    incident = session.exec(select(Incident)).one()
    assert (incident.amount_involved_cny, incident.loss_cny, incident.recovered_cny) == (
        Decimal("600000.50"),
        Decimal(12345),
        Decimal(345),
    )
    page = client.get(response.headers["location"]).text
    assert '<dd id="loss_cny">¥12,345.00</dd>' in page
    assert '<dd id="recovered_cny">¥345.00</dd>' in page
    assert '<dd id="net_loss_cny">¥12,000.00</dd>' in page
    assert '<dd id="amount_involved_cny">¥600,000.50</dd>' in page


def test_the_form_refuses_recovering_more_than_was_lost(client, sign_in, session) -> None:
    csrf = sign_in(Role.oncall)
    response = client.post(
        "/incidents/new",
        data=seed_pos_incident(loss_cny="100", recovered_cny="200", csrf=csrf),
    )
    assert response.status_code == 422
    assert error_beside(response.text, "recovered_cny") == "追回不能大于资损"
    assert session.exec(select(Incident)).first() is None


def test_the_edit_form_sets_and_clears_the_money(client, sign_in, session) -> None:
    csrf = sign_in(Role.oncall)
    incident = file_directly(session, loss_cny="12345.00")
    url = f"/incidents/{incident.id}"
    page = client.get(url).text
    assert 'name="loss_cny" value="12345.00"' in page
    assert 'name="recovered_cny" value=""' in page
    response = client.post(
        f"{url}/edit",
        data={"csrf": csrf, "loss_cny": "12,345.00", "recovered_cny": "2,345", "status": "open"},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    session.refresh(incident)
    assert (incident.loss_cny, incident.recovered_cny) == (Decimal(12345), Decimal(2345))
    assert '<dd id="net_loss_cny">¥10,000.00</dd>' in client.get(url).text
    refused = client.post(f"{url}/edit", data={"csrf": csrf, "loss_cny": "100"})
    assert refused.status_code == 422
    assert error_beside(refused.text, "recovered_cny") == "追回不能大于资损"
    cleared = client.post(
        f"{url}/edit",
        data={"csrf": csrf, "loss_cny": "", "recovered_cny": ""},
        follow_redirects=False,
    )
    assert cleared.status_code == 303
    session.refresh(incident)
    assert (incident.loss_cny, incident.recovered_cny) == (None, None)
    assert 'id="net_loss_cny"' not in client.get(url).text
