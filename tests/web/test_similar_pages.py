"""类似的历史事件 on the pages: the filing form's JSON while typing, the incident page's panel.
(The panel filling itself as a person types: tests/web/test_browser.py.)"""

from sqlmodel import Session

from incidents.actors import Actor
from incidents.calendar import DEFAULT_CALENDAR
from incidents.grading import load_policy
from incidents.models import Incident, IncidentCreate, Postmortem, Role
from incidents.service import create_incident
from tests.builders import seed_pos_incident

FILER = Actor(name="filer", role=Role.oncall)
SCRIPT = "<script>alert(1)</script>"


def file_directly(session: Session, **overrides) -> Incident:
    data = IncidentCreate.model_validate(seed_pos_incident(report_week=None, **overrides))
    incident = create_incident(
        session, data, actor=FILER, policy=load_policy(None), calendar=DEFAULT_CALENDAR
    )
    session.commit()
    return incident


def test_the_filing_form_asks_for_incidents_like_the_title_typed(client, sign_in, session) -> None:
    sign_in(Role.viewer)
    earlier = file_directly(
        session,
        title="银联代付接口超时",
        system="出金",
        detected_at="2023-09-01 10:00",
        remediation="切换备用通道",
    )
    session.add(Postmortem(incident_id=earlier.id, root_cause="银行侧系统升级未提前通知"))
    session.commit()
    response = client.get("/incidents/similar", params={"title": "银联代付通道超时"})
    assert response.status_code == 200, response.text
    assert response.json() == [
        {
            "url": f"/incidents/{earlier.id}",
            "title": "银联代付接口超时",
            "grade": "C",
            "date": "2023-09-01",
            "system": "出金",
            "same_system": False,
            "root_cause": "银行侧系统升级未提前通知",
            "remediation": "切换备用通道",
        }
    ]
    assert client.get("/incidents/similar", params={"title": "超"}).json() == []
    same = client.get("/incidents/similar", params={"title": "超", "system": "出金"}).json()
    assert [item["same_system"] for item in same] == [True]
    assert client.get("/incidents/similar", params={"title": "x" * 201}).status_code == 422


def test_the_filing_form_holds_the_panel_hidden_until_there_is_something(client, sign_in) -> None:
    sign_in(Role.oncall)
    html = client.get("/incidents/new").text
    assert 'id="similar"' in html
    assert "hidden" in html.split('id="similar"', 1)[1].split(">")[0]
    assert 'data-similar="/incidents/similar"' in html
    assert "类似的历史事件" in html


def test_the_incident_page_lists_the_earlier_incidents_like_it(client, sign_in, session) -> None:
    sign_in(Role.viewer)
    earlier = file_directly(
        session, title=f"银联代付接口超时{SCRIPT}", system="出金", detected_at="2023-09-01 10:00"
    )
    session.add(Postmortem(incident_id=earlier.id, root_cause=f"升级未通知{SCRIPT}"))
    later = file_directly(
        session, title="银联代付通道超时", system="入金", detected_at="2023-09-02 10:00"
    )
    session.commit()
    panel = client.get(f"/incidents/{later.id}").text.split('id="similar"', 1)[1]
    panel = panel.split("</section>", 1)[0]
    assert f'href="/incidents/{earlier.id}"' in panel
    assert "2023-09-01 · 出金" in panel
    assert "升级未通知&lt;script&gt;" in panel
    assert SCRIPT not in panel
    # The earlier one was filed before: nothing like it came earlier still.
    first = client.get(f"/incidents/{earlier.id}").text.split('id="similar"', 1)[1]
    assert "没有类似的历史事件" in first.split("</section>", 1)[0]
    english = client.get(f"/incidents/{earlier.id}?lang=en").text
    assert "No similar past incidents" in english
