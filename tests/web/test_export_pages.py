"""The list pages' download buttons: the export with the page's filters, signed in by cookie."""

import csv
import html
import io
import re

import openpyxl

from incidents.models import Role
from tests.builders import file_incident
from tests.web.conftest import am_delivery


def links(page: str, path: str) -> list[str]:
    return [html.unescape(href) for href in re.findall(rf'href="({path}[^"]*)"', page)]


def test_the_incident_list_downloads_what_it_filters(client, sign_in, auth) -> None:
    file_incident(client, auth[Role.oncall])
    file_incident(client, auth[Role.oncall], title="网联快捷支付成功率下跌", system="收单")
    sign_in(Role.viewer)
    page = client.get("/incidents?system=收单&lang=zh").text
    assert "下载当前筛选结果" in page
    csv_link, xlsx_link = links(page, "/incidents/export")
    assert "system=%E6%94%B6%E5%8D%95" in csv_link
    assert csv_link.endswith("format=csv")
    assert xlsx_link.endswith("format=xlsx")
    response = client.get(csv_link)
    assert response.status_code == 200, response.text
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [row["title"] for row in rows] == ["网联快捷支付成功率下跌"]
    book = openpyxl.load_workbook(io.BytesIO(client.get(xlsx_link).content), read_only=True)
    titles = [row[1] for row in book.worksheets[0].iter_rows(min_row=2, values_only=True)]
    assert titles == ["网联快捷支付成功率下跌"]
    assert client.get("/incidents/export?grade=E").status_code == 422


def test_the_incident_list_filters_by_team_and_its_download_keeps_it(client, sign_in, auth) -> None:
    file_incident(client, auth[Role.oncall], team="存管组")
    file_incident(client, auth[Role.oncall], title="网联快捷支付成功率下跌", system="收单")
    sign_in(Role.viewer)
    page = client.get("/incidents?team=存管组&lang=zh").text
    assert 'name="team" value="存管组"' in page
    assert "中信存管" in page
    assert "网联快捷支付成功率下跌" not in page
    csv_link, _ = links(page, "/incidents/export")
    rows = list(csv.DictReader(io.StringIO(client.get(csv_link).content.decode("utf-8-sig"))))
    assert [row["team"] for row in rows] == ["存管组"]


def test_the_inbox_downloads_its_tab(client, sign_in, alert_webhook) -> None:
    client.post(alert_webhook, content=am_delivery("one", title="履约 接口错误率高于1%"))
    sign_in(Role.viewer)
    page = client.get("/alerts?show=all&lang=en").text
    assert "Download these results" in page
    csv_link, _ = links(page, "/alerts/export")
    assert "show=all" in csv_link
    rows = list(csv.DictReader(io.StringIO(client.get(csv_link).content.decode("utf-8-sig"))))
    assert [(row["source"], row["title"]) for row in rows] == [("prod-am", "履约 接口错误率高于1%")]


def test_a_download_needs_the_page_session(client) -> None:
    response = client.get("/alerts/export?show=all", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=/alerts/export")
