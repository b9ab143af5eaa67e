"""What every channel shares: the message and outcome types, the two channel protocols, and the
helpers for sizes, splitting, escaping, signing, redaction and classifying answers.

A channel is one module with one small class. HTTP channels turn a `Message` into requests and
an answer into a `DeliveryOutcome`; they never send anything themselves, so one shared client,
one retry policy and one outbox (all outside the channel) serve them all.
"""

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol, runtime_checkable
from urllib.parse import unquote, urlsplit

import httpx

# Shown where a message had to be cut to fit a vendor's size limit; the link follows it.
TRUNCATION_NOTE = "……（内容过长，已截断）"
LINK_LABEL = "查看详情"
TITLE_MAX_CHARS = 120
DETAIL_MAX_CHARS = 300
_SNIPPET_CHARS = 160


@dataclass(frozen=True)
class Message:
    """One notification, independent of the channel it goes to.

    `title` is plain text: channels escape it themselves wherever it lands in markup. `markdown`
    is trusted Markdown, embedded as is: whoever builds it passes every piece of user text
    (alert titles, incident titles, remediation notes) through `escape_for` first.
    """

    title: str
    markdown: str
    url: str | None = None
    event: str = "generic"
    idempotency_key: str = ""


@dataclass(frozen=True)
class ChannelConfig:
    kind: str
    url: str = field(repr=False)
    secret: str | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        # The URL of a robot is its credential (access_token, key, Slack path): keep it out of
        # logs and tracebacks.
        host = urlsplit(self.url).hostname if "://" in self.url else None
        return f"ChannelConfig(kind={self.kind!r}, host={host!r})"


@dataclass(frozen=True)
class DeliveryOutcome:
    ok: bool
    retryable: bool
    detail: str
    retry_after: float | None = None

    @classmethod
    def delivered(cls, detail: str = "delivered") -> "DeliveryOutcome":
        return cls(ok=True, retryable=False, detail=detail)

    @classmethod
    def retry(cls, detail: str, retry_after: float | None = None) -> "DeliveryOutcome":
        return cls(ok=False, retryable=True, detail=detail, retry_after=retry_after)

    @classmethod
    def give_up(cls, detail: str) -> "DeliveryOutcome":
        return cls(ok=False, retryable=False, detail=detail)


@runtime_checkable
class Channel(Protocol):
    """A channel spoken over HTTP: render requests, judge the answer. Sending is not its job."""

    kind: str

    def validate(self, config: ChannelConfig) -> None: ...

    def requests(
        self, message: Message, config: ChannelConfig, now: datetime
    ) -> list[httpx.Request]: ...

    def parse(self, response: httpx.Response) -> DeliveryOutcome: ...


@runtime_checkable
class DirectChannel(Protocol):
    """A channel that is not HTTP (e-mail over SMTP) and so delivers by itself."""

    kind: str

    def validate(self, config: ChannelConfig) -> None: ...

    def deliver(
        self, message: Message, config: ChannelConfig, now: datetime | None = None
    ) -> DeliveryOutcome: ...


# --- time -------------------------------------------------------------------------------------


def epoch_seconds(now: datetime) -> int:
    return int(_aware(now).timestamp())


def epoch_millis(now: datetime) -> int:
    return int(_aware(now).timestamp() * 1000)


def _aware(now: datetime) -> datetime:
    # A naive datetime would be read as local time by .timestamp() and sign with the wrong clock.
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    return now


def iso_utc(now: datetime) -> str:
    return _aware(now).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- signing ----------------------------------------------------------------------------------


def hmac_sha256_b64(key: bytes, message: bytes) -> str:
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode("ascii")


def check_secret(secret: str, label: str) -> None:
    """A signing secret is one printable ASCII token; pasted whitespace is the usual mistake."""
    if not secret.strip():
        raise ValueError(f"{label}: the secret is blank")
    if not secret.isascii() or not secret.isprintable() or any(c.isspace() for c in secret):
        raise ValueError(
            f"{label}: the secret must be printable ASCII without spaces or line breaks"
        )


# --- text -------------------------------------------------------------------------------------

_MARKUP_LOOKALIKES = str.maketrans({"<": "＜", ">": "＞", "[": "［", "]": "］", "@": "＠"})
_LINE_START_MARKUP = re.compile(r"^([ \t]*)([#>])", re.MULTILINE)


def neutralise(text: str) -> str:
    """User text made inert in every channel's Markdown dialect.

    Full-width look-alikes instead of backslashes or entities, because the robots disagree on
    which escapes they honour, and a Chinese reader sees nothing odd in ［］＜＞＠. Replacing `<`
    and `>` stops HTML (`<font>`, `<script>`), WeCom `<@user>`, Feishu `<at …>`, Slack
    `<!channel>` and `<url|text>`; replacing the brackets stops `[text](url)` and images;
    replacing every `@` stops `@all` / `@所有人` / `@here`; a line-leading `#` or `>` would
    open a heading or a quote. Idempotent, so text escaped twice reads the same.
    """
    text = text.translate(_MARKUP_LOOKALIKES)
    return _LINE_START_MARKUP.sub(lambda m: m[1] + ("＃" if m[2] == "#" else "＞"), text)


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


# --- answers ----------------------------------------------------------------------------------


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def snippet(response: httpx.Response) -> str:
    try:
        text = response.text
    except (UnicodeDecodeError, LookupError):
        return f"{len(response.content)} bytes"
    return one_line(text, _SNIPPET_CHARS) if text.strip() else "empty body"


def status_outcome(response: httpx.Response, label: str) -> DeliveryOutcome:
    """Judge an answer by its HTTP status alone (the Standard Webhooks delivery rules).

    2xx ok; 3xx a failure, since redirects are not followed and a moved endpoint needs a new URL;
    410 means the receiver wants no more; 408, 429 and 5xx are worth another try; any other 4xx
    will not get better by retrying.
    """
    status = response.status_code
    if 200 <= status < 300:
        return DeliveryOutcome.delivered(f"{label}: HTTP {status}")
    detail = f"{label}: HTTP {status}: {snippet(response)}"
    if 300 <= status < 400:
        return DeliveryOutcome.give_up(
            f"{label}: HTTP {status} redirect, not followed; fix the URL"
        )
    if status == 410:
        return DeliveryOutcome.give_up(f"{label}: HTTP 410, the receiver disabled this endpoint")
    if status in (408, 429) or status >= 500:
        return DeliveryOutcome.retry(detail, parse_retry_after(response.headers.get("retry-after")))
    return DeliveryOutcome.give_up(detail)


def coded_outcome(
    response: httpx.Response,
    label: str,
    *,
    code_fields: tuple[str, ...],
    message_fields: tuple[str, ...],
    retry_codes: Mapping[int, float | None],
) -> DeliveryOutcome:
    """Judge a chat robot's answer: a JSON object whose code is 0 on success.

    The robots report business errors with HTTP 200, so the code decides. A code listed in
    `retry_codes` (rate limits, "system busy") is retried, after the listed seconds if any; any
    other non-zero code is a rejection that retrying cannot fix (bad token, keyword, signature),
    unless the HTTP status itself says the vendor was overloaded. An answer without a code is
    not the robot speaking (a proxy's error page, say), so it is judged by status and retried.
    """
    http = status_outcome(response, label)
    data = _json_object(response)
    codes = [_as_int(data[name]) for name in code_fields if name in data] if data else []
    if not codes or None in codes:
        if not http.ok:
            return http
        return DeliveryOutcome.retry(f"{label}: unexpected answer: {snippet(response)}")
    code = next((c for c in codes if c != 0), 0)
    if code == 0:
        return http
    message = next((str(data[name]) for name in message_fields if data.get(name)), "")
    detail = one_line(f"{label} code {code}: {message}", DETAIL_MAX_CHARS)
    header_delay = parse_retry_after(response.headers.get("retry-after"))
    if code in retry_codes:
        delays = [d for d in (retry_codes[code], header_delay) if d is not None]
        return DeliveryOutcome.retry(detail, max(delays) if delays else None)
    if http.retryable:
        return DeliveryOutcome.retry(detail, header_delay)
    return DeliveryOutcome.give_up(detail)


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        data = response.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def json_request(
    url: str | httpx.URL, payload: Any, headers: Mapping[str, str] | None = None
) -> httpx.Request:
    """A POST of compact UTF-8 JSON: Chinese stays 3 bytes a character instead of 6 as \\uXXXX,
    which matters against the robots' byte limits."""
    return httpx.Request(
        "POST",
        url,
        content=json_bytes(payload),
        headers={"Content-Type": "application/json;charset=utf-8", **(headers or {})},
    )


def json_bytes(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# --- configuration ----------------------------------------------------------------------------


def require_http_url(config: ChannelConfig, label: str) -> httpx.URL:
    """The robot URL, refused unless it is an absolute http(s) URL with a host."""
    raw = config.url.strip() if config.url else ""
    if not raw or any(c.isspace() for c in raw):
        raise ValueError(f"{label}: the URL is empty or contains spaces")
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{label}: the URL must start with http:// or https:// and name a host")
    try:
        return httpx.URL(raw)
    except httpx.InvalidURL as exc:
        raise ValueError(f"{label}: the URL is malformed ({exc.__class__.__name__})") from None


def no_secret_expected(config: ChannelConfig, label: str, why: str) -> None:
    if config.secret:
        raise ValueError(f"{label}: robots are not signed ({why}); leave the secret empty")


def redact(text: str, config: ChannelConfig) -> str:
    """`text` with the secret and every credential-looking part of the URL replaced by ***."""
    for value in sorted(_sensitive_values(config), key=len, reverse=True):
        text = text.replace(value, "***")
    return text


def _sensitive_values(config: ChannelConfig) -> set[str]:
    values = {config.secret} if config.secret else set()
    if config.url:
        values.add(config.url)
        try:
            parts = urlsplit(config.url)
            values.update(v for v in (parts.password, parts.username) if v)
        except ValueError:
            parts = None
        # An SMTP URL's query is only from/to/starttls; its credentials are user and password.
        if parts is not None and parts.scheme in ("http", "https"):
            for pair in parts.query.split("&"):
                _, _, value = pair.partition("=")
                if len(value) >= 4:
                    values.add(value)
            segments = [s for s in parts.path.split("/") if s]
            # Slack's and Feishu's tokens are the last path segment; long ones elsewhere too.
            values.update(
                s
                for i, s in enumerate(segments)
                if len(s) >= 16 or (i == len(segments) - 1 and len(s) >= 8)
            )
    return {v for v in values | {unquote(v) for v in values} if v}
