"""On a Chinese page every message is Chinese: each bad input tried on each form, the error
pages, field names inside messages and the grade reasons. `?lang=en` words them in English."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from incidents.alerts.models import Alert
from incidents.calendar import DEFAULT_CALENDAR
from incidents.models import Incident, Role
from tests.builders import seed_pos_incident
from tests.web.test_incident_pages import file_directly

# ASCII a Chinese message may hold: formats and examples of what to type.
EXAMPLES = {"HH", "MM", "UTC", "ISO", "service", "pay", "instance", "db", "sat", "sun"}
# The words of English messages that leaked onto Chinese pages before.
ENGLISH = re.compile(
    r"\b(must|not found|field required|should|cannot|before|after|required|invalid|unknown"
    r"|give|name|Input|String|Value error|greater|less|least|unreadable|expected)\b",
    re.IGNORECASE,
)


def shown_messages(html: str) -> list[str]:
    """The text of every error, notice and missing part a page shows."""
    found = re.findall(
        r'<(?:span|p|li)[^>]*class="(?:error|notice)[^"]*"[^>]*>(.*?)</(?:span|p|li)>',
        html,
        re.DOTALL,
    )
    missing = re.search(r'<ul class="missing"[^>]*>(.*?)</ul>', html, re.DOTALL)
    if missing:
        found += re.findall(r"<li[^>]*>(.*?)</li>", missing.group(1), re.DOTALL)
    return [re.sub(r"<[^>]+>", "", text).strip() for text in found if text.strip()]


def assert_only_chinese(html: str, *typed: str) -> list[str]:
    """Every message shown is Chinese: no English words but what the user typed and examples."""
    messages = shown_messages(html)
    assert messages, "no message shown"
    allowed = EXAMPLES | {word for text in typed for word in re.findall(r"[A-Za-z]+", text)}
    for message in messages:
        assert not ENGLISH.search(message), message
        words = set(re.findall(r"[A-Za-z]{2,}", message)) - allowed
        assert not words, f"English {words} in {message!r}"
        assert re.search(r"[\u4e00-\u9fff]", message), message
    return messages


FILING_CASES = {
    "no title, a negative count": {"title": " ", "failed_orders": "-1"},
    "an unreadable time": {"detected_at": "9/77 14:42"},
    "times out of order": {"detected_at": "2023-09-07 14:42", "occurred_at": "2023-09-07 15:00"},
    "more recovered than lost": {"loss_cny": "100", "recovered_cny": "200"},
    "money that is not money": {"amount_involved_cny": "-5"},
    "a text too long": {"title": "长" * 501},
    "an unknown choice": {"detection": "a dream"},
    "a time in the future": {
        "detected_at": f"{DEFAULT_CALENDAR.today() + timedelta(days=2)} 10:00",
        "report_week": "",
    },
    "a report week far from detection": {"report_week": "2024-09-07"},
}


@pytest.mark.parametrize("bad", FILING_CASES.values(), ids=FILING_CASES.keys())
def test_the_filing_form_refuses_in_chinese(client, sign_in, session, bad) -> None:
    csrf = sign_in(Role.oncall)
    data = seed_pos_incident(csrf=csrf) | bad
    response = client.post("/incidents/new", data=data)
    assert response.status_code == 422
    assert_only_chinese(response.text)
    assert session.exec(select(Incident)).first() is None


def test_field_names_in_messages_are_the_forms_labels(client, sign_in) -> None:
    csrf = sign_in(Role.oncall)
    bad = FILING_CASES["times out of order"]
    zh = client.post("/incidents/new", data=seed_pos_incident(csrf=csrf) | bad).text
    assert "发现时间不能早于发生时间" in assert_only_chinese(zh)
    en = client.post("/incidents/new?lang=en", data=seed_pos_incident(csrf=csrf) | bad).text
    assert "must not be before occurred_at" in en


def test_the_incident_edit_refuses_in_chinese(client, sign_in, session) -> None:
    csrf = sign_in(Role.oncall)
    incident = file_directly(session)
    path = f"/incidents/{incident.id}/edit"
    for bad in (
        {"recovered_at": "2023-08-30 10:00"},
        {"triggers_on_form": "1", "regulatory_triggers": ["made_up"]},
        {"loss_cny": "很多"},
        {"status": "forgotten"},
    ):
        response = client.post(path, data={"csrf": csrf} | bad)
        assert response.status_code == 422, bad
        assert_only_chinese(response.text, "made_up")


def test_the_timeline_refuses_in_chinese(client, sign_in, session) -> None:
    csrf = sign_in(Role.oncall)
    incident = file_directly(session)
    path = f"/incidents/{incident.id}/timeline"
    for at in ("昨天", "2023-08-31 09:00"):
        data = {"csrf": csrf, "at": at, "text": "x", "milestone": "recovered"}
        response = client.post(path, data=data)
        assert response.status_code == 422, at
        assert_only_chinese(response.text, "x")


def test_the_action_item_form_refuses_in_chinese(client, sign_in, session) -> None:
    csrf = sign_in(Role.oncall)
    incident = file_directly(session)
    path = f"/incidents/{incident.id}/action-items"
    yesterday = DEFAULT_CALENDAR.today() - timedelta(days=1)
    for bad in (
        {"owner": "", "due_date": "9/15"},
        {"owner": "张三", "due_date": yesterday.isoformat()},
    ):
        data = {"csrf": csrf, "title": "加告警", "type": "detect"} | bad
        response = client.post(path, data=data)
        assert response.status_code == 422, bad
        assert_only_chinese(response.text)


def test_the_postmortem_lists_what_is_missing_in_chinese(client, sign_in, session) -> None:
    csrf = sign_in(Role.oncall)
    incident = file_directly(session, failed_orders=1500)
    base = f"/incidents/{incident.id}/postmortem"
    client.post(base, data={"csrf": csrf, "summary": "草稿", "reviewers": "张三"})
    client.post(f"{base}/submit", data={"csrf": csrf})
    refused = client.post(f"{base}/publish", data={"csrf": csrf})
    assert refused.status_code == 422
    messages = assert_only_chinese(refused.text)
    assert "评审人 张三 尚未评审" in messages


def test_the_alert_verdict_refuses_in_chinese(client, sign_in, session, alert_webhook) -> None:
    from tests.web.conftest import am_delivery

    csrf = sign_in(Role.oncall)
    assert client.post(alert_webhook, content=am_delivery("fp-zh")).status_code == 200
    alert = session.exec(select(Alert)).one()
    client.post(f"/alerts/{alert.id}/promote", data={"csrf": csrf})
    again = client.post(f"/alerts/{alert.id}/promote", data={"csrf": csrf})
    assert f"报警 {alert.id} 已关联事件" in " ".join(assert_only_chinese(again.text))
    path = f"/alerts/{alert.id}/verdict"
    for bad in ({"valid": "false", "note": "x" * 2001}, {"valid": ""}):
        response = client.post(path, data={"csrf": csrf} | bad)
        assert response.status_code == 422, bad
        assert_only_chinese(response.text)


SILENCE_CASES = {
    "a matcher every alert fails": {"matchers": 'env!="test"', "duration": "2h"},
    "not a matcher": {"matchers": "whatever", "duration": "2h"},
    "no end": {"matchers": 'service="pay"'},
    "ends before it starts": {
        "matchers": 'service="pay"',
        "starts_at": "9/7 14:00",
        "ends_at": "9/7 13:00",
    },
    "an unreadable weekly window": {
        "matchers": 'service="pay"',
        "duration": "2h",
        "weekly": "周日 2点-4点",
    },
    "an unreadable end": {"matchers": 'service="pay"', "ends_at": "下辈子"},
}


@pytest.mark.parametrize("bad", SILENCE_CASES.values(), ids=SILENCE_CASES.keys())
def test_the_silence_form_refuses_in_chinese(client, sign_in, bad) -> None:
    csrf = sign_in(Role.oncall)
    response = client.post("/silences", data={"csrf": csrf, "reason": "变更"} | bad)
    assert response.status_code == 422
    assert_only_chinese(response.text, *bad.values())


def test_sign_in_refuses_in_chinese(client) -> None:
    response = client.post("/login", data={"token": "stl_nope"})
    assert response.status_code == 401
    assert assert_only_chinese(response.text) == ["令牌无效或已吊销"]


def test_error_pages_are_chinese(client, sign_in) -> None:
    sign_in(Role.viewer)
    missing = client.get("/incidents/999999")
    assert missing.status_code == 404
    assert assert_only_chinese(missing.text) == ["事件 999999 不存在"]
    malformed = client.get("/incidents?page=abc")
    assert malformed.status_code == 422
    assert_only_chinese(malformed.text)
    bad_window = client.get("/scoreboard", params={"from": "2023-09-01"})
    assert assert_only_chinese(bad_window.text)
    english = client.get("/incidents/999999?lang=en")
    assert "incident 999999 not found" in english.text


def test_the_grade_reason_is_worded_in_the_pages_language(client, sign_in, session) -> None:
    sign_in(Role.viewer)
    incident = file_directly(session)
    page = client.get(f"/incidents/{incident.id}").text
    assert "<dd>失败笔数 545 ≥ 100 → C</dd>" in page
    english = client.get(f"/incidents/{incident.id}?lang=en").text
    assert "<dd>failed 545 ≥ 100 → C</dd>" in english
    unharmed = file_directly(session, failed_orders=None, business_impact=False)
    assert "<dd>无业务影响</dd>" in client.get(f"/incidents/{unharmed.id}?lang=zh").text


def test_an_incident_graded_before_hits_were_kept_shows_its_stored_reason(
    client, sign_in, session
) -> None:
    sign_in(Role.viewer)
    incident = file_directly(session)
    incident.grade_hits = None  # as migrated: the English text cannot be read back into hits
    session.add(incident)
    session.commit()
    page = client.get(f"/incidents/{incident.id}").text
    assert "<dd>failed 545 ≥ 100 → C</dd>" in page


def test_the_grade_preview_is_worded_in_the_pages_language(client, sign_in) -> None:
    sign_in(Role.viewer)
    zh = client.get("/incidents/grade-preview?failed_orders=1200&lang=zh").json()
    assert zh["grade"] == "B"
    assert zh["reasons"] == ["失败笔数 1,200 ≥ 1,000 → B"]
    assert zh["reason_text"] == "failed 1,200 ≥ 1,000 → B"  # what filing stores
    form = client.get("/incidents/new").text
    assert "失败笔数" not in form  # nothing typed yet: no reasons
    none = client.get("/incidents/grade-preview?business_impact=no").json()
    assert (none["grade"], none["reasons"]) == (None, [])


def test_the_import_preview_words_grade_reasons_in_chinese(client, sign_in) -> None:
    csrf = sign_in(Role.oncall)
    report = Path(__file__).parents[1] / "incidents" / "reports" / "w36_payout_delay.md"
    text = report.read_text("utf-8")
    zh = client.post("/import", data={"csrf": csrf, "action": "preview", "text": text}).text
    reasons = re.findall(r'<p class="meta">([^<]*)</p>', zh)
    assert reasons == ["失败笔数 1,000 ≥ 1,000 → B", "无业务影响"]
