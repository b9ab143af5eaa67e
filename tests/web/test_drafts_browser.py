"""Nothing typed is lost, in Chromium: a draft of every form is kept in the browser until the
server confirms the post; it comes back after a reload, a closed tab and a revoked token; a paste
over the body limit stays on the page with a message; a double submit files once."""

import re

from sqlmodel import Session, func, select

from incidents.models import Incident, Role
from incidents.tokens import create_token, list_tokens, revoke_token
from tests.web.browser import PHONE, Shots, open_page, watch_console

DESCRIPTION = "14:42 起支付网关超时，失败订单 1,200 笔。\n回滚后恢复。"


def shots_for(database_url: str) -> Shots:
    return Shots("sqlite" if database_url.startswith("sqlite") else "postgresql")


def signed_in_page(browser, live_server: str, token: str, problems: list[str], **context):
    page = open_page(browser, problems, **context)
    page.goto(f"{live_server}/login")
    page.fill("input[name=token]", token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/incidents")
    return page


def filed(session: Session) -> int:
    session.expire_all()
    return session.exec(select(func.count()).select_from(Incident)).one()


def test_a_draft_survives_a_reload_a_closed_tab_and_a_revoked_token(
    browser, live_server, session, database_url
) -> None:
    shots = shots_for(database_url)
    _, token = create_token(session, "值班-小王", Role.oncall)
    session.commit()
    problems: list[str] = []
    page = signed_in_page(browser, live_server, token, problems, viewport=PHONE)
    page.goto(f"{live_server}/incidents/new")
    page.fill("input[name=title]", "支付网关超时")
    page.fill("input[name=system]", "支付网关")
    page.fill("input[name=detected_at]", "2023-09-07 14:42")
    page.click("details.more-fields > summary")  # on a phone the description is folded
    page.fill("textarea[name=description]", DESCRIPTION)
    page.wait_for_timeout(600)  # the draft is written once typing pauses

    page.reload()
    assert page.input_value("input[name=title]") == "支付网关超时"
    assert page.input_value("textarea[name=description]") == DESCRIPTION
    assert "已恢复此表单未提交的草稿" in page.locator(".draft-notice").inner_text()

    context = page.context
    page.close()  # the tab is closed; the draft is in the browser's storage
    page = context.new_page()
    watch_console(page, problems)
    page.goto(f"{live_server}/incidents/new")
    assert page.input_value("input[name=system]") == "支付网关"

    # The token is revoked while the form is open: sending it leads to the sign-in form, which
    # says the text is kept, and signing in again brings the form back filled.
    revoke_token(session, next(t.id for t in list_tokens(session) if t.name == "值班-小王"))
    _, second = create_token(session, "值班-小王-新", Role.oncall)
    session.commit()
    page.click("#filing button[type=submit]")
    page.wait_for_url(f"{live_server}/login?next=/incidents/new")
    assert "你填写的内容已保存在本浏览器" in page.locator(".draft-notice").inner_text()
    shots.take(page, "draft-kept-at-sign-in")
    page.fill("input[name=token]", second)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/incidents/new")
    assert page.input_value("input[name=title]") == "支付网关超时"
    assert page.input_value("textarea[name=description]") == DESCRIPTION
    assert page.locator(".draft-notice").is_visible()
    shots.take(page, "draft-restored-after-sign-in")
    assert filed(session) == 0

    # Filing clears the draft: the next form is empty and says nothing.
    page.click("#filing button[type=submit]")
    page.wait_for_url(re.compile(r"/incidents/\d+$"))
    assert filed(session) == 1
    page.goto(f"{live_server}/incidents/new")
    assert page.input_value("input[name=title]") == ""
    assert page.locator(".draft-notice").count() == 0
    assert (
        page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('stabilog:draft:'))")
        == []
    )
    assert problems == []


def test_a_paste_over_the_body_limit_stays_on_the_page_with_a_message(
    browser, live_server, session
) -> None:
    _, token = create_token(session, "值班-小李", Role.oncall)
    session.commit()
    problems: list[str] = []
    page = signed_in_page(browser, live_server, token, problems)
    page.goto(f"{live_server}/incidents/new")
    page.fill("input[name=title]", "日志贴错了")
    page.fill("input[name=detected_at]", "2023-09-07 14:42")
    # A 10 MB paste of a log, as the clipboard would deliver it.
    page.locator("textarea[name=description]").evaluate(
        """area => {
            area.value = "ERROR gateway timeout\\n".repeat(10 * 1024 * 1024 / 22);
            const pasted = { bubbles: true, inputType: "insertFromPaste" };
            area.dispatchEvent(new InputEvent("input", pasted));
        }"""
    )
    counter = page.locator("textarea[name=description] + small.counter").inner_text()
    assert "整张表单上限 5 MiB" in counter
    posts: list[str] = []
    page.on(
        "request", lambda request: posts.append(request.url) if request.method == "POST" else None
    )
    page.click("#filing button[type=submit]")
    message = page.locator(".too-large")
    assert "超过 5 MiB 的上限，没有提交" in message.inner_text()
    assert page.url == f"{live_server}/incidents/new"
    assert posts == []
    assert page.locator("textarea[name=description]").evaluate("a => a.value.length") > 10_000_000
    assert page.input_value("input[name=title]") == "日志贴错了"
    # No screenshot: drawing 10 MB of text into one takes Chromium longer than any timeout.
    assert filed(session) == 0
    # Too big for the browser's storage too: the page says so instead of pretending.
    assert page.locator(".draft-warning").count() == 1
    assert problems == []


def test_a_double_click_on_file_files_once(browser, live_server, session, database_url) -> None:
    _, token = create_token(session, "值班-小赵", Role.oncall)
    session.commit()
    problems: list[str] = []
    page = signed_in_page(browser, live_server, token, problems)
    page.goto(f"{live_server}/incidents/new")
    page.fill("input[name=title]", "银商专线中断")
    page.fill("input[name=detected_at]", "2023-09-07 14:42")
    page.fill("input[name=failed_orders]", "300")
    posts: list[str] = []
    page.on(
        "request", lambda request: posts.append(request.url) if request.method == "POST" else None
    )
    # Two posts of the very same form, as a double click or a retry sends them.
    statuses = page.evaluate(
        """async () => {
            const form = document.getElementById("filing");
            const send = () => fetch(form.action, {
                method: "POST", body: new URLSearchParams(new FormData(form)), redirect: "manual",
            });
            const answers = await Promise.all([send(), send()]);
            return answers.map(answer => answer.type);
        }"""
    )
    assert statuses == ["opaqueredirect", "opaqueredirect"]  # both led to a result
    page.dblclick("#filing button[type=submit]")
    page.wait_for_url(re.compile(r"/incidents/\d+$"))
    assert len(posts) >= 3  # the two above, and the click's (or clicks')
    assert filed(session) == 1
    assert page.locator("h1").inner_text().endswith("银商专线中断")
    assert problems == []
