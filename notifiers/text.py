"""Fitting text into a channel: sizes in characters and bytes, splitting, truncation, links."""

import json
import re
from collections.abc import Callable, Iterable

# Shown where a message had to be cut to fit a vendor's size limit; the link follows it.
TRUNCATION_NOTE = "……（内容过长，已截断）"
LINK_LABEL = "查看详情"
TITLE_MAX_CHARS = 120
DETAIL_MAX_CHARS = 300


def one_line(text: str, limit: int = TITLE_MAX_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def json_len(text: str) -> int:
    """Bytes `text` takes inside a UTF-8 JSON string (quotes not counted); JSON escapes are
    per character, so the sizes of pieces add up."""
    return utf8_len(json.dumps(text, ensure_ascii=False)) - 2


def link_target(url: str) -> str:
    """A URL safe inside Markdown's `(…)`."""
    return url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")


def link_line(url: str | None) -> str:
    """The link to the incident or report, as a closing Markdown paragraph (or nothing)."""
    return f"\n\n[{LINK_LABEL}]({link_target(url)})" if url else ""


_HEADING = re.compile(r"^[ \t]*#{1,6}[ \t]+(.*?)[ \t#]*$", re.MULTILINE)


def headings_to_bold(markdown: str, marker: str) -> str:
    """Headings as bold lines, for dialects without headings (Slack mrkdwn, Feishu cards)."""
    return _HEADING.sub(lambda m: f"{marker}{m[1].strip('*')}{marker}" if m[1] else "", markdown)


def split_lines(text: str, limit: int, measure: Callable[[str], int] = len) -> list[str]:
    """Cut `text` into pieces of at most `limit` (by `measure`), on line boundaries where possible.

    Joining the pieces gives back `text` exactly. A line longer than `limit` is cut between
    characters, never inside one, so a multi-byte character is never split.
    """
    if limit <= 0:
        raise ValueError("limit must be positive")
    pieces: list[str] = []
    current = ""
    for line in _fitting_lines(text, limit, measure):
        if current and measure(current + line) > limit:
            pieces.append(current)
            current = ""
        current += line
    if current or not pieces:
        pieces.append(current)
    return pieces


def _fitting_lines(text: str, limit: int, measure: Callable[[str], int]) -> Iterable[str]:
    for line in text.splitlines(keepends=True):
        while measure(line) > limit:
            cut = _longest_prefix(line, limit, measure)
            yield line[:cut]
            line = line[cut:]
        if line:
            yield line


def _longest_prefix(text: str, limit: int, measure: Callable[[str], int]) -> int:
    low, high = 1, len(text)  # at least one character, so progress is always made
    while low < high:
        middle = (low + high + 1) // 2
        if measure(text[:middle]) <= limit:
            low = middle
        else:
            high = middle - 1
    return low


def truncate(text: str, limit: int, measure: Callable[[str], int] = len) -> str:
    """`text` if it fits in `limit`, else its leading lines and `TRUNCATION_NOTE`."""
    if measure(text) <= limit:
        return text
    note = "\n\n" + TRUNCATION_NOTE
    head = split_lines(text, max(limit - measure(note), 1), measure)[0]
    return head.rstrip("\n") + note
