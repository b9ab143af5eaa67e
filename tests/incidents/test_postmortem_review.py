"""The 复盘 review workflow (submit, review, publish) and the 复盘报告, through the API."""

import getpass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from incidents.alerts.models import Alert, AlertStatus, SourceCreate, SourceKind
from incidents.alerts.sources import create_source
from incidents.models import Role
from incidents.tokens import create_token
from tests.builders import file_incident

API = "/api/v1/incidents"
# Action items are due in the future (a due date in the past is refused).
DUE = (date.today() + timedelta(days=60)).isoformat()
Headers = dict[str, str]


@pytest.fixture
def reviewer(session: Session):
    """Headers of a token named `name` (a reviewer is named on the 复盘 by its token's name)."""

    def make(name: str, role: Role = Role.oncall) -> Headers:
        _, plain = create_token(session, name, role)
        session.commit()
        return {"Authorization": f"Bearer {plain}"}

    return make


def mark(client: TestClient, headers: Headers, incident_id: int, at: str, milestone: str) -> None:
    response = client.post(
        f"{API}/{incident_id}/timeline",
        json={"at": at, "text": f"{milestone} 时间线标记", "milestone": milestone},
        headers=headers,
    )
    assert response.status_code == 201, response.text


def write(client: TestClient, headers: Headers, incident_id: int, **fields: Any):
    return client.put(f"{API}/{incident_id}/postmortem", json=fields, headers=headers)


def act(client: TestClient, headers: Headers, incident_id: int, action: str, body=None):
    return client.post(f"{API}/{incident_id}/postmortem/{action}", json=body, headers=headers)


def trail(client: TestClient, auth, incident_id: int) -> list[tuple]:
    entries = client.get(f"{API}/{incident_id}/audit", headers=auth[Role.viewer]).json()
    return [
        (e["actor"], e["action"], e["field"], e["old_value"], e["new_value"], e["reason"])
        for e in entries
    ]


COMPLETE = {
    "summary": "到账通知付款方变动，POS 入金被误判为网银到账",
    "root_cause": "银行到账通知报文变更未同步",
    "root_cause_category": "dependency",
    "five_whys": ["为何失败：误判为网银到账", "为何误判：付款方字段变了", "为何未发现：无报文校验"],
    "owner": "王五",
    "responsible_team": "支付中台",
    "recovery_method": "fix",
    "related_change": "https://git.example.com/pay/merge_requests/42",
    "staged_rollout_should_have_caught": False,
    "lessons_learned": "银行报文变更需有契约测试",
    "reviewers": ["张三", "李四"],
}


def test_a_c_incident_from_filing_to_a_published_postmortem(client, auth, reviewer) -> None:
    oncall = auth[Role.oncall]
    zhang, li = reviewer("张三"), reviewer("李四", Role.admin)
    incident = file_incident(client, oncall, detected_at="2023-09-07 14:42")
    assert incident["grade"] == "C"
    incident_id = incident["id"]
    mark(client, oncall, incident_id, "2023-09-07 14:42", "detected")
    mark(client, oncall, incident_id, "2023-09-07 15:10", "recovered")
    item = client.post(
        f"{API}/{incident_id}/action-items",
        json={
            "title": "到账通知报文契约测试",
            "owner": "王五",
            "verifier": "张三",
            "due_date": DUE,
        },
        headers=oncall,
    )
    assert item.status_code == 201, item.text

    written = write(client, oncall, incident_id, **COMPLETE)
    assert written.status_code == 200, written.text
    postmortem = written.json()
    assert postmortem["status"] == "draft"
    assert postmortem["detection_channel"] == "monitoring"  # from the incident's detection
    assert (postmortem["owner"], postmortem["responsible_team"]) == ("王五", "支付中台")

    submitted = act(client, oncall, incident_id, "submit")
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["status"] == "in_review"

    # 张三 asks for changes: the 复盘 is a draft again, and cannot be published.
    asked = act(
        client,
        zhang,
        incident_id,
        "review",
        {"verdict": "request_changes", "comment": "补充为何灰度没有发现"},
    )
    assert asked.status_code == 200, asked.text
    assert asked.json()["reviewer"] == "张三"
    current = client.get(f"{API}/{incident_id}/postmortem", headers=oncall).json()
    assert current["status"] == "draft"
    refused = act(client, oncall, incident_id, "publish")
    assert refused.status_code == 422
    assert {tuple(part["loc"]) for part in refused.json()["detail"]} == {
        ("body", "status"),
        ("body", "reviewers"),
    }

    fixed = write(
        client,
        oncall,
        incident_id,
        **COMPLETE,
        went_wrong="灰度只覆盖了网银渠道，POS 入金未在灰度范围",
        status="draft",  # the status as it is: accepted, nothing moves
    )
    assert fixed.status_code == 200, fixed.text
    assert act(client, oncall, incident_id, "submit").status_code == 200
    for headers in (zhang, li):
        approved = act(client, headers, incident_id, "review", {"verdict": "approve"})
        assert approved.status_code == 200, approved.text

    published = act(client, oncall, incident_id, "publish")
    assert published.status_code == 200, published.text
    assert published.json()["status"] == "published"
    assert published.json()["published_at"] is not None

    reviews = client.get(f"{API}/{incident_id}/postmortem/reviews", headers=auth[Role.viewer])
    assert [(r["reviewer"], r["verdict"], r["comment"]) for r in reviews.json()] == [
        ("张三", "request_changes", "补充为何灰度没有发现"),
        ("张三", "approve", None),
        ("李四", "approve", None),
    ]
    entries = trail(client, auth, incident_id)
    moves = [
        (actor, old, new) for actor, action, field, old, new, _ in entries if field == "status"
    ]
    assert moves == [
        ("oncall-user", "draft", "in_review"),
        ("张三", "in_review", "draft"),
        ("oncall-user", "draft", "in_review"),
        ("oncall-user", "in_review", "published"),
    ]
    assert (
        "张三",
        "postmortem_review",
        "张三",
        None,
        "request_changes",
        "补充为何灰度没有发现",
    ) in (entries)
    assert ("李四", "postmortem_review", "李四", None, "approve", None) in entries
    assert ("oncall-user", "postmortem", "went_wrong") in [e[:3] for e in entries]

    # Once published the review is over, and the 复盘 cannot be published twice.
    late = act(client, zhang, incident_id, "review", {"verdict": "approve"})
    assert late.status_code == 422
    assert act(client, oncall, incident_id, "publish").json()["detail"][0]["loc"][-1] == "status"


def test_publishing_is_refused_naming_every_missing_part(client, auth, reviewer) -> None:
    oncall = auth[Role.oncall]
    reviewer("张三")
    incident_id = file_incident(client, oncall, failed_orders=1500)["id"]
    assert client.get(f"{API}/{incident_id}", headers=oncall).json()["grade"] == "B"
    body = {"summary": "只写了概述", "five_whys": ["为何失败"], "reviewers": ["张三"]}
    assert write(client, oncall, incident_id, **body).status_code == 200
    from_draft = act(client, oncall, incident_id, "publish", {})
    assert from_draft.status_code == 422
    assert ("body", "status") in {tuple(part["loc"]) for part in from_draft.json()["detail"]}

    assert act(client, oncall, incident_id, "submit").status_code == 200
    refused = act(client, oncall, incident_id, "publish")
    assert refused.status_code == 422
    parts = [(part["loc"][-1], part["msg"]) for part in refused.json()["detail"]]
    assert [field for field, _ in parts] == [
        "root_cause",
        "root_cause_category",
        "timeline",
        "timeline",
        "action_items",
        "five_whys",
        "reviewers",
    ]
    messages = dict(parts[:2]) | {"five_whys": parts[5][1], "reviewers": parts[6][1]}
    assert messages["root_cause"] == "required to publish"
    assert "at least 3 whys (1 given)" in messages["five_whys"]
    assert messages["reviewers"] == "张三 has not reviewed it yet"
    assert "(detected)" in parts[2][1]
    assert "(recovered)" in parts[3][1]
    assert "no_action_reason" in parts[4][1]

    # A reason instead of an action item; the whys and the timeline done: only approval left.
    mark(client, oncall, incident_id, "2023-08-31 10:19", "detected")
    mark(client, oncall, incident_id, "2023-08-31 11:00", "recovered")
    done = {
        **body,
        **{k: COMPLETE[k] for k in ("root_cause", "root_cause_category", "five_whys")},
        "no_action_reason": "银行侧已修复报文，我方无需改动",
    }
    assert write(client, oncall, incident_id, **done).status_code == 200
    left = act(client, oncall, incident_id, "publish").json()["detail"]
    assert [part["loc"] for part in left] == [["body", "reviewers"]]


def test_only_a_named_reviewer_gives_a_verdict(client, auth, reviewer) -> None:
    oncall = auth[Role.oncall]
    zhang = reviewer("张三")
    incident_id = file_incident(client, oncall)["id"]
    assert act(client, zhang, incident_id, "review", {"verdict": "approve"}).status_code == 404
    assert write(client, oncall, incident_id, reviewers=["张三"]).status_code == 200
    assert act(client, oncall, incident_id, "submit").status_code == 200
    for role in (Role.oncall, Role.admin):  # not named: no role is enough
        refused = act(client, auth[role], incident_id, "review", {"verdict": "approve"})
        assert refused.status_code == 403
        assert refused.json()[
            "detail"
        ] == "oncall-user is not a reviewer of this postmortem".replace("oncall", role.value)
    # Named, but a reviewer writes, and viewers only read.
    assert write(client, oncall, incident_id, reviewers=["张三", "viewer-user"]).status_code == 200
    as_viewer = act(client, auth[Role.viewer], incident_id, "review", {"verdict": "approve"})
    assert as_viewer.status_code == 403
    no_comment = act(client, zhang, incident_id, "review", {"verdict": "request_changes"})
    assert no_comment.status_code == 422
    assert no_comment.json()["detail"][0]["loc"] == ["body", "comment"]
    assert act(client, zhang, incident_id, "review", {"verdict": "maybe"}).status_code == 422
    reviews = client.get(f"{API}/{incident_id}/postmortem/reviews", headers=oncall).json()
    assert reviews == []
    assert client.get(f"{API}/{incident_id}/postmortem", headers=oncall).json()["status"] == (
        "in_review"
    )


def test_an_admin_publishes_over_a_missing_approval_with_a_reason(client, auth, reviewer) -> None:
    oncall, admin = auth[Role.oncall], auth[Role.admin]
    zhang = reviewer("张三")
    incident_id = file_incident(client, oncall)["id"]
    mark(client, oncall, incident_id, "2023-08-31 10:19", "detected")
    mark(client, oncall, incident_id, "2023-08-31 11:00", "recovered")
    assert write(client, oncall, incident_id, **COMPLETE, no_action_reason="无").status_code == 200
    assert act(client, oncall, incident_id, "submit").status_code == 200
    assert act(client, zhang, incident_id, "review", {"verdict": "approve"}).status_code == 200

    reason = {"reason": "李四休假两周，负责人确认可发布"}
    assert act(client, oncall, incident_id, "publish", reason).status_code == 403
    not_yet = act(client, admin, incident_id, "publish")
    assert not_yet.status_code == 422
    assert [part["msg"] for part in not_yet.json()["detail"]] == ["李四 has not reviewed it yet"]
    assert act(client, admin, incident_id, "publish", {"reason": ""}).status_code == 422

    published = act(client, admin, incident_id, "publish", reason)
    assert published.status_code == 200, published.text
    assert published.json()["status"] == "published"
    moves = [e for e in trail(client, auth, incident_id) if e[2] == "status"]
    assert moves[-1][:5] == ("admin-user", "postmortem", "status", "in_review", "published")
    assert moves[-1][5] == (
        "published over missing approvals (李四 has not reviewed it yet):"
        " 李四休假两周，负责人确认可发布"
    )


def test_the_status_moves_only_through_the_actions(client, auth, reviewer) -> None:
    oncall = auth[Role.oncall]
    reviewer("张三")
    incident_id = file_incident(client, oncall)["id"]
    refused = write(client, oncall, incident_id, summary="直接发布", status="published")
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "status"]
    assert "publish" in refused.json()["detail"][0]["msg"]
    assert client.get(f"{API}/{incident_id}/postmortem", headers=oncall).status_code == 404
    assert write(client, oncall, incident_id, summary="草稿").status_code == 200
    assert write(client, oncall, incident_id, status="in_review").status_code == 422
    no_reviewers = act(client, oncall, incident_id, "submit")
    assert no_reviewers.status_code == 422
    assert no_reviewers.json()["detail"][0]["loc"] == ["body", "reviewers"]
    assert act(client, auth[Role.viewer], incident_id, "submit").status_code == 403
    assert act(client, oncall, 999, "submit").status_code == 404

    # Published, a 复盘 may be corrected, but not lose what publishing asked for.
    mark(client, oncall, incident_id, "2023-08-31 10:19", "detected")
    mark(client, oncall, incident_id, "2023-08-31 11:00", "recovered")
    complete = {**COMPLETE, "reviewers": ["张三"], "no_action_reason": "无"}
    assert write(client, oncall, incident_id, **complete).status_code == 200
    assert act(client, oncall, incident_id, "submit").status_code == 200
    admin_reason = {"reason": "演练"}
    assert act(client, auth[Role.admin], incident_id, "publish", admin_reason).status_code == 200
    corrected = write(client, oncall, incident_id, **{**complete, "summary": "修正错别字"})
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["status"] == "published"
    emptied = write(client, oncall, incident_id, **{**complete, "root_cause": None})
    assert emptied.status_code == 422
    [problem] = emptied.json()["detail"]
    assert {key: problem[key] for key in ("loc", "msg", "type")} == (
        {"loc": ["body", "root_cause"], "msg": "required to publish", "type": "value_error"}
    )


SCRIPT = "<script>alert('x')</script>"


def test_the_report_document_is_prefilled_from_the_incident(
    client, auth, reviewer, session
) -> None:
    oncall = auth[Role.oncall]
    reviewer("张三")
    incident_id = file_incident(
        client,
        oncall,
        title=f"POS 付款单失败 {SCRIPT}",
        detected_at="2023-09-07 14:42",
        occurred_at="2023-09-07 14:40",
        located_at="2023-09-07 14:50",
        recovered_at="2023-09-07 15:10",
        amount_involved_cny="60,000",
        loss_cny="12,345.60",
        recovered_cny="2,345.60",
    )["id"]
    source = create_source(session, SourceCreate(kind=SourceKind.alertmanager, name="prod-am"))
    at = datetime(2023, 9, 7, 6, 41, tzinfo=UTC)
    session.add(
        Alert(
            source_id=source.id,
            fingerprint="pay-errors",
            status=AlertStatus.firing,
            title="履约 接口错误率高于1%",
            severity="critical",
            starts_at=at,
            received_at=at,
            last_seen_at=at,
            incident_id=incident_id,
        )
    )
    session.commit()
    mark(client, oncall, incident_id, "2023-09-07 14:42", "detected")
    client.post(
        f"{API}/{incident_id}/action-items",
        json={
            "title": "报文契约测试 | 覆盖 POS",
            "owner": "王五",
            "verifier": "赵六",
            "due_date": DUE,
        },
        headers=oncall,
    ).raise_for_status()
    fields = {**COMPLETE, "reviewers": ["张三"], "root_cause": f"报文变更 {SCRIPT}\n第二行"}
    assert write(client, oncall, incident_id, **fields).status_code == 200
    url = f"{API}/{incident_id}/postmortem/report"

    markdown = client.get(url, headers=auth[Role.viewer])
    assert markdown.status_code == 200
    assert markdown.headers["content-type"].startswith("text/markdown")
    text = markdown.text
    assert text.startswith("# 复盘报告：POS 付款单失败 \\<script\\>alert('x')\\</script\\>\n")
    for expected in (
        "- **事故等级**：C",
        "- **定级依据**：失败笔数 545 ≥ 100 → C",
        "- **复盘状态**：待复盘",
        "- **复盘负责人**：王五",
        "- **责任团队**：支付中台",
        "| 发现 | 2023-09-07 14:42 | 发生后 2 分钟 |",
        "| 业务恢复 | 2023-09-07 15:10 | 发现后 28 分钟 |",
        "1-5-10：未达标，发现超时",
        "- **涉及金额**：¥60,000.00",
        "- **资损**：¥12,345.60",
        "- **追回**：¥2,345.60",
        "- **净资损**：¥10,000.00",
        "- 2023-09-07 14:41 [critical] 履约 接口错误率高于1%",
        "| 2023-09-07 14:42 | 发现 | detected 时间线标记 | oncall-user |",
        "**根本原因**\n\n报文变更 \\<script\\>alert('x')\\</script\\>  \n第二行",
        "- **根因分类**：依赖/银行通道",
        "- **发现渠道**：监控告警",
        "- **恢复方式**：修复",
        "- **灰度应能发现**：否",
        "1. 为何失败：误判为网银到账",
        "**经验教训**\n\n银行报文变更需有契约测试",
        f"| 报文契约测试 \\| 覆盖 POS | 预防 | 王五 | {DUE} | 赵六 | 未开始 |",
        "| 张三 | 待评审 |  |  |",
    ):
        assert expected in text, expected

    english = client.get(url, params={"lang": "en"}, headers=auth[Role.viewer]).text
    assert english.startswith("# Postmortem: POS")
    assert "- **Net loss**: ¥10,000.00" in english
    assert "| Business restored | 2023-09-07 15:10 | 28 min after detection |" in english

    page = client.get(url, params={"format": "html"}, headers=auth[Role.viewer])
    assert page.headers["content-type"].startswith("text/html")
    assert SCRIPT not in page.text
    assert "POS 付款单失败 &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page.text
    assert "<td>报文契约测试 | 覆盖 POS</td>" in page.text
    assert client.get(f"{API}/999/postmortem/report", headers=oncall).status_code == 404
    assert client.get(url).status_code == 401


def test_the_workflow_from_a_shell(client, auth, cli_database) -> None:
    from typer.testing import CliRunner

    from api.cli import app

    runner = CliRunner()
    oncall = auth[Role.oncall]
    incident_id = file_incident(client, oncall)["id"]
    mark(client, oncall, incident_id, "2023-08-31 10:19", "detected")
    mark(client, oncall, incident_id, "2023-08-31 11:00", "recovered")
    fields = {**COMPLETE, "reviewers": ["张三"], "no_action_reason": "银行侧已修复"}
    assert write(client, oncall, incident_id, **fields).status_code == 200
    ident = str(incident_id)

    submitted = runner.invoke(app, ["postmortem", "submit", ident])
    assert submitted.exit_code == 0, submitted.output
    assert submitted.stdout == f"postmortem of incident {ident} is in review by 张三\n"
    stranger = runner.invoke(
        app, ["postmortem", "review", ident, "--reviewer", "王二", "--verdict", "approve"]
    )
    assert stranger.exit_code == 2
    assert "王二 is not a reviewer of this postmortem" in stranger.output
    wordless = ["postmortem", "review", ident, "--reviewer", "张三"]
    refused = runner.invoke(app, [*wordless, "--verdict", "request_changes"])
    assert refused.exit_code == 2
    assert "--comment: say which changes are requested" in refused.output
    asked = runner.invoke(
        app, [*wordless, "--verdict", "request_changes", "--comment", "补充时间线"]
    )
    assert asked.stdout == f"张三: request_changes; postmortem of incident {ident} is draft\n"
    too_soon = runner.invoke(app, ["postmortem", "publish", ident])
    assert too_soon.exit_code == 2
    assert "--status: submit the postmortem for review first; --reviewers: 张三 requested" in (
        too_soon.output
    )
    assert runner.invoke(app, ["postmortem", "submit", ident]).exit_code == 0
    assert runner.invoke(app, [*wordless, "--verdict", "approve"]).exit_code == 0
    published = runner.invoke(app, ["postmortem", "publish", ident])
    assert published.exit_code == 0, published.output
    document = runner.invoke(app, ["postmortem", "report", ident, "--lang", "en"])
    assert document.exit_code == 0, document.output
    assert "- **Postmortem status**: published" in document.stdout
    assert "| 张三 | changes requested | 补充时间线 |" in document.stdout
    entries = trail(client, auth, incident_id)
    assert (entries[-1][0], entries[-1][4]) == ("cli:" + getpass.getuser(), "published")


def test_markdown_shows_a_writers_text_as_typed() -> None:
    from incidents.postmortem_report import markdown_text

    typed = "1. 先回滚\n- 再切换\n# 不是标题\n[链接](http://x) *强调* <b> a|b 2023-09-07 pay_order"
    assert markdown_text(typed) == (
        "1\\. 先回滚\n\\- 再切换\n\\# 不是标题\n"
        "\\[链接\\](http://x) \\*强调\\* \\<b\\> a\\|b 2023-09-07 pay\\_order"
    )
