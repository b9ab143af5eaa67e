"""The 复盘报告: one incident's postmortem as a document, in zh or en, as Markdown or HTML.

Prefilled from what Stabilog already knows of the incident (its grade and why, the milestones
with their 1-5-10 verdict, the impact and the money, the linked alerts, the timeline), then the
复盘's own fields, its action items and the reviewers' verdicts. Built once as blocks, like the
weekly section (`incidents/report.py`), and rendered alike as Markdown (for pasting into a wiki)
and HTML (a standalone page, or the printable page of the site). Every piece people typed goes
through `user_text`: Markdown escapes its markup characters, HTML is escaped by the template.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from markupsafe import Markup
from sqlmodel import Session, col, select

from incidents import action_items, postmortems
from incidents.alerts.models import Alert
from incidents.calendar import Calendar
from incidents.grading import Targets, net_loss
from incidents.messages import grade_reason_text
from incidents.milestones import MILESTONES, STAGES, OneFiveTen, one_five_ten, stage_minutes
from incidents.models import ActionItem, Incident, Postmortem, PostmortemReview, TimelineEntry
from incidents.report import DOCUMENT_TEMPLATES
from incidents.service import get_incident

Lang = Literal["zh", "en"]

LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "title": "复盘报告：{title}",
        "subtitle": "事件 #{id}",
        "overview": "事件概况",
        "grade": "事故等级",
        "ungraded": "不定级",
        "grade_reason": "定级依据",
        "overridden": "（人工定级）",
        "system": "系统",
        "incident_owner": "事件负责人",
        "pm_status": "复盘状态",
        "pm_owner": "复盘负责人",
        "responsible_team": "责任团队",
        "reviewers": "评审人",
        "due_date": "复盘截止日期",
        "published_at": "发布时间",
        "milestones": "时间节点与 1-5-10",
        "milestone": "节点",
        "time": "时间",
        "elapsed": "用时",
        "after_occurred": "发生后 {minutes} 分钟",
        "after_detected": "发现后 {minutes} 分钟",
        "verdict": (
            "1-5-10：{verdict}（目标：发现 {detect} 分钟、定位 {locate} 分钟、恢复 {recover} 分钟）"
        ),
        "verdict_met": "达标",
        "verdict_missed": "未达标，{stage}超时",
        "verdict_unknown": "时间不全，无法判断",
        "stage_detect": "发现",
        "stage_locate": "定位",
        "stage_recover": "恢复",
        "impact": "影响与资损",
        "impact_text": "影响",
        "failed_orders": "失败订单数",
        "failed_transactions": "失败交易数",
        "affected_users": "影响用户数",
        "impact_minutes": "业务影响时长",
        "minutes": "{value} 分钟",
        "amount_involved_cny": "涉及金额",
        "loss_cny": "资损",
        "recovered_cny": "追回",
        "net_loss_cny": "净资损",
        "regulatory_triggers": "监管报告事项",
        "no_impact": "未记录影响。",
        "alerts": "关联报警",
        "no_alerts": "无关联报警。",
        "timeline": "时间线",
        "text": "经过",
        "author": "记录人",
        "no_timeline": "时间线为空。",
        "analysis": "原因分析",
        "no_postmortem": "尚未撰写复盘。",
        "summary": "概述",
        "pm_impact": "量化影响",
        "trigger": "触发因素",
        "direct_cause": "直接原因",
        "root_cause": "根本原因",
        "root_cause_category": "根因分类",
        "five_whys": "5 个为什么",
        "detection_channel": "发现渠道",
        "recovery_method": "恢复方式",
        "related_change": "关联变更",
        "staged_rollout_should_have_caught": "灰度应能发现",
        "review_section": "回顾",
        "went_well": "做得好的",
        "went_wrong": "做得不好的",
        "got_lucky": "侥幸之处",
        "lessons_learned": "经验教训",
        "action_items": "改进项",
        "ai_title": "改进项",
        "ai_type": "类型",
        "ai_owner": "负责人",
        "ai_due": "截止日期",
        "ai_verifier": "验收人",
        "ai_status": "状态",
        "no_action_items": "暂无改进项。",
        "no_action_reason": "无需改进项的原因：{reason}",
        "reviews": "评审",
        "reviewer": "评审人",
        "review_verdict": "结论",
        "review_comment": "意见",
        "pending": "待评审",
        "yes": "是",
        "no": "否",
        "none": "—",
        "separator": "：",
        # Enum values
        "draft": "待复盘",
        "in_review": "复盘中",
        "published": "已复盘",
        "approve": "通过",
        "request_changes": "需修改",
        "milestone_occurred": "发生",
        "milestone_detected": "发现",
        "milestone_acknowledged": "响应",
        "milestone_located": "定位",
        "milestone_mitigation_started": "止损开始",
        "milestone_mitigated": "止损生效",
        "milestone_recovered": "业务恢复",
        "milestone_resolved": "根因修复",
        "category_change": "变更",
        "category_capacity": "容量",
        "category_dependency": "依赖/银行通道",
        "category_data": "数据",
        "category_config": "配置",
        "category_network_hardware": "网络/硬件",
        "category_security": "安全",
        "category_third_party": "第三方",
        "channel_monitoring": "监控告警",
        "channel_user_report": "用户反馈",
        "channel_inspection": "巡检",
        "channel_staff": "内部人员发现",
        "channel_external": "外部通知",
        "channel_other": "其他",
        "recovery_rollback": "回滚",
        "recovery_switchover": "切换",
        "recovery_scale_out": "扩容",
        "recovery_restart": "重启",
        "recovery_fix": "修复",
        "recovery_self_recovered": "自然恢复",
        "recovery_other": "其他",
        "ai_type_prevent": "预防",
        "ai_type_detect": "发现",
        "ai_type_mitigate": "止损",
        "ai_type_process": "流程",
        "ai_status_open": "未开始",
        "ai_status_in_progress": "进行中",
        "ai_status_done": "已完成",
        "ai_status_verified": "已验收",
        "ai_status_not_doing_requested": "申请不做",
        "ai_status_not_doing": "不做",
    },
    "en": {
        "title": "Postmortem: {title}",
        "subtitle": "Incident #{id}",
        "overview": "Overview",
        "grade": "Grade",
        "ungraded": "ungraded",
        "grade_reason": "Why this grade",
        "overridden": " (set by a person)",
        "system": "System",
        "incident_owner": "Incident owner",
        "pm_status": "Postmortem status",
        "pm_owner": "Postmortem owner",
        "responsible_team": "Responsible team",
        "reviewers": "Reviewers",
        "due_date": "Postmortem due",
        "published_at": "Published",
        "milestones": "Milestones and 1-5-10",
        "milestone": "Milestone",
        "time": "Time",
        "elapsed": "Elapsed",
        "after_occurred": "{minutes} min after it began",
        "after_detected": "{minutes} min after detection",
        "verdict": (
            "1-5-10: {verdict} (targets: detect {detect} min, locate {locate} min,"
            " recover {recover} min)"
        ),
        "verdict_met": "met",
        "verdict_missed": "missed, {stage} took too long",
        "verdict_unknown": "unknown, times missing",
        "stage_detect": "detection",
        "stage_locate": "location",
        "stage_recover": "recovery",
        "impact": "Impact and money",
        "impact_text": "Impact",
        "failed_orders": "Failed orders",
        "failed_transactions": "Failed transactions",
        "affected_users": "Affected users",
        "impact_minutes": "Business impact",
        "minutes": "{value} min",
        "amount_involved_cny": "Amount involved",
        "loss_cny": "Money lost",
        "recovered_cny": "Recovered",
        "net_loss_cny": "Net loss",
        "regulatory_triggers": "Regulatory triggers",
        "no_impact": "No impact recorded.",
        "alerts": "Linked alerts",
        "no_alerts": "No linked alerts.",
        "timeline": "Timeline",
        "text": "What happened",
        "author": "By",
        "no_timeline": "The timeline is empty.",
        "analysis": "Causes",
        "no_postmortem": "The postmortem is not written yet.",
        "summary": "Summary",
        "pm_impact": "Quantified impact",
        "trigger": "Trigger",
        "direct_cause": "Direct cause",
        "root_cause": "Root cause",
        "root_cause_category": "Root-cause category",
        "five_whys": "5 whys",
        "detection_channel": "Found through",
        "recovery_method": "Recovered by",
        "related_change": "Related change",
        "staged_rollout_should_have_caught": "A staged rollout should have caught it",
        "review_section": "Looking back",
        "went_well": "What went well",
        "went_wrong": "What went wrong",
        "got_lucky": "Where we got lucky",
        "lessons_learned": "Lessons learned",
        "action_items": "Action items",
        "ai_title": "Action item",
        "ai_type": "Type",
        "ai_owner": "Owner",
        "ai_due": "Due",
        "ai_verifier": "Verifier",
        "ai_status": "State",
        "no_action_items": "No action items yet.",
        "no_action_reason": "No action item needed: {reason}",
        "reviews": "Review",
        "reviewer": "Reviewer",
        "review_verdict": "Verdict",
        "review_comment": "Comment",
        "pending": "not reviewed yet",
        "yes": "yes",
        "no": "no",
        "none": "—",
        "separator": ": ",
        "draft": "draft",
        "in_review": "in review",
        "published": "published",
        "approve": "approved",
        "request_changes": "changes requested",
        "milestone_occurred": "Began",
        "milestone_detected": "Detected",
        "milestone_acknowledged": "Acknowledged",
        "milestone_located": "Located",
        "milestone_mitigation_started": "Mitigation started",
        "milestone_mitigated": "Mitigated",
        "milestone_recovered": "Business restored",
        "milestone_resolved": "Root cause fixed",
        "category_change": "change",
        "category_capacity": "capacity",
        "category_dependency": "dependency / bank channel",
        "category_data": "data",
        "category_config": "configuration",
        "category_network_hardware": "network / hardware",
        "category_security": "security",
        "category_third_party": "third party",
        "channel_monitoring": "monitoring",
        "channel_user_report": "user reports",
        "channel_inspection": "inspection",
        "channel_staff": "staff",
        "channel_external": "outside notice",
        "channel_other": "other",
        "recovery_rollback": "rollback",
        "recovery_switchover": "switchover",
        "recovery_scale_out": "scale-out",
        "recovery_restart": "restart",
        "recovery_fix": "fix",
        "recovery_self_recovered": "recovered by itself",
        "recovery_other": "other",
        "ai_type_prevent": "prevent",
        "ai_type_detect": "detect",
        "ai_type_mitigate": "mitigate",
        "ai_type_process": "process",
        "ai_status_open": "open",
        "ai_status_in_progress": "in progress",
        "ai_status_done": "done",
        "ai_status_verified": "verified",
        "ai_status_not_doing_requested": "not doing asked for",
        "ai_status_not_doing": "not doing",
    },
}
IMPACT_COUNTS = ("failed_orders", "failed_transactions", "affected_users")
MONEY_FIELDS = ("amount_involved_cny", "loss_cny", "recovered_cny")
# The 复盘's texts, under the heading they are shown in.
CAUSE_TEXTS = ("summary", "pm_impact", "trigger", "direct_cause", "root_cause")
LOOKING_BACK = ("went_well", "went_wrong", "got_lucky", "lessons_learned")


@dataclass
class PostmortemReport:
    lang: Lang
    incident: Incident
    postmortem: Postmortem | None
    timeline: list[TimelineEntry]
    alerts: list[Alert]
    action_items: list[ActionItem]
    reviews: list[PostmortemReview]
    calendar: Calendar
    targets: Targets


def build(
    session: Session, incident_id: int, *, calendar: Calendar, targets: Targets, lang: Lang
) -> PostmortemReport:
    """The document of one incident; without a 复盘 yet, the incident's part alone (a start)."""
    incident = get_incident(session, incident_id)
    postmortem = session.get(Postmortem, incident_id)
    alerts = session.exec(
        select(Alert)
        .where(Alert.incident_id == incident_id)
        .order_by(col(Alert.received_at), col(Alert.id))
    )
    return PostmortemReport(
        lang=lang,
        incident=incident,
        postmortem=postmortem,
        timeline=postmortems.timeline(session, incident_id),
        alerts=list(alerts),
        action_items=action_items.action_items(session, incident_id),
        reviews=postmortems.reviews(session, incident_id) if postmortem is not None else [],
        calendar=calendar,
        targets=targets,
    )


@dataclass(frozen=True)
class Block:
    """One piece of the document. `rows` hold (label, value) pairs for "facts" and a header
    row then data rows for "table"; "prose" is a titled text whose lines are kept."""

    kind: Literal["h1", "h2", "h3", "p", "prose", "facts", "table", "ol", "ul"]
    text: str = ""
    items: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()


def _as_is(text: str) -> str:
    return text


# CommonMark's punctuation that could turn a writer's text into markup (emphasis, links, raw
# HTML, code, table cells), escaped with a backslash; so is what starts a line as a heading, a
# quote, a list item or a heading's underline ("1." as "1\.": a backslash before a digit shows).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~])")
_LEADING_MARKER = re.compile(r"^(\s*)(\d+(?=[.)])|(?=[#>+=-]))(.)", re.MULTILINE)


def markdown_text(text: str) -> str:
    """A writer's text as Markdown that shows it as typed, never as markup."""
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    return _LEADING_MARKER.sub(lambda m: f"{m.group(1)}{m.group(2)}\\{m.group(3)}", escaped)


def _yuan(amount: Decimal) -> str:
    return f"¥{amount:,.2f}"


def _minutes(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _word(labels: dict[str, str], prefix: str, value: object) -> str:
    """The label of an enum value; one added since shows as its value."""
    if value is None:
        return labels["none"]
    key = str(getattr(value, "value", value))
    return labels.get(f"{prefix}{key}", key)


def _facts(pairs: list[tuple[str, str]]) -> Block:
    return Block("facts", rows=tuple(pairs))


def blocks(report: PostmortemReport, user_text: Callable[[str], str] = _as_is) -> list[Block]:
    """The document's pieces, in order; `user_text` treats every piece people typed."""
    labels = LABELS[report.lang]
    incident = report.incident
    result = [
        Block("h1", labels["title"].format(title=user_text(incident.title))),
        Block("p", labels["subtitle"].format(id=incident.id)),
        *_overview(report, labels, user_text),
        *_milestones(report, labels),
        *_impact(report, labels, user_text),
        *_alerts(report, labels, user_text),
        *_timeline(report, labels, user_text),
        *_analysis(report, labels, user_text),
        *_action_items(report, labels, user_text),
        *_reviews(report, labels, user_text),
    ]
    return result


def _local(report: PostmortemReport, moment: datetime) -> str:
    return f"{report.calendar.local(moment):%Y-%m-%d %H:%M}"


def _overview(
    report: PostmortemReport, labels: dict[str, str], user_text: Callable[[str], str]
) -> list[Block]:
    incident, postmortem = report.incident, report.postmortem
    grade = str(incident.grade) if incident.grade is not None else labels["ungraded"]
    worded = grade_reason_text(
        incident.grade, incident.grade_hits, incident.grade_reason, report.lang
    )
    reason = user_text(worded or labels["none"])
    if incident.grade_overridden:
        reason += labels["overridden"]
    facts = [(labels["grade"], grade), (labels["grade_reason"], reason)]
    if incident.system:
        facts.append((labels["system"], user_text(incident.system)))
    if incident.owner:
        facts.append((labels["incident_owner"], user_text(incident.owner)))
    if postmortem is not None:
        facts.append((labels["pm_status"], _word(labels, "", postmortem.status)))
        for name, label in (("owner", "pm_owner"), ("responsible_team", "responsible_team")):
            value = getattr(postmortem, name)
            facts.append((labels[label], user_text(value) if value else labels["none"]))
        reviewers = "、" if report.lang == "zh" else ", "
        facts.append(
            (labels["reviewers"], user_text(reviewers.join(postmortem.reviewers)) or labels["none"])
        )
        if postmortem.due_date is not None:
            facts.append((labels["due_date"], postmortem.due_date.isoformat()))
        if postmortem.published_at is not None:
            facts.append((labels["published_at"], _local(report, postmortem.published_at)))
    return [Block("h2", labels["overview"]), _facts(facts)]


def _milestones(report: PostmortemReport, labels: dict[str, str]) -> list[Block]:
    incident = report.incident
    minutes = stage_minutes(incident)
    ending = {stage.end: stage for stage in STAGES}
    rows: list[tuple[str, ...]] = [(labels["milestone"], labels["time"], labels["elapsed"])]
    for milestone in MILESTONES:
        moment = getattr(incident, milestone.field)
        if moment is None:
            continue
        stage = ending.get(milestone)
        elapsed = minutes[stage.name] if stage is not None else None
        shown = (
            labels[f"after_{stage.start}"].format(minutes=_minutes(elapsed))
            if stage is not None and elapsed is not None
            else ""
        )
        rows.append((labels[f"milestone_{milestone}"], _local(report, moment), shown))
    verdict = one_five_ten(incident, report.targets)
    if verdict == OneFiveTen.met:
        verdict_text = labels["verdict_met"]
    elif verdict == OneFiveTen.unknown:
        verdict_text = labels["verdict_unknown"]
    else:
        stage_name = verdict.removeprefix("missed:")
        verdict_text = labels["verdict_missed"].format(stage=labels[f"stage_{stage_name}"])
    targets = report.targets
    line = labels["verdict"].format(
        verdict=verdict_text,
        detect=targets.detect_minutes,
        locate=targets.locate_minutes,
        recover=targets.recover_minutes,
    )
    return [Block("h2", labels["milestones"]), Block("table", rows=tuple(rows)), Block("p", line)]


def _impact(
    report: PostmortemReport, labels: dict[str, str], user_text: Callable[[str], str]
) -> list[Block]:
    incident = report.incident
    facts = []
    for name in IMPACT_COUNTS:
        value = getattr(incident, name)
        if value is not None:
            facts.append((labels[name], f"{value:,}"))
    if incident.impact_minutes is not None:
        shown = labels["minutes"].format(value=incident.impact_minutes)
        facts.append((labels["impact_minutes"], shown))
    for name in MONEY_FIELDS:
        amount = getattr(incident, name)
        if amount is not None:
            facts.append((labels[name], _yuan(amount)))
    net = net_loss(incident.loss_cny, incident.recovered_cny)
    if net is not None:
        facts.append((labels["net_loss_cny"], _yuan(net)))
    if incident.regulatory_triggers:
        shown = ", ".join(user_text(name) for name in incident.regulatory_triggers)
        facts.append((labels["regulatory_triggers"], shown))
    result = [Block("h2", labels["impact"])]
    if incident.impact:
        result.append(Block("prose", labels["impact_text"], items=(user_text(incident.impact),)))
    if facts:
        result.append(_facts(facts))
    if not incident.impact and not facts:
        result.append(Block("p", labels["no_impact"]))
    return result


def _alerts(
    report: PostmortemReport, labels: dict[str, str], user_text: Callable[[str], str]
) -> list[Block]:
    if not report.alerts:
        return [Block("h2", labels["alerts"]), Block("p", labels["no_alerts"])]
    items = []
    for alert in report.alerts:
        severity = f" [{user_text(alert.severity)}]" if alert.severity else ""
        items.append(f"{_local(report, alert.received_at)}{severity} {user_text(alert.title)}")
    return [Block("h2", labels["alerts"]), Block("ul", items=tuple(items))]


def _timeline(
    report: PostmortemReport, labels: dict[str, str], user_text: Callable[[str], str]
) -> list[Block]:
    if not report.timeline:
        return [Block("h2", labels["timeline"]), Block("p", labels["no_timeline"])]
    rows: list[tuple[str, ...]] = [
        (labels["time"], labels["milestone"], labels["text"], labels["author"])
    ]
    for entry in report.timeline:
        milestone = labels[f"milestone_{entry.milestone}"] if entry.milestone else ""
        rows.append(
            (
                _local(report, entry.at),
                milestone,
                user_text(entry.text),
                user_text(entry.author),
            )
        )
    return [Block("h2", labels["timeline"]), Block("table", rows=tuple(rows))]


def _analysis(
    report: PostmortemReport, labels: dict[str, str], user_text: Callable[[str], str]
) -> list[Block]:
    postmortem = report.postmortem
    if postmortem is None:
        return [Block("h2", labels["analysis"]), Block("p", labels["no_postmortem"])]
    result = [Block("h2", labels["analysis"])]
    for label in CAUSE_TEXTS:
        value = getattr(postmortem, "impact" if label == "pm_impact" else label)
        if value:
            result.append(Block("prose", labels[label], items=(user_text(value),)))
    whys = [user_text(why) for why in postmortem.five_whys if why.strip()]
    if whys:
        result += [Block("h3", labels["five_whys"]), Block("ol", items=tuple(whys))]
    rollout = postmortem.staged_rollout_should_have_caught
    facts = [
        (
            labels["root_cause_category"],
            _word(labels, "category_", postmortem.root_cause_category),
        ),
        (labels["detection_channel"], _word(labels, "channel_", postmortem.detection_channel)),
        (labels["recovery_method"], _word(labels, "recovery_", postmortem.recovery_method)),
        (
            labels["related_change"],
            user_text(postmortem.related_change) if postmortem.related_change else labels["none"],
        ),
        (
            labels["staged_rollout_should_have_caught"],
            labels["none"] if rollout is None else labels["yes" if rollout else "no"],
        ),
    ]
    result.append(_facts(facts))
    looking_back = [
        Block("prose", labels[name], items=(user_text(getattr(postmortem, name)),))
        for name in LOOKING_BACK
        if getattr(postmortem, name)
    ]
    if looking_back:
        result += [Block("h2", labels["review_section"]), *looking_back]
    return result


def _action_items(
    report: PostmortemReport, labels: dict[str, str], user_text: Callable[[str], str]
) -> list[Block]:
    result = [Block("h2", labels["action_items"])]
    if report.action_items:
        rows: list[tuple[str, ...]] = [
            (
                labels["ai_title"],
                labels["ai_type"],
                labels["ai_owner"],
                labels["ai_due"],
                labels["ai_verifier"],
                labels["ai_status"],
            )
        ]
        for item in report.action_items:
            status = _word(labels, "ai_status_", item.status)
            if item.not_doing_reason:
                reason = user_text(item.not_doing_reason)
                status += f"（{reason}）" if report.lang == "zh" else f" ({reason})"
            rows.append(
                (
                    user_text(item.title),
                    _word(labels, "ai_type_", item.type),
                    user_text(item.owner),
                    item.due_date.isoformat(),
                    user_text(item.verifier) if item.verifier else labels["none"],
                    status,
                )
            )
        result.append(Block("table", rows=tuple(rows)))
    postmortem = report.postmortem
    if postmortem is not None and postmortem.no_action_reason:
        reason = user_text(postmortem.no_action_reason)
        result.append(Block("p", labels["no_action_reason"].format(reason=reason)))
    elif not report.action_items:
        result.append(Block("p", labels["no_action_items"]))
    return result


def _reviews(
    report: PostmortemReport, labels: dict[str, str], user_text: Callable[[str], str]
) -> list[Block]:
    postmortem = report.postmortem
    if postmortem is None or not (postmortem.reviewers or report.reviews):
        return []
    rows: list[tuple[str, ...]] = [
        (labels["reviewer"], labels["review_verdict"], labels["review_comment"], labels["time"])
    ]
    for review in report.reviews:
        rows.append(
            (
                user_text(review.reviewer),
                _word(labels, "", review.verdict),
                user_text(review.comment) if review.comment else "",
                _local(report, review.at),
            )
        )
    reviewed = {review.reviewer for review in report.reviews}
    for name in postmortem.reviewers:
        if name not in reviewed:
            rows.append((user_text(name), labels["pending"], "", ""))
    return [Block("h2", labels["reviews"]), Block("table", rows=tuple(rows))]


def _cell(text: str) -> str:
    """A table cell's text on one line: its line breaks become <br>."""
    return "<br>".join(line.strip() for line in text.splitlines())


def to_markdown(report: PostmortemReport) -> str:
    separator = LABELS[report.lang]["separator"]
    lines: list[str] = []
    for block in blocks(report, markdown_text):
        if block.kind in ("h1", "h2", "h3"):
            lines += ["#" * int(block.kind[1]) + " " + block.text, ""]
        elif block.kind == "p":
            lines += [block.text, ""]
        elif block.kind == "prose":
            # Two trailing spaces keep each of the writer's line breaks in the rendering.
            body = "  \n".join(block.items[0].splitlines())
            lines += [f"**{block.text}**", "", body, ""]
        elif block.kind == "facts":
            lines += [f"- **{label}**{separator}{value}" for label, value in block.rows] + [""]
        elif block.kind == "table":
            header, *rows = block.rows
            lines.append("| " + " | ".join(header) + " |")
            lines.append("|" + "---|" * len(header))
            lines += ["| " + " | ".join(_cell(cell) for cell in row) + " |" for row in rows]
            lines.append("")
        elif block.kind == "ol":
            lines += [f"{number}. {item}" for number, item in enumerate(block.items, 1)] + [""]
        else:
            lines += [f"- {item}" for item in block.items] + [""]
    return "\n".join(lines).rstrip("\n") + "\n"


def to_html_fragment(report: PostmortemReport) -> Markup:
    """The document as an <article>, every piece of user text escaped; the site's printable
    page places it inside its own layout."""
    html = DOCUMENT_TEMPLATES.get_template("postmortem_report_blocks.html").render(
        blocks=blocks(report), lang=report.lang
    )
    # Safe as it is: the template above escaped every piece of text it was given.
    return Markup(html)


def to_html(report: PostmortemReport) -> str:
    """A standalone, print-friendly page of the document."""
    return DOCUMENT_TEMPLATES.get_template("postmortem_report.html").render(
        lang=report.lang, title=blocks(report)[0].text, article=to_html_fragment(report)
    )
