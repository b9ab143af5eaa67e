"""Every page on a 390 px phone, in Chromium, over the demo's weeks of data: nothing scrolls
sideways (neither the page nor a box in it), and no table column is narrower than two
characters; tables read as stacked rows, each cell labelled with its column."""

from datetime import timedelta

from sqlmodel import select

from incidents import action_items
from incidents.actors import Actor
from incidents.alerts.models import Alert
from incidents.calendar import DEFAULT_CALENDAR
from incidents.demo import load_demo
from incidents.grading import load_policy
from incidents.models import ActionItemCreate, Incident, Role
from incidents.settings import Settings
from incidents.tokens import create_token
from tests.web.browser import PHONE, Shots, open_page

# What a page must not do at phone width, measured in the page itself.
# A phone widens its layout to fit what is too wide, so the width is the screen's, passed in.
LAYOUT_PROBLEMS = """screen => {
  const problems = [];
  const page = document.documentElement;
  if (page.scrollWidth > screen) {
    problems.push(`page ${page.scrollWidth}px wide in a ${screen}px screen`);
  }
  for (const box of document.querySelectorAll("body *")) {
    if (box.matches("textarea, input, select, pre, svg *")) continue;
    const overflow = getComputedStyle(box).overflowX;
    if ((overflow === "auto" || overflow === "scroll") && box.scrollWidth > box.clientWidth + 1) {
      problems.push(`${box.tagName}.${box.className} scrolls sideways`);
    }
  }
  for (const cell of document.querySelectorAll("td, th")) {
    const head = cell.closest("thead");
    if (head && getComputedStyle(head).position === "absolute") continue;  // read out only
    const box = cell.getBoundingClientRect();
    if (!cell.getClientRects().length) continue;  // not shown
    const two = 2 * parseFloat(getComputedStyle(cell).fontSize);
    if (box.width < two) {
      problems.push(`a cell "${cell.textContent.trim().slice(0, 20)}" is ${box.width}px wide`);
    }
  }
  return problems;
}"""


def test_every_page_fits_a_phone(browser, live_server, session, database_url) -> None:
    shots = Shots(("sqlite" if database_url.startswith("sqlite") else "postgresql") + "-390")
    settings = Settings(database_url=database_url)
    load_demo(session, settings=settings, policy=load_policy(None), weeks=3)
    session.commit()
    incident = session.exec(select(Incident).order_by(Incident.id)).first()
    assert incident is not None
    action_items.add_action_item(
        session,
        incident.id,
        ActionItemCreate(
            title="网关超时阈值改为 3 秒并加告警",
            owner="王五",
            verifier="李四",
            due_date=DEFAULT_CALENDAR.today() + timedelta(days=14),
            tracker="https://jira.example/PAY-1024",
        ),
        actor=Actor(name="王五", role=Role.oncall),
        calendar=DEFAULT_CALENDAR,
    )
    session.commit()
    alert = session.exec(select(Alert).order_by(Alert.id)).first()
    assert alert is not None
    _, token = create_token(session, "值班-小王", Role.admin)
    session.commit()

    problems: list[str] = []
    page = open_page(browser, problems, viewport=PHONE, is_mobile=True, has_touch=True)
    page.goto(f"{live_server}/login")
    assert page.evaluate(LAYOUT_PROBLEMS, PHONE["width"]) == []
    page.fill("input[name=token]", token)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/incidents")

    pages = [
        "/incidents",
        "/incidents/new",
        f"/incidents/{incident.id}",
        f"/incidents/{incident.id}?lang=en",  # English words run longer
        f"/incidents/{incident.id}/postmortem/report",
        "/alerts",
        "/alerts?show=all",
        f"/alerts/{alert.id}",
        "/silences",
        "/oncall",
        "/weeks",
        "/weeks/2023-W37",
        "/reports",
        "/reports?period=2023-Q3",
        "/regulatory",
        "/scoreboard?period=2023-Q3",
        "/import",
        "/import/review",
        "/incidents?lang=zh",
    ]
    found: dict[str, list[str]] = {}
    for path in pages:
        page.goto(live_server + path)
        shots.take(page, path.strip("/").replace("/", "-").replace("?", "-") or "home")
        found[path] = page.evaluate(LAYOUT_PROBLEMS, PHONE["width"])
    assert {path: trouble for path, trouble in found.items() if trouble} == {}

    # The filing form: the essential fields first, the rest folded, the button within two
    # screens of the top.
    page.goto(f"{live_server}/incidents/new")
    assert page.locator("textarea[name=remediation]").is_visible()
    assert page.locator("input[name=failed_orders]").is_visible()
    assert not page.locator("textarea[name=description]").is_visible()
    assert not page.locator("input[name=occurred_at]").is_visible()
    button = page.locator("#filing button[type=submit]").bounding_box()
    assert button is not None
    assert button["y"] + button["height"] < 2 * PHONE["height"]
    page.click("details.more-fields > summary")
    assert page.locator("textarea[name=description]").is_visible()

    # A stacked row says what each value is.
    page.goto(f"{live_server}/incidents")
    first = page.locator("table.list tbody tr").first.locator("td").first
    assert first.get_attribute("data-label")
    # The same tables as columns are what the check is there to catch.
    page.goto(f"{live_server}/scoreboard?period=2023-Q3")
    page.evaluate("document.querySelectorAll('.stacks').forEach(t => t.classList.remove('stacks'))")
    assert page.evaluate(LAYOUT_PROBLEMS, PHONE["width"]) != []
    assert problems == []
