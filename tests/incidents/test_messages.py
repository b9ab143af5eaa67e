"""The message catalogue: coded refusals worded in Chinese and English, pydantic's errors mapped
to codes, and grade reasons kept as rule hits and worded per language."""

import json
import re
import string
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

import pytest
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from api.web.i18n import field_label
from incidents.errors import Incomplete, Invalid, NotFound
from incidents.grading import ImpactFacts, load_policy
from incidents.messages import (
    CATALOGUE,
    Message,
    from_pydantic,
    grade_reason_text,
    hit_lines,
    join,
)

ZH = field_label("zh")
EN = field_label("en")
# ASCII that may stand in a Chinese message: examples of what to type, units, formats.
EXAMPLE_WORDS = {
    "HH", "MM", "NUL", "UTC", "ISO", "GBK", "UTF", "JSON", "http", "PAY", "MB",
    "service", "pay", "instance", "db", "sat", "sun", "submit", "publish",
}  # fmt: skip


# Every code worded by its own templates ("joined" words its parts).
WORDED = sorted(set(CATALOGUE) - {"joined"})


def placeholders_removed(template: str) -> str:
    return "".join(literal for literal, *_ in string.Formatter().parse(template))


@pytest.mark.parametrize("code", WORDED)
def test_every_chinese_template_is_chinese(code: str) -> None:
    zh, en = CATALOGUE[code]
    words = set(re.findall(r"[A-Za-z]{2,}", placeholders_removed(zh)))
    assert words <= EXAMPLE_WORDS, f"{code}: English words {words - EXAMPLE_WORDS} in {zh!r}"
    assert zh != en


@pytest.mark.parametrize("code", WORDED)
def test_every_chinese_template_asks_only_for_parameters_the_english_has(code: str) -> None:
    zh, en = CATALOGUE[code]
    named = {name for _, name, _, _ in string.Formatter().parse(zh) if name}
    given = {name for _, name, _, _ in string.Formatter().parse(en) if name}
    # Chinese names the field itself, and may name a label key the code's raiser gives.
    assert named - given <= {"field", "mark", "step_label", "allowed", "titles"}, code


def test_a_coded_refusal_is_english_as_before_and_chinese_with_the_forms_labels() -> None:
    refusal = Invalid("recovered_at", code="not_before", params={"other": "detected_at"})
    assert str(refusal) == "recovered_at: must not be before detected_at"
    assert refusal.message == "must not be before detected_at"
    assert refusal.message.text("zh", ZH) == "业务恢复时间不能早于发现时间"
    assert refusal.message.text("en", EN) == "must not be before detected_at"
    assert refusal.problems == (("recovered_at", "must not be before detected_at"),)


def test_an_uncoded_refusal_keeps_its_words_in_every_language() -> None:
    refusal = Invalid("title", "an older caller's words")
    assert not isinstance(refusal.message, Message)
    assert str(refusal) == "title: an older caller's words"


def test_not_found_names_the_thing_in_chinese() -> None:
    missing = NotFound("incident", 999999)
    assert str(missing) == "incident 999999 not found"
    assert missing.message.text("zh") == "事件 999999 不存在"
    assert NotFound("action item", 3).message.text("zh") == "改进项 3 不存在"
    assert missing.message.json_params() == {"what": "incident", "ident": 999999}


def test_an_incomplete_names_each_part_with_its_field_in_chinese() -> None:
    missing = Incomplete(
        [("root_cause", Message("required_to_publish")), ("reviewers", Message("name_a_reviewer"))]
    )
    assert str(missing) == "root_cause: required to publish; reviewers: name at least one reviewer"
    worded = [message.text("zh", ZH) for _, message in missing.problems]
    assert worded == ["发布前须填写根本原因", "请至少指定一位评审人"]


def test_two_problems_of_one_field_are_joined_in_each_language() -> None:
    both = join(
        Message("required_to_publish", {"field": "root_cause"}),
        Message("not_reviewed_yet", {"name": "张三"}),
    )
    assert both == "required to publish; 张三 has not reviewed it yet"
    assert both.text("zh", ZH) == "发布前须填写根本原因；张三 尚未评审"


def test_a_message_made_without_its_field_still_words_in_chinese() -> None:
    assert Message("required_to_publish").text("zh", ZH) == "发布前须填写"


class Detection(StrEnum):
    monitoring = "monitoring"
    manual = "manual"


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(max_length=5)
    failed_orders: int = Field(default=0, ge=0)
    detected_at: datetime | None = None
    detection: Detection | None = None
    system: str = ""

    @field_validator("system")
    @classmethod
    def _known_system(cls, value: str) -> str:
        if value == "nowhere":
            raise ValueError(Message("no_source_named", {"name": value}))
        return value


def pydantic_errors(data: dict) -> dict[str, Message]:
    with pytest.raises(ValidationError) as caught:
        Body.model_validate(data)
    return {str(error["loc"][0]): from_pydantic(error) for error in caught.value.errors()}


def test_pydantic_errors_become_codes_worded_with_the_field_labels() -> None:
    errors = pydantic_errors(
        {
            "failed_orders": -1,
            "detected_at": "half typed",
            "detection": "a dream",
            "unknown": 1,
        }
    )
    codes = {field: message.code for field, message in errors.items()}
    assert codes == {
        "title": "required",
        "failed_orders": "min_value",
        "detected_at": "bad_time",
        "detection": "one_of",
        "unknown": "unknown_field",
    }
    zh = {field: message.text("zh", ZH) for field, message in errors.items()}
    assert zh["title"] == "标题必填"
    assert zh["failed_orders"] == "失败订单数不能小于 0"
    assert zh["detected_at"].startswith("发现时间无法识别")
    assert zh["detection"] == "发现方式应为以下之一：监控、人工"
    assert zh["unknown"] == "unknown不是可填写的字段"
    # English stays pydantic's own words, so API clients read what they always read.
    assert errors["title"] == "Field required"
    assert errors["failed_orders"] == "Input should be greater than or equal to 0"


def test_a_too_long_text_names_its_limit() -> None:
    message = pydantic_errors({"title": "x" * 6})["title"]
    assert (message.code, message.params["max_length"]) == ("too_long", 5)
    assert message.text("zh", ZH) == "标题最多 5 个字符"


def test_a_validator_raising_a_coded_message_keeps_its_code() -> None:
    message = pydantic_errors({"title": "t", "system": "nowhere"})["system"]
    assert message.code == "no_source_named"
    assert message.text("zh", ZH) == "没有名为 nowhere 的报警来源"
    assert message == "no source named 'nowhere'"


POLICY = load_policy(None)


def test_grade_hits_are_data_worded_per_language() -> None:
    result = POLICY.evaluate(ImpactFacts(business_impact=True, failed_orders=1200))
    assert result.grade == "B"
    assert json.loads(json.dumps(result.hits)) == list(result.hits)  # storable as JSON
    [hit] = result.hits
    assert (hit["rule"], hit["value"], hit["grade"]) == ("failed_min", 1200, "B")
    limit = f"{hit['limit']:,}"
    assert hit_lines(result.grade, result.hits, "zh") == [f"失败笔数 1,200 ≥ {limit} → B"]
    assert hit_lines(result.grade, result.hits, "en") == [f"failed 1,200 ≥ {limit} → B"]
    assert result.reasons == (f"failed 1,200 ≥ {limit} → B",)


def test_money_with_fen_is_kept_exactly_and_grouped() -> None:
    facts = ImpactFacts(business_impact=True, loss_cny=Decimal("6000000.50"))
    result = POLICY.evaluate(facts)
    [hit] = [hit for hit in result.hits if hit["rule"] == "net_loss_cny_min"]
    assert hit["value"] == "6000000.50"
    assert "净损失 ¥6,000,000.50 ≥" in hit_lines(result.grade, [hit], "zh")[0]


def test_no_business_impact_and_the_catch_all_are_worded_per_language() -> None:
    none = POLICY.evaluate(ImpactFacts(business_impact=False))
    assert (none.grade, none.hits, none.reason_text) == (None, (), "no business impact")
    assert grade_reason_text(none.grade, list(none.hits), "x", "zh") == "无业务影响"
    mild = POLICY.evaluate(ImpactFacts(business_impact=True))
    assert grade_reason_text(mild.grade, list(mild.hits), "x", "zh") == (
        "有业务影响，未触发更高等级规则 → D"
    )
    assert mild.reason_text == "business impact, no higher rule → D"


def test_a_regulatory_trigger_is_worded_with_its_title() -> None:
    facts = ImpactFacts(business_impact=True, regulatory_triggers=frozenset({"public_opinion"}))
    result = POLICY.evaluate(facts)
    worded = hit_lines(result.grade, result.hits, "zh")
    assert worded == ["监管报送：public_opinion（重大舆情风险） → A"]
    assert result.reasons == ("regulatory: public_opinion (重大舆情风险) → A",)


def test_a_row_graded_before_hits_were_stored_shows_its_text() -> None:
    assert grade_reason_text("C", None, "failed 545 ≥ 100 → C", "zh") == "failed 545 ≥ 100 → C"
    assert grade_reason_text(None, None, None, "zh") == ""
