"""Whatever arrives, a parser answers with events or with PayloadError / SignatureError.

Bodies are signed correctly where the kind signs, so the fuzzing reaches the parsing and not
only the signature check.
"""

import copy
import json
from datetime import datetime
from urllib.parse import parse_qsl, urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incidents.alerts import (
    TITLE_MAX,
    AlertEvent,
    Delivery,
    PayloadError,
    SignatureError,
    parse_delivery,
)

from .builders import (
    GRAFANA_SECRET,
    JKB_SECRET,
    NOW,
    delivery,
    fixture,
    fixture_json,
    form_delivery,
    generic_delivery,
    grafana_delivery,
    jkb_token,
)

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

AM_FIXTURES = [
    "alertmanager_firing.json",
    "alertmanager_resolved.json",
    "alertmanager_mixed.json",
    "alertmanager_truncated.json",
]
GRAFANA_FIXTURES = ["grafana_firing.json", "grafana_resolved_valuestring.json"]
GENERIC_FIXTURES = ["generic_single.json", "generic_batch.json"]
JKB_FORMS = ["jiankongbao_post_fault.form", "jiankongbao_post_recovery.form"]

# Values a vendor might plausibly get wrong, besides arbitrary JSON.
EDGE_VALUES = st.sampled_from(
    [
        "",
        "firing",
        "resolved",
        "0001-01-01T00:00:00Z",
        "2023-11-14T22:10:30.123456789+08:00",
        "9999-12-31T23:59:59-01:00",
        "1700000000",
        "\u0000",
        "\ud800",
        "a\nb",
        "x" * 400,
        "4",
        "1",
        -1,
        2**70,
        1e308,
        True,
        None,
        {},
        [],
    ]
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


def outcome(kind: str, item: Delivery) -> list[AlertEvent] | None:
    try:
        events = parse_delivery(kind, item, now=NOW)
    except (PayloadError, SignatureError) as error:
        refusal = str(error)
    else:
        check_events(events)
        return events
    assert refusal  # a message the API can show
    return None


def check_events(events: object) -> None:
    assert isinstance(events, list)
    for event in events:
        assert isinstance(event, AlertEvent)
        assert event.status in ("firing", "resolved")
        assert isinstance(event.fingerprint, str)
        assert 0 < len(event.fingerprint) <= 255
        assert isinstance(event.title, str)
        assert 0 < len(event.title) <= TITLE_MAX
        assert event.title == event.title.strip()
        assert len(event.title.splitlines()) == 1
        assert event.severity is None or isinstance(event.severity, str)
        for mapping in (event.labels, event.annotations):
            assert all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items())
        assert isinstance(event.starts_at, datetime)
        assert event.starts_at.utcoffset() is not None
        assert event.starts_at.utcoffset().total_seconds() == 0
        if event.status == "firing":
            assert event.ends_at is None
        elif event.ends_at is not None:
            assert event.ends_at.utcoffset().total_seconds() == 0
        assert event.url is None or isinstance(event.url, str)
        assert isinstance(event.raw, dict)
        # What the ingest layer stores must be storable: JSON without NaN, UTF-8, no NUL.
        stored = json.dumps(
            [event.raw, event.labels, event.annotations, event.title], allow_nan=False
        )
        assert "\\u0000" not in stored
        json.dumps(event.raw, ensure_ascii=False).encode("utf-8")


def _slots(data: object) -> list[tuple[object, object]]:
    """Every (container, key) in `data`, the places a mutation can hit."""
    slots: list[tuple[object, object]] = []
    stack = [data]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in list(items):
            slots.append((node, key))
            if isinstance(value, dict | list):
                stack.append(value)
    return slots


@st.composite
def mutated_json(draw: st.DrawFn, data: object) -> object:
    data = copy.deepcopy(data)
    for _ in range(draw(st.integers(1, 4))):
        slots = _slots(data)
        if not slots:
            break
        container, key = draw(st.sampled_from(slots))
        action = draw(st.sampled_from(["replace", "edge", "delete", "insert"]))
        if action == "delete":
            del container[key]  # type: ignore[index]
        elif action == "insert" and isinstance(container, dict):
            container[draw(st.text(max_size=12))] = draw(JSON_VALUES)
        else:
            value = draw(EDGE_VALUES if action == "edge" else JSON_VALUES)
            container[key] = copy.deepcopy(value)  # type: ignore[index]
    return data


@st.composite
def mutated_bytes(draw: st.DrawFn, body: bytes) -> bytes:
    for _ in range(draw(st.integers(1, 3))):
        start = draw(st.integers(0, len(body)))
        end = draw(st.integers(start, min(len(body), start + 8)))
        body = body[:start] + draw(st.binary(max_size=8)) + body[end:]
    return body


def _encode(data: object) -> bytes:
    # ASCII-escaped, so a drawn lone surrogate arrives as the JSON escape a sender could send.
    return json.dumps(data).encode()


# --- Alertmanager --------------------------------------------------------------------------


@FUZZ
@given(body=st.binary(max_size=2000))
def test_alertmanager_arbitrary_bytes(body):
    outcome("alertmanager", delivery(body))


@FUZZ
@given(data=st.data(), name=st.sampled_from(AM_FIXTURES))
def test_alertmanager_mutated_payloads(data, name):
    payload = data.draw(mutated_json(fixture_json(name)))
    outcome("alertmanager", delivery(_encode(payload)))


@FUZZ
@given(data=st.data(), name=st.sampled_from(AM_FIXTURES))
def test_alertmanager_mutated_bytes(data, name):
    outcome("alertmanager", delivery(data.draw(mutated_bytes(fixture(name)))))


# --- Grafana -------------------------------------------------------------------------------


@FUZZ
@given(body=st.binary(max_size=2000), signed=st.booleans())
def test_grafana_arbitrary_bytes(body, signed):
    outcome("grafana", grafana_delivery(body, GRAFANA_SECRET if signed else None))


@FUZZ
@given(data=st.data(), name=st.sampled_from(GRAFANA_FIXTURES))
def test_grafana_mutated_payloads(data, name):
    payload = data.draw(mutated_json(fixture_json(name)))
    outcome("grafana", grafana_delivery(_encode(payload)))


@FUZZ
@given(data=st.data(), name=st.sampled_from(GRAFANA_FIXTURES))
def test_grafana_mutated_bytes(data, name):
    outcome("grafana", grafana_delivery(data.draw(mutated_bytes(fixture(name)))))


@FUZZ
@given(
    headers=st.dictionaries(
        st.sampled_from(
            ["x-grafana-alerting-signature", "x-grafana-alerting-timestamp", "authorization"]
        ),
        st.text(max_size=80),
    )
)
def test_grafana_arbitrary_headers(headers):
    item = delivery(fixture("grafana_firing.json"), headers=headers, secret=GRAFANA_SECRET)
    outcome("grafana", item)


# --- generic -------------------------------------------------------------------------------


@FUZZ
@given(body=st.binary(max_size=2000))
def test_generic_arbitrary_bytes(body):
    outcome("generic", generic_delivery(body))


@FUZZ
@given(data=st.data(), name=st.sampled_from(GENERIC_FIXTURES))
def test_generic_mutated_payloads(data, name):
    payload = data.draw(mutated_json(fixture_json(name)))
    outcome("generic", generic_delivery(_encode(payload)))


@FUZZ
@given(data=st.data(), name=st.sampled_from(GENERIC_FIXTURES))
def test_generic_mutated_bytes(data, name):
    outcome("generic", generic_delivery(data.draw(mutated_bytes(fixture(name)))))


@FUZZ
@given(
    headers=st.dictionaries(
        st.sampled_from(["webhook-id", "webhook-timestamp", "webhook-signature"]),
        st.text(max_size=80),
    ),
    secret=st.one_of(st.none(), st.text(max_size=40), st.just("whsec_").map(lambda p: p + "a=")),
)
def test_generic_arbitrary_headers_and_secrets(headers, secret):
    outcome("generic", delivery(fixture("generic_single.json"), headers=headers, secret=secret))


# --- 监控宝 --------------------------------------------------------------------------------

FORM_FIELDS = st.dictionaries(
    st.sampled_from(
        [
            *("msg_id", "task_id", "fault_time", "message_type", "message_status"),
            *("task_status", "task_summary", "task_name", "content", "server_id", "extra"),
        ]
    ),
    st.text(max_size=40)
    | st.from_regex(r"\A[0-9]{1,12}\Z")
    | st.from_regex(r"\A(%[0-9A-Fa-f]{2}|\+|.){0,20}\Z"),
)


def _with_token(fields: dict[str, str]) -> dict[str, str]:
    token = jkb_token(
        fields.get("msg_id", ""), fields.get("task_id", ""), fields.get("fault_time", "")
    )
    return fields | {"token": token}


@FUZZ
@given(
    body=st.binary(max_size=2000),
    content_type=st.sampled_from(["", "application/x-www-form-urlencoded", "application/json"]),
)
def test_jiankongbao_arbitrary_bytes(body, content_type):
    outcome("jiankongbao", delivery(body, content_type=content_type, secret=JKB_SECRET))


@FUZZ
@given(
    fields=FORM_FIELDS,
    method=st.sampled_from(["GET", "POST", "JSON"]),
    over_fixture=st.booleans(),
)
def test_jiankongbao_arbitrary_fields_correctly_signed(fields, method, over_fixture):
    if over_fixture:  # drawn fields over a real callback's, so many of them parse
        base = parse_qsl(fixture("jiankongbao_post_fault.form").decode(), keep_blank_values=True)
        fields = dict(base) | fields
    signed = _with_token(fields)
    if method == "GET":
        item = delivery(method="GET", content_type="", query=signed, secret=JKB_SECRET)
    elif method == "POST":
        body = urlencode(signed, errors="surrogatepass").encode()
        item = form_delivery(body)
    else:
        item = delivery(_encode(signed), secret=JKB_SECRET)
    outcome("jiankongbao", item)


@FUZZ
@given(data=st.data(), name=st.sampled_from(JKB_FORMS), resign=st.booleans())
def test_jiankongbao_mutated_forms(data, name, resign):
    fields = dict(parse_qsl(fixture(name).decode(), keep_blank_values=True))
    mutated = data.draw(mutated_json(fields))
    if resign:
        texts = {name: value for name, value in mutated.items() if isinstance(value, str)}
        mutated = mutated | {"token": _with_token(texts)["token"]}
    body = urlencode(mutated, errors="surrogatepass").encode()
    outcome("jiankongbao", form_delivery(body))
    outcome("jiankongbao", delivery(_encode(mutated), secret=JKB_SECRET))


@FUZZ
@given(data=st.data(), name=st.sampled_from([*JKB_FORMS, "jiankongbao_json.json"]))
def test_jiankongbao_mutated_bytes(data, name):
    outcome(
        "jiankongbao",
        delivery(data.draw(mutated_bytes(fixture(name))), content_type="", secret=JKB_SECRET),
    )
