"""Receivers on 127.0.0.1 and a client pointed only at them."""

import socket
from collections.abc import Iterator

import httpx
import pytest

from notifiers import build_client
from tests.notifiers.receiver import Receiver

LOOPBACK = "127.0.0.1"


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every name these tests resolve must be 127.0.0.1: nothing may leave the machine."""
    real = socket.getaddrinfo

    def guarded(host, *args, **kwargs):  # type: ignore[no-untyped-def]
        host_text = host.decode() if isinstance(host, bytes) else host
        if host_text != LOOPBACK:
            raise OSError(f"test tried to reach {host_text!r}; only {LOOPBACK} is allowed")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)
    # smtplib and aiosmtpd name themselves with getfqdn(), a DNS lookup we do not need.
    monkeypatch.setattr(socket, "getfqdn", lambda name="": "stabilog-test.localdomain")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    # trust_env=False: a proxy from the environment must not see (or swallow) test traffic.
    with build_client(httpx.Timeout(3.0), trust_env=False) as test_client:
        yield test_client


@pytest.fixture
def refused_url() -> Iterator[str]:
    """A port that is bound but never listens, so connecting is refused every time."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        yield f"http://{LOOPBACK}:{sock.getsockname()[1]}"
