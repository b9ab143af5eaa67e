"""The incident pages: list with filters and pages, filing with its grade preview, one incident
with timeline, remediation, postmortem and action items; user text always shown as text."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, func, select

from incidents.actors import Actor
from incidents.calendar import DEFAULT_CALENDAR
from incidents.grading import load_policy
from incidents.models import ActionItem, Incident, IncidentCreate, Postmortem, Role
from incidents.service import create_incident
from tests.builders import seed_pos_incident

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"
FILER = Actor(name="filer", role=Role.oncall)


def file_directly(session: Session, **overrides) -> Incident:
    data = IncidentCreate.model_validate(seed_pos_incident(**overrides))
    incident = create_incident(
        session, data, actor=FILER, policy=load_policy(None), calendar=DEFAULT_CALENDAR
    )
    session.commit()
    return incident


def error_beside(html: str, field: str) -> str:
    """The error message shown inside the field's own label."""
    match = re.search(
        rf'<label class="field[^"]*invalid">(?:(?!</label>).)*?name="{field}"'
        rf'(?:(?!</label>).)*?id="{field}-error"[^>]*>([^<]*)</span>',
        html,
        re.DOTALL,
    )
    assert match, f"no error shown beside {field}"
    return match.group(1)


def test_an_incident_titled_script_shows_as_text_on_every_page(client, sign_in, session) -> None:
    sign_in(Role.oncall)
    incident = file_directly(
        session, title=SCRIPT, system=SCRIPT, description=SCRIPT, remediation=SCRIPT
    )
    pages = ["/incidents", f"/incidents/{incident.id}", "/weeks/2023-09-09", "/weeks/2023-W37"]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        assert ESCAPED in response.text, page
        assert SCRIPT not in response.text, page
        assert "<built-in" not in response.text, page  # every word of the page resolved
        assert "script-src 'self'" in response.headers["content-security-policy"]


def test_filing_with_shorthand_time_files_graded_and_redirects(client, sign_in, session) -> None:
    csrf = sign_in(Role.oncall)
    response = client.post(
        "/incidents/new",
        data={
            "csrf": csrf,
            "title": "履约POS付款单失败",
            "system": "中信存管",
            "detected_at": "2023-09-07 14:42",
            "failed_orders": "545",
            "core_system": "on",
            "business_impact": "",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    incident = session.exec(select(Incident)).one()
    assert response.headers["location"] == f"/incidents/{incident.id}"
    assert incident.grade == "C"
    assert incident.core_system is True
    assert incident.created_by == "web-oncall"
    page = client.get(response.headers["location"]).text
    assert "2023-09-07 14:42" in page
    assert "失败笔数 545 ≥ 100 → C" in page
    assert 'href="/weeks/2023-W37"' in page  # 9/7 is in the week of 9/9 (jan1 numbering)


def test_an_unreadable_time_is_shown_beside_its_field_and_the_form_kept(
    client, sign_in, session
) -> None:
    csrf = sign_in(Role.oncall)
    response = client.post(
        "/incidents/new?lang=en",  # the parser's own words are English (Chinese: "无法识别")
        data={
            "csrf": csrf,
            "title": "专线中断",
            "detected_at": "9/77 14:42",
            "failed_orders": "545",
        },
    )
    assert response.status_code == 422
    assert "there is no 9/77" in error_beside(response.text, "detected_at")
    assert 'value="专线中断"' in response.text
    assert 'data-grade="C"' in response.text  # the preview is drawn server-side too
    assert session.exec(select(func.count()).select_from(Incident)).one() == 0


def test_a_domain_rule_is_shown_beside_the_field_it_names(client, sign_in) -> None:
    csrf = sign_in(Role.oncall)
    response = client.post(
        "/incidents/new",
        data={
            "csrf": csrf,
            "title": "x",
            "detected_at": "2023-09-07 14:42",
            "occurred_at": "2023-09-07 15:00",
        },
    )
    assert response.status_code == 422
    assert error_beside(response.text, "detected_at") == "发现时间不能早于发生时间"


def test_every_field_of_an_incident_can_be_filed_from_the_form(client, sign_in) -> None:
    sign_in(Role.oncall)
    form = client.get("/incidents/new").text
    named = set(re.findall(r'<(?:input|select|textarea)[^>]* name="([a-z_]+)"', form))
    # Deprecated spellings, read by the API and the CLI only.
    fields = set(IncidentCreate.model_fields) - {"amount_cny", "regulatory"}
    assert fields <= named
    assert named - fields == {"csrf"}


def test_a_missing_title_and_a_negative_count_are_named(client, sign_in) -> None:
    csrf = sign_in(Role.oncall)
    response = client.post(
        "/incidents/new",
        data={"csrf": csrf, "title": " ", "detected_at": "9/7 14:42", "failed_orders": "-1"},
    )
    assert response.status_code == 422
    assert error_beside(response.text, "title") == "标题必填"
    assert error_beside(response.text, "failed_orders") == "失败订单数不能小于 0"


@pytest.mark.parametrize(
    ("query", "grade", "reason"),
    [
        ("failed_orders=545", "C", "failed 545 ≥ 100 → C"),
        ("failed_orders=545&business_impact=no", None, None),
        ("core_system=on&impact_minutes=30", "B", "core impact 30 min ≥ 30 → B"),
        (
            "business_impact=yes&core_system=on&detected_at=9/7 14:00&occurred_at=9/7 13:50"
            "&recovered_at=9/7 14:50",
            "A",
            "core impact 60 min ≥ 60 → A",
        ),
        (
            "regulatory_triggers=public_opinion",
            "A",
            "regulatory: public_opinion (重大舆情风险) → A",
        ),
        ("business_impact=yes", "D", "business impact, no higher rule → D"),
        ("failed_orders=54x&detected_at=half typed", None, None),
    ],
)
def test_the_grade_preview_explains_the_policy(client, sign_in, query, grade, reason) -> None:
    sign_in(Role.viewer)
    response = client.get(f"/incidents/grade-preview?{query}&lang=en")
    assert response.status_code == 200
    body = response.json()
    assert body["grade"] == grade
    assert body["reasons"] == ([reason] if reason else [])


def test_the_preview_agrees_with_the_grade_filed(client, sign_in, session) -> None:
    csrf = sign_in(Role.oncall)
    fields = {"title": "x", "detected_at": "9/7 14:00", "recovered_at": "9/7 14:45"}
    fields |= {"impact_minutes": "", "failed_transactions": "120", "core_system": "on"}
    preview = client.get("/incidents/grade-preview", params=fields).json()
    client.post("/incidents/new", data={**fields, "csrf": csrf})
    incident = session.exec(select(Incident)).one()
    assert (preview["grade"], preview["reason_text"]) == (incident.grade, incident.grade_reason)


def _many(session: Session, count: int, **overrides) -> None:
    policy = load_policy(None)
    start = datetime(2023, 9, 4, 8, tzinfo=UTC)
    for number in range(count):
        fields = seed_pos_incident(report_week=None, title=f"事件{number:03d}", **overrides)
        fields["detected_at"] = start + timedelta(minutes=number)
        data = IncidentCreate.model_validate(fields)
        create_incident(session, data, actor=FILER, policy=policy, calendar=DEFAULT_CALENDAR)
    session.commit()


def test_the_list_pages_by_fifty_and_keeps_the_filters(client, sign_in, session) -> None:
    sign_in(Role.viewer)
    _many(session, 55)
    first = client.get("/incidents?grade=C").text
    assert first.count('<a href="/incidents/') == 50
    assert "共 55 条，第 1–50 条" in first
    assert "事件054" in first
    assert "事件005" in first
    assert "事件004" not in first
    assert 'href="/incidents?grade=C&amp;page=2" rel="next"' in first
    second = client.get("/incidents?grade=C&page=2").text
    assert second.count('<a href="/incidents/') == 5
    assert "共 55 条，第 51–55 条" in second
    assert 'rel="next"' not in second
    assert 'href="/incidents?grade=C&amp;page=1" rel="prev"' in second
    assert client.get("/incidents?page=0").status_code == 422


def test_the_list_filters_by_week_grade_system_status_and_text(client, sign_in, session) -> None:
    sign_in(Role.viewer)
    file_directly(session, title="中信存管入金失败")  # C, reported in 2023-W37's week of 9/9
    file_directly(
        session,
        title="银商专线中断",
        description="银商移动专线中断",
        system="银商专线",
        failed_orders=None,
        business_impact=False,
        report_week=None,
        detected_at="2023-09-08 00:45",
        status="resolved",
    )

    def titles(query: str) -> list[str]:
        html = client.get(f"/incidents?{query}").text
        return re.findall(r'<a href="/incidents/\d+">([^<]*)</a>', html)

    assert titles("week=2023-W37") == ["银商专线中断", "中信存管入金失败"]
    assert titles("week=2023-09-09&grade=C") == ["中信存管入金失败"]
    assert titles("system=银商专线") == ["银商专线中断"]
    assert titles("status=resolved") == ["银商专线中断"]
    assert titles("q=入金") == ["中信存管入金失败"]
    assert titles("q=50%25") == []
    refused = client.get("/incidents?week=next+tuesday&status=gone")
    assert refused.status_code == 422
    assert "无法识别的周" in error_beside(refused.text, "week")
    statuses = "处理中、已缓解、已解决、已关闭"
    assert error_beside(refused.text, "status") == f"状态应为以下之一：{statuses}"


def test_an_unknown_incident_is_a_404_page(client, sign_in) -> None:
    sign_in(Role.viewer)
    response = client.get("/incidents/4040")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "事件 4040 不存在" in response.text


def test_remediation_and_status_are_edited_and_unchanged_fields_left_alone(
    client, sign_in, session
) -> None:
    csrf = sign_in(Role.oncall)
    incident = file_directly(session, recovered_at="2023-09-07 15:00:30")
    page = client.get(f"/incidents/{incident.id}").text
    assert 'name="recovered_at" value="2023-09-07 15:00"' in page
    response = client.post(
        f"/incidents/{incident.id}/edit",
        data={
            "csrf": csrf,
            "status": "mitigated",
            "owner": "",
            "recovered_at": "2023-09-07 15:00",  # as rendered: not an edit, the seconds stay
            "resolved_at": "",
            "remediation": "停止新的 IP 解析，恢复原有的解析，业务恢复",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    session.refresh(incident)
    assert incident.status == "mitigated"
    assert incident.remediation.startswith("停止新的 IP 解析")
    assert incident.recovered_at.second == 30
    refused = client.post(
        f"/incidents/{incident.id}/edit",
        data={"csrf": csrf, "recovered_at": "2023-08-30 10:00"},
    )
    assert refused.status_code == 422
    assert error_beside(refused.text, "recovered_at") == "业务恢复时间不能早于发现时间"
    assert '<details class="card" open>' in refused.text


def test_timeline_postmortem_and_action_items_from_the_incident_page(
    client, sign_in, session
) -> None:
    csrf = sign_in(Role.oncall)
    incident = file_directly(session)
    base = f"/incidents/{incident.id}"
    response = client.post(
        f"{base}/timeline",
        data={"csrf": csrf, "at": "2023-09-07 14:50", "text": SCRIPT, "key_event": "on"},
        follow_redirects=False,
    )
    assert response.headers["location"] == f"{base}#timeline"
    response = client.post(
        f"{base}/postmortem",
        data={
            "csrf": csrf,
            "root_cause": "银行到账通知付款方变动",
            "five_whys": ["为什么失败", "", "为什么没发现"],
            "went_wrong": "缺少监控",
            "root_cause_category": "dependency",
            "status": "in_review",
            "reviewers": "张三，李四",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == f"{base}#postmortem"
    postmortem = session.get(Postmortem, incident.id)
    session.refresh(postmortem)
    assert postmortem.five_whys == ["为什么失败", "为什么没发现"]
    assert postmortem.reviewers == ["张三", "李四"]
    assert postmortem.due_date is not None
    due = DEFAULT_CALENDAR.today() + timedelta(days=7)
    response = client.post(
        f"{base}/action-items",
        data={
            "csrf": csrf,
            "title": "到账通知增加告警",
            "type": "detect",
            "owner": "web-oncall",  # the signed-in token's name
            "verifier": "李四",
            "due_date": due.isoformat(),
            "acceptance_criteria": "夜间时段也告警",
            "tracker": "https://jira.example.com/browse/PAY-1",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == f"{base}#action-items"
    page = client.get(base).text
    assert ESCAPED in page
    assert SCRIPT not in page
    assert 'value="为什么没发现"' in page
    assert "到账通知增加告警" in page
    assert "夜间时段也告警" in page
    assert 'href="https://jira.example.com/browse/PAY-1"' in page
    assert 'data-step="done"' in page
    assert 'data-step="verify"' not in page  # the verifier's button, not the owner's
    item = session.exec(select(ActionItem)).one()
    unexplained = client.post(f"/action-items/{item.id}/not-doing", data={"csrf": csrf})
    assert unexplained.status_code == 422
    assert "请写明不做的原因" in unexplained.text
    done = client.post(f"/action-items/{item.id}/done", data={"csrf": csrf}, follow_redirects=False)
    assert done.headers["location"] == f"{base}#action-item-{item.id}"
    session.refresh(item)
    assert (item.status, item.closed_at) == ("done", None)
    assert client.post(f"/action-items/{item.id}/verify", data={"csrf": csrf}).status_code == 403


def test_incident_page_form_errors_are_shown_beside_their_fields(client, sign_in, session) -> None:
    csrf = sign_in(Role.oncall)
    incident = file_directly(session)
    base = f"/incidents/{incident.id}"
    item = client.post(
        f"{base}/action-items",
        data={"csrf": csrf, "title": "x", "type": "detect", "owner": "", "due_date": "9/15"},
    )
    assert item.status_code == 422
    assert error_beside(item.text, "owner") == "负责人必填"
    assert "日期" in error_beside(item.text, "due_date")
    entry = client.post(f"{base}/timeline", data={"csrf": csrf, "at": "昨天", "text": "x"})
    assert entry.status_code == 422
    assert error_beside(entry.text, "at").startswith("时间无法识别")
    postmortem = client.post(
        f"{base}/postmortem",
        data={"csrf": csrf, "recovery_method": "prayer", "summary": "草稿内容"},
    )
    assert postmortem.status_code == 422
    assert "回滚" in error_beside(postmortem.text, "recovery_method")
    assert "草稿内容" in postmortem.text


def test_a_viewer_sees_the_incident_without_write_forms(client, sign_in, session) -> None:
    sign_in(Role.viewer)
    incident = file_directly(session)
    page = client.get(f"/incidents/{incident.id}").text
    assert re.findall(r'<form method="post" action="([^"]+)"', page) == ["/logout"]


def test_an_id_past_the_columns_range_is_a_422_page(client, sign_in) -> None:
    sign_in(Role.viewer)
    for path in ("/incidents/99999999999", "/incidents/0"):
        response = client.get(path)
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("text/html")
