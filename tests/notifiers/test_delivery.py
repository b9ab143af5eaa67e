"""What holds for every channel: failures come back as outcomes, never as exceptions, and the
details never carry a credential."""

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from notifiers import ChannelConfig, build_client, channel_for, send, shared_client
from notifiers.answers import parse_retry_after
from tests.notifiers.builders import a_message, config
from tests.notifiers.receiver import Reply

TOKEN = "tok3n-0f5d3ad1c6b1a3e2d4c5b6a7980a1b2c"
SECRET = "SECs3cret-do-not-leak-0123456789"
HTTP_KINDS = ["dingtalk", "wecom", "feishu", "slack", "webhook"]
ROBOTS = ["dingtalk", "wecom", "feishu"]


def http_config(kind: str, base: str) -> ChannelConfig:
    return {
        "dingtalk": config("dingtalk", f"{base}/robot/send?access_token={TOKEN}", SECRET),
        "wecom": config("wecom", f"{base}/cgi-bin/webhook/send?key={TOKEN}"),
        "feishu": config("feishu", f"{base}/open-apis/bot/v2/hook/{TOKEN}", SECRET),
        "slack": config("slack", f"{base}/services/T0/B0/{TOKEN}"),
        "webhook": config("webhook", f"{base}/hooks/{TOKEN}", SECRET),
    }[kind]


@pytest.mark.parametrize("kind", HTTP_KINDS)
@pytest.mark.parametrize("status", [500, 502, 503])
def test_server_errors_are_retryable(receiver, client, kind, status) -> None:
    receiver.script(Reply(status, "<html>bad gateway</html>"))
    outcome = send(a_message(), http_config(kind, receiver.base), client=client)
    assert (outcome.ok, outcome.retryable) == (False, True)
    assert str(status) in outcome.detail


@pytest.mark.parametrize("kind", HTTP_KINDS)
def test_timeout_is_retryable(receiver, kind) -> None:
    receiver.script(Reply(200, {"errcode": 0, "code": 0}, delay=5.0))
    with build_client(httpx.Timeout(0.3), trust_env=False) as impatient:
        outcome = send(a_message(), http_config(kind, receiver.base), client=impatient)
    assert (outcome.ok, outcome.retryable) == (False, True)
    assert "timed out" in outcome.detail


def test_shared_timeouts_apply_to_requests_built_by_channels(receiver) -> None:
    # A bare httpx.Request has no timeout of its own; send must give it the client's.
    receiver.script(Reply(200, "ok", delay=5.0))
    with build_client(httpx.Timeout(0.3), trust_env=False) as impatient:
        started = datetime.now(UTC)
        send(a_message(), http_config("slack", receiver.base), client=impatient)
    assert datetime.now(UTC) - started < timedelta(seconds=3)


@pytest.mark.parametrize("kind", HTTP_KINDS)
def test_connection_refused_is_retryable(refused_url, client, kind) -> None:
    outcome = send(a_message(), http_config(kind, refused_url), client=client)
    assert (outcome.ok, outcome.retryable) == (False, True)
    assert "network error" in outcome.detail


@pytest.mark.parametrize("kind", [*ROBOTS, "slack"])
@pytest.mark.parametrize(
    "reply",
    [
        Reply(200, "<html><body>502 Bad Gateway</body></html>"),
        Reply(200, b"\xff\xfe garbage"),
        Reply(200, '["a", "json", "list"]'),
        Reply(200, ""),
    ],
)
def test_answers_that_are_not_the_vendor_speaking_are_retryable(
    receiver, client, kind, reply
) -> None:
    receiver.script(reply)
    outcome = send(a_message(), http_config(kind, receiver.base), client=client)
    assert (outcome.ok, outcome.retryable) == (False, True)
    assert "unexpected answer" in outcome.detail


@pytest.mark.parametrize("kind", ROBOTS)
def test_redirect_is_not_followed(receiver, client, kind) -> None:
    receiver.script(Reply(302, headers={"Location": receiver.url("/elsewhere")}))
    outcome = send(a_message(), http_config(kind, receiver.base), client=client)
    assert (outcome.ok, outcome.retryable) == (False, False)
    assert len(receiver.requests) == 1


@pytest.mark.parametrize("kind", ROBOTS)
def test_vendor_message_echoing_credentials_is_redacted(receiver, client, kind) -> None:
    echo = f"token {TOKEN} / secret {SECRET} is wrong"
    receiver.script(Reply(200, {"errcode": 300001, "errmsg": echo, "code": 19007, "msg": echo}))
    cfg = http_config(kind, receiver.base)
    outcome = send(a_message(), cfg, client=client)
    assert not outcome.ok
    assert TOKEN not in outcome.detail
    assert (SECRET in outcome.detail) == (cfg.secret is None)  # WeCom has no secret to hide
    assert "***" in outcome.detail


def test_exception_inside_a_channel_becomes_an_outcome(receiver, client, monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError(f"bug while rendering with {SECRET}")

    monkeypatch.setattr(type(channel_for("feishu")), "requests", broken)
    outcome = send(a_message(), http_config("feishu", receiver.base), client=client)
    assert (outcome.ok, outcome.retryable) == (False, True)
    assert "RuntimeError" in outcome.detail
    assert SECRET not in outcome.detail
    assert receiver.requests == []


def test_exception_inside_the_client_becomes_an_outcome(receiver) -> None:
    def explode(request: httpx.Request) -> httpx.Response:
        raise RuntimeError("transport bug")

    with httpx.Client(transport=httpx.MockTransport(explode)) as odd:
        outcome = send(a_message(), http_config("slack", receiver.base), client=odd)
    assert (outcome.ok, outcome.retryable) == (False, True)


def test_unknown_kind_is_an_outcome_from_send_and_a_value_error_elsewhere(client) -> None:
    outcome = send(a_message(), config("teams", "https://example.invalid/"), client=client)
    assert (outcome.ok, outcome.retryable) == (False, False)
    with pytest.raises(ValueError, match="dingtalk, wecom, feishu, slack, email, webhook"):
        channel_for("teams")


def test_bad_config_is_permanent_and_sends_nothing(receiver, client) -> None:
    cfg = config("feishu", receiver.url("/open-apis/bot/v2/hook/x"), "bad secret\n")
    outcome = send(a_message(), cfg, client=client)
    assert (outcome.ok, outcome.retryable) == (False, False)
    assert receiver.requests == []
    assert "bad secret" not in outcome.detail


def test_naive_now_is_refused_rather_than_signed_with_local_time(receiver, client) -> None:
    outcome = send(
        a_message(), http_config("dingtalk", receiver.base), client=client, now=datetime.now()
    )
    assert (outcome.ok, outcome.retryable) == (False, False)
    assert "aware" in outcome.detail
    assert receiver.requests == []


def test_shared_client_is_one_client_configured_for_robots() -> None:
    first = shared_client()
    assert shared_client() is first
    assert first.follow_redirects is False
    assert first.timeout == httpx.Timeout(15.0, connect=5.0)
    assert first.headers["User-Agent"] == "Stabilog/0.1"


def test_config_repr_hides_credentials() -> None:
    text = repr(http_config("dingtalk", "https://oapi.dingtalk.com"))
    assert TOKEN not in text
    assert SECRET not in text
    assert "oapi.dingtalk.com" in text


def test_retry_after_as_seconds_or_http_date() -> None:
    now = datetime(2023, 9, 9, 2, 0, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=90), usegmt=True), now) == 90
    assert parse_retry_after(format_datetime(now - timedelta(hours=1), usegmt=True), now) == 0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None
