"""Business impact and the facts the policy grades, from plain values."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from incidents.impact import facts_from, has_business_impact


@pytest.mark.parametrize(
    ("values", "hit"),
    [
        ({}, False),  # no quantity and no answer: a stability event without business impact
        ({"core_system": True}, False),
        ({"failed_orders": 0, "amount_involved_cny": Decimal(0)}, False),
        ({"failed_orders": 545}, True),
        ({"amount_involved_cny": Decimal("0.01")}, True),
        ({"impact_minutes": 1}, True),
        ({"regulatory_triggers": ["fund_safety"]}, True),
        ({"loss_cny": Decimal(100), "recovered_cny": Decimal(100)}, False),
        ({"loss_cny": Decimal(100), "recovered_cny": Decimal(40)}, True),
        ({"business_impact": True}, True),  # an explicit answer wins either way
        ({"business_impact": False, "failed_orders": 545, "regulatory_triggers": ["x"]}, False),
        ({"business_impact": None, "failed_transactions": 3}, True),
    ],
)
def test_business_impact_is_said_or_inferred_from_quantities(values: dict, hit: bool) -> None:
    assert has_business_impact(values) is hit
    assert facts_from(values).business_impact is hit


def test_a_missing_occurrence_time_is_the_detection_time() -> None:
    detected = datetime(2023, 9, 7, 6, 42, tzinfo=UTC)
    assert facts_from({"detected_at": detected}).occurred_at == detected
    earlier = datetime(2023, 9, 7, 6, 30, tzinfo=UTC)
    assert facts_from({"detected_at": detected, "occurred_at": earlier}).occurred_at == earlier
