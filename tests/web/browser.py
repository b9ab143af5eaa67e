"""The real browser for the page tests: Debian's chromium driven by Playwright against uvicorn on
127.0.0.1, and numbered screenshots in test-output/screenshots/. Without /usr/bin/chromium the
browser tests are skipped on a developer's machine; under CI=true a missing browser, or a missing
Chinese font (`fc-list :lang=zh` empty: the screenshots would show boxes), fails them.
"""

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from api.main import create_app
from incidents.settings import Settings

CHROMIUM = Path("/usr/bin/chromium")
# The machine has no outside network: nothing may try to reach it.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
PHONE = {"width": 390, "height": 844}
BIG_SCREEN = {"width": 1920, "height": 1080}


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI must run the browser tests")
    pytest.skip(reason)


def _chinese_fonts() -> str:
    """The fonts fontconfig would hand Chromium for Chinese text; empty when there are none."""
    if shutil.which("fc-list") is None:
        return ""
    return subprocess.run(
        ["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=False
    ).stdout.strip()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    # Without a CJK font every screenshot shows boxes for the Chinese pages, and the tests would
    # still pass; the screenshots are what a reviewer looks at, so that is a failure under CI.
    if not _chinese_fonts():
        _unavailable("no Chinese font for the screenshots (apt-get install fonts-wqy-microhei)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is missing (pip install playwright)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def live_server(database_url: str, engine) -> Iterator[str]:
    """The whole application served by uvicorn on a free port of 127.0.0.1."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(
        create_app(Settings(database_url=database_url)), log_level="warning", lifespan="on"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=15)
    listener.close()


# A 2-core CI machine runs chromium and PostgreSQL beside the server, and once held a delivery
# past httpx's default of 5 s. These tests are about the pages; speed is the benchmarks' to measure.
DELIVERY_TIMEOUT_SECONDS = 60


def deliver_alerts(live_server: str, path: str, body: bytes) -> None:
    """POSTs a webhook delivery to the live server and requires it stored."""
    response = httpx.post(
        live_server + path,
        content=body,
        headers={"Content-Type": "application/json"},
        timeout=DELIVERY_TIMEOUT_SECONDS,
    )
    assert response.status_code == 200, response.text


class Shots:
    """Numbered screenshots per backend, so a CI run leaves the pages to look at."""

    def __init__(self, backend: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.backend = backend
        self.count = 0

    def take(self, page, name: str) -> None:
        self.count += 1
        path = SCREENSHOTS / f"{self.backend}-{self.count:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)


def watch_console(page, problems: list[str]) -> None:
    # A CSP violation or a script error shows up here; the pages must cause neither.
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))


# Every step of a page test may wait this long for what it expects.
STEP_TIMEOUT_MS = 15_000


def open_page(browser, problems: list[str], **context_options):
    """A tab in a new browser context (viewport, touch…), its console errors collected."""
    page = browser.new_context(**context_options).new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    watch_console(page, problems)
    return page


def sign_in_by_cookie(page, live_server: str, token: str) -> None:
    """Signs the page's context in as the token's holder without the sign-in form."""
    page.context.add_cookies([{"name": "stabilog_token", "value": token, "url": live_server}])
