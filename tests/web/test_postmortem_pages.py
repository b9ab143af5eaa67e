"""The 复盘 section of the incident page: its fields, submit, review, publish with every missing
part beside the button, an admin's override, and the printable 复盘报告."""

import re

from sqlmodel import Session

from incidents import postmortems
from incidents.actors import Actor
from incidents.calendar import DEFAULT_CALENDAR
from incidents.grading import load_policy
from incidents.models import Incident, Postmortem, Role, TimelineEntryCreate
from tests.web.test_incident_pages import ESCAPED, SCRIPT, file_directly

FILER = Actor(name="filer", role=Role.oncall)


def marked_incident(session: Session, **overrides) -> Incident:
    """The seed incident with its detection and recovery marked on the timeline."""
    incident = file_directly(session, **overrides)
    for at, milestone in (("2023-08-31 10:19", "detected"), ("2023-08-31 11:00", "recovered")):
        postmortems.add_timeline_entry(
            session,
            incident.id,
            TimelineEntryCreate.model_validate({"at": at, "text": "标记", "milestone": milestone}),
            actor=FILER,
            policy=load_policy(None),
            calendar=DEFAULT_CALENDAR,
        )
    session.commit()
    return incident


def missing_parts(html: str) -> list[tuple[str, str]]:
    """The parts listed beside the publish button: (field, message)."""
    listed = re.search(r'<ul class="missing" id="pm-missing"[^>]*>(.*?)</ul>', html, re.DOTALL)
    assert listed, "no missing parts shown"
    return re.findall(
        r'<li data-field="([^"]+)"><strong>[^<]*</strong> ([^<]*)</li>', listed.group(1)
    )


def status_of(session: Session, incident: Incident) -> str:
    postmortem = session.get(Postmortem, incident.id)
    assert postmortem is not None
    session.refresh(postmortem)
    return postmortem.status


def test_the_review_workflow_from_the_incident_page(client, sign_in, session) -> None:
    incident = marked_incident(session)
    base = f"/incidents/{incident.id}"
    csrf = sign_in(Role.oncall, "值班-小王")
    saved = client.post(
        f"{base}/postmortem",
        data={
            "csrf": csrf,
            "owner": "王五",
            "responsible_team": "支付中台",
            "root_cause": "银行到账通知报文变更",
            "root_cause_category": "dependency",
            "recovery_method": "fix",
            "staged_rollout_should_have_caught": "no",
            "lessons_learned": SCRIPT,
            "no_action_reason": "银行侧已修复",
            "reviewers": "张三、李四",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    page = client.get(base).text
    assert '<span class="status pm-draft" id="pm-status">待复盘</span>' in page
    assert '<dd id="pm-owner">王五</dd>' in page
    assert '<dd id="pm-team">支付中台</dd>' in page
    assert '<option value="monitoring" selected>监控</option>' in page  # from the incident
    assert '<option value="no" selected>否</option>' in page
    assert ESCAPED in page
    assert SCRIPT not in page
    assert 'id="pm-review"' not in page  # 值班-小王 is not a reviewer
    assert client.post(f"{base}/postmortem/submit", data={"csrf": csrf}).status_code == 200

    csrf = sign_in(Role.oncall, "张三")
    page = client.get(base).text
    assert '<span class="status pm-in_review" id="pm-status">复盘中</span>' in page
    assert 'data-reviewer="张三" data-verdict="pending"' in page
    no_comment = client.post(
        f"{base}/postmortem/review", data={"csrf": csrf, "verdict": "request_changes"}
    )
    assert no_comment.status_code == 422
    assert "请说明需要修改什么" in no_comment.text
    asked = client.post(
        f"{base}/postmortem/review",
        data={"csrf": csrf, "verdict": "request_changes", "comment": "补充灰度范围"},
        follow_redirects=False,
    )
    assert asked.headers["location"] == f"{base}#postmortem"
    page = client.get(base).text
    assert 'data-reviewer="张三" data-verdict="request_changes"' in page
    assert "补充灰度范围" in page
    assert status_of(session, incident) == "draft"

    csrf = sign_in(Role.oncall, "值班-小王-2")
    client.post(f"{base}/postmortem/submit", data={"csrf": csrf}).raise_for_status()
    refused = client.post(f"{base}/postmortem/publish", data={"csrf": csrf})
    assert refused.status_code == 422
    assert missing_parts(refused.text) == [("reviewers", "张三 要求修改；李四 尚未评审")]
    stranger = client.post(f"{base}/postmortem/review", data={"csrf": csrf, "verdict": "approve"})
    assert stranger.status_code == 403

    csrf = sign_in(Role.admin, "李四-admin")
    page = client.get(base).text
    assert 'name="reason"' in page  # an admin may publish over missing approvals
    published = client.post(
        f"{base}/postmortem/publish",
        data={"csrf": csrf, "reason": "张三口头确认，李四休假"},
        follow_redirects=False,
    )
    assert published.status_code == 303
    assert status_of(session, incident) == "published"
    page = client.get(base).text
    assert '<span class="status pm-published" id="pm-status">已复盘</span>' in page
    assert 'id="pm-actions"' not in page


def test_publishing_lists_every_missing_part_beside_the_button(client, sign_in, session) -> None:
    incident = file_directly(session, failed_orders=1500)  # grade B: three whys needed
    base = f"/incidents/{incident.id}"
    csrf = sign_in(Role.oncall)
    client.post(
        f"{base}/postmortem", data={"csrf": csrf, "summary": "草稿", "reviewers": "张三"}
    ).raise_for_status()
    client.post(f"{base}/postmortem/submit", data={"csrf": csrf}).raise_for_status()
    refused = client.post(f"{base}/postmortem/publish", data={"csrf": csrf})
    assert refused.status_code == 422
    parts = missing_parts(refused.text)
    assert [field for field, _ in parts] == [
        "root_cause",
        "root_cause_category",
        "timeline",
        "action_items",
        "five_whys",
        "reviewers",
    ]
    assert "“发现”" in parts[2][1]
    assert "“业务恢复”" in parts[2][1]
    assert "<strong>根本原因</strong>" in refused.text
    assert 'id="pm-publish"' in refused.text


def test_the_printable_report_is_chinese_unless_asked(client, sign_in, session) -> None:
    incident = marked_incident(session, title=f"POS 付款单失败 {SCRIPT}")
    sign_in(Role.viewer)
    url = f"/incidents/{incident.id}/postmortem/report"
    page = client.get(url)
    assert page.status_code == 200
    assert "<h1>复盘报告：POS 付款单失败 " + ESCAPED + "</h1>" in page.text
    assert SCRIPT not in page.text
    assert "<h2>时间线</h2>" in page.text
    assert "尚未撰写复盘。" in page.text
    assert 'class="report-tools no-print"' in page.text
    english = client.get(url, params={"lang": "en"}).text
    assert "<h2>Timeline</h2>" in english
    assert client.get(f"/incidents/{incident.id}").text.count('id="pm-report-link"') == 1
    assert client.get("/incidents/999/postmortem/report").status_code == 404
