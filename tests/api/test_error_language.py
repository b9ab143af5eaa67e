"""The API's refusals carry a code and word their msg as Accept-Language asks (English unless
Chinese is preferred); the CLI words them as its locale asks; grade reasons come as rule hits."""

import pytest
from typer.testing import CliRunner

from api.cli import app
from api.errors import accepted_lang
from incidents.models import Role
from tests.builders import cli_args, seed_pos_incident

API = "/api/v1/incidents"
ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}
runner = CliRunner()


@pytest.mark.parametrize(
    ("header", "lang"),
    [
        (None, "en"),
        ("", "en"),
        ("zh-CN", "zh"),
        ("zh-TW,zh;q=0.9", "zh"),
        ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
        ("en;q=0.5,zh;q=0.8", "zh"),
        ("*", "en"),
        ("zh;q=0, en", "en"),
        ("zh;q=bad", "en"),
    ],
)
def test_the_preferred_language_is_read_from_accept_language(header, lang) -> None:
    assert accepted_lang(header) == lang


def refused(client, headers, **overrides) -> list[dict]:
    response = client.post(API, json=seed_pos_incident(**overrides), headers=headers)
    assert response.status_code == 422, response.text
    return response.json()["detail"]


def test_a_domain_refusal_has_its_code_and_a_chinese_msg_when_asked(client, auth) -> None:
    [english] = refused(client, auth[Role.oncall], recovered_at="2023-08-30 10:00")
    [chinese] = refused(client, auth[Role.oncall] | ZH, recovered_at="2023-08-30 10:00")
    assert english == {
        "loc": ["body", "recovered_at"],
        "msg": "must not be before detected_at",
        "type": "value_error",
        "code": "not_before",
        "params": {"other": "detected_at", "field": "recovered_at"},
    }
    assert chinese == english | {"msg": "业务恢复时间不能早于发现时间"}


def test_an_unreadable_body_keeps_fastapis_shape_and_gains_codes(client, auth) -> None:
    fields = seed_pos_incident(failed_orders=-1, extra="x")
    del fields["title"]
    english = client.post(API, json=fields, headers=auth[Role.oncall]).json()["detail"]
    chinese = client.post(API, json=fields, headers=auth[Role.oncall] | ZH).json()["detail"]
    codes = {error["loc"][-1]: error["code"] for error in english}
    assert codes == {"title": "required", "failed_orders": "min_value", "extra": "unknown_field"}
    assert [error["type"] for error in english] == [error["type"] for error in chinese]
    by_field = {error["loc"][-1]: error["msg"] for error in english}
    assert by_field["title"] == "Field required"  # English is pydantic's own, as before
    by_field = {error["loc"][-1]: error["msg"] for error in chinese}
    assert by_field == {
        "title": "标题必填",
        "failed_orders": "失败订单数不能小于 0",
        "extra": "extra不是可填写的字段",
    }
    assert {"input", "ctx"} & set(english[1])  # FastAPI's other keys are kept


def test_not_found_is_worded_per_language_with_its_code(client, auth) -> None:
    english = client.get(f"{API}/999999", headers=auth[Role.viewer])
    chinese = client.get(f"{API}/999999", headers=auth[Role.viewer] | ZH)
    assert english.status_code == chinese.status_code == 404
    assert english.json() == {
        "detail": "incident 999999 not found",
        "code": "not_found",
        "params": {"what": "incident", "ident": 999999},
    }
    assert chinese.json()["detail"] == "事件 999999 不存在"


def test_an_incident_answers_its_grade_hits_and_the_english_reason(client, auth) -> None:
    filed = client.post(API, json=seed_pos_incident(), headers=auth[Role.oncall]).json()
    assert filed["grade"] == "C"
    assert filed["grade_reason"] == "failed 545 ≥ 100 → C"
    assert filed["grade_hits"] == [{"rule": "failed_min", "value": 545, "limit": 100, "grade": "C"}]


def test_an_override_is_a_hit_of_its_own(client, auth) -> None:
    filed = client.post(API, json=seed_pos_incident(), headers=auth[Role.oncall]).json()
    response = client.post(
        f"{API}/{filed['id']}/grade",
        json={"grade": "B", "reason": "影响大客户"},
        headers=auth[Role.oncall],
    )
    assert response.status_code == 200, response.text
    assert response.json()["grade_hits"] == [
        {"rule": "override", "reason": "影响大客户", "grade": "B"}
    ]
    assert response.json()["grade_reason"] == "override: 影响大客户"


CHINESE_LOCALE = {"LANG": "zh_CN.UTF-8", "LC_ALL": None, "LC_MESSAGES": None}
ENGLISH_LOCALE = {"LANG": "en_US.UTF-8", "LC_ALL": None, "LC_MESSAGES": None}


def test_the_cli_words_refusals_in_the_locales_language(cli_database) -> None:
    args = cli_args(seed_pos_incident(recovered_at="2023-08-30 10:00"))
    chinese = runner.invoke(app, args, env=CHINESE_LOCALE)
    english = runner.invoke(app, args, env=ENGLISH_LOCALE)
    assert chinese.exit_code == english.exit_code == 2
    assert "--recovered-at: 业务恢复时间不能早于发现时间" in chinese.output
    assert "--recovered-at: must not be before detected_at" in english.output


def test_the_cli_words_pydantic_refusals_and_not_found_in_chinese(cli_database) -> None:
    unreadable = runner.invoke(
        app, cli_args(seed_pos_incident(failed_orders=-1)), env=CHINESE_LOCALE
    )
    assert "--failed-orders: 失败订单数不能小于 0" in unreadable.output
    missing = runner.invoke(app, ["postmortem", "publish", "999999"], env=CHINESE_LOCALE)
    assert missing.exit_code == 1
    assert "事件 999999 不存在" in missing.output


def test_the_cli_words_the_grade_reason_in_the_locales_language(cli_database) -> None:
    chinese = runner.invoke(app, cli_args(seed_pos_incident()), env=CHINESE_LOCALE)
    assert chinese.exit_code == 0, chinese.output
    assert "(C: 失败笔数 545 ≥ 100 → C)" in chinese.output
    english = runner.invoke(app, cli_args(seed_pos_incident()), env=ENGLISH_LOCALE)
    assert "(C: failed 545 ≥ 100 → C)" in english.output
