"""One reading everywhere: the same values give the same amount and the same grade through the
API, the filing form and its preview, and the CLI (issue 11)."""

from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from api.cli import app as cli
from incidents.models import Incident, Role
from tests.builders import cli_args, seed_pos_incident

runner = CliRunner()
FACTS = {"title": "专线中断", "detected_at": "2023-09-07 14:00"}
# The `stabilog grading explain` flag of each graded field, where it differs from filing's.
EXPLAIN_FLAGS = {
    "amount_involved_cny": "--amount",
    "core_system": "--core",
    "regulatory_triggers": "--trigger",
}


def explain_args(values: dict[str, Any]) -> list[str]:
    args = ["grading", "explain"]
    for name, value in values.items():
        flag = EXPLAIN_FLAGS.get(name, "--" + name.replace("_", "-"))
        if value is True:
            args.append(flag)
        elif value is False:
            args.append("--no-" + flag.removeprefix("--"))
        elif isinstance(value, list):
            args.extend(part for item in value for part in (flag, item))
        else:
            args.extend([flag, str(value)])
    return args


def explained_grade(values: dict[str, Any]) -> str | None:
    result = runner.invoke(cli, explain_args(values))
    assert result.exit_code == 0, result.output
    first = result.stdout.splitlines()[0]
    return None if first.startswith("grade: none") else first.removeprefix("grade: ")


def preview_query(values: dict[str, Any]) -> list[tuple[str, str]]:
    """The values as the filing form's script sends them (a checked box of several per name)."""
    query = [(name, str(value)) for name, value in FACTS.items()]
    for name, value in values.items():
        if name == "business_impact":
            query.append((name, "yes" if value else "no"))
        elif value is True:
            query.append((name, "on"))
        elif isinstance(value, list):
            query.extend((name, item) for item in value)
        elif value is not False:
            query.append((name, str(value)))
    return query


@pytest.mark.parametrize(
    ("values", "grade"),
    [
        ({}, None),  # no quantities: no business impact, whoever asks
        ({"core_system": True}, None),
        ({"failed_transactions": 0}, None),
        ({"business_impact": True}, "D"),
        ({"failed_orders": 545}, "C"),
        ({"failed_orders": 545, "business_impact": False}, None),
        ({"core_system": True, "impact_minutes": 30}, "B"),
        ({"amount_involved_cny": "6,000,000"}, "A"),
        ({"regulatory_triggers": ["fund_safety"]}, "A"),
    ],
)
def test_filing_the_preview_and_explain_give_the_same_grade(
    client, auth, sign_in, values, grade
) -> None:
    filed = client.post("/api/v1/incidents", json=FACTS | values, headers=auth[Role.oncall])
    assert filed.status_code == 201, filed.text
    assert filed.json()["grade"] == grade
    sign_in(Role.viewer)
    preview = client.get("/incidents/grade-preview", params=preview_query(values))
    assert preview.json()["grade"] == grade
    assert explained_grade(values) == grade


def test_six_million_is_the_same_amount_everywhere(
    cli_database, client, auth, sign_in, session
) -> None:
    six_million = Decimal(6_000_000)
    filed = client.post(
        "/api/v1/incidents",
        json=FACTS | {"amount_involved_cny": "6,000,000"},
        headers=auth[Role.oncall],
    )
    assert filed.status_code == 201, filed.text
    assert Decimal(filed.json()["amount_involved_cny"]) == six_million
    csrf = sign_in(Role.oncall)
    form = client.post(
        "/incidents/new",
        data=FACTS | {"amount_involved_cny": "6,000,000", "csrf": csrf},
        follow_redirects=False,
    )
    assert form.status_code == 303, form.text
    preview = client.get("/incidents/grade-preview?amount_involved_cny=6,000,000&lang=en").json()
    assert preview["reasons"] == ["amount ¥6,000,000 ≥ ¥5,000,000 → A"]
    explained = runner.invoke(cli, ["grading", "explain", "--amount", "6,000,000"])
    assert "  amount ¥6,000,000 ≥ ¥5,000,000 → A\n" in explained.stdout
    typed = runner.invoke(cli, cli_args(seed_pos_incident(amount_involved_cny="6,000,000")))
    assert typed.exit_code == 0, typed.output
    amounts = session.exec(select(Incident.amount_involved_cny)).all()
    assert amounts == [six_million] * 3


def test_an_amount_that_is_not_money_is_refused_everywhere_with_the_same_words(
    cli_database, client, auth, sign_in
) -> None:
    words = "'-5' is not an amount in CNY: it must not be negative"
    filed = client.post(
        "/api/v1/incidents", json=FACTS | {"amount_involved_cny": "-5"}, headers=auth[Role.oncall]
    )
    assert filed.status_code == 422
    assert words in filed.text
    csrf = sign_in(Role.oncall)
    # The page in English, to compare words (in Chinese it says 不是人民币金额).
    form = client.post(
        "/incidents/new?lang=en", data=FACTS | {"amount_involved_cny": "-5", "csrf": csrf}
    )
    assert form.status_code == 422
    assert words.replace("'", "&#39;") in form.text
    for args in (
        ["grading", "explain", "--amount", "-5"],
        cli_args(seed_pos_incident(amount_involved_cny="-5")),
    ):
        result = runner.invoke(cli, args)
        assert result.exit_code == 2
        unboxed = " ".join(result.output.replace("│", " ").split())  # rich wraps it in a box
        assert words in unboxed, result.output
