"""A night on call and the lead's week review, in Debian's chromium against a real server; the
filing form showing the incidents like the one being typed.

The server is uvicorn on 127.0.0.1 with a free port, over the test database of each backend.
Screenshots of every page land in test-output/screenshots/. Without /usr/bin/chromium the tests
are skipped on a developer's machine; under CI=true a missing browser fails them.
"""

from datetime import timedelta

from incidents import action_items
from incidents.actors import Actor
from incidents.alerts.models import SourceCreate, SourceKind
from incidents.alerts.sources import create_source, webhook_path
from incidents.calendar import DEFAULT_CALENDAR
from incidents.grading import load_policy
from incidents.models import ActionItemCreate, IncidentCreate, Postmortem, Role
from incidents.service import create_incident
from incidents.settings import Settings
from incidents.tokens import create_token
from tests.builders import seed_pos_incident
from tests.web.browser import (
    BIG_SCREEN,
    PHONE,
    SCREENSHOTS,
    Shots,
    deliver_alerts,
    open_page,
    sign_in_by_cookie,
)
from tests.web.conftest import am_delivery
from tests.web.test_postmortem_pages import marked_incident


def test_on_call_files_acks_promotes_and_the_lead_reads_the_week(
    browser, live_server, session, database_url
) -> None:
    shots = Shots("sqlite" if database_url.startswith("sqlite") else "postgresql")
    _, token = create_token(session, "值班-小王", Role.oncall)
    session.commit()
    source = create_source(session, SourceCreate(kind=SourceKind.alertmanager, name="prod-am"))
    session.commit()
    deliver_alerts(
        live_server,
        webhook_path(source),
        am_delivery("pay-errors", title="履约 合作机构接口调用失败"),
    )

    problems: list[str] = []
    page = open_page(browser, problems, viewport=PHONE, is_mobile=True, has_touch=True)

    # Sign in: any page sends us to the form, and back after it.
    page.goto(f"{live_server}/alerts")
    assert "/login?next=/alerts" in page.url
    shots.take(page, "sign-in")
    page.fill("input[name=token]", token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/alerts")

    # The alert inbox: the follow-up clock runs; ack, then promote, one click each.
    card = page.locator(".alert", has_text="履约 合作机构接口调用失败")
    clock = card.locator("[data-deadline]")
    assert "距 5 分钟跟进时限还剩" in clock.inner_text()
    shots.take(page, "alerts")
    card.locator("button[name=ack]").click()
    page.wait_for_selector(".alert .tag:has-text('已确认 · 值班-小王')")
    assert "已跟进，用时" in page.locator(".alert .clock").inner_text()
    shots.take(page, "alert-acked")
    page.locator(".alert button[name=promote]").click()
    page.wait_for_url(f"{live_server}/incidents/*")
    assert page.locator("h1").inner_text().endswith("履约 合作机构接口调用失败")
    shots.take(page, "promoted-incident")

    # Filing the seed's incident with the shorthand time; the grade shows while typing.
    page.click("nav >> text=登记事件")
    page.wait_for_url(f"{live_server}/incidents/new")
    page.fill("input[name=title]", "履约POS付款单失败")
    page.fill("input[name=system]", "中信存管")
    page.fill("input[name=detected_at]", "9/7 14:42")
    page.type("input[name=failed_orders]", "545", delay=30)
    page.wait_for_selector("#grade-preview[data-grade='C']")
    assert "失败笔数 545 ≥ 100 → C" in page.locator("#grade-preview").inner_text()
    page.fill("textarea[name=remediation]", "紧急上线后问题解决")
    shots.take(page, "filing-form")
    page.click("button.big[type=submit]")
    page.wait_for_url(f"{live_server}/incidents/*")
    assert page.locator("h1 .grade").inner_text() == "C"
    assert "紧急上线后问题解决" in page.locator("#remediation").inner_text()
    shots.take(page, "filed-incident")
    week_url = live_server + page.locator("#week-link").get_attribute("href")
    page.context.close()

    # The lead reviews the week on a big screen and copies the section for the 周报.
    page = open_page(browser, problems, viewport=BIG_SCREEN)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    sign_in_by_cookie(page, live_server, token)
    page.goto(week_url)
    section = page.locator("#section .report").inner_text()
    assert "事故数AB级0次，CD级1次" in section
    assert page.locator("#chart-grades rect.grade-C").count() == 1
    assert page.locator("#chart-rates").is_visible()
    page.click("button[data-copy-target=markdown]")
    page.wait_for_selector("button[data-copy-target=markdown]:has-text('已复制')")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert "- 事故数AB级0次，CD级1次" in copied
    shots.take(page, "week")
    page.click("text=English")
    assert "Incidents: 0 of grade A/B, 1 of grade C/D" in page.locator("#section").inner_text()
    shots.take(page, "week-en")
    page.context.close()
    assert problems == []


def test_filing_shows_the_incidents_like_the_one_being_typed(
    browser, live_server, session, database_url
) -> None:
    _, token = create_token(session, "值班-小李", Role.oncall)
    earlier = create_incident(
        session,
        IncidentCreate.model_validate(
            seed_pos_incident(
                title="银联代付接口超时",
                system="出金",
                detected_at="2023-09-01 10:00",
                remediation="切换备用通道",
                report_week=None,
            )
        ),
        actor=Actor("值班-小李", Role.oncall),
        policy=load_policy(None),
        calendar=DEFAULT_CALENDAR,
    )
    session.add(Postmortem(incident_id=earlier.id, root_cause="银行侧系统升级未提前通知"))
    session.commit()

    problems: list[str] = []
    page = open_page(browser, problems, viewport=PHONE, is_mobile=True, has_touch=True)
    sign_in_by_cookie(page, live_server, token)
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/incidents/similar" in r.url else None)
    page.goto(f"{live_server}/incidents/new")
    assert page.locator("#similar").is_hidden()

    # Typed as on call types it: the panel asks once the typing pauses, not per keystroke.
    page.type("input[name=title]", "银联代付通道超时", delay=40)
    item = page.locator("#similar li", has_text="银联代付接口超时")
    item.wait_for()
    assert len(asked) <= 2, asked
    shown = item.inner_text()
    assert "2023-09-01 · 出金" in shown
    assert "银行侧系统升级未提前通知" in shown
    assert "切换备用通道" in shown
    assert item.locator(".grade").inner_text() == "C"
    page.fill("input[name=system]", "出金")
    page.wait_for_selector("#similar li:has-text('同系统')")
    Shots("sqlite" if database_url.startswith("sqlite") else "postgresql").take(page, "similar")
    item.locator("a").click()
    page.wait_for_url(f"{live_server}/incidents/{earlier.id}")
    page.context.close()
    assert problems == []


def test_the_owner_marks_an_item_done_the_verifier_sends_it_back_then_verifies(
    browser, live_server, session, database_url
) -> None:
    _, owner = create_token(session, "王五", Role.oncall)
    _, verifier = create_token(session, "李四", Role.oncall)
    on_call = Actor("值班-小王", Role.oncall)
    incident = create_incident(
        session,
        IncidentCreate.model_validate(seed_pos_incident()),
        actor=on_call,
        policy=load_policy(None),
        calendar=DEFAULT_CALENDAR,
    )
    tracker = "https://jira.example.com/browse/PAY-1234"
    item = action_items.add_action_item(
        session,
        incident.id,
        ActionItemCreate(
            title="到账通知字段变更监控",
            owner="王五",
            verifier="李四",
            due_date=DEFAULT_CALENDAR.today() + timedelta(days=5),
            acceptance_criteria="夜间时段也告警",
            tracker=tracker,
        ),
        actor=on_call,
        calendar=DEFAULT_CALENDAR,
    )
    session.commit()

    problems: list[str] = []
    page = open_page(browser, problems, viewport=BIG_SCREEN)
    row = page.locator(f"#action-item-{item.id}")

    def signed_in_as(token: str, status: str) -> None:
        page.context.clear_cookies()
        sign_in_by_cookie(page, live_server, token)
        page.goto(f"{live_server}/incidents/{incident.id}")
        assert row.get_attribute("data-status") == status

    def click(step: str, status: str) -> None:
        row.locator(f"button[data-step={step}]").click()
        page.wait_for_selector(f"#action-item-{item.id}[data-status={status}]")

    # The owner sees the criteria, the tracker and only the owner's buttons.
    signed_in_as(owner, "open")
    assert "夜间时段也告警" in row.inner_text()
    assert row.locator("td.tracker a").get_attribute("href") == tracker
    assert row.locator("button[data-step=verify]").count() == 0
    click("done", "done")
    assert "待 李四 验收" in row.inner_text()
    assert row.locator("button").count() == 0

    # The verifier sends it back: not without saying why (the field is required).
    signed_in_as(verifier, "done")
    row.locator("button[data-step=reject]").click()
    assert row.get_attribute("data-status") == "done"
    row.locator("input[name=comment]").fill("夜间时段未覆盖")
    click("reject", "in_progress")
    assert "李四：夜间时段未覆盖" in row.inner_text()

    signed_in_as(owner, "in_progress")
    click("done", "done")
    signed_in_as(verifier, "done")
    click("verify", "verified")
    assert "李四 于" in row.inner_text()
    assert row.locator("button").count() == 0
    Shots("sqlite" if database_url.startswith("sqlite") else "postgresql").take(
        page, "action-item-verified"
    )
    page.context.close()
    assert problems == []


def test_a_postmortem_reviewed_published_and_printed(
    browser, live_server, session, database_url
) -> None:
    """The 复盘 submitted, sent back, approved, refused with what is missing beside the button,
    published over a missing approval by an admin, and printed."""
    shots = Shots(("sqlite" if database_url.startswith("sqlite") else "postgresql") + "-pm")
    incident = marked_incident(session)
    tokens = {}
    for name, role in (("值班-小王", Role.oncall), ("张三", Role.oncall), ("李四", Role.admin)):
        tokens[name] = create_token(session, name, role)[1]
    session.commit()
    url = f"{live_server}/incidents/{incident.id}"

    problems: list[str] = []
    page = open_page(browser, problems, viewport={"width": 1280, "height": 900})

    def act_as(name: str) -> None:
        sign_in_by_cookie(page, live_server, tokens[name])
        page.goto(url)  # never with the #postmortem the forms return to: that would not reload

    # On call writes the 复盘 and sends it to its two reviewers.
    act_as("值班-小王")
    form = page.locator("details.pm-form form")
    form.locator("input[name=owner]").fill("王五")
    form.locator("input[name=responsible_team]").fill("支付中台")
    form.locator("textarea[name=root_cause]").fill("银行到账通知报文变更未同步")
    form.locator("select[name=root_cause_category]").select_option("dependency")
    form.locator("select[name=recovery_method]").select_option("fix")
    form.locator("textarea[name=no_action_reason]").fill("银行侧已修复报文")
    form.locator("input[name=reviewers]").fill("张三，李四")
    form.locator("button[type=submit]").click()
    page.wait_for_selector("#pm-owner:has-text('王五')")
    page.click("#pm-submit")
    page.wait_for_selector("#pm-status:has-text('复盘中')")
    shots.take(page, "submitted")

    # 张三 sends it back with a comment; then, resubmitted, approves.
    act_as("张三")
    page.fill("#pm-review textarea[name=comment]", "请补充为何灰度没有发现")
    page.click("#pm-review button[value=request_changes]")
    page.wait_for_selector("#pm-status:has-text('待复盘')")
    assert "请补充为何灰度没有发现" in page.locator("[data-reviewer='张三']").inner_text()
    act_as("值班-小王")
    page.click("#pm-submit")
    page.wait_for_selector("#pm-status:has-text('复盘中')")
    act_as("张三")
    page.click("#pm-review button[value=approve]")
    page.wait_for_selector("[data-reviewer='张三'][data-verdict='approve']")

    # Publishing waits for 李四, and says so beside the button.
    act_as("值班-小王")
    page.click("#pm-publish")
    page.wait_for_selector("#pm-missing")
    assert page.locator("#pm-missing li[data-field=reviewers]").inner_text() == (
        "评审人 李四 尚未评审"
    )
    shots.take(page, "publish-refused")

    # 李四, an admin, publishes over the missing approval, giving a reason.
    act_as("李四")
    page.fill("#pm-actions input[name=reason]", "李四休假，负责人已线下确认")
    page.click("#pm-publish")
    page.wait_for_selector("#pm-status:has-text('已复盘')")
    shots.take(page, "published")

    # The printable report: the site's header is not printed.
    page.click("#pm-report-link")
    page.wait_for_url(f"{url}/postmortem/report")
    assert page.locator("article.postmortem-report h1").inner_text().startswith("复盘报告：")
    assert "已复盘" in page.locator("article.postmortem-report").inner_text()
    page.emulate_media(media="print")
    assert not page.locator("header.top").is_visible()
    shots.take(page, "report-print")
    page.context.close()
    # The refused publish answers its page with 422, which chromium logs; nothing else may show.
    refused = "Failed to load resource: the server responded with a status of 422"
    assert [problem for problem in problems if not problem.startswith(refused)] == []


def test_the_lead_picks_a_quarter_and_reads_its_charts(
    browser, live_server, session, database_url
) -> None:
    from incidents.demo import load_demo

    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    settings = Settings(database_url=database_url)
    load_demo(session, settings=settings, policy=load_policy(None), weeks=12)
    _, token = create_token(session, "组长-老李", Role.viewer)
    session.commit()
    problems: list[str] = []
    page = open_page(browser, problems, viewport=BIG_SCREEN)
    sign_in_by_cookie(page, live_server, token)

    page.goto(f"{live_server}/weeks")
    page.click("nav >> text=周期报告")
    page.wait_for_url(f"{live_server}/reports")
    page.fill("input[name=period]", "2023-Q3")
    page.click(".period-picker button[type=submit]")
    page.wait_for_url(f"{live_server}/reports?period=2023-Q3")
    assert page.locator("h1", has_text="稳定性报告 2023-Q3").count() == 1
    for chart in ("grades", "availability", "mttr", "follow-up", "rules"):
        svg = page.locator(f"svg#chart-period-{chart}")
        assert svg.is_visible()
        assert svg.bounding_box()["height"] > 50
        table = page.locator(f"#chart-period-{chart}-figure table.chart-numbers tbody tr")
        assert table.count() > 0
    # black and white: grade B and C are patterns, every bar has an outline
    assert page.locator("svg#chart-period-grades rect[fill='url(#p-B)']").count() > 0
    shot = SCREENSHOTS / f"{backend}-period-report-2023-Q3.png"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot: {shot}")

    # a bad range is refused beside the field
    page.fill("input[name=period]", "2023-09-30..2023-07-01")
    page.click(".period-picker button[type=submit]")
    page.wait_for_selector("#period-error")
    assert "早于" in page.locator("#period-error").inner_text()
    # the refusal is a 422 page, which the console reports; nothing else may appear there
    assert [p for p in problems if "status of 422" not in p] == []
    page.context.close()
