"""Every message a person can read, as a code with parameters, worded in Chinese or English.

The domain raises `Invalid(field, code=..., params=...)`; what reaches a page, the API or the CLI
is a `Message`: a `str` whose value is the English wording (so every older reader of `str(exc)`
or `exc.message` keeps working) and which carries its code and parameters, so whoever shows it
words it in the reader's language with `Message.text(lang, label)`. `label` turns a field name into
the words the forms show beside it (the web's `i18n` labels); English keeps the field's name.

In a template `{name!f}` is a parameter holding a field name (shown as its label), `{name!w}` one
holding an enum's value (a status, a role: shown as the pages word it), `{name!l}` a list of
such values, `{name!m}` a nested Message. Grade reasons are stored as rule hits (`grade_hits` on an
incident) and worded here too, by `grade_reason_text`.
"""

import re
import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, Literal

Lang = Literal["zh", "en"]
Kind = Literal["field", "word"]
# A field's name, or an enum's value, as a language shows it.
Label = Callable[[str, Kind], str]


def field_name(name: str, kind: Kind = "field") -> str:
    return name


# code: (zh, en). Parameters keep their English meaning; `!f` marks a field name.
CATALOGUE: dict[str, tuple[str, str]] = {
    # Generic rules, also the codes pydantic's error types map to.
    "required": ("{field!f}必填", "field required"),
    "empty": ("{field!f}不能为空", "must not be empty"),
    "unknown_field": ("{field!f}不是可填写的字段", "extra inputs are not permitted"),
    "too_long": ("{field!f}最多 {max_length} 个字符", "at most {max_length} characters"),
    "too_short": ("{field!f}至少 {min_length} 个字符", "at least {min_length} characters"),
    "too_many": ("{field!f}最多 {max_length} 项", "at most {max_length} items"),
    "min_value": ("{field!f}不能小于 {limit}", "must be at least {limit}"),
    "above_value": ("{field!f}必须大于 {limit}", "must be more than {limit}"),
    "max_value": ("{field!f}不能大于 {limit}", "must be at most {limit}"),
    "below_value": ("{field!f}必须小于 {limit}", "must be less than {limit}"),
    "not_number": ("{field!f}应为数字", "must be a number"),
    "whole_number": ("{field!f}应为整数", "must be a whole number"),
    "too_many_digits": ("{field!f}的位数过多", "has too many digits"),
    "not_bool": ("{field!f}应为是或否", "must be true or false"),
    "not_text": ("{field!f}应为文字", "must be text"),
    "not_list": ("{field!f}应为列表", "must be a list"),
    "bad_time": (
        "{field!f}无法识别，请写成 2026-09-07 14:42 这样的时间",
        "unreadable time; expected e.g. 2026-09-07 14:42",
    ),
    "bad_date": ("{field!f}无法识别，请写成 2026-09-07 这样的日期", "unreadable date"),
    "bad_amount": (
        "{field!f}不是人民币金额：应为 6000000、6,000,000 或 1234.56 这样的非负数",
        "not an amount in CNY: expected digits such as 6000000, 6,000,000 or 1234.56",
    ),
    "bad_link": (
        "{field!f}应为 http(s) 链接或 PAY-123 这样的工单号",
        "expected an http(s) link or an issue key such as PAY-123",
    ),
    "one_of": ("{field!f}应为以下之一：{expected!l}", "one of {expected!l}"),
    "single_line": ("{field!f}只能写一行", "must be a single line"),
    "bad_json": ("请求内容不是有效的 JSON", "invalid JSON"),
    "bad_value": ("{field!f}填写有误", "invalid value"),
    "cannot_clear": ("{field!f}不能清空", "cannot be cleared"),
    "not_found": ("{what!m} {ident} 不存在", "{what!m} {ident} not found"),
    # Order of times and amounts.
    "not_before": ("{field!f}不能早于{other!f}", "must not be before {other}"),
    "not_after": ("{field!f}不能晚于{other!f}", "must not be after {other}"),
    "must_be_after": ("{field!f}必须晚于{other!f}", "must be after {other}"),
    "not_more_than": ("{field!f}不能大于{other!f}", "must not be more than {other}"),
    "not_before_occurred": (
        "{field!f}不能早于事件发生时间",
        "must not be before the incident occurred",
    ),
    "nul_character": ("{field!f}含有 NUL 字符", "contains a NUL character"),
    "lone_surrogate": (
        "{field!f}含有不成对的 UTF-16 代理字符",
        "contains an unpaired UTF-16 surrogate",
    ),
    "conflict": (
        "另一处修改同时提交，本次未写入任何内容，请重试",
        "conflicting concurrent change; nothing was written, try again",
    ),
    "unavailable": (
        "数据库不可用或繁忙，本次未写入任何内容，请重试",
        "the database is unavailable or busy; nothing was written, try again",
    ),
    "unstorable": (
        "有内容无法保存：不能含 NUL 字符，数字须在范围内",
        "a value cannot be stored: no NUL characters, numbers within range",
    ),
    # Incidents and grading.
    "in_future": (
        "{field!f} {moment} 晚于现在（{now}）；确实如此请勾选“时间确在未来，仍然登记”",
        "{moment} is in the future (now {now}); confirm_future files it anyway",
    ),
    "report_week_far": (
        "{field!f} {week}（{week_label}）与发现时间 {detected}（{detected_label}）"
        "相差超过 {weeks} 周",
        "{week} ({week_label}) is more than {weeks} weeks from detected_at {detected}"
        " ({detected_label})",
    ),
    "override_reason": ("人工定级须写明理由", "an override needs a reason"),
    "override_owner": (
        "等级由 {owner} 人工定级，只有管理员可以修改",
        "the grade was overridden by {owner}; only an admin may change it",
    ),
    "unknown_trigger": (
        "未知的监管报送情形 {name}；可选：{titles}",
        "unknown regulatory trigger {name!r}; one of {known}",
    ),
    "regulatory_deprecated": (
        "{field!f}已废弃：请在监管报送情形中勾选（本定级规则没有 {trigger}）",
        "is deprecated: name the trigger in regulatory_triggers (this policy has no {trigger})",
    ),
    # Action items.
    "due_in_past": (
        "{field!f} {due} 已经过去（今天是 {today}）",
        "{due} is in the past (today is {today} in {timezone})",
    ),
    "verifier_required": (
        "请填写验收人：复盘和事件都没有负责人可作默认",
        "required: name who checks the work (验收人); neither the 复盘 nor the incident has"
        " an owner to default to",
    ),
    "item_closed": (
        "改进项已关闭（{status!w}），不能修改{field!f}",
        "cannot change: the item is closed ({status})",
    ),
    "verifier_fields_forbidden": (
        "只有验收人（{verifier}）或管理员可以修改{fields!l}",
        "only the verifier ({verifier}) or an admin may change {fields!l}",
    ),
    "item_step_forbidden": (
        "只有改进项的{by!f}（{named}）或管理员可以{step_label!f}",
        "only the item's {by} ({named}) or an admin may {step}",
    ),
    "item_step_status": (
        "改进项当前为{status!w}，不能{step_label!f}：须为{allowed!l}",
        "cannot {step} an item that is {status}: it must be {allowed_or}",
    ),
    "comment_not_doing": ("请写明不做的原因", "required: the reason not to do it"),
    "comment_reject": ("请写明驳回的原因", "required: why it is sent back"),
    # Alerts and silences.
    "alert_linked": (
        "报警 {alert} 已关联事件 {incident}",
        "alert {alert} is linked to incident {incident}",
    ),
    "silence_end_or_length": ("请填写结束时间或时长", "give an end or a length"),
    "duration_format": ("时长请写成 90m、2h 或 3d", "write a duration like 90m, 2h or 3d"),
    "silence_matchers": (
        "请指定来源，或至少一个匹配条件（空标签不能满足）",
        "name a source or at least one matcher that an empty label fails",
    ),
    "bad_matcher": (
        '{value} 不是匹配条件，应写成 service="pay" 或 instance=~"db-.*"',
        '{value!r} is not a matcher like service="pay" or instance=~"db-.*"',
    ),
    "time_of_day_format": (
        "{field!f}请写成 HH:MM，如 02:00",
        "write the time as HH:MM, e.g. 02:00",
    ),
    "bad_regex": ("正则表达式无法编译", "the regex does not compile: {problem}"),
    "weekly_format": (
        "请写成星期和时段，如 周日 02:00-04:00 或 sat,sun 22:00-06:00",
        "write days and hours, e.g. 周日 02:00-04:00 or sat,sun 22:00-06:00",
    ),
    "not_time_of_day": ("{field!f}：{value} 不是一天中的时刻", "{value} is not a time of day"),
    "weekly_needs_all": (
        "每周静默须填写星期、开始时刻和结束时刻",
        "a weekly silence needs weekdays, window_start and window_end",
    ),
    "not_iso_weekday": (
        "{day} 不是星期（1 周一 … 7 周日）",
        "{day} is no ISO weekday (1 Monday … 7 Sunday)",
    ),
    "window_ends_at_start": ("时段的结束时刻与开始时刻相同", "the window ends when it starts"),
    "silence_ends_before_start": (
        "静默的结束时间早于开始时间",
        "the silence ends before it starts",
    ),
    "silence_too_long": (
        "静默超过 30 天须勾选允许长期静默",
        "a silence of more than 30 days needs allow_long",
    ),
    "silence_expired": ("静默已过期，请新建一个", "the silence has expired; create a new one"),
    "source_missing": ("来源 {ident} 不存在", "source {ident} not found"),
    "not_a_day_range": ("{value} 不是星期或星期范围", "{value!r} is not a day or a range of days"),
    "not_a_day": ("{value} 不是星期几", "{value!r} is not a day of the week"),
    # Postmortems (复盘).
    "pm_status_draft": (
        "复盘在评审人要求修改时回到草稿，不能直接设置状态",
        "goes back to draft when a reviewer requests changes",
    ),
    "pm_status_in_review": (
        "提交评审（submit）后进入评审中，不能直接设置状态",
        "is moved by submitting the postmortem for review (submit)",
    ),
    "pm_status_published": (
        "由发布（publish）设置，发布时检查复盘完整且已评审通过",
        "is set by publishing (publish), which checks the postmortem is complete and approved",
    ),
    "required_to_publish": ("发布前须填写{field!f}", "required to publish"),
    "timeline_mark_missing": (
        "时间线还没有标记“{mark!f}”的条目",
        "no timeline entry marks the {what} ({milestone})",
    ),
    "action_item_or_reason": (
        "请添加改进项，或在“无需改进项的原因”中说明",
        "add an action item, or say in no_action_reason why none is needed",
    ),
    "whys_needed": (
        "{grade!w} 级事件至少需要 {least} 个“为什么”（已写 {given} 个）",
        "a grade {grade!w} incident needs a chain of at least {least} whys ({given} given)",
    ),
    "name_a_reviewer": ("请至少指定一位评审人", "name at least one reviewer"),
    "not_reviewed_yet": ("{name} 尚未评审", "{name} has not reviewed it yet"),
    "changes_requested": ("{name} 要求修改", "{name} requested changes"),
    "submit_only_draft": (
        "只有草稿可以提交评审，当前为{status!w}",
        "only a draft is submitted for review; this one is {status}",
    ),
    "reviewer_before_submit": (
        "提交评审前请至少指定一位评审人",
        "name at least one reviewer before submitting for review",
    ),
    "review_for_another": (
        "只有管理员可以代他人记录评审结论",
        "only an admin records the verdict of another reviewer",
    ),
    "not_a_reviewer": ("{name} 不是本复盘的评审人", "{name} is not a reviewer of this postmortem"),
    "review_over": ("复盘已发布，评审已结束", "the postmortem is published; its review is over"),
    "say_which_changes": ("请说明需要修改什么", "say which changes are requested"),
    "published_already": ("复盘已发布", "the postmortem is published already"),
    "publish_over_approvals": (
        "只有管理员可以在缺少评审通过时发布",
        "only an admin publishes over missing approvals",
    ),
    "submit_first": ("请先提交复盘评审", "submit the postmortem for review first"),
    "entry_time": ("{inner!m}", "{other} {inner}"),
    # Sources, tokens, rotas and escalation.
    "source_needs_secret": (
        "{kind} 来源须填写发送方签名用的密钥",
        "a {kind} source needs the secret its sender signs with",
    ),
    "source_name_taken": ("已有名为 {name} 的来源", "a source named {name!r} exists already"),
    "token_name_taken": ("已有名为 {name} 的令牌", "a token named {name!r} exists already"),
    "member_twice": ("{name} 重复列出", "{name!r} is listed twice"),
    "rota_needs_member": (
        "值班表至少需要一位参与轮值的成员",
        "a rota needs at least one member in rotation",
    ),
    "not_rota_member": ("{name} 不是值班表成员", "{name!r} is not a member of the rota"),
    "rota_name_taken": ("已有名为 {name} 的值班表", "a rota named {name!r} exists"),
    "member_has_override": (
        "{name} 还有未到期的换班，请先删除",
        "{name!r} has an override to come; remove it first",
    ),
    "not_member_of_rota": (
        "{name} 不是值班表 {rota} 的成员",
        "{name!r} is not a member of rota {rota!r}",
    ),
    "override_overlaps": (
        "与换班 {other}（{member}，{start}–{end} UTC）重叠",
        "overlaps override {other} ({member}, {start}–{end} UTC)",
    ),
    "no_channel_named": ("没有名为 {name} 的通知渠道", "no channel named {name!r}"),
    "no_rota_named": ("没有名为 {name} 的值班表", "no rota named {name!r}"),
    "no_source_named": ("没有名为 {name} 的报警来源", "no source named {name!r}"),
    "steps_in_order": ("升级步骤须按时间先后排列", "steps come in order of time"),
    "name_member": ("请指定要通知的成员", "name the member to notify"),
    "not_member_of": ("{name} 不是 {rota} 的成员", "{name!r} is not a member of {rota!r}"),
    "person_only_for_person": (
        "只有通知个人的步骤才指定成员",
        "only a step notifying a person names one",
    ),
    "policy_taken": ("已有升级策略使用此{field!f}", "another policy has this {field}"),
    # Periods, weeks and figures.
    "period_or_range": (
        "请填写周期，或开始和结束，不要同时填写",
        "give a period or from and to, not both",
    ),
    "give_both": ("请同时填写开始和结束", "give both from and to"),
    "year_outside": (
        "{year} 年不在 {first}–{last} 范围内",
        "year {year} is outside {first}–{last}",
    ),
    "no_month": ("{text} 没有 {month} 月", "{text!r} has no month {month}"),
    "unreadable_period_date": ("{text} 中的日期无法识别", "unreadable date in {text!r}: {problem}"),
    "range_reversed": ("{last} 早于 {first}", "{last} is before {first}"),
    "range_too_long": ("时间范围最长五年", "a range is at most five years long"),
    "unreadable_period": (
        "无法识别的周期 {text}：请写 2023-09、2023-Q3、2023-H2、2023 或 2023-07-01..2023-09-30",
        "unreadable period {text!r}: give 2023-09, 2023-Q3, 2023-H2, 2023"
        " or 2023-07-01..2023-09-30",
    ),
    "no_iso_week": ("{year} 年没有 ISO 第 {number} 周", "{year} has no ISO week {number}"),
    "no_week": (
        "{year} 年按 {numbering} 编号没有第 {number} 周",
        "{year} has no week {number} in {numbering} numbering",
    ),
    "unreadable_week": (
        "无法识别的周 {text}：请写 2023-09-09 这样的日期或 2023-W37",
        "unreadable week {text!r}: give a date such as 2023-09-09 or 2023-W37",
    ),
    "unknown_figure": ("未知的指标；可选：{known}", "unknown figure; one of {known}"),
    "percent_range": ("百分比须在 0 到 100 之间", "a rate in percent must be between 0 and 100"),
    "not_negative": ("{field!f}不能为负数", "must not be negative"),
    # Weekly report imports.
    "report_too_big": (
        "{size} 字节；周报最大 1 MB",
        "{size} bytes; a weekly report is at most 1 MB",
    ),
    "report_binary": (
        "是二进制数据（偏移 {offset} 处有 NUL 字节），不是文本周报",
        "binary data (a NUL byte at offset {offset}), not a text report",
    ),
    "report_encoding": (
        "既不是 UTF-8 也不是 GBK 文本（第 {byte} 字节不是 UTF-8）",
        "neither UTF-8 nor GBK text (byte {byte} is not UTF-8)",
    ),
    "report_control": (
        "含控制字符：是二进制数据，不是文本周报",
        "control characters: binary data, not a text report",
    ),
    "report_unreadable_events": (
        "未导入任何内容；有无法识别的事件：{problems}",
        "nothing imported; unreadable events: {problems}",
    ),
    "report_empty": (
        "没有事件也没有指标：不是可导入的周报",
        "no events and no figures: not a weekly report to import",
    ),
    "not_awaiting_review": (
        "事件 {ident} 不在待确认列表中",
        "incident {ident} is not awaiting review",
    ),
    "text_too_long": ("{field!f}超过 {limit} 个字符", "longer than {limit} characters"),
    "no_heading": (
        "没有写明周报日期的标题，如“# 第37周 2023-09-09”",
        "no heading giving the report date, such as '# 第37周 2023-09-09'",
    ),
    "heading_year": (
        "第 {line} 行：{year} 年不在 {first}–{last} 范围内",
        "line {line}: year {year} is outside {first}–{last}",
    ),
    "heading_date": ("第 {line} 行：日期不存在", "line {line}: {problem}"),
    "heading_week": ("第 {line} 行：没有第 {week} 周", "line {line}: there is no week {week}"),
    "no_events_section": (
        "没有“生产稳定性事件”一节，如“## 生产稳定性事件”",
        "no 生产稳定性事件 section, such as '## 生产稳定性事件'",
    ),
    "demo_weeks": ("{field!f}须在 1 到 104 之间", "between 1 and 104"),
    "demo_loaded": ("演示数据已经加载", "the demo data is loaded already"),
    # Imports and sign-in forms.
    "choose_report": ("请选择周报文件或粘贴周报内容", "choose a report file or paste its text"),
    # Used by `join` when one field has several problems.
    "joined": ("{parts}", "{parts}"),
}

# The things a NotFound names, in Chinese; English keeps the name.
THINGS: dict[str, str] = {
    "incident": "事件",
    "alert": "报警",
    "alert storm": "报警风暴",
    "action item": "改进项",
    "api token": "令牌",
    "postmortem": "复盘",
    "regulatory report": "监管报送",
    "silence": "静默",
    "source": "报警来源",
    "rota": "值班表",
    "rota override": "换班",
    "team of system": "系统所属团队",
    "channel": "通知渠道",
    "notification": "通知",
    "escalation policy": "升级策略",
    "timeline entry": "时间线条目",
}

# Pydantic's error types, as our codes; their context keys renamed to our parameters.
_PYDANTIC_CODES: dict[str, str] = {
    "missing": "required",
    "extra_forbidden": "unknown_field",
    "string_too_long": "too_long",
    "string_too_short": "too_short",
    "too_long": "too_many",
    "greater_than_equal": "min_value",
    "greater_than": "above_value",
    "less_than_equal": "max_value",
    "less_than": "below_value",
    "int_parsing": "not_number",
    "int_type": "not_number",
    "float_parsing": "not_number",
    "float_type": "not_number",
    "decimal_parsing": "not_number",
    "decimal_type": "not_number",
    "finite_number": "not_number",
    "int_from_float": "whole_number",
    "decimal_max_digits": "too_many_digits",
    "decimal_max_places": "too_many_digits",
    "decimal_whole_digits": "too_many_digits",
    "bool_parsing": "not_bool",
    "bool_type": "not_bool",
    "string_type": "not_text",
    "list_type": "not_list",
    "datetime_parsing": "bad_time",
    "datetime_from_date_parsing": "bad_time",
    "datetime_type": "bad_time",
    "timezone_aware": "bad_time",
    "date_parsing": "bad_date",
    "date_from_datetime_parsing": "bad_date",
    "date_from_datetime_inexact": "bad_date",
    "date_type": "bad_date",
    "enum": "one_of",
    "literal_error": "one_of",
    "json_invalid": "bad_json",
    "model_attributes_type": "bad_json",
    "dict_type": "bad_json",
}
_LIMIT_KEYS = ("ge", "gt", "le", "lt")


class _Formatter(string.Formatter):
    def __init__(self, lang: Lang, label: Label) -> None:
        self.lang = lang
        self.label = label

    def get_value(self, key: int | str, args: Any, kwargs: Any) -> Any:
        if key == "field" and key not in kwargs:
            return ""  # a message not yet told its field (one of an Incomplete's parts)
        return super().get_value(key, args, kwargs)

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        if conversion == "f":
            return self.label(str(value), "field")
        if conversion == "w":
            return self.label(str(getattr(value, "value", value)), "word")
        if conversion == "l":
            words = [self.label(str(item), "word") for item in value]
            return ("、" if self.lang == "zh" else ", ").join(words)
        if conversion == "m":  # a Message, or a _Thing: anything worded per language
            return value.text(self.lang, self.label) if hasattr(value, "text") else value
        return super().convert_field(value, conversion)

    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, Message):
            return value.text(self.lang, self.label)
        return super().format_field(value, format_spec)


def _english(code: str, params: Mapping[str, Any]) -> str:
    return _Formatter("en", field_name).vformat(CATALOGUE[code][1], (), params)


class Message(str):
    """A message's English wording, carrying its code and parameters to be worded again.

    `english` replaces the catalogue's English (pydantic's own words, an older caller's text);
    the Chinese is always the catalogue's. Parameters may name the field (`field`)."""

    code: str
    params: Mapping[str, Any]

    def __new__(
        cls, code: str, params: Mapping[str, Any] | None = None, english: str | None = None
    ) -> "Message":
        if code not in CATALOGUE:
            raise ValueError(f"no message coded {code!r}")
        params = dict(params or {})
        made = super().__new__(cls, english if english is not None else _english(code, params))
        made.code = code
        made.params = params
        return made

    def text(self, lang: Lang, label: Label = field_name) -> str:
        if lang == "en":
            return str.__str__(self)
        if self.code == "joined":
            return "；".join(part_text(part, lang, label) for part in self.params["parts"])
        return _Formatter(lang, label).vformat(CATALOGUE[self.code][0], (), self.params)

    def json_params(self) -> dict[str, Any]:
        """The parameters as JSON can carry them (nested messages by their code)."""
        return {key: _jsonable(value) for key, value in self.params.items()}


def _jsonable(value: object) -> object:
    if isinstance(value, Message):
        return {"code": value.code, "params": value.json_params()}
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return str(value)


def part_text(message: str, lang: Lang, label: Label = field_name) -> str:
    """Any message in `lang`: a coded one worded, plain text (an uncoded caller's) as it is."""
    return message.text(lang, label) if isinstance(message, Message) else message


def join(first: str, second: str) -> Message:
    """Two problems of one field, worded together ("; " in English, "；" in Chinese)."""
    parts = [*_parts(first), *_parts(second)]
    return Message("joined", {"parts": parts}, english="; ".join(parts))


def join_all(messages: Sequence[str]) -> str:
    """Several problems as one message (at least one)."""
    whole = messages[0]
    for message in messages[1:]:
        whole = join(whole, message)
    return whole


def _parts(message: str) -> list[str]:
    if isinstance(message, Message) and message.code == "joined":
        return list(message.params["parts"])
    return [message]


def coded(field: str, message: str) -> Message | str:
    """A problem's message with its field among the parameters, so Chinese can name it."""
    if isinstance(message, Message) and "field" not in message.params:
        return Message(message.code, {**message.params, "field": field}, str.__str__(message))
    return message


def not_found(what: str, ident: object) -> Message:
    return Message("not_found", {"what": _Thing(what), "ident": ident})


class _Thing(str):
    """The name of a kind of row: its Chinese word on Chinese pages."""

    def text(self, lang: Lang, label: Label = field_name) -> str:
        return THINGS.get(str(self), str(self)) if lang == "zh" else str(self)


def from_pydantic(error: Mapping[str, Any]) -> Message:
    """One of pydantic's errors as a Message: its type mapped to our code, its field and limits
    as parameters; the English stays pydantic's own words."""
    loc = tuple(error.get("loc") or ())
    if loc and loc[0] in ("body", "query", "path", "header", "cookie"):
        loc = loc[1:]  # the API's errors say where the field was; the field is what is named
    field = str(loc[0]) if loc else ""
    kind = str(error.get("type", ""))
    context = dict(error.get("ctx") or {})
    english = str(error.get("msg", "")).removeprefix("Value error, ")
    params: dict[str, Any] = {"field": field} if field else {}
    cause = context.get("error")
    if isinstance(cause, ValueError) and cause.args and isinstance(cause.args[0], Message):
        # A validator raised `ValueError(Message(...))`: its code says it all.
        inner: Message = cause.args[0]
        return Message(inner.code, {**params, **inner.params}, str.__str__(inner))
    if kind in CATALOGUE and kind not in ("too_long",):
        # A PydanticCustomError raised with one of our codes as its type.
        return Message(kind, {**params, **context}, english)
    code = _PYDANTIC_CODES.get(kind)
    if code is None:
        code = _value_error_code(field, english)
    if code in ("too_long", "too_short", "too_many"):
        params.update(max_length=context.get("max_length"), min_length=context.get("min_length"))
    elif code in ("min_value", "above_value", "max_value", "below_value"):
        params["limit"] = next((context[key] for key in _LIMIT_KEYS if key in context), "")
    elif code == "one_of":
        params["expected"] = re.findall(r"'([^']*)'", str(context.get("expected", "")))
    if code == "too_short" and context.get("min_length") == 1:
        code = "empty"
    return Message(code, params, english)


def _value_error_code(field: str, english: str) -> str:
    """A validator's ValueError has no type of its own; its field says what kind of value."""
    if field.endswith("_cny") or "amount in CNY" in english:
        return "bad_amount"
    if field.endswith("_at") or field in ("at", "since", "until", "from", "to"):
        return "bad_time"
    if "single line" in english:
        return "single_line"
    return "bad_value"


# ---- grade reasons, from the rule hits grading stores -----------------------------------------

# rule: (zh, en) for "measure ≥ limit" rules and the conditions of regulatory triggers.
_HIT_RULES: dict[str, tuple[str, str]] = {
    "failed_min": ("失败笔数 {value} ≥ {limit}", "failed {value} ≥ {limit}"),
    "amount_involved_cny_min": ("涉及金额 ¥{value} ≥ ¥{limit}", "amount ¥{value} ≥ ¥{limit}"),
    "net_loss_cny_min": ("净损失 ¥{value} ≥ ¥{limit}", "net loss ¥{value} ≥ ¥{limit}"),
    "core_impact_minutes_min": (
        "核心系统影响 {value} 分钟 ≥ {limit}",
        "core impact {value} min ≥ {limit}",
    ),
    "noncore_impact_minutes_min": (
        "非核心系统影响 {value} 分钟 ≥ {limit}",
        "non-core impact {value} min ≥ {limit}",
    ),
    "core_interruption_minutes_over": (
        "核心系统中断 {value} 分钟 > {limit}",
        "core interruption {value} min > {limit}",
    ),
    "interruption_minutes_over": (
        "中断 {value} 分钟 > {limit}",
        "interruption {value} min > {limit}",
    ),
    "failed_over": ("失败笔数 {value} > {limit}", "failed {value} > {limit}"),
    "failed_transactions_over": (
        "失败交易 {value} > {limit}",
        "failed transactions {value} > {limit}",
    ),
    "net_loss_cny_over": ("净损失 ¥{value} > ¥{limit}", "net loss ¥{value} > ¥{limit}"),
}
_NO_IMPACT = ("无业务影响", "no business impact")
_CATCH_ALL = (
    "有业务影响，未触发更高等级规则 → {grade}",
    "business impact, no higher rule → {grade}",
)
_PEAK = ("{value}（高峰期 ÷{factor} = {counted}）", "{value} at peak (÷{factor} = {counted})")
_REGULATORY = ("监管报送：{trigger} → {grade}", "regulatory: {trigger} → {grade}")
_ESCALATION = (
    "{where}超过 {limit} 分钟未恢复（截至 {at} 已 {value} 分钟{peak}）→ 至少 {grade}",
    "{where}not recovered after {limit} min (open {value} min{peak} at {at}) → at least {grade}",
)
_ESCALATION_WHERE = {
    True: ("核心系统", "core "),
    False: ("非核心系统", "non-core "),
    None: ("", ""),
}
_ESCALATION_PEAK = ("，高峰期 ÷{factor}", " at peak (÷{factor})")
_OVERRIDE = ("人工定级：{reason}", "override: {reason}")
_SEPARATOR = {"zh": "；", "en": "; "}


def format_number(number: object) -> str:
    """1,200 and ¥6,000,000.50 as reasons show them: digits grouped, fen only when there are."""
    value = Decimal(str(number))
    if value != value.to_integral_value():
        return f"{value:,f}"
    return f"{int(value):,}"


def _pick(pair: tuple[str, str], lang: Lang) -> str:
    return pair[0] if lang == "zh" else pair[1]


def _measure(hit: Mapping[str, Any], lang: Lang) -> str:
    template = _pick(_HIT_RULES[hit["rule"]], lang)
    value = format_number(hit["value"])
    if hit.get("peak_factor") is not None:
        value = _pick(_PEAK, lang).format(
            value=value, factor=hit["peak_factor"], counted=format_number(hit["counted"])
        )
    return template.format(value=value, limit=format_number(hit["limit"]))


def hit_text(hit: Mapping[str, Any], lang: Lang) -> str:
    """One rule hit as a reason line, e.g. "失败笔数 1,200 ≥ 1,000 → B"."""
    rule = hit["rule"]
    if rule == "regulatory":
        trigger = f"{hit['trigger']} ({hit['title']})"
        if lang == "zh":
            trigger = f"{hit['trigger']}（{hit['title']}）"
        if hit.get("condition"):
            trigger += ("：" if lang == "zh" else ": ") + _measure(hit["condition"], lang)
        return _pick(_REGULATORY, lang).format(trigger=trigger, grade=hit["grade"])
    if rule == "not_recovered":
        peak = ""
        if hit.get("peak_factor") is not None:
            peak = _pick(_ESCALATION_PEAK, lang).format(factor=hit["peak_factor"])
        return _pick(_ESCALATION, lang).format(
            where=_pick(_ESCALATION_WHERE[hit.get("core_system")], lang),
            limit=hit["limit"],
            value=hit["value"],
            peak=peak,
            at=hit["at"],
            grade=hit["grade"],
        )
    if rule == "business_impact":
        return _pick(_CATCH_ALL, lang).format(grade=hit["grade"])
    if rule == "override":
        return _pick(_OVERRIDE, lang).format(reason=hit["reason"])
    return f"{_measure(hit, lang)} → {hit['grade']}"


def hit_lines(grade: str | None, hits: Sequence[Mapping[str, Any]], lang: Lang) -> list[str]:
    """The reasons of a grade, one a line; an ungraded event's is "no business impact"."""
    if grade is None and not hits:
        return [_pick(_NO_IMPACT, lang)]
    return [hit_text(hit, lang) for hit in hits]


def grade_reason_text(
    grade: str | None, hits: Iterable[Mapping[str, Any]] | None, stored: str | None, lang: Lang
) -> str:
    """An incident's grade reason in `lang` from its hits; a row graded before hits were stored
    (hits None) shows the text it has."""
    if hits is None:
        return stored or ""
    return _SEPARATOR[lang].join(hit_lines(grade, list(hits), lang))
