"""A Chinese page in Debian's chromium with bad input on purpose, on a desktop and at phone width:
every message shown is Chinese, names the fields as the form labels them, and the live grade
preview words its reasons in Chinese."""

import re

import pytest

from incidents.models import Role
from incidents.tokens import create_token
from tests.web.browser import BIG_SCREEN, PHONE, Shots, open_page
from tests.web.test_chinese_messages import ENGLISH, EXAMPLES


def assert_chinese(text: str) -> None:
    assert not ENGLISH.search(text), text
    assert not set(re.findall(r"[A-Za-z]{2,}", text)) - EXAMPLES, text
    assert re.search(r"[\u4e00-\u9fff]", text), text


def assert_server_messages_chinese(page) -> None:
    """The refusals the server wrote into the page: the summary and one beside each field."""
    shown = page.locator("[id$='-error'], p.error[role=alert]").all_inner_texts()
    messages = [text for text in shown if text.strip()]  # placeholders the scripts fill are empty
    assert len(messages) >= 2
    for message in messages:
        assert_chinese(message)


def reveal(page, name: str) -> None:
    """Unfold the part of the form holding field `name`, as a person taps its summary."""
    folded = page.locator(f"details:not([open]):has(input[name={name}])")
    if folded.count():
        folded.last.locator("> summary").click()


@pytest.mark.parametrize("viewport", [PHONE, BIG_SCREEN], ids=["phone", "desktop"])
def test_a_chinese_page_shows_only_chinese_messages_for_bad_input(
    browser, live_server, session, database_url, viewport
) -> None:
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    shots = Shots(f"{backend}-chinese-{viewport['width']}")
    _, token = create_token(session, "值班-小周", Role.oncall)
    session.commit()
    problems: list[str] = []
    page = open_page(browser, problems, viewport=viewport, is_mobile=viewport is PHONE)
    page.goto(f"{live_server}/incidents/new")
    page.fill("input[name=token]", token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/incidents/new")

    # While typing, the grade preview explains itself in Chinese.
    page.fill("input[name=title]", "支付网关超时")
    page.fill("input[name=failed_orders]", "1200")
    reasons = page.locator("#grade-preview [data-role=reasons] li")
    reasons.first.wait_for()
    assert reasons.all_inner_texts() == ["失败笔数 1,200 ≥ 1,000 → B"]
    shots.take(page, "preview")

    # A time nobody can read: refused beside its field, in Chinese, naming it by its label.
    page.fill("input[name=detected_at]", "2023-09-07 14:42")
    reveal(page, "resolved_at")
    page.fill("input[name=resolved_at]", "9/77 14:42")
    page.click("#filing button[type=submit]")
    page.locator("#resolved_at-error").wait_for()
    assert page.locator("#resolved_at-error").inner_text().startswith("根因修复时间无法识别")
    assert_server_messages_chinese(page)
    shots.take(page, "unreadable-time")

    # Then a detection before the occurrence: the rule names both fields by their labels.
    reveal(page, "resolved_at")
    page.fill("input[name=resolved_at]", "")
    reveal(page, "occurred_at")
    page.fill("input[name=occurred_at]", "2023-09-07 15:00")
    page.click("#filing button[type=submit]")
    page.locator("#detected_at-error").wait_for()
    assert page.locator("#detected_at-error").inner_text() == "发现时间不能早于发生时间"
    assert_server_messages_chinese(page)
    assert page.input_value("input[name=title]") == "支付网关超时"  # what was typed is kept
    no_sideways_scroll = page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
    assert no_sideways_scroll
    shots.take(page, "times-out-of-order")

    # An error page says what is missing in Chinese too.
    response = page.goto(f"{live_server}/incidents/999999")
    assert response is not None
    assert response.status == 404
    assert page.locator("main .notice").inner_text() == "事件 999999 不存在"
    shots.take(page, "not-found")
    page.context.close()
    # Refusals answer 422 and the unknown incident 404 on purpose; anything else is a fault.
    refusals = re.compile(r"Failed to load resource: .* status of (422|404)")
    assert [problem for problem in problems if not refusals.search(problem)] == []
