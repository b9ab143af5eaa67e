"""Grade overrides: kept through edits until cleared, audited, protected from other on-calls."""

from incidents.models import Role
from incidents.tokens import create_token
from tests.builders import seed_pos_incident

API = "/api/v1/incidents"


def test_override_survives_edits_until_cleared_and_every_change_is_audited(client, auth):
    oncall = auth[Role.oncall]
    incident = client.post(API, json=seed_pos_incident(), headers=oncall).json()
    url = f"{API}/{incident['id']}"

    overridden = client.post(
        f"{url}/grade", json={"grade": "B", "reason": "监管关注的存管通道"}, headers=oncall
    ).json()
    assert (overridden["grade"], overridden["grade_overridden"]) == ("B", True)
    assert overridden["grade_reason"] == "override: 监管关注的存管通道"

    edited = client.patch(url, json={"failed_orders": 20}, headers=oncall).json()
    assert edited["grade"] == "B"

    cleared = client.post(
        f"{url}/grade", json={"grade": None, "reason": "复盘后按策略定级"}, headers=oncall
    ).json()
    assert (cleared["grade"], cleared["grade_overridden"]) == ("D", False)
    assert cleared["grade_reason"] == "business impact, no higher rule → D"

    trail = client.get(f"{url}/audit", headers=auth[Role.viewer]).json()
    grade_entries = [
        (entry["action"], entry["old_value"], entry["new_value"])
        for entry in trail
        if entry["field"] == "grade"
    ]
    assert grade_entries == [
        ("grade", None, "C"),
        ("override", "C", "B"),
        ("grade", "B", "D"),
        ("override_cleared", "B", "D"),
    ]


def test_override_needs_a_known_grade_and_a_reason(client, auth) -> None:
    oncall = auth[Role.oncall]
    incident = client.post(API, json=seed_pos_incident(), headers=oncall).json()
    url = f"{API}/{incident['id']}/grade"
    for body, field in [
        ({"grade": "E", "reason": "x"}, "grade"),
        ({"grade": "B"}, "reason"),
        ({"grade": "B", "reason": ""}, "reason"),
        ({"grade": "B", "reason": "   "}, "reason"),
    ]:
        response = client.post(url, json=body, headers=oncall)
        assert response.status_code == 422, body
        assert response.json()["detail"][0]["loc"][-1] == field
    after = client.get(f"{API}/{incident['id']}", headers=oncall).json()
    assert (after["grade"], after["grade_overridden"]) == ("C", False)
    assert (
        client.post(
            f"{API}/999/grade", json={"grade": "B", "reason": "x"}, headers=oncall
        ).status_code
        == 404
    )


def test_only_an_admin_may_replace_another_persons_override(client, auth, session) -> None:
    _, plain = create_token(session, "second-oncall", Role.oncall)
    session.commit()
    other = {"Authorization": f"Bearer {plain}"}
    incident = client.post(API, json=seed_pos_incident(), headers=auth[Role.oncall]).json()
    url = f"{API}/{incident['id']}/grade"
    client.post(url, json={"grade": "B", "reason": "通道重要"}, headers=auth[Role.oncall])
    refused = client.post(url, json={"grade": "D", "reason": "影响小"}, headers=other)
    assert refused.status_code == 403
    assert "oncall-user" in refused.json()["detail"]
    again = client.post(url, json={"grade": "A", "reason": "升级"}, headers=auth[Role.oncall])
    assert again.json()["grade"] == "A"
    by_admin = client.post(url, json={"grade": "D", "reason": "评审结论"}, headers=auth[Role.admin])
    assert by_admin.json()["grade"] == "D"
    assert (
        client.post(url, json={"grade": "C", "reason": "x"}, headers=auth[Role.viewer]).status_code
        == 403
    )
