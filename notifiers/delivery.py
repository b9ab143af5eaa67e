"""Sending: one httpx client for the process, and `send`, which never raises."""

import atexit
import threading
from dataclasses import replace
from datetime import UTC, datetime

import httpx

from notifiers.channels import channel_for
from notifiers.credentials import redact
from notifiers.message import Channel, ChannelConfig, DeliveryOutcome, DirectChannel, Message
from notifiers.text import DETAIL_MAX_CHARS, one_line

USER_AGENT = "Stabilog/0.1"
TIMEOUT = httpx.Timeout(15.0, connect=5.0)

_shared: httpx.Client | None = None
_shared_lock = threading.Lock()


def build_client(timeout: httpx.Timeout = TIMEOUT, *, trust_env: bool = True) -> httpx.Client:
    """A client as `send` expects one: redirects are not followed, since a 3xx is a failure to
    report (a moved robot URL needs a person), not something to chase with a signed body."""
    return httpx.Client(
        timeout=timeout,
        follow_redirects=False,
        headers={"User-Agent": USER_AGENT},
        trust_env=trust_env,
    )


def shared_client() -> httpx.Client:
    """The process's one client (connection pooling across every channel), closed at exit."""
    global _shared
    with _shared_lock:
        if _shared is None or _shared.is_closed:
            _shared = build_client()
            atexit.register(_shared.close)
        return _shared


def send(
    message: Message,
    config: ChannelConfig,
    *,
    client: httpx.Client,
    now: datetime | None = None,
) -> DeliveryOutcome:
    """Render, send and judge one message; every failure comes back as an outcome.

    Requests are rendered afresh on every call, so each attempt signs with its own time (the
    robots refuse a timestamp more than an hour old): hand `send` the Message, never stored
    requests. A split message (WeCom) stops at the first failing part; a retry sends every part
    again. The detail never contains the secret or the URL's credentials.
    """
    try:
        outcome = _send(message, config, client, now or datetime.now(UTC))
    except ValueError as exc:
        # A bad config or message: retrying the same thing cannot succeed.
        outcome = DeliveryOutcome.give_up(f"{config.kind}: {exc}")
    except Exception as exc:
        # A bug of ours must not kill the scheduler; the retry policy bounds the attempts.
        outcome = DeliveryOutcome.retry(f"{config.kind}: internal error {_describe(exc)}")
    return _safe(outcome, config)


def _send(
    message: Message, config: ChannelConfig, client: httpx.Client, now: datetime
) -> DeliveryOutcome:
    channel = channel_for(config.kind)
    channel.validate(config)
    if isinstance(channel, DirectChannel):
        return channel.deliver(message, config, now)
    requests = channel.requests(message, config, now)
    for number, request in enumerate(requests, 1):
        outcome = _exchange(client, request, channel)
        if not outcome.ok:
            if len(requests) > 1:
                detail = f"part {number}/{len(requests)} failed: {outcome.detail}"
                outcome = replace(outcome, detail=detail)
            return outcome
    parts = f" in {len(requests)} parts" if len(requests) > 1 else ""
    return DeliveryOutcome.delivered(f"{config.kind}: delivered{parts}")


def _exchange(client: httpx.Client, request: httpx.Request, channel: Channel) -> DeliveryOutcome:
    # Rebuilt through the client: a bare httpx.Request carries neither the client's headers
    # (User-Agent) nor its timeouts, and client.send would send it with no timeout at all.
    request = client.build_request(
        request.method, request.url, headers=request.headers, content=request.content
    )
    try:
        response = client.send(request)
    except httpx.TimeoutException as exc:
        return DeliveryOutcome.retry(f"{channel.kind}: timed out ({exc.__class__.__name__})")
    except httpx.TransportError as exc:
        return DeliveryOutcome.retry(f"{channel.kind}: network error {_describe(exc)}")
    return channel.parse(response)


def _describe(exc: BaseException) -> str:
    return f"{exc.__class__.__name__}: {exc}" if str(exc) else exc.__class__.__name__


def _safe(outcome: DeliveryOutcome, config: ChannelConfig) -> DeliveryOutcome:
    retry_after = outcome.retry_after
    if retry_after is not None:
        retry_after = max(0.0, retry_after)
    detail = one_line(redact(outcome.detail, config), DETAIL_MAX_CHARS)
    return replace(outcome, detail=detail, retry_after=retry_after)
