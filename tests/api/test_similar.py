"""Similar past incidents through the API, on a small set whose ranking is worked out by hand.

Trigrams of the query 银联代付通道超时: 银联代 联代付 代付通 付通道 通道超 道超时 (6).
"""

import pytest
from sqlmodel import Session

from incidents.models import Postmortem, Role
from tests.builders import file_incident

API = "/api/v1/incidents"


@pytest.fixture
def history(client, auth, session: Session) -> dict[str, int]:
    """Five filed incidents by name; the 复盘 of `refund` names its root cause."""
    oncall = auth[Role.oncall]
    known = {
        # Same system 出金, shares 银联代 联代付 with the query: 2/6.
        "payout": ("银联代付接口超时", "出金", "2023-09-01 10:00", "切换备用通道"),
        # Another system, the query's very title: 6/6.
        "deposit": ("银联代付通道超时", "入金", "2023-09-02 10:00", "银行恢复后补单"),
        # Same system, nothing in common.
        "quick": ("网联快捷支付成功率下跌", "出金", "2023-09-03 10:00", None),
        "refund": ("支付宝退款回调通知丢失", "收单", "2023-09-04 10:00", "补发回调"),
        "batch": ("清算批量任务失败", "清结算", "2023-09-05 10:00", "重跑批量"),
    }
    ids = {}
    for name, (title, system, detected_at, remediation) in known.items():
        ids[name] = file_incident(
            client,
            oncall,
            title=title,
            system=system,
            detected_at=detected_at,
            remediation=remediation,
            report_week=None,
            root_cause="银行侧系统升级未提前通知" if name == "payout" else None,
        )["id"]
    session.add(Postmortem(incident_id=ids["refund"], root_cause="消息队列积压导致回调丢失"))
    session.commit()
    return ids


def similar(client, auth, **params) -> list[dict]:
    response = client.get(f"{API}/similar", params=params, headers=auth[Role.viewer])
    assert response.status_code == 200, response.text
    return response.json()


def test_the_same_system_comes_first_then_similar_titles(client, auth, history) -> None:
    found = similar(client, auth, title="银联代付通道超时", system="出金")
    assert [(item["id"], item["same_system"], item["similarity"]) for item in found] == [
        (history["payout"], True, 0.333),  # same system and a similar title
        (history["quick"], True, 0.0),  # same system
        (history["deposit"], False, 1.0),  # another system, the same title
    ]
    payout = found[0]
    assert payout["grade"] == "C"  # 545 failed orders, as the seed event
    assert payout["detected_at"] == "2023-09-01T10:00:00+08:00"
    assert payout["root_cause"] == "银行侧系统升级未提前通知"
    assert payout["remediation"] == "切换备用通道"


def test_without_a_system_similarity_alone_ranks(client, auth, history) -> None:
    found = similar(client, auth, title="银联代付通道超时")
    assert [item["id"] for item in found] == [history["deposit"], history["payout"]]


def test_the_limit_and_the_excluded_incident(client, auth, history) -> None:
    ranked = [history["payout"], history["quick"], history["deposit"]]
    assert [
        i["id"] for i in similar(client, auth, title="银联代付通道超时", system="出金", limit=2)
    ] == ranked[:2]
    excluded = similar(
        client, auth, title="银联代付通道超时", system="出金", exclude=history["payout"]
    )
    assert [item["id"] for item in excluded] == ranked[1:]
    for limit in (0, 21):
        response = client.get(
            f"{API}/similar",
            params={"title": "银联代付", "limit": limit},
            headers=auth[Role.viewer],
        )
        assert response.status_code == 422


def test_a_query_under_three_characters_matches_by_system_only(client, auth, history) -> None:
    # "超时" has no trigram: the system's incidents, most recent first, and nothing without one.
    found = similar(client, auth, title="超时", system="出金")
    assert [(item["id"], item["similarity"]) for item in found] == [
        (history["quick"], 0.0),
        (history["payout"], 0.0),
    ]
    assert similar(client, auth, title="超时") == []
    assert similar(client, auth) == []


def test_the_postmortems_root_cause_is_searched_and_shown(client, auth, history) -> None:
    found = similar(client, auth, title="退款", root_cause="消息队列积压")
    assert [(item["id"], item["similarity"]) for item in found] == [(history["refund"], 1.0)]
    assert found[0]["root_cause"] == "消息队列积压导致回调丢失"


def test_an_incident_finds_the_earlier_ones_like_it(client, auth, history) -> None:
    # 入金's incident: the 出金 one the day before shares two of its six trigrams; the later
    # incidents are not "before" it, and it is never its own match.
    response = client.get(f"{API}/{history['deposit']}/similar", headers=auth[Role.viewer])
    assert response.status_code == 200, response.text
    assert [(item["id"], item["similarity"]) for item in response.json()] == [
        (history["payout"], 0.333)
    ]
    assert client.get(f"{API}/999/similar", headers=auth[Role.viewer]).status_code == 404
    assert client.get(f"{API}/similar").status_code == 401


def test_edits_reach_the_search(client, auth, history, session: Session) -> None:
    # The index follows the incident's title, system and time, and its 复盘's root cause,
    # through the triggers of migration 0011.
    edit = {
        "title": "银联代付通道超时",
        "system": "出金",
        "occurred_at": "2023-08-01 10:00",
        "detected_at": "2023-08-01 10:00",
    }
    patched = client.patch(f"{API}/{history['batch']}", json=edit, headers=auth[Role.oncall])
    assert patched.status_code == 200, patched.text
    found = similar(client, auth, title="银联代付通道超时", system="出金")
    assert [(item["id"], item["similarity"]) for item in found] == [
        (history["batch"], 1.0),
        (history["payout"], 0.333),
        (history["quick"], 0.0),
        (history["deposit"], 1.0),
    ]
    # Now detected before 入金's incident, it is among the ones before it.
    earlier = client.get(f"{API}/{history['deposit']}/similar", headers=auth[Role.viewer]).json()
    assert [item["id"] for item in earlier] == [history["batch"], history["payout"]]
    postmortem = session.get(Postmortem, history["refund"])
    postmortem.root_cause = "证书过期"
    session.commit()
    assert similar(client, auth, title="退款", root_cause="消息队列积压") == []
    session.delete(postmortem)
    session.commit()
    assert similar(client, auth, title="退款", root_cause="证书过期") == []


def test_a_nul_in_the_query_is_no_error(client, auth, history) -> None:
    # PostgreSQL refuses NUL in text; no stored text holds one, so it matches nothing.
    found = similar(client, auth, title="银联代付\x00通道超时", system="出\x00金")
    assert all(not item["same_system"] for item in found)


def test_an_excluded_id_beyond_any_row_is_refused_not_a_500(client, auth) -> None:
    # Found by schemathesis: PostgreSQL refused the number as an integer and the request failed.
    answer = client.get(
        "/api/v1/incidents/similar",
        params={"title": "银联代付通道超时", "exclude": 2**40},
        headers=auth[Role.viewer],
    )
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["query", "exclude"]
