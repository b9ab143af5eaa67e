import pytest

from notifiers.text import split_lines, truncate, utf8_len


def test_split_keeps_lines_whole_and_rejoins() -> None:
    text = "一二三\n四五\n六七八九\n"
    pieces = split_lines(text, 13, utf8_len)
    assert pieces == ["一二三\n", "四五\n", "六七八九\n"]
    assert "".join(pieces) == text


def test_split_cuts_an_overlong_line_between_characters() -> None:
    text = "支付" * 10  # 60 bytes, no newline
    pieces = split_lines(text, 7, utf8_len)
    assert "".join(pieces) == text
    assert all(utf8_len(p) <= 7 for p in pieces)
    assert [len(p) for p in pieces] == [2] * 10


def test_split_of_short_and_empty_text() -> None:
    assert split_lines("abc", 10) == ["abc"]
    assert split_lines("", 10) == [""]
    with pytest.raises(ValueError, match="positive"):
        split_lines("abc", 0)


def test_truncate_keeps_whole_lines_and_adds_the_note() -> None:
    text = "".join(f"第{i}行内容\n" for i in range(100))
    cut = truncate(text, 200, utf8_len)
    assert utf8_len(cut) <= 200
    assert cut.endswith("……（内容过长，已截断）")
    assert cut.startswith("第0行内容\n第1行内容\n")
    assert truncate("短", 200, utf8_len) == "短"
