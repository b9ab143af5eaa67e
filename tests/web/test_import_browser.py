"""Importing reports from the pages: upload, preview with each value's source text, import, then
review the events whose grade the report's own counts contradict — in Chromium, at phone width
too — and the same forms through the test client."""

from pathlib import Path

from sqlmodel import func, select

from incidents.models import AuditEntry, Incident, Role
from incidents.tokens import create_token
from tests.web.browser import BIG_SCREEN, PHONE, Shots, open_page, sign_in_by_cookie

REPORTS = Path(__file__).parents[1] / "incidents" / "reports"
DISAGREEING = REPORTS / "w40_counts_disagree.md"
GBK = REPORTS / "w39_gbk.txt"


def incidents_stored(session) -> int:
    session.expire_all()
    return session.exec(select(func.count()).select_from(Incident)).one()


def test_upload_previews_then_imports_a_gbk_file(client, sign_in, session) -> None:
    csrf = sign_in(Role.oncall)
    assert "导入周报" in client.get("/import").text

    preview = client.post(
        "/import",
        data={"csrf": csrf, "action": "preview"},
        files={"report": ("w39.txt", GBK.read_bytes(), "text/plain")},
    )

    assert preview.status_code == 200, preview.text
    assert incidents_stored(session) == 0
    assert "预览（未保存）" in preview.text
    assert '<q class="evidence">失败订单356笔</q>' in preview.text
    assert 'name="text" value="第39周 2023/09/23' in preview.text

    text = GBK.read_bytes().decode("gbk")
    imported = client.post("/import", data={"csrf": csrf, "action": "import", "text": text})

    assert imported.status_code == 200, imported.text
    assert "新建 2 个事件，已导入过 0 个" in imported.text
    assert incidents_stored(session) == 2


def test_refused_uploads_say_why_and_store_nothing(client, sign_in, session) -> None:
    csrf = sign_in(Role.oncall)

    binary = client.post(
        "/import",
        data={"csrf": csrf, "action": "import"},
        files={"report": ("x.xlsx", b"PK\x03\x04\x00\x00", "application/octet-stream")},
    )
    notes = client.post(
        "/import", data={"csrf": csrf, "action": "import", "text": "# 会议纪要\n- 下周计划"}
    )
    forged = client.post("/import", data={"csrf": "x", "text": DISAGREEING.read_text("utf-8")})

    assert (binary.status_code, notes.status_code, forged.status_code) == (422, 422, 403)
    assert "是二进制数据" in binary.text
    assert "没有写明周报日期的标题" in notes.text
    assert incidents_stored(session) == 0


def test_a_viewer_gets_neither_the_upload_nor_the_verdict_buttons(client, sign_in, session) -> None:
    sign_in(Role.viewer)

    assert client.get("/import").status_code == 403
    review = client.get("/import/review")
    assert review.status_code == 200
    assert 'name="grade"' not in review.text


def test_the_review_page_grades_a_flagged_event_in_one_click(
    browser, live_server, session, database_url
) -> None:
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    shots = Shots(f"{backend}-import")
    _, token = create_token(session, "值班-小周", Role.oncall)
    session.commit()
    problems: list[str] = []
    page = open_page(browser, problems, viewport=BIG_SCREEN)
    sign_in_by_cookie(page, live_server, token)

    page.goto(f"{live_server}/import")
    page.set_input_files("input[name=report]", str(DISAGREEING))
    page.click("button[value=preview]")
    assert (
        page.locator(".reconciliation.disagrees")
        .inner_text()
        .startswith("周报自述: AB 1 · CD 0; 按定级规则计算: AB 0 · CD 1")
    )
    assert "report says AB 1, computed AB 0" in page.locator("#line-10 .review-reason").inner_text()
    assert page.locator("#line-10 [data-field=impact_minutes] q").inner_text() == "持续约15分钟"
    shots.take(page, "preview")
    assert incidents_stored(session) == 0

    page.click("button[value=import]")
    assert "新建 2 个事件" in page.locator(".import-summary").inner_text()
    assert incidents_stored(session) == 2
    page.click("a[href='/import/review']")
    item = page.locator(".review-item")
    assert item.count() == 1
    assert "report says AB 1, computed AB 0" in item.inner_text()
    shots.take(page, "review")

    page.click(".review-item button[value=B]")
    assert page.locator(".review-item").count() == 0
    assert page.locator("main .notice").inner_text() == "没有待复核的导入事件。"
    session.expire_all()
    flagged = session.exec(select(Incident).where(Incident.grade == "B")).one()
    assert (flagged.grade_overridden, flagged.needs_review) == (True, False)
    override = session.exec(select(AuditEntry).where(AuditEntry.action == "override")).one()
    assert override.reason == "override: imported report"

    page.goto(f"{live_server}/weeks/2023-09-30")
    assert "事故数AB级1次，CD级0次" in page.content()
    assert problems == []
    page.context.close()


def test_the_import_pages_fit_a_phone(browser, live_server, session, database_url) -> None:
    backend = "sqlite" if database_url.startswith("sqlite") else "postgresql"
    _, token = create_token(session, "值班-小周", Role.oncall)
    session.commit()
    problems: list[str] = []
    page = open_page(browser, problems, viewport=PHONE, is_mobile=True, has_touch=True)
    sign_in_by_cookie(page, live_server, token)

    shots = Shots(f"{backend}-import-phone")
    page.goto(f"{live_server}/import")
    page.fill("textarea[name=text]", DISAGREEING.read_text("utf-8"))
    with page.expect_navigation():
        page.tap("button[value=preview]")
    assert page.locator(".import-event").count() == 2
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shots.take(page, "preview")
    with page.expect_navigation():
        page.tap("button[value=import]")
    page.goto(f"{live_server}/import/review")

    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    with page.expect_navigation():
        page.tap(".review-item button[value=none]")
    assert page.locator(".review-item").count() == 0
    shots.take(page, "review")
    assert problems == []
    page.context.close()
