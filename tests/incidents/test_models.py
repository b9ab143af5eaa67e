"""The shared value types of the incident models: amounts and roles."""

from decimal import Decimal

import pytest

from incidents.models import Role, parse_amount


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("6000000", Decimal(6_000_000)),
        ("6,000,000", Decimal(6_000_000)),
        ("6_000_000", Decimal(6_000_000)),
        ("６，０００，０００", Decimal(6_000_000)),  # as a Chinese input method types it
        (" 1,234.56 ", Decimal("1234.56")),
        ("0", Decimal(0)),
    ],
)
def test_an_amount_is_read_as_people_type_it(text: str, amount: Decimal) -> None:
    assert parse_amount(text) == amount


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("-5", "must not be negative"),
        ("-6,000,000", "must not be negative"),
        ("NaN", "expected digits"),
        ("Infinity", "expected digits"),
        ("lots", "expected digits"),
        ("", "expected digits"),
        ("1e6", "expected digits"),
        ("6,000,", "expected digits"),
        ("1,2.3,4", "expected digits"),
        ("¥600", "expected digits"),
    ],
)
def test_anything_else_is_refused_saying_why(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as refused:
        parse_amount(text)
    assert str(refused.value).startswith(f"{text!r} is not an amount in CNY")


def test_each_role_may_do_what_the_roles_below_it_may() -> None:
    assert [[role.at_least(needed) for needed in Role] for role in Role] == [
        [True, False, False],  # viewer
        [True, True, False],  # oncall
        [True, True, True],  # admin
    ]
