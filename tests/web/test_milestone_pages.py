"""The incident page's milestones: each time with the minutes of its stage, the 1-5-10 verdict,
set from the edit form or marked from the timeline form."""

import re

from sqlmodel import Session

from incidents.models import Incident, Role
from tests.web.test_incident_pages import error_beside, file_directly

MILESTONES = {
    "occurred_at": "2023-08-31 10:18",
    "acknowledged_at": "2023-08-31 10:20",
    "located_at": "2023-08-31 10:23",
    "recovered_at": "2023-08-31 10:31",
}


def shown(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</dd>', html, re.DOTALL)
    assert match, f"no {element_id} on the page"
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def test_the_page_shows_each_milestone_with_its_minutes_and_the_verdict(
    client, sign_in, session
) -> None:
    sign_in(Role.viewer)
    incident = file_directly(session, **MILESTONES)
    page = client.get(f"/incidents/{incident.id}").text
    assert shown(page, "located_at") == "2023-08-31 10:23 发现后 4 分钟"
    assert shown(page, "occurred_at") == "2023-08-31 10:18"
    assert shown(page, "detected_at") == "2023-08-31 10:19 发生后 1 分钟"
    assert shown(page, "mitigated_at") == "—"
    assert 'data-verdict="met"' in page
    assert shown(page, "one-five-ten").startswith("达标")
    assert "定位 5 分钟" in shown(page, "one-five-ten")
    english = client.get(f"/incidents/{incident.id}", params={"lang": "en"}).text
    assert shown(english, "located_at") == "2023-08-31 10:23 4 min after detection"
    assert shown(english, "one-five-ten").startswith("met")


def test_a_missed_step_is_named(client, sign_in, session) -> None:
    sign_in(Role.viewer)
    incident = file_directly(session, **(MILESTONES | {"located_at": "2023-08-31 10:30"}))
    page = client.get(f"/incidents/{incident.id}").text
    assert 'data-verdict="missed:locate"' in page
    assert shown(page, "one-five-ten").startswith("未达标：定位超时")


def test_the_edit_form_sets_milestones_in_order(client, sign_in, session: Session) -> None:
    csrf = sign_in(Role.oncall)
    incident = file_directly(session)
    url = f"/incidents/{incident.id}"
    page = client.get(url).text
    for field in ("acknowledged_at", "located_at", "mitigation_started_at", "mitigated_at"):
        assert f'name="{field}"' in page
    response = client.post(
        f"{url}/edit",
        data={"csrf": csrf, "located_at": "2023-08-31 10:25", "mitigated_at": "2023-08-31 10:28"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    session.refresh(incident)
    assert incident.located_at is not None
    assert incident.mitigated_at is not None
    refused = client.post(
        f"{url}/edit", data={"csrf": csrf, "mitigation_started_at": "2023-08-31 10:29"}
    )
    assert refused.status_code == 422
    assert error_beside(refused.text, "mitigation_started_at") == "止损开始时间不能晚于止损生效时间"


def test_the_timeline_form_marks_a_milestone(client, sign_in, session: Session) -> None:
    csrf = sign_in(Role.oncall)
    incident = file_directly(session)
    url = f"/incidents/{incident.id}"
    page = client.get(url).text
    select = re.search(r'<select name="milestone">(.*?)</select>', page, re.DOTALL)
    assert select
    assert '<option value="located">定位</option>' in select.group(1)
    response = client.post(
        f"{url}/timeline",
        data={"csrf": csrf, "at": "2023-08-31 10:26", "text": "定位到原因", "milestone": "located"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    stored = session.get(Incident, incident.id)
    session.refresh(stored)
    assert stored.located_at is not None
    assert stored.acknowledged_at == stored.located_at  # the first entry of a person
    assert '<span class="milestone">定位</span>' in client.get(url).text
    refused = client.post(
        f"{url}/timeline",
        data={"csrf": csrf, "at": "2023-08-31 10:00", "text": "x", "milestone": "mitigated"},
    )
    assert refused.status_code == 422
    assert error_beside(refused.text, "at") == "止损生效时间不能早于定位时间"


def test_the_week_page_lists_the_rate_with_the_others(client, sign_in, session) -> None:
    sign_in(Role.viewer)
    page = client.get("/weeks/2023-W37").text
    assert "1-5-10" not in page  # a week without milestones reads as before
    week_37 = {
        name: value.replace("2023-08-31", "2023-09-07") for name, value in MILESTONES.items()
    }
    file_directly(session, detected_at="2023-09-07 10:19", report_week=None, **week_37)
    page = client.get("/weeks/2023-W37").text
    assert "<li>1-5-10达标率：100.0%（1/1，上周 —）</li>" in page
    row = re.search(r"<tr>\s*<td>1-5-10达标率</td>(.*?)</tr>", page, re.DOTALL)
    assert row
    assert "1/1" in row.group(1)
