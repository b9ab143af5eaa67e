"""Helpers for the page tests: signing a test client in, and alerts arriving by webhook."""

import json
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from api.web.auth import csrf_token
from incidents.alerts.models import SourceCreate, SourceKind
from incidents.alerts.sources import create_source, webhook_path
from incidents.models import Role
from incidents.tokens import create_token
from tests.web.browser import browser, live_server

# Fixtures every page test file may use: the shared chromium and the live uvicorn server.
__all__ = ["browser", "live_server"]

SignIn = Callable[..., str]


@pytest.fixture
def sign_in(client: TestClient, session: Session) -> SignIn:
    """Signs the test client in with a new token of `role`; returns the forms' CSRF token."""

    def sign_in(role: Role = Role.oncall, name: str | None = None) -> str:
        _, plain = create_token(session, name or f"web-{role.value}", role)
        session.commit()
        response = client.post("/login", data={"token": plain}, follow_redirects=False)
        assert response.status_code == 303, response.text
        return csrf_token(plain)

    return sign_in


def am_delivery(*fingerprints: str, title: str = "履约 接口错误率高于1%") -> bytes:
    """An Alertmanager v4 notification of firing alerts that started just now."""
    started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps(
        {
            "version": "4",
            "status": "firing",
            "receiver": "stabilog",
            "groupKey": "{}:{}",
            "alerts": [
                {
                    "status": "firing",
                    "labels": {"alertname": "PayErrors", "severity": "critical", "service": "履约"},
                    "annotations": {"summary": title},
                    "startsAt": started,
                    "endsAt": "0001-01-01T00:00:00Z",
                    "fingerprint": fingerprint,
                }
                for fingerprint in fingerprints
            ],
        }
    ).encode()


@pytest.fixture
def alert_webhook(session: Session) -> str:
    """The webhook path of an Alertmanager source without a secret."""
    source = create_source(session, SourceCreate(kind=SourceKind.alertmanager, name="prod-am"))
    session.commit()
    return webhook_path(source)
