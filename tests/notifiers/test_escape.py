import pytest

from notifiers import KINDS, escape_for

ATTACKS = {
    "[点我](http://evil.example)": ["](", "[点我]"],
    "![img](http://evil.example/x.png)": ["](", "!["],
    "<font color=red>已恢复</font>": ["<font", "</font>"],
    '<font color="warning">P0</font>': ["<font"],
    "<@zhangsan> 请处理": ["<@"],
    "@all 紧急": ["@all"],
    "@所有人 紧急": ["@所有人"],
    '<at user_id="all">所有人</at>': ["<at", "</at>"],
    "<at id=all></at>": ["<at"],
    "<!channel> <!here>": ["<!channel>", "<!here>"],
    "<https://evil.example|看这里>": ["<https://"],
    "<script>alert(1)</script>": ["<script>", "</script>"],
    "# 已全部恢复": ["# "],
    "> 引用伪装": ["> "],
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize(("text", "forbidden"), ATTACKS.items())
def test_markup_and_mentions_are_neutralised(kind, text, forbidden) -> None:
    escaped = escape_for(kind, text)
    for fragment in forbidden:
        assert fragment not in escaped
    assert escaped != text


@pytest.mark.parametrize("kind", KINDS)
def test_plain_text_is_left_alone_and_escaping_twice_changes_nothing(kind) -> None:
    plain = "9/7 17:45 监控宝收到告警，38个监测点不可用，持续2mins后恢复（未影响业务）"
    assert escape_for(kind, plain) == plain
    once = escape_for(kind, "<@all> [x](y)\n# z")
    assert escape_for(kind, once) == once


def test_multi_line_text_keeps_its_lines() -> None:
    assert (
        escape_for("dingtalk", "第一行\n# 第二行\n  > 第三行") == "第一行\n＃ 第二行\n  ＞ 第三行"
    )


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="known: dingtalk"):
        escape_for("teams", "x")
