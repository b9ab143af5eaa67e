"""What an incident's impact is, as the grading policy sees it: the facts, built from plain values.

Filing, editing, the filing form's preview and `stabilog grading explain` all build their
`ImpactFacts` here, so the same values get the same grade everywhere — above all when no
quantity is given, which is no business impact unless someone says otherwise.
"""

from collections.abc import Mapping
from dataclasses import fields
from typing import Any

from incidents.grading import ImpactFacts

# The values a grade depends on: changing one of them can change it.
FACT_FIELDS = tuple(field.name for field in fields(ImpactFacts))
# The quantities whose being above zero means business was hit.
QUANTIFIED_IMPACT_FIELDS = ("failed_orders", "failed_transactions", "amount_cny", "impact_minutes")
# What a form must send to see the grade its values would get: detected_at stands in for a
# missing occurred_at.
GRADED_INPUT_FIELDS = (*FACT_FIELDS, "detected_at")


def has_business_impact(values: Mapping[str, Any]) -> bool:
    """An explicit `business_impact` (True or False) wins; when it is missing or None, any failed
    order or transaction, amount, impact minute or regulatory relevance means business was hit.
    An on-call who writes "545 failed orders" but forgets the flag still has an incident; one who
    gives no quantity and no answer has a stability event without business impact."""
    explicit = values.get("business_impact")
    if explicit is not None:
        return bool(explicit)
    return bool(values.get("regulatory")) or any(
        (values.get(name) or 0) > 0 for name in QUANTIFIED_IMPACT_FIELDS
    )


def facts_from(values: Mapping[str, Any]) -> ImpactFacts:
    """The facts of typed values (ints, Decimal, aware datetimes, bools; a missing name is None)
    — an incident's columns, a form's readable fields or the CLI's options."""
    known: dict[str, Any] = {name: values.get(name) for name in FACT_FIELDS}
    known["business_impact"] = has_business_impact(values)
    known["core_system"] = bool(values.get("core_system"))
    known["regulatory"] = bool(values.get("regulatory"))
    # As filing stores it: an incident began no later than it was detected.
    known["occurred_at"] = values.get("occurred_at") or values.get("detected_at")
    return ImpactFacts(**known)
