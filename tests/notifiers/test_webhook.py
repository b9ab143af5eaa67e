import base64
from datetime import UTC, datetime

import pytest

from notifiers import send
from notifiers.webhook import Webhook, signature, signing_key
from tests.notifiers.builders import INCIDENT_URL, a_message, config
from tests.notifiers.receiver import Reply
from tests.notifiers.robots import standard_webhooks_receiver

SECRET = "whsec_" + base64.b64encode(b"stabilog-test-key-32-bytes-long!").decode()


def test_signature_matches_the_published_vector() -> None:
    key = signing_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    signed = signature(key, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", b'{"test": 2432232314}')
    assert signed == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_signed_delivery_is_verified_by_the_receiver(receiver, client) -> None:
    receiver.script(standard_webhooks_receiver(SECRET))
    outcome = send(a_message(), config("webhook", receiver.url(), SECRET), client=client)
    assert outcome.ok, outcome.detail
    recorded = receiver.last
    assert recorded.headers["webhook-id"] == "outbox-17"
    assert recorded.headers["content-type"] == "application/json"
    body = recorded.json()
    assert body["type"] == "stabilog.incident"
    assert body["timestamp"].endswith("Z")
    assert body["data"] == {
        "title": "【C级事故】履约POS付款单失败545笔",
        "markdown": a_message().markdown,
        "url": INCIDENT_URL,
    }


def test_raw_secret_is_used_as_utf8(receiver, client) -> None:
    receiver.script(standard_webhooks_receiver("plain-shared-secret"))
    cfg = config("webhook", receiver.url(), "plain-shared-secret")
    assert send(a_message(), cfg, client=client).ok


def test_wrong_key_fails_verification(receiver, client) -> None:
    receiver.script(standard_webhooks_receiver(SECRET))
    cfg = config("webhook", receiver.url(), "whsec_" + base64.b64encode(b"other").decode())
    outcome = send(a_message(), cfg, client=client)
    assert (outcome.ok, outcome.retryable) == (False, False)
    assert "401" in outcome.detail


def test_webhook_id_is_stable_across_retries(receiver, client) -> None:
    receiver.script(Reply(503), standard_webhooks_receiver(SECRET))
    cfg = config("webhook", receiver.url(), SECRET)
    assert send(a_message(), cfg, client=client).retryable
    assert send(a_message(), cfg, client=client).ok
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == "outbox-17"


@pytest.mark.parametrize(
    ("reply", "ok", "retryable", "retry_after"),
    [
        (Reply(200, "thanks"), True, False, None),
        (Reply(204), True, False, None),
        (Reply(301, headers={"Location": "https://elsewhere.example/"}), False, False, None),
        (Reply(302, headers={"Location": "/other"}), False, False, None),
        (Reply(410, "gone"), False, False, None),
        (Reply(429, headers={"Retry-After": "30"}), False, True, 30.0),
        (Reply(502, headers={"Retry-After": "5"}), False, True, 5.0),
        (Reply(503), False, True, None),
        (Reply(504), False, True, None),
        (Reply(500), False, True, None),
        (Reply(400, "bad"), False, False, None),
        (Reply(401), False, False, None),
        (Reply(404), False, False, None),
    ],
)
def test_status_semantics(receiver, client, reply, ok, retryable, retry_after) -> None:
    receiver.script(reply)
    outcome = send(a_message(), config("webhook", receiver.url(), SECRET), client=client)
    assert (outcome.ok, outcome.retryable, outcome.retry_after) == (ok, retryable, retry_after)
    assert len(receiver.requests) == 1  # a redirect is never followed


def test_event_must_fit_the_type_grammar() -> None:
    cfg = config("webhook", "https://hooks.example.com/x", SECRET)
    with pytest.raises(ValueError, match="event"):
        Webhook().requests(a_message(event="weekly report"), cfg, datetime.now(UTC))


def test_bad_event_is_a_permanent_outcome_not_an_exception(receiver, client) -> None:
    outcome = send(a_message(event="a.b"), config("webhook", receiver.url(), SECRET), client=client)
    assert (outcome.ok, outcome.retryable) == (False, False)
    assert receiver.requests == []
