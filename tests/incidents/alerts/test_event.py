"""The shared pieces: the registry, the RFC 3339 parser, titles, fingerprints, error shapes."""

from datetime import UTC, datetime, timedelta

import pytest

from incidents.alerts import (
    KINDS,
    PayloadError,
    SignatureError,
    parse_delivery,
    parse_delivery_full,
)
from incidents.alerts.event import (
    TITLE_MAX,
    decode_json_object,
    fingerprint_of,
    one_line_title,
    parse_rfc3339,
    same_secret,
)
from incidents.errors import Invalid

from .builders import delivery, fixture


def test_kinds_are_the_four_documented_ones():
    assert KINDS == ("jiankongbao", "alertmanager", "grafana", "generic")


def test_unknown_kind_is_a_payload_error_on_kind():
    with pytest.raises(PayloadError) as caught:
        parse_delivery("nightingale", delivery(b"{}"))
    assert caught.value.field == "kind"
    assert "nightingale" in caught.value.message


def test_payload_error_is_the_domain_invalid_so_the_api_answers_422():
    error = PayloadError("alerts[3].startsAt", "not an RFC 3339 time")
    assert isinstance(error, Invalid)
    assert isinstance(error, ValueError)
    assert str(error) == "alerts[3].startsAt: not an RFC 3339 time"


def test_parse_delivery_is_the_events_of_parse_delivery_full():
    body = fixture("alertmanager_truncated.json")
    full = parse_delivery_full("alertmanager", delivery(body))
    assert parse_delivery("alertmanager", delivery(body)) == full.events


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2023-11-14T22:10:30Z", datetime(2023, 11, 14, 22, 10, 30, tzinfo=UTC)),
        ("2023-11-14T22:10:30.123Z", datetime(2023, 11, 14, 22, 10, 30, 123000, tzinfo=UTC)),
        # Go's RFC3339Nano: nine digits, cut (not rounded) to microseconds.
        (
            "2023-11-15T06:13:20.123456789+08:00",
            datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=UTC),
        ),
        ("2023-11-14t22:10:30z", datetime(2023, 11, 14, 22, 10, 30, tzinfo=UTC)),
        ("2023-11-14T17:40:30-04:30", datetime(2023, 11, 14, 22, 10, 30, tzinfo=UTC)),
        ("0001-01-01T00:00:00Z", datetime(1, 1, 1, tzinfo=UTC)),
    ],
)
def test_rfc3339_times_become_aware_utc(text, expected):
    parsed = parse_rfc3339(text)
    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "text",
    [
        "2023-11-14T22:10:30",  # no offset: ambiguous
        "2023-11-14",
        "1700000000",
        "2023-13-01T00:00:00Z",
        "2023-02-30T00:00:00Z",
        "2023-11-14T24:00:00Z",
        "2023-11-14T22:10:60Z",
        "2023-11-14T22:10:30+24:00",
        "2023-11-14T22:10:30+08:60",
        "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
        "9999-12-31T23:59:59-01:00",  # after year 9999 in UTC
        "２０２３-11-14T22:10:30Z",  # full-width digits
        " 2023-11-14T22:10:30Z",
        "",
    ],
)
def test_non_rfc3339_times_are_refused(text):
    with pytest.raises(ValueError, match="time"):
        parse_rfc3339(text)


def test_title_is_the_first_non_blank_line_collapsed():
    assert one_line_title("", "  \n  CPU   high\ton web-01\nmore") == "CPU high on web-01"
    assert one_line_title(None, "   ") is None
    assert one_line_title("a\u2028b") == "a"  # Unicode line separators end the line too


def test_title_is_truncated_to_the_limit():
    title = one_line_title("告" * 1000)
    assert title is not None
    assert len(title) == TITLE_MAX
    assert title.endswith("…")
    assert one_line_title("x" * TITLE_MAX) == "x" * TITLE_MAX


def test_fallback_fingerprint_is_stable_and_ignores_label_order():
    first = fingerprint_of("alertmanager", None, {"a": "1", "b": "2"})
    assert first == fingerprint_of("alertmanager", "", {"b": "2", "a": "1"})
    assert len(first) >= 16
    int(first, 16)
    assert first != fingerprint_of("grafana", None, {"a": "1", "b": "2"})
    assert first != fingerprint_of("alertmanager", None, {"a": "1", "b": "3"})
    assert fingerprint_of("alertmanager", "4e4c4c3d872bf6d8", {"a": "1"}) == "4e4c4c3d872bf6d8"


def test_same_secret_is_false_for_non_ascii_instead_of_raising():
    assert same_secret("abc", "abc")
    assert not same_secret("abç", "abc")
    assert not same_secret("\udc80", "abc")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"\xff\xfe{}", "not UTF-8"),
        (b'{"a": ', "not JSON"),
        (b"[1, 2]", "must be a JSON object, not an array"),
        (b'"x"', "must be a JSON object, not a string"),
        (b'{"a": NaN}', "NaN"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"a": ' + b"9" * 5000 + b"}", "not JSON we accept"),
    ],
)
def test_bodies_that_are_not_a_json_object_are_refused_on_body(body, message):
    with pytest.raises(PayloadError, match=message) as caught:
        decode_json_object(body)
    assert caught.value.field == "body"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"labels": {"job": "a\\u0000b"}}', "labels.job"),
        (b'{"alerts": [{}, {"title": "\\ud800"}]}', "alerts[1].title"),
        (b'{"x\\u0000": 1}', "x\x00"),
    ],
)
def test_strings_a_database_cannot_store_are_refused_with_their_path(body, field):
    with pytest.raises(PayloadError) as caught:
        decode_json_object(body)
    assert caught.value.field == field


def test_a_bom_is_tolerated():
    assert decode_json_object(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}


def test_signature_error_is_not_a_payload_error():
    # The API maps them to different statuses (401 vs 422); neither may catch the other.
    assert not issubclass(SignatureError, PayloadError)
    assert not issubclass(PayloadError, SignatureError)
