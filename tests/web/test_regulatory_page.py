"""The regulatory register page: every report with its clock, recorded in one form."""

from incidents.models import Role


def file_reportable(client, auth) -> dict:
    body = {
        "title": "重复结算<b>",
        "detected_at": "2023-09-07 10:00",
        "regulatory_triggers": ["fund_safety"],
    }
    response = client.post("/api/v1/incidents", json=body, headers=auth[Role.oncall])
    assert response.status_code == 201, response.text
    return response.json()


def test_the_register_shows_each_report_with_its_clock(client, auth, sign_in) -> None:
    incident = file_reportable(client, auth)
    sign_in(Role.viewer)
    page = client.get("/regulatory")
    assert page.status_code == 200
    assert f'href="/incidents/{incident["id"]}"' in page.text
    assert "重复结算&lt;b&gt;" in page.text
    assert "重复结算或其他资金安全事件" in page.text
    assert "已逾期" in page.text  # 2023's deadline has long passed
    assert 'action="/regulatory/' not in page.text  # a viewer gets no form
    english = client.get("/regulatory?lang=en").text
    assert "overdue by" in english


def test_recording_from_the_page_and_a_bad_time_shown_beside_its_field(
    client, auth, sign_in
) -> None:
    file_reportable(client, auth)
    report = client.get("/api/v1/regulatory-reports", headers=auth[Role.viewer]).json()["items"][0]
    csrf = sign_in(Role.oncall)
    refused = client.post(
        f"/regulatory/{report['id']}",
        data={"csrf": csrf, "reported_at": "2023-09-07 08:00", "channel": "phone"},
    )
    assert refused.status_code == 422
    assert 'aria-invalid="true" aria-describedby="reported_at-error"' in refused.text
    made = client.post(
        f"/regulatory/{report['id']}",
        data={
            "csrf": csrf,
            "reported_at": "2023-09-07 11:00",
            "channel": "phone",
            "reference": "R7",
        },
        follow_redirects=False,
    )
    assert made.status_code == 303
    assert made.headers["location"] == f"/regulatory#report-{report['id']}"
    page = client.get("/regulatory").text
    assert "已按时报告" in page
    assert "R7" in page
    forged = client.post(f"/regulatory/{report['id']}", data={"csrf": "x"})
    assert forged.status_code == 403


def test_the_incident_page_links_a_reportable_incident_to_the_register(
    client, auth, sign_in
) -> None:
    incident = file_reportable(client, auth)
    sign_in(Role.viewer)
    page = client.get(f"/incidents/{incident['id']}").text
    assert '<a href="/regulatory" id="regulatory-link">需报监管</a>' in page
    assert '<span class="tag">fund_safety</span>' in page


def test_the_filing_form_offers_the_policys_triggers(client, auth, sign_in) -> None:
    csrf = sign_in(Role.oncall)
    form = client.get("/incidents/new").text
    assert 'name="regulatory_triggers" value="personal_data_leak"' in form
    preview = client.get(
        "/incidents/grade-preview",
        params=[("regulatory_triggers", "public_opinion"), ("detected_at", "9/7 10:00")],
    ).json()
    assert preview["grade"] == "A"
    filed = client.post(
        "/incidents/new",
        data={
            "csrf": csrf,
            "title": "舆情",
            "detected_at": "2023-09-07 10:00",
            "regulatory_triggers": ["public_opinion", "fund_safety"],
        },
        follow_redirects=False,
    )
    assert filed.status_code == 303, filed.text
    shown = client.get(filed.headers["location"]).text
    assert '<span class="tag">public_opinion</span>' in shown
    assert '<span class="tag">fund_safety</span>' in shown


def test_the_edit_form_ticks_and_unticks_triggers(client, auth, sign_in) -> None:
    incident = file_reportable(client, auth)
    csrf = sign_in(Role.oncall)
    path = f"/incidents/{incident['id']}/edit"
    unknown = client.post(
        path, data={"csrf": csrf, "triggers_on_form": "1", "regulatory_triggers": ["made_up"]}
    )
    assert unknown.status_code == 422
    assert "未知的监管报送情形 made_up" in unknown.text
    saved = client.post(
        path,
        data={"csrf": csrf, "triggers_on_form": "1", "regulatory_triggers": ["public_opinion"]},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    api = client.get(f"/api/v1/incidents/{incident['id']}", headers=auth[Role.viewer]).json()
    assert api["regulatory_triggers"] == ["public_opinion"]
    cleared = client.post(
        path, data={"csrf": csrf, "triggers_on_form": "1"}, follow_redirects=False
    )
    assert cleared.status_code == 303
    api = client.get(f"/api/v1/incidents/{incident['id']}", headers=auth[Role.viewer]).json()
    assert api["regulatory_triggers"] == []
    assert api["regulatory"] is False  # nothing fires any more; the report stays on record
    register = client.get("/api/v1/regulatory-reports", headers=auth[Role.viewer]).json()
    assert register["items"][0]["triggers"] == ["fund_safety", "public_opinion"]
