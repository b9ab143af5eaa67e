"""STABILOG_LOG_FORMAT and STABILOG_ACCESS_LOG: the lines a log collector gets."""

import io
import json
import logging
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.logs import configure_logging
from api.main import create_app
from incidents.models import Role
from incidents.settings import Settings
from tests.incidents.alerts.builders import fixture


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """What the process's log handler writes; the root logger is put back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield io.StringIO()
    root.handlers[:] = handlers
    root.setLevel(level)


def served(settings: Settings, captured: io.StringIO, auth) -> tuple[str, list[str]]:
    """Logs configured as `stabilog serve` does; a webhook delivery, a page of incidents and a
    refused request. The webhook's key and the log's lines."""
    configure_logging(settings, captured)
    with TestClient(create_app(settings)) as client:
        path = client.post(
            "/api/v1/sources", json={"kind": "alertmanager", "name": "am"}, headers=auth[Role.admin]
        ).json()["webhook_path"]
        assert client.post(path, content=fixture("alertmanager_firing.json")).status_code == 200
        assert client.get("/api/v1/incidents?limit=5", headers=auth[Role.viewer]).is_success
        assert client.get("/api/v1/incidents").status_code == 401
    return path.rsplit("/", 1)[1], captured.getvalue().splitlines()


def test_json_logs_are_one_object_a_line_with_the_access_fields(
    settings: Settings, captured: io.StringIO, auth
) -> None:
    key, lines = served(settings.model_copy(update={"log_format": "json"}), captured, auth)

    entries = [json.loads(line) for line in lines]  # every line, not only the access lines
    access = [entry for entry in entries if entry["logger"] == "stabilog.access"]
    assert [(e["method"], e["path"], e["status"]) for e in access] == [
        ("POST", "/api/v1/sources", 201),
        ("POST", "/api/v1/webhooks/alertmanager/***", 200),
        ("GET", "/api/v1/incidents?limit=5", 200),
        ("GET", "/api/v1/incidents", 401),
    ]
    first = access[0]
    assert set(first) == {
        "time",
        "level",
        "logger",
        "message",
        "method",
        "path",
        "status",
        "duration_ms",
        "client",
    }
    assert first["level"] == "INFO"
    assert first["time"].endswith("+00:00")
    assert isinstance(first["duration_ms"], float)
    assert first["message"] == f"POST /api/v1/sources 201 {first['duration_ms']:.1f}ms"
    assert key not in captured.getvalue()


def test_text_logs_have_one_access_line_per_request(
    settings: Settings, captured: io.StringIO, auth
) -> None:
    key, lines = served(settings, captured, auth)

    access = [line for line in lines if " INFO stabilog.access: " in line]
    assert len(access) == 4
    assert " INFO stabilog.access: POST /api/v1/webhooks/alertmanager/*** 200 " in access[1]
    assert access[1].endswith("ms")
    assert key not in captured.getvalue()


def test_the_access_log_can_be_turned_off(settings: Settings, captured: io.StringIO, auth) -> None:
    _, lines = served(settings.model_copy(update={"access_log": False}), captured, auth)
    assert [line for line in lines if "stabilog.access" in line] == []


def test_a_line_with_an_exception_keeps_its_traceback_in_one_object(
    settings: Settings, captured: io.StringIO
) -> None:
    configure_logging(settings.model_copy(update={"log_format": "json"}), captured)
    try:
        raise ValueError("the outbox is on fire")
    except ValueError:
        logging.getLogger("stabilog.jobs").exception(
            "job failed for /api/v1/webhooks/generic/s3cr3t-key"
        )

    (entry,) = [json.loads(line) for line in captured.getvalue().splitlines()]
    assert entry["level"] == "ERROR"
    assert entry["message"] == "job failed for /api/v1/webhooks/generic/***"
    assert "ValueError: the outbox is on fire" in entry["exception"]


def test_outbound_request_urls_stay_out_of_the_log(
    settings: Settings, captured: io.StringIO
) -> None:
    # httpx writes "HTTP Request: POST <url>" at INFO; a DingTalk URL carries its access token.
    configure_logging(settings, captured)
    logging.getLogger("httpx").info(
        "HTTP Request: POST https://oapi.dingtalk.com/robot/send?access_token=abc123"
    )
    assert "abc123" not in captured.getvalue()
