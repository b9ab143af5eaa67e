"""The 快速登记 box and the filing form's times, through the test client: one sentence read into
every field it states, the pages' reading of typed times, and the tick that files a future time."""

import re
from datetime import datetime, timedelta

from sqlmodel import Session, select

from incidents.calendar import DEFAULT_CALENDAR
from incidents.models import Incident, Role

CALENDAR = DEFAULT_CALENDAR  # Asia/Shanghai, as the test apps run
SENTENCE = (
    "9/7 14:42 监控告警 支付网关超时，失败订单 1,200 笔，影响用户 300 人，涉及金额 52 万元，"
    "资损 3.2 万元，持续 25 分钟，已回滚"
)


def year_of_9_7() -> int:
    """The year "9/7" is read in today: this year's once it is at most a day ahead."""
    today = datetime.now(CALENDAR.tz).date()
    return today.year if (today.month, today.day) >= (9, 6) else today.year - 1


def field_value(html: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert found, f"no field {name}"
    return found.group(1)


def test_the_incidents_page_has_the_quick_file_box(client, sign_in) -> None:
    sign_in(Role.oncall)

    page = client.get("/incidents").text

    assert 'id="quick-file"' in page
    assert 'action="/incidents/new"' in page
    assert '<textarea name="text"' in page


def test_a_viewer_has_no_quick_file_box(client, sign_in) -> None:
    sign_in(Role.viewer)

    assert 'id="quick-file"' not in client.get("/incidents").text


def test_one_sentence_fills_every_field_it_states_and_the_grade_preview(client, sign_in) -> None:
    sign_in(Role.oncall)

    page = client.get("/incidents/new", params={"text": SENTENCE})

    assert page.status_code == 200, page.text
    html = page.text
    expected = {
        "title": "监控告警 支付网关超时",
        "detected_at": f"{year_of_9_7()}-09-07 14:42",
        "system": "支付网关",
        "failed_orders": "1200",
        "affected_users": "300",
        "impact_minutes": "25",
        "amount_involved_cny": "520000.00",
        "loss_cny": "32000.00",
    }
    assert {name: field_value(html, name) for name in expected} == expected
    assert '<option value="monitoring" selected' in html
    assert '<option value="yes" selected' in html  # business impact, from the failed orders
    assert re.search(r'<textarea name="remediation"[^>]*>已回滚</textarea>', html)
    assert 'data-grade="B"' in html  # 1,200 failed orders grade B by the default policy
    assert 'id="sentence-read"' in html
    assert "已从这句话读出" in html


def test_a_sentence_with_nothing_to_read_says_so(client, sign_in) -> None:
    sign_in(Role.oncall)

    html = client.get("/incidents/new", params={"text": "，，，"}).text

    assert "这句话里没有读出可填的字段" in html


def test_the_pages_time_parse_follows_the_page_language(client, sign_in) -> None:
    sign_in(Role.oncall)

    zh = client.get("/time/parse", params={"text": "现在"}).json()
    en = client.get("/time/parse", params={"text": "now", "lang": "en"}).json()

    assert "周" in zh["shown"]
    assert "(第" in zh["shown"]
    assert "(week " in en["shown"]
    assert zh["local"] == en["local"] or zh["local"] < en["local"]  # the minute may turn


def test_the_pages_time_parse_words_an_unreadable_time_in_the_page_language(
    client, sign_in
) -> None:
    sign_in(Role.oncall)

    zh = client.get("/time/parse", params={"text": "9/77 14:42"})
    en = client.get("/time/parse", params={"text": "9/77 14:42", "lang": "en"})

    assert (zh.status_code, en.status_code) == (422, 422)
    assert zh.json()["error"].startswith("无法识别的时间")
    assert "there is no 9/77" in en.json()["error"]


def test_a_future_time_refused_on_the_form_shows_the_tick_that_files_it(
    client, sign_in, session: Session
) -> None:
    csrf = sign_in(Role.oncall)
    typed = f"{datetime.now(CALENDAR.tz) + timedelta(hours=3):%Y-%m-%d %H:%M}"
    form = {"csrf": csrf, "title": "支付网关超时", "detected_at": typed}

    refused = client.post("/incidents/new", data=form)

    assert refused.status_code == 422
    assert '<div id="confirm-future">' in refused.text  # not hidden now
    filed = client.post(
        "/incidents/new", data=form | {"confirm_future": "on"}, follow_redirects=False
    )
    assert filed.status_code == 303, filed.text
    assert session.exec(select(Incident)).one().title == "支付网关超时"
