"""A channel's URL and secret: checked before use, and kept out of every detail we log."""

from urllib.parse import unquote, urlsplit

import httpx

from notifiers.message import ChannelConfig


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
