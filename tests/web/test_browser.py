"""A night on call and the lead's week review, in Debian's chromium against a real server.

The server is uvicorn on 127.0.0.1 with a free port, over the test database of each backend.
Screenshots of every page land in test-output/screenshots/. Without /usr/bin/chromium the tests
are skipped on a developer's machine; under CI=true a missing browser fails them.
"""

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from api.main import create_app
from incidents.alerts.models import SourceCreate, SourceKind
from incidents.alerts.sources import create_source, webhook_path
from incidents.models import Role
from incidents.settings import Settings
from incidents.tokens import create_token
from tests.web.conftest import am_delivery

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


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
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


def _watch_console(page, problems: list[str]) -> None:
    # A CSP violation or a script error shows up here; the pages must cause neither.
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))


def test_on_call_files_acks_promotes_and_the_lead_reads_the_week(
    browser, live_server, session, database_url
) -> None:
    shots = Shots("sqlite" if database_url.startswith("sqlite") else "postgresql")
    _, token = create_token(session, "值班-小王", Role.oncall)
    session.commit()
    source = create_source(session, SourceCreate(kind=SourceKind.alertmanager, name="prod-am"))
    session.commit()
    delivered = httpx.post(
        live_server + webhook_path(source),
        content=am_delivery("pay-errors", title="履约 合作机构接口调用失败"),
        headers={"Content-Type": "application/json"},
    )
    assert delivered.status_code == 200, delivered.text

    problems: list[str] = []
    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = phone.new_page()
    page.set_default_timeout(15_000)
    _watch_console(page, problems)

    # Sign in: any page sends us to the form, and back after it.
    page.goto(f"{live_server}/alerts")
    assert "/login?next=/alerts" in page.url
    shots.take(page, "sign-in")
    page.fill("input[name=token]", token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/alerts")

    # The alert inbox: the follow-up clock runs; ack, then promote, one click each.
    card = page.locator(".alert", has_text="履约 合作机构接口调用失败")
    clock = card.locator("[data-deadline]")
    assert "距 5 分钟跟进时限还剩" in clock.inner_text()
    shots.take(page, "alerts")
    card.locator("button[name=ack]").click()
    page.wait_for_selector(".alert .tag:has-text('已确认 · 值班-小王')")
    assert "已跟进，用时" in page.locator(".alert .clock").inner_text()
    shots.take(page, "alert-acked")
    page.locator(".alert button[name=promote]").click()
    page.wait_for_url(f"{live_server}/incidents/*")
    assert page.locator("h1").inner_text().endswith("履约 合作机构接口调用失败")
    shots.take(page, "promoted-incident")

    # Filing the seed's incident with the shorthand time; the grade shows while typing.
    page.click("nav >> text=登记事件")
    page.wait_for_url(f"{live_server}/incidents/new")
    page.fill("input[name=title]", "履约POS付款单失败")
    page.fill("input[name=system]", "中信存管")
    page.fill("input[name=detected_at]", "9/7 14:42")
    page.type("input[name=failed_orders]", "545", delay=30)
    page.wait_for_selector("#grade-preview[data-grade='C']")
    assert "failed 545 ≥ 100 → C" in page.locator("#grade-preview").inner_text()
    page.fill("textarea[name=remediation]", "紧急上线后问题解决")
    shots.take(page, "filing-form")
    page.click("button.big[type=submit]")
    page.wait_for_url(f"{live_server}/incidents/*")
    assert page.locator("h1 .grade").inner_text() == "C"
    assert "紧急上线后问题解决" in page.locator("#remediation").inner_text()
    shots.take(page, "filed-incident")
    week_url = live_server + page.locator("#week-link").get_attribute("href")
    phone.close()

    # The lead reviews the week on a big screen and copies the section for the 周报.
    screen = browser.new_context(viewport=BIG_SCREEN)
    screen.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    screen.add_cookies([{"name": "stabilog_token", "value": token, "url": live_server}])
    page = screen.new_page()
    page.set_default_timeout(15_000)
    _watch_console(page, problems)
    page.goto(week_url)
    section = page.locator("#section .report").inner_text()
    assert "事故数AB级0次，CD级1次" in section
    assert page.locator("#chart-grades rect.grade-C").count() == 1
    assert page.locator("#chart-rates").is_visible()
    page.click("button[data-copy-target=markdown]")
    page.wait_for_selector("button[data-copy-target=markdown]:has-text('已复制')")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert "- 事故数AB级0次，CD级1次" in copied
    shots.take(page, "week")
    page.click("text=English")
    assert "Incidents: 0 of grade A/B, 1 of grade C/D" in page.locator("#section").inner_text()
    shots.take(page, "week-en")
    screen.close()
    assert problems == []
