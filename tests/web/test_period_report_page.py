"""The period report page: the picker, the report with its five charts and their tables."""

from incidents.models import Role
from tests.web.test_week_page import file_seed_week


def test_the_quarter_with_its_charts_and_numbers(client, sign_in, session) -> None:
    sign_in(Role.viewer)
    file_seed_week(session)
    page = client.get("/reports?period=2023-Q3")
    assert page.status_code == 200
    html = page.text
    assert "稳定性报告 2023-Q3（2023-07-01 至 2023-09-30）" in html
    for chart in ("grades", "availability", "mttr", "follow-up", "rules"):
        assert f'<svg xmlns="http://www.w3.org/2000/svg" id="chart-period-{chart}"' in html
    assert html.count('<table class="chart-numbers">') == 5
    assert 'href="/reports" aria-current="page"' in html
    assert 'value="2023-Q3"' in html


def test_english_and_the_default_period(client, sign_in) -> None:
    sign_in(Role.viewer)
    page = client.get("/reports?lang=en")
    assert page.status_code == 200
    assert "Stability report " in page.text
    assert "Incidents per week, by grade" in page.text


def test_a_bad_period_is_shown_beside_the_field(client, sign_in) -> None:
    sign_in(Role.viewer)
    page = client.get("/reports?period=2023-09-30..2023-07-01")
    assert page.status_code == 422
    assert 'id="period-error"' in page.text
    assert "2023-07-01 早于 2023-09-30" in page.text
    assert 'aria-invalid="true"' in page.text
