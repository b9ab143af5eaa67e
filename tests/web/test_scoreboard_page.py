"""The 故障积分 page: a table per team and per system, in Chinese and English, linked from the
navigation."""

from incidents.models import Role
from tests.builders import file_incident


def test_the_scoreboard_page_shows_teams_and_systems(client, sign_in, auth) -> None:
    # 545 failed orders: C, 2 points.
    file_incident(client, auth[Role.oncall], team="存管组", detected_at="2023-09-07 10:19")
    sign_in(Role.viewer)

    page = client.get("/scoreboard", params={"from": "2023-09-01", "to": "2023-10-01"})

    assert page.status_code == 200, page.text
    assert '<a href="/scoreboard" aria-current="page">故障积分</a>' in page.text
    assert "按团队" in page.text
    assert "按系统" in page.text
    assert "<td>存管组</td>" in page.text
    assert "<td>中信存管</td>" in page.text
    assert '<td class="num"><strong>2</strong></td>' in page.text
    english = client.get("/scoreboard", params={"period": "2023-09", "lang": "en"})
    assert "By team" in english.text
    assert "<td>存管组</td>" in english.text


def test_the_scoreboard_page_names_a_bad_window(client, sign_in) -> None:
    sign_in(Role.viewer)

    page = client.get("/scoreboard", params={"from": "2023-09-01"})

    assert page.status_code == 422
    assert "请同时填写开始和结束" in page.text
