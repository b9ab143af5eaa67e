"""The week page: the section to paste, metrics with their parts, and the two SVG charts."""

import re
from datetime import timedelta

from sqlmodel import select

from incidents.actors import Actor
from incidents.alerts.models import Alert
from incidents.calendar import DEFAULT_CALENDAR
from incidents.grading import load_policy
from incidents.models import IncidentCreate, Role
from incidents.service import create_incident
from tests.builders import seed_pos_incident
from tests.web.conftest import am_delivery

SEED_WEEK = "/weeks/2023-W37"


def file_seed_week(session) -> None:
    policy = load_policy(None)
    actor = Actor(name="filer", role=Role.oncall)
    for fields in (
        seed_pos_incident(),
        seed_pos_incident(
            title="监控宝38个监测点不可用",
            description="监控宝收到告警，38个监测点不可用，持续2mins后恢复，未影响业务",
            failed_orders=None,
            business_impact=False,
            detected_at="2023-09-07 17:45",
            report_week=None,
        ),
    ):
        data = IncidentCreate.model_validate(fields)
        create_incident(session, data, actor=actor, policy=policy, calendar=DEFAULT_CALENDAR)
        session.commit()


def test_the_week_shows_the_section_to_paste_and_its_metrics(client, sign_in, session) -> None:
    sign_in(Role.viewer)
    file_seed_week(session)
    page = client.get(SEED_WEEK)
    assert page.status_code == 200
    html = page.text
    assert "<h3>第37周 2023-09-09</h3>" in html
    assert "事故数AB级0次，CD级1次" in html
    markdown = re.search(r'<pre id="markdown">(.*?)</pre>', html, re.DOTALL).group(1)
    assert markdown.startswith("# 第37周 2023-09-09\n\n## 【系统运行数据】")
    assert "- 事故数AB级0次，CD级1次" in markdown
    assert 'data-copy-target="markdown"' in html
    assert "<td>监控发现率</td>" in html
    assert '<td class="num">100.0%</td>' in html
    assert '<td class="num">2/2</td>' in html
    assert 'href="/weeks/2023-W36" rel="prev"' in html
    assert 'href="/weeks/2023-W38"' in html


def test_the_charts_are_svg_drawn_on_the_server(client, sign_in, session) -> None:
    sign_in(Role.viewer)
    file_seed_week(session)
    html = client.get(SEED_WEEK).text
    grades = re.search(r'<svg [^>]*id="chart-grades">(.*?)</svg>', html, re.DOTALL).group(1)
    assert grades.count('class="tick"') == 3 + 12  # y ticks and twelve week labels
    bars = re.findall(r'<rect class="bar grade-(\w)"[^>]*><title>([^<]*)</title>', grades)
    assert bars == [("C", "第37周 C: 1")]
    assert "第26周" in grades
    rates = re.search(r'<svg [^>]*id="chart-rates">(.*?)</svg>', html, re.DOTALL).group(1)
    assert "<polyline" not in rates  # no alerts: no rate to draw, rather than a false 0 %


def test_follow_up_rates_are_drawn_per_week(client, sign_in, session, alert_webhook) -> None:
    csrf = sign_in(Role.oncall)
    client.post(alert_webhook, content=am_delivery("a", "b"))
    first, second = session.exec(select(Alert).order_by(Alert.id)).all()
    client.post(f"/alerts/{first.id}/ack", data={"csrf": csrf})
    second.received_at -= timedelta(days=7)
    session.add(second)
    session.commit()
    html = client.get("/weeks").text  # the current week, by redirect
    points = re.findall(r'<circle class="dot line-follow-up"[^>]*><title>([^<]*)</title>', html)
    assert [title.split(" ", 1)[1] for title in points] == [
        "报警 5 分钟跟进率: 0.0% (0/1)",
        "报警 5 分钟跟进率: 100.0% (1/1)",
    ]


def test_the_week_in_english_and_a_bad_week(client, sign_in, session) -> None:
    sign_in(Role.viewer)
    file_seed_week(session)
    html = client.get(f"{SEED_WEEK}?lang=en").text
    assert "Incidents: 0 of grade A/B, 1 of grade C/D" in html
    assert "<h1>W37 <small>2023-09-04 – 2023-09-10</small></h1>" in html
    assert client.get("/weeks/2023-W99").status_code == 422
    assert (
        client.get("/weeks?week=2023-09-09", follow_redirects=False).headers["location"]
        == SEED_WEEK
    )
